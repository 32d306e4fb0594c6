package seatmap

import (
	"context"
	"slices"
	"sync"
	"time"
)

// SeatCounter keeps an event's per-section seat counts, sold revenue and
// transition totals up to date from one snapshot plus the seat-diff stream:
// Apply costs O(changes) and Figures O(sections), so the admin dashboard's
// frame costs the same at 2,000 seats as at 50,000 and never runs a COUNT
// over the seats table (docs/architecture.md, "No hot rows"). It is not safe for
// concurrent use; its owner serialises calls.
type SeatCounter struct {
	eventID  int64
	pos      Position
	sections []SectionInfo
	sec      []uint16 // section index by idx
	price    []int64  // by idx
	state    []byte   // by idx
	version  []int64  // by idx; 0 until a diff names the seat
	counts   [][numStates]int64
	revenue  int64
	// held and sold count transitions into held and into sold since load.
	held, sold int64
}

const numStates = 5

// stateIndex maps an availability letter to its slot in counts.
func stateIndex(b byte) int {
	switch b {
	case StateAvailable:
		return 0
	case StateHeld:
		return 1
	case StateSold:
		return 2
	case StateReserved:
		return 3
	default: // StateResale
		return 4
	}
}

var stateNames = [numStates]string{"available", "held", "sold", "reserved", "resale"}

// NewSeatCounter loads an event's layout and a snapshot and counts it once;
// from then on Apply keeps it current.
func (s *Service) NewSeatCounter(ctx context.Context, eventID int64) (*SeatCounter, error) {
	l, err := s.layout(ctx, eventID)
	if err != nil {
		return nil, err
	}
	snap, err := s.takeSnapshot(ctx, eventID)
	if err != nil {
		return nil, err
	}
	return newSeatCounter(eventID, l, snap.Position, snap.Statuses), nil
}

func newSeatCounter(eventID int64, l *eventLayout, pos Position, statuses []byte) *SeatCounter {
	c := &SeatCounter{eventID: eventID, pos: pos, sections: l.sections,
		sec: make([]uint16, len(l.seats)), price: make([]int64, len(l.seats)),
		state: slices.Clone(statuses), version: make([]int64, len(l.seats)),
		counts: make([][numStates]int64, len(l.sections))}
	index := make(map[string]uint16, len(l.sections))
	for i, sec := range l.sections {
		index[sec.ID] = uint16(i)
	}
	for i, st := range l.seats {
		c.sec[i], c.price[i] = index[st.Section], st.PriceCents
	}
	for i, b := range c.state {
		if i >= len(c.sec) {
			break
		}
		c.counts[c.sec[i]][stateIndex(b)]++
		if b == StateSold || b == StateResale {
			c.revenue += c.price[i]
		}
	}
	return c
}

// Position is the stream position the counter has applied up to.
func (c *SeatCounter) Position() Position { return c.pos }

// Apply moves the counter to pos with the seats changed since its position
// (absolute states, as the stream carries them). A change older than what
// the counter saw for that seat is ignored.
func (c *SeatCounter) Apply(pos Position, changes []SeatChange) {
	for _, ch := range changes {
		i := int(ch.Idx)
		if i < 0 || i >= len(c.state) || (ch.Version != 0 && ch.Version < c.version[i]) {
			continue
		}
		c.version[i] = ch.Version
		old := c.state[i]
		if old == ch.State {
			continue
		}
		sec := c.sec[i]
		c.counts[sec][stateIndex(old)]--
		c.counts[sec][stateIndex(ch.State)]++
		wasSold := old == StateSold || old == StateResale
		isSold := ch.State == StateSold || ch.State == StateResale
		switch {
		case isSold && !wasSold:
			c.revenue += c.price[i]
		case wasSold && !isSold:
			c.revenue -= c.price[i]
		}
		if ch.State == StateHeld {
			c.held++
		}
		if ch.State == StateSold {
			c.sold++
		}
		c.state[i] = ch.State
	}
	c.pos = pos
}

