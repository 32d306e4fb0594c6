package seatmap

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// bestAttempts bounds the holds one best-available request tries. A try
// fails only when another node (or a hold this node's snapshot cannot see
// yet) took a seat it picked, and each failure marks the seats named taken
// for every later pick on this node, so a realistic rush needs one or two;
// the bound only stops a request from walking a whole stadium of stale
// views.
const bestAttempts = 24

// retrySpread is how many of the best blocks the first retry chooses among
// at random, doubling with each retry up to maxSpread: fans of two nodes
// who lost the same block at the same moment would otherwise retry for the
// same next-best block and collide again.
const (
	retrySpread = 8
	maxSpread   = 64
)

// bestWait is how long a request waits when the only matching seats left
// are in other requests' holds still in flight, up to bestWaitMax in all
// (then 409 seat_unavailable).
const (
	bestWait    = 10 * time.Millisecond
	bestWaitMax = 3 * time.Second
)

// refreshAfter is the number of refused tries after which a request reads a
// snapshot newer than itself: that many refusals mean its view is behind
// other nodes' holds.
const refreshAfter = 4

// holdBest picks the best seats and holds them in one request while any
// seats match. The pick and its claim are one step on this node
// (recentHolds.pick: concurrent requests never pick the same seats), the
// gate or Postgres refuses seats another node took, and the request picks
// again around what they named. Only a snapshot read after the request
// came, with this node's claims and holds since, can say that nothing
// matches (ErrNoSeatsFound).
func (s *Service) holdBest(ctx context.Context, req HoldRequest, ev eventRow, l *eventLayout) (Hold, error) {
	b := req.Best
	if b.Quantity < 1 || b.Quantity > ev.MaxSeatsPerAccount {
		return Hold{}, ErrSeatCount.With("max", ev.MaxSeatsPerAccount)
	}
	if b.MaxPriceCents > 0 {
		// The fan's limit is all-in; the seats carry face values.
		face, ok := maxFaceFor(ev.Event, b.MaxPriceCents)
		if !ok {
			return Hold{}, ErrNoSeatsFound
		}
		faceLimited := *b
		faceLimited.MaxPriceCents = face
		b = &faceLimited
	}
	// since: only a snapshot read after it can say that nothing matches.
	since := time.Now()
	snap, err := s.Snapshot(ctx, ev.ID)
	if err != nil {
		return Hold{}, err
	}
	spread := 1
	// ga places are never best-available seats: they are held by quantity.
	choose := func(avail []byte) []int32 { l.maskGA(avail); return pickFor(l, avail, *b, spread) }
	waitUntil := since.Add(bestWaitMax)
	for attempt := 0; attempt < bestAttempts; {
		if attempt > 0 {
			spread = min(retrySpread<<min(attempt-1, 8), maxSpread)
		}
		stale := snap.taken.Before(since)
		if attempt == refreshAfter && stale {
			if snap, err = s.snapshotSince(ctx, ev.ID, since); err != nil {
				return Hold{}, err
			}
			stale = false
		}
		picked := s.recent.pick(ev.ID, snap.taken, snap.Statuses, choose)
		if picked == nil && stale {
			if snap, err = s.snapshotSince(ctx, ev.ID, since); err != nil {
				return Hold{}, err
			}
			picked = s.recent.pick(ev.ID, snap.taken, snap.Statuses, choose)
		}
		if picked == nil {
			if !s.recent.mayFree(ev.ID, snap.taken, snap.Statuses, choose) {
				return Hold{}, ErrNoSeatsFound
			}
			// The matching seats left are in other requests' holds still
			// in flight, which may fail: look again in a moment.
			if time.Now().After(waitUntil) {
				break
			}
			select {
			case <-ctx.Done():
				return Hold{}, ctx.Err()
			case <-time.After(bestWait):
			}
			since = time.Now()
			continue
		}
		attempt++
		ids := make([]int64, len(picked))
		for i, idx := range picked {
			ids[i] = l.seats[idx].ID
		}
		// On success the claim becomes a recent hold in Hold's deferred
		// recent.add, with no moment unmarked in between.
		h, err := s.holdSeats(ctx, req.AccountID, ev, l, ids, b.Accessible)
		if err == nil {
			return h, nil
		}
		if !s.lostPick(ev.ID, l, picked, err) {
			return Hold{}, err
		}
	}
	return Hold{}, ErrSeatUnavailable
}

