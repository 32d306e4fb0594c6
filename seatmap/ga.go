package seatmap

import (
	"context"
	"math/rand/v2"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// General admission. A ga area's places are seat rows of its section (see
// Layout.Places), so a ga hold is a seat hold of places this file picks:
// the gate, the one-statement Postgres check, the per-account cap, the
// sweeper, the invariants, tickets, transfer and resale need nothing of
// their own. What is ga-specific is only the picking: N free places of the
// area chosen at random from the node's snapshot. Random, not lowest
// first, so that thousands of fans holding from one floor at once spread
// over its places instead of all asking for the same first free ones: no
// hot row, no counter everyone queues on, and a collision (two fans
// picking one place) is rare until the area is nearly gone, and then costs
// a re-pick without the lost places inside the same request.

// Errors of the ga hold path.
var (
	ErrUnknownSection = apperr.E(apperr.Invalid, "unknown_section", "no such section in this event")
	ErrNotGA          = apperr.E(apperr.Invalid, "section_not_ga", "this section has numbered seats: hold them by seat_ids or best_available")
)

// gaAttempts bounds the re-picks of one ga hold when places it picked from
// a slightly stale snapshot were taken meanwhile.
const gaAttempts = 8

// GARequest asks for Quantity places of the ga area Section.
type GARequest struct {
	Section  string
	Quantity int
}

// gaArea is one general-admission area of an event: its section, declared
// capacity (= its number of places) and the idx of each place.
type gaArea struct {
	section string
	places  []int32
}

// GACount is the live count of one ga area, as the availability snapshot
// reports it: Available places of Capacity are free to hold.
type GACount struct {
	Section   string `json:"section"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
}

// gaAreas collects the ga areas of an event from its sections and seats.
func gaAreas(sections []SectionInfo, seats []SeatInfo) []gaArea {
	var out []gaArea
	pos := make(map[string]int)
	for _, sec := range sections {
		if sec.Kind == KindGA {
			pos[sec.ID] = len(out)
			out = append(out, gaArea{section: sec.ID, places: make([]int32, 0, sec.Capacity)})
		}
	}
	if len(out) == 0 {
		return nil
	}
	for i := range seats {
		if k, ok := pos[seats[i].Section]; ok {
			out[k].places = append(out[k].places, seats[i].Idx)
		}
	}
	return out
}

// gaArea returns the event's ga area of a section, or why there is none.
func (l *eventLayout) gaArea(section string) (*gaArea, error) {
	for i := range l.ga {
		if l.ga[i].section == section {
			return &l.ga[i], nil
		}
	}
	for _, sec := range l.sections {
		if sec.ID == section {
			return nil, ErrNotGA.With("section", section)
		}
	}
	return nil, ErrUnknownSection.With("section", section)
}

// gaCounts counts the free places of every ga area in statuses (by idx).
func gaCounts(l *eventLayout, statuses []byte) []GACount {
	if len(l.ga) == 0 {
		return nil
	}
	out := make([]GACount, len(l.ga))
	for i, a := range l.ga {
		out[i] = GACount{Section: a.section, Capacity: len(a.places)}
		for _, idx := range a.places {
			if int(idx) < len(statuses) && statuses[idx] == StateAvailable {
				out[i].Available++
			}
		}
	}
	return out
}

// maskGA marks every ga place held in avail, so best-available, which
// picks numbered seats, never hands one out.
func (l *eventLayout) maskGA(avail []byte) {
	for _, a := range l.ga {
		for _, idx := range a.places {
			if int(idx) < len(avail) {
				avail[idx] = StateHeld
			}
		}
	}
}

// holdGA picks Quantity free places of a ga area at random from the
// node's snapshot and holds them through holdSeats, picking again without
// the places it lost when the gate or Postgres refused them.
func (s *Service) holdGA(ctx context.Context, req HoldRequest, ev eventRow, l *eventLayout) (Hold, error) {
	g := req.GA
	area, err := l.gaArea(g.Section)
	if err != nil {
		return Hold{}, err
	}
	if g.Quantity < 1 || g.Quantity > ev.MaxSeatsPerAccount {
		return Hold{}, ErrSeatCount.With("max", ev.MaxSeatsPerAccount)
	}
	snap, err := s.Snapshot(ctx, ev.ID)
	if err != nil {
		return Hold{}, err
	}
	// The pick and its claim are one step on this node (recentHolds.pick),
	// as for best available: concurrent requests never pick the same
	// places, and places a refusal named stay hidden from later picks.
	choose := func(avail []byte) []int32 { return pickPlaces(area.places, avail, g.Quantity) }
	var lastErr error = ErrNoSeatsFound.With("section", g.Section)
	for range gaAttempts {
		picked := s.recent.pick(ev.ID, snap.taken, snap.Statuses, choose)
		if picked == nil {
			return Hold{}, lastErr
		}
		ids := make([]int64, len(picked))
		for k, idx := range picked {
			ids[k] = l.seats[idx].ID
		}
		// On success the claim becomes a recent hold (Hold's deferred
		// recent.add).
		h, err := s.holdSeats(ctx, req.AccountID, ev, l, ids, 0)
		if err == nil {
			return h, nil
		}
		if !s.lostPick(ev.ID, l, picked, err) {
			return Hold{}, err
		}
		lastErr = err
	}
	return Hold{}, lastErr
}

// pickPlaces picks q free places at random among places (uniformly, without
// replacement) and marks them held in avail; nil when fewer than q are free.
// While the area is mostly free it probes random places, O(q) whatever the
// area's size; when probes keep missing (the area is nearly gone) it
// gathers the free places in one pass and picks among them.
func pickPlaces(places []int32, avail []byte, q int) []int32 {
	free := func(idx int32) bool { return int(idx) < len(avail) && avail[idx] == StateAvailable }
	out := make([]int32, 0, q)
	for tries := 0; len(out) < q && tries < 4*q+16; tries++ {
		if idx := places[rand.IntN(len(places))]; free(idx) {
			avail[idx] = StateHeld
			out = append(out, idx)
		}
	}
	if len(out) == q {
		return out
	}
	var rest []int32
	for _, idx := range places {
		if free(idx) {
			rest = append(rest, idx)
		}
	}
	need := q - len(out)
	if len(rest) < need {
		for _, idx := range out {
			avail[idx] = StateAvailable
		}
		return nil
	}
	// A partial Fisher–Yates shuffle of the free places.
	for k := range need {
		j := k + rand.IntN(len(rest)-k)
		rest[k], rest[j] = rest[j], rest[k]
		avail[rest[k]] = StateHeld
		out = append(out, rest[k])
	}
	return out
}
