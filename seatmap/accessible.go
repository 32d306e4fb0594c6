package seatmap

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Accessible seating. Seats of type "accessible" (wheelchair spaces) that
// an event holds back at creation (reserveReasons: reserved, reason
// "accessibility") are for the fans who ask for them: a best-available
// request with Accessible > 0 may hold them, with companion seats beside
// them, and nobody else can until an admin releases the hold-back
// (ReleaseAccessible, now or at a scheduled time). A held or sold
// accessible seat keeps its reason, so an accessible hold that expires, or
// an order rejected on review, puts the seat back among the held-back
// ones; releasing the hold-back drops the reason from them all.
//
// Plain best-available skips accessible seats that are on general sale
// (never held back, or released) as long as it can satisfy the request
// without them.

// AccessibleNotice is what a fan accepts by asking for accessible seats:
// the need is declared, not proven.
const AccessibleNotice = "Accessible seats (wheelchair spaces) are kept for fans who need them and the companions " +
	"sitting with them. By asking for them you declare that you, or someone you are booking for, needs one. " +
	"Nobody will ask you for proof; please leave them to those who do."

// Errors of accessible requests.
var (
	ErrAccessibleCount    = apperr.E(apperr.Invalid, "invalid_accessible_count", "accessible must be between 0 and quantity")
	ErrAccessibleReleased = apperr.E(apperr.Conflict, "accessible_released", "the accessible seats are already on general sale")
)

// checkAccessible validates the accessible part of a best-available request
// before any I/O.
func checkAccessible(b BestRequest) error {
	if b.Accessible < 0 || b.Accessible > b.Quantity {
		return ErrAccessibleCount.With("quantity", b.Quantity)
	}
	return nil
}

// setAccessible records on a hold how many accessible seats were asked
// for, with the notice the fan accepted.
func (h *Hold) setAccessible(n int) {
	h.Accessible, h.AccessibleNotice = n, ""
	if n > 0 {
		h.AccessibleNotice = AccessibleNotice
	}
}

// accessIndex is where a layout's accessible seats are: their idx, and a
// flag by idx.
type accessIndex struct {
	idx []int32
	is  []bool
}

// accessible builds the layout's accessible index once, on first use.
func (l *eventLayout) accessible() *accessIndex {
	l.accessOnce.Do(func() {
		ix := &accessIndex{is: make([]bool, len(l.seats))}
		for i := range l.seats {
			if l.seats[i].Type == SeatAccessible {
				ix.idx = append(ix.idx, int32(i))
				ix.is[i] = true
			}
		}
		l.access = ix
	})
	return l.access
}

// pickFor is best-available's accessible-seating step around pickBest: an
// accessible request goes to pickAccessible; any other request first
// tries without the accessible seats on general sale, and takes them only
// if nothing else fits. Seats still held back are reserved in statuses,
// so pickBest never sees them.
func pickFor(l *eventLayout, statuses []byte, b BestRequest, spread int) []int32 {
	if b.Accessible > 0 {
		return pickAccessible(l, statuses, b, spread)
	}
	var masked []byte
	for _, i := range l.accessible().idx {
		if int(i) < len(statuses) && statuses[i] == StateAvailable {
			if masked == nil {
				masked = slices.Clone(statuses)
			}
			masked[i] = StateHeld
		}
	}
	if masked != nil {
		if picked := pickBest(l, masked, b, spread); picked != nil {
			return picked
		}
	}
	return pickBest(l, statuses, b, spread)
}