// lostPick ends the claim of a pick whose hold failed with err and reports
// whether another node took some of its seats (a takenError), so the
// caller may pick again: the seats named stay hidden from this node's
// picks for a while.
func (s *Service) lostPick(eventID int64, l *eventLayout, picked []int32, err error) bool {
	defer s.recent.unclaim(eventID, picked)
	var taken *takenError
	if !errors.As(err, &taken) {
		return false
	}
	gone := make([]int32, 0, len(taken.ids))
	for _, id := range taken.ids {
		if idx, ok := l.byID[id]; ok {
			gone = append(gone, idx)
		}
	}
	s.recent.refused(eventID, time.Now(), gone, s.recentKeep())
	return true
}

// recentKeep is how long this node remembers seats it held or found taken:
// longer than any snapshot a request can still be picking from.
func (s *Service) recentKeep() time.Duration { return 10 * s.cfg.SnapshotTTL }

// pickBest chooses b.Quantity seats by idx from the available ones
// (statuses in idx order):
//  1. the best block of adjacent seats in one row that leaves no single
//     seat alone beside it (an orphan nobody buys);
//  2. failing that, the best adjacent block even if it leaves an orphan;
//  3. failing that, the best seats of the best section that has enough.
//
// "Best" is the lowest sum of seat ranks; with spread > 1 step 1 picks at
// random among the spread best blocks. It returns nil when nothing fits. It
// costs one pass over the seats that reads a few bytes per seat (the
// status and the layout's compact row index), no strings, no map look-ups,
// no walk over the 100-byte SeatInfo records: it runs on every
// best-available hold, over every seat of a stadium.
func pickBest(l *eventLayout, statuses []byte, b BestRequest, spread int) []int32 {
	q := b.Quantity
	ix := l.rowIndex()
	follows, rank := ix.follows, ix.rank
	n := min(len(l.seats), len(statuses))
	if b.Section != "" || b.MaxPriceCents > 0 {
		// A filter becomes a private status copy with the seats it
		// excludes marked held, so the walk below tests one byte per seat.
		mask := make([]byte, n)
		for i := range n {
			st := &l.seats[i]
			if statuses[i] == StateAvailable && (b.Section == "" || st.Section == b.Section) &&
				(b.MaxPriceCents <= 0 || st.PriceCents <= b.MaxPriceCents) {
				mask[i] = StateAvailable
			} else {
				mask[i] = StateHeld
			}
		}
		statuses = mask
	}
	statuses = statuses[:n]
	bestAny, anyScore := -1, math.MaxInt
	// clean holds the spread best orphan-free blocks, best first.
	type block struct{ start, score int }
	clean := make([]block, 0, spread)
	// Walk maximal runs of adjacent available seats in one row.
	for i := 0; i < n; {
		if statuses[i] != StateAvailable {
			// Jump to the next available seat (a vectorised search: late
			// in a sale most seats are gone).
			k := bytes.IndexByte(statuses[i:], StateAvailable)
			if k < 0 {
				break
			}
			i += k
		}
		j := i + 1
		for j < n && follows[j] && statuses[j] == StateAvailable {
			j++
		}
		// Run is [i, j). Slide a window of q seats along it.
		if j-i >= q {
			score := 0
			for k := i; k < i+q; k++ {
				score += int(rank[k])
			}
			for start := i; ; start++ {
				if score < anyScore {
					bestAny, anyScore = start, score
				}
				left, right := start-i, j-(start+q)
				if left != 1 && right != 1 && (len(clean) < spread || score < clean[len(clean)-1].score) {
					if len(clean) < spread {
						clean = append(clean, block{})
					}
					k := len(clean) - 1
					for ; k > 0 && clean[k-1].score > score; k-- {
						clean[k] = clean[k-1]
					}
					clean[k] = block{start, score}
				}
				if start+q >= j {
					break
				}
				score += int(rank[start+q]) - int(rank[start])
			}
		}
		i = j
	}
	start := bestAny
	if len(clean) > 0 {
		start = clean[rand.IntN(len(clean))].start
	}
	if start >= 0 {
		out := make([]int32, q)
		for k := range out {
			out[k] = int32(start + k)
		}
		return out
	}
	return pickScattered(l, q, statuses)
}