// SectionFigures are one section's seat counts by status.
type SectionFigures struct {
	ID     string           `json:"id"`
	Name   string           `json:"name"`
	Counts map[string]int64 `json:"counts"`
}

// SeatFigures are an event's seat figures at a position.
type SeatFigures struct {
	Position
	Capacity     int              `json:"capacity"`
	Totals       map[string]int64 `json:"totals"`
	Sections     []SectionFigures `json:"sections"`
	RevenueCents int64            `json:"revenue_cents"`
	// SeatsHeldTotal and SeatsSoldTotal count transitions into held and
	// sold since the counter was loaded; rates are their differences.
	SeatsHeldTotal int64 `json:"seats_held_total"`
	SeatsSoldTotal int64 `json:"seats_sold_total"`
}

// Figures reports the counts; its cost grows with sections, not seats.
func (c *SeatCounter) Figures() SeatFigures {
	f := SeatFigures{Position: c.pos, Capacity: len(c.state), Totals: make(map[string]int64, numStates),
		Sections: make([]SectionFigures, len(c.sections)), RevenueCents: c.revenue,
		SeatsHeldTotal: c.held, SeatsSoldTotal: c.sold}
	for _, n := range stateNames {
		f.Totals[n] = 0
	}
	for i, sec := range c.sections {
		m := make(map[string]int64, numStates)
		for k, n := range c.counts[i] {
			m[stateNames[k]] = n
			f.Totals[stateNames[k]] += n
		}
		f.Sections[i] = SectionFigures{ID: sec.ID, Name: sec.Name, Counts: m}
	}
	return f
}

// holdWindow is how many recent hold latencies per event the p99 is taken
// over: a fixed ring, so the figure costs the same however busy the sale.
const holdWindow = 1024

// holdStats are this node's per-event hold figures: latency of recent
// holds and hold requests by result.
type holdStats struct {
	mu     sync.Mutex
	events map[int64]*eventHolds
}

type eventHolds struct {
	lat     [holdWindow]time.Duration
	n       int
	results map[string]int64
}

func (h *holdStats) observe(eventID int64, d time.Duration, result string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.events == nil {
		h.events = make(map[int64]*eventHolds)
	}
	e := h.events[eventID]
	if e == nil {
		e = &eventHolds{results: make(map[string]int64)}
		h.events[eventID] = e
	}
	e.lat[e.n%holdWindow] = d
	e.n++
	e.results[result]++
}

// HoldFigures are this node's hold figures for an event.
type HoldFigures struct {
	// P99Ms is the 99th percentile latency of the last (up to) 1024 holds.
	P99Ms float64 `json:"p99_hold_ms"`
	// Results counts hold requests by result (ok, conflict, cap, invalid,
	// error) since the process started.
	Results map[string]int64 `json:"hold_results"`
}

// HoldFigures reports this node's hold latency and results for an event.
func (s *Service) HoldFigures(eventID int64) HoldFigures {
	h := &s.holds
	h.mu.Lock()
	defer h.mu.Unlock()
	out := HoldFigures{Results: map[string]int64{}}
	e := h.events[eventID]
	if e == nil {
		return out
	}
	for k, v := range e.results {
		out.Results[k] = v
	}
	n := min(e.n, holdWindow)
	lat := slices.Clone(e.lat[:n])
	slices.Sort(lat)
	if n > 0 {
		out.P99Ms = float64(lat[(n*99+99)/100-1]) / float64(time.Millisecond)
	}
	return out
}

// EventState is the part of an event the dashboard shows every tick, read
// from the per-node event cache (no snapshot, no seat scan).
type EventState struct {
	Status   string `json:"status"`
	Paused   bool   `json:"paused"`
	Currency string `json:"currency"`
}

// EventState returns an event's status as clients see it.
func (s *Service) EventState(ctx context.Context, eventID int64) (EventState, error) {
	e, err := s.event(ctx, eventID)
	if err != nil {
		return EventState{}, err
	}
	return EventState{Status: effectiveStatus(e.storedStatus, e.paused, e.SaleOpens, time.Now()),
		Paused: e.paused, Currency: e.Currency}, nil
}