// pickAccessible chooses b.Quantity seats of which b.Accessible are
// accessible, from the seats available and those held back for
// accessibility, in this order:
//  1. the best block of adjacent seats in one row with exactly
//     b.Accessible accessible seats (the companions on ordinary seats);
//  2. failing that, the best such block with more (companions in
//     accessible spaces, as in a row of wheelchair platforms);
//  3. failing that, an accessible seat, the other accessible seats nearest
//     it, and the companion seats nearest it (ordinary seats first).
//
// "Best" is the lowest sum of ranks; spread > 1 picks at random among the
// spread best, as pickBest does. It returns nil when nothing fits.
func pickAccessible(l *eventLayout, statuses []byte, b BestRequest, spread int) []int32 {
	q, want := b.Quantity, b.Accessible
	ix, acc := l.rowIndex(), l.accessible()
	n := min(len(l.seats), len(statuses))
	free := make([]bool, n)
	for i := range n {
		st := &l.seats[i]
		free[i] = (statuses[i] == StateAvailable || (acc.is[i] && statuses[i] == StateReserved)) &&
			(b.Section == "" || st.Section == b.Section) && (b.MaxPriceCents <= 0 || st.PriceCents <= b.MaxPriceCents)
	}
	type block struct{ start, score int }
	// keep inserts blk into list, the spread best blocks, best first.
	keep := func(list []block, blk block) []block {
		if len(list) == spread && blk.score >= list[len(list)-1].score {
			return list
		}
		if len(list) < spread {
			list = append(list, block{})
		}
		k := len(list) - 1
		for ; k > 0 && list[k-1].score > blk.score; k-- {
			list[k] = list[k-1]
		}
		list[k] = blk
		return list
	}
	exact, over := make([]block, 0, spread), make([]block, 0, spread)
	for i := 0; i < n; {
		if !free[i] {
			i++
			continue
		}
		j := i + 1
		for j < n && ix.follows[j] && free[j] {
			j++
		}
		// Run is [i, j). Slide a window of q seats along it, counting
		// its rank and its accessible seats.
		if j-i >= q {
			score, accs := 0, 0
			for k := i; k < i+q; k++ {
				score += int(ix.rank[k])
				if acc.is[k] {
					accs++
				}
			}
			for start := i; ; start++ {
				switch {
				case accs == want:
					exact = keep(exact, block{start, score})
				case accs > want:
					over = keep(over, block{start, score})
				}
				if start+q >= j {
					break
				}
				score += int(ix.rank[start+q]) - int(ix.rank[start])
				if acc.is[start+q] {
					accs++
				}
				if acc.is[start] {
					accs--
				}
			}
		}
		i = j
	}
	for _, list := range [][]block{exact, over} {
		if len(list) > 0 {
			start := list[rand.IntN(len(list))].start
			out := make([]int32, q)
			for k := range out {
				out[k] = int32(start + k)
			}
			return out
		}
	}
	return pickNearAccessible(l, free, acc, want, q, spread)
}

// pickNearAccessible is pickAccessible's last step: the anchor is one of
// the spread best-ranked free accessible seats; the other accessible seats
// and then the companions are the free seats nearest it on the plan.
func pickNearAccessible(l *eventLayout, free []bool, acc *accessIndex, want, q, spread int) []int32 {
	var spaces []int32
	for _, i := range acc.idx {
		if int(i) < len(free) && free[i] {
			spaces = append(spaces, i)
		}
	}
	if len(spaces) < want {
		return nil
	}
	slices.SortStableFunc(spaces, func(a, b int32) int { return cmp.Compare(l.seats[a].Rank, l.seats[b].Rank) })
	anchor := spaces[rand.IntN(min(spread, len(spaces)))]
	at := &l.seats[anchor]
	dist := func(i int32) float32 {
		dx, dy := l.seats[i].X-at.X, l.seats[i].Y-at.Y
		return dx*dx + dy*dy
	}
	out := []int32{anchor}
	taken := func(i int32) bool { return slices.Contains(out, i) }
	out = nearest(out, want-1, dist, func(yield func(int32) bool) {
		for _, i := range spaces {
			if !taken(i) && !yield(i) {
				return
			}
		}
	})
	companions := func(ordinary bool) func(func(int32) bool) {
		return func(yield func(int32) bool) {
			for i, f := range free {
				if f && acc.is[i] != ordinary && !taken(int32(i)) && !yield(int32(i)) {
					return
				}
			}
		}
	}
	out = nearest(out, q-len(out), dist, companions(true))
	out = nearest(out, q-len(out), dist, companions(false))
	if len(out) < q {
		return nil
	}
	return out
}

// nearest appends to out the k candidates with the smallest dist (k ≤ 8:
// a sorted buffer beats a sort of every candidate).
func nearest(out []int32, k int, dist func(int32) float32, candidates func(func(int32) bool)) []int32 {
	if k <= 0 {
		return out
	}
	best := make([]int32, 0, k)
	for i := range candidates {
		d := dist(i)
		if len(best) == k && d >= dist(best[k-1]) {
			continue
		}
		if len(best) < k {
			best = append(best, 0)
		}
		p := len(best) - 1
		for ; p > 0 && dist(best[p-1]) > d; p-- {
			best[p] = best[p-1]
		}
		best[p] = i
	}
	return append(out, best...)
}

// AccessibleInfo is an event's accessible seating as fans and admins see
// it (GET /api/events/{event}).
type AccessibleInfo struct {
	// Seats is how many accessible seats the event has.
	Seats int `json:"seats"`
	// Available is how many of them an accessible request can get now:
	// on sale or held back.
	Available int `json:"available"`
	// HeldBack is how many of those only an accessible request can get.
	HeldBack int `json:"held_back"`
	// ReleaseAt is when the held-back seats go (went) on general sale;
	// null while no release is scheduled.
	ReleaseAt *time.Time `json:"release_at"`
	// Notice is what a fan declares by asking for accessible seats.
	Notice string `json:"notice"`
}