// rowIndex is what best-available reads per seat, by idx, in compact
// arrays that stay in cache: whether the seat sits right after the one
// before it in the same row (same section and row, next number), its rank,
// and its section's position in l.sections (best first; -1 if unknown).
type rowIndex struct {
	follows []bool
	rank    []int32
	section []int32
}

// rowIndex builds the layout's row index once, on first use.
func (l *eventLayout) rowIndex() *rowIndex {
	l.rowsOnce.Do(func() {
		n := len(l.seats)
		ix := &rowIndex{follows: make([]bool, n), rank: make([]int32, n), section: make([]int32, n)}
		secPos := make(map[string]int32, len(l.sections))
		for i, sec := range l.sections {
			secPos[sec.ID] = int32(i)
		}
		for i := range l.seats {
			b := &l.seats[i]
			ix.rank[i] = int32(b.Rank)
			if p, ok := secPos[b.Section]; ok {
				ix.section[i] = p
			} else {
				ix.section[i] = -1
			}
			if i > 0 {
				a := &l.seats[i-1]
				ix.follows[i] = a.Section == b.Section && a.Row == b.Row && b.Number == a.Number+1
			}
		}
		l.rows = ix
	})
	return l.rows
}

// pickScattered takes the q best available seats of the best-ranked
// section that has q of them, in one pass over the available seats.
func pickScattered(l *eventLayout, q int, statuses []byte) []int32 {
	ix := l.rowIndex()
	bySection := make([][]int32, len(l.sections))
	for i := 0; i < len(statuses); i++ {
		k := bytes.IndexByte(statuses[i:], StateAvailable)
		if k < 0 {
			break
		}
		i += k
		if sec := ix.section[i]; sec >= 0 {
			bySection[sec] = append(bySection[sec], int32(i))
		}
	}
	for _, cand := range bySection {
		if len(cand) < q {
			continue
		}
		// Selection by rank; q ≤ 8 so a partial selection sort is cheapest.
		for k := 0; k < q; k++ {
			m := k
			for c := k + 1; c < len(cand); c++ {
				if ix.rank[cand[c]] < ix.rank[cand[m]] {
					m = c
				}
			}
			cand[k], cand[m] = cand[m], cand[k]
		}
		return cand[:q]
	}
	return nil
}

// maxFaceFor is the largest face value whose all-in price (at the event's
// first price type) is at most allIn; false when no seat with a price
// fits. The all-in price never falls as the face value rises, so a binary
// search finds it.
func maxFaceFor(ev Event, allIn int64) (int64, bool) {
	t, err := priceTypeOf(ev.PriceTypes, "")
	if err != nil {
		return 0, false
	}
	cost := func(face int64) int64 { return ev.Fees.Price(t.Face(face)).TotalCents }
	if cost(0) > allIn {
		return 0, false
	}
	lo, hi := int64(0), int64(maxFeeCents) // cost(lo) <= allIn
	if cost(hi) <= allIn {
		return hi, true
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if cost(mid) <= allIn {
			lo = mid
		} else {
			hi = mid
		}
	}
	// A face of 0 would read as "any price" to pickBest: with only free
	// seats within the limit, say none (never a seat above the limit).
	return lo, lo > 0
}