func accessibleInfo(l *eventLayout, statuses []byte, releaseAt *time.Time) AccessibleInfo {
	info := AccessibleInfo{ReleaseAt: releaseAt, Notice: AccessibleNotice}
	for _, i := range l.accessible().idx {
		info.Seats++
		if int(i) >= len(statuses) {
			continue
		}
		switch statuses[i] {
		case StateAvailable:
			info.Available++
		case StateReserved:
			info.Available++
			info.HeldBack++
		}
	}
	return info
}

// ReleaseAccessible ends an event's accessible hold-back now: every seat
// still held back for accessibility goes on general sale (published like
// any release), accessible seats held or sold meanwhile lose their reason,
// and the event records the time. It returns how many seats went on sale;
// 0 is not an error (the hold-back had ended, or everything was claimed).
func (s *Service) ReleaseAccessible(ctx context.Context, eventID int64) (int, error) {
	return s.releaseAccessible(ctx, eventID, nil)
}

// releaseAccessible is ReleaseAccessible; with due set (the scheduled
// release job), only if the event still schedules its release at due.
func (s *Service) releaseAccessible(ctx context.Context, eventID int64, due *time.Time) (int, error) {
	if _, err := s.layout(ctx, eventID); err != nil {
		return 0, err
	}
	var changes []SeatChange
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE events SET accessible_release_at = least(accessible_release_at, now())
			WHERE id = $1 AND ($2::timestamptz IS NULL OR accessible_release_at = $2)`, eventID, due)
		if err != nil {
			return fmt.Errorf("seatmap: release accessible seats of %d: %w", eventID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil // a stale job: the release was rescheduled or done
		}
		changes, err = s.releaseSeats(ctx, tx, ReleaseRequest{EventID: eventID, Reason: ReserveAccessibility})
		return err
	})
	if err != nil {
		return 0, err
	}
	s.ForgetEvent(eventID)
	s.publish(ctx, eventID, changes)
	return len(changes), nil
}

// ScheduleAccessibleRelease schedules the end of an event's accessible
// hold-back at `at` through the release job (schedule.go), replacing any
// earlier schedule: the job checks the event's time when it runs. It
// returns the time and how many seats are held back now.
func (s *Service) ScheduleAccessibleRelease(ctx context.Context, eventID int64, at time.Time) (ScheduledRelease, error) {
	if _, err := s.layout(ctx, eventID); err != nil {
		return ScheduledRelease{}, err
	}
	var out ScheduledRelease
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		out, err = scheduleAccessible(ctx, tx, eventID, at)
		return err
	})
	if err != nil {
		return ScheduledRelease{}, err
	}
	s.ForgetEvent(eventID)
	return out, nil
}

// scheduleAccessible is ScheduleAccessibleRelease inside tx, also used by
// CreateEvent for an event created with its release time.
func scheduleAccessible(ctx context.Context, tx pgx.Tx, eventID int64, at time.Time) (ScheduledRelease, error) {
	// Postgres keeps microseconds: the job's time must equal the row's.
	at = at.UTC().Truncate(time.Microsecond)
	tag, err := tx.Exec(ctx, `
		UPDATE events SET accessible_release_at = $2
		WHERE id = $1 AND (accessible_release_at IS NULL OR accessible_release_at > now())`, eventID, at)
	if err != nil {
		return ScheduledRelease{}, fmt.Errorf("seatmap: schedule accessible release of %d: %w", eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return ScheduledRelease{}, ErrAccessibleReleased
	}
	var held int
	err = tx.QueryRow(ctx, `SELECT count(*) FROM seats WHERE event_id = $1 AND status = 'reserved' AND reserved_reason = $2`,
		eventID, ReserveAccessibility).Scan(&held)
	if err != nil {
		return ScheduledRelease{}, fmt.Errorf("seatmap: count accessible seats of %d: %w", eventID, err)
	}
	_, err = jobs.Enqueue(ctx, tx, jobs.Job{
		Kind:      jobRelease,
		DedupeKey: "seatmap.release:" + strconv.FormatInt(eventID, 10) + ":accessible:" + at.Format(time.RFC3339Nano),
		Payload:   releasePayload{EventID: eventID, Reason: ReserveAccessibility, At: &at},
		At:        at,
	})
	if err != nil {
		return ScheduledRelease{}, err
	}
	return ScheduledRelease{At: at, Seats: held}, nil
}
