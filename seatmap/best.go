package seatmap

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
)

// bestAttempts bounds how often best-available retries when the seats it
// picked from a slightly stale snapshot were taken meanwhile.
const bestAttempts = 6

// retrySpread is how many of the best blocks a retry chooses among at
// random: fans who lost the same block at the same moment would otherwise
// all retry for the same next-best block and collide again.
const retrySpread = 8

// holdBest picks the best seats from the node's snapshot and holds them,
// picking again without the seats it lost when another fan was faster.
func (s *Service) holdBest(ctx context.Context, req HoldRequest, ev eventRow, l *eventLayout) (Hold, error) {
	b := req.Best
	if b.Quantity < 1 || b.Quantity > ev.MaxSeatsPerAccount {
		return Hold{}, ErrSeatCount.With("max", ev.MaxSeatsPerAccount)
	}
	snap, err := s.Snapshot(ctx, ev.ID)
	if err != nil {
		return Hold{}, err
	}
	exclude := make(map[int32]bool)
	for attempt := range bestAttempts {
		spread := 1
		if attempt > 0 {
			spread = retrySpread
		}
		picked := pickBest(l, snap.Statuses, *b, exclude, spread)
		if picked == nil {
			return Hold{}, ErrNoSeatsFound
		}
		ids := make([]int64, len(picked))
		for i, idx := range picked {
			ids[i] = l.seats[idx].ID
		}
		h, err := s.holdSeats(ctx, req.AccountID, ev, l, ids)
		if !errors.Is(err, ErrSeatUnavailable) {
			return h, err
		}
		for _, idx := range picked {
			exclude[idx] = true
		}
	}
	return Hold{}, ErrSeatUnavailable
}

// pickBest chooses b.Quantity seats by idx from the available ones
// (statuses in idx order), skipping exclude:
//  1. the best block of adjacent seats in one row that leaves no single
//     seat alone beside it (an orphan nobody buys);
//  2. failing that, the best adjacent block even if it leaves an orphan;
//  3. failing that, the best seats of the best section that has enough.
//
// "Best" is the lowest sum of seat ranks; with spread > 1 step 1 picks at
// random among the spread best blocks. It returns nil when nothing fits. It
// costs one pass over the seats.
func pickBest(l *eventLayout, statuses []byte, b BestRequest, exclude map[int32]bool, spread int) []int32 {
	q := b.Quantity
	ok := func(i int) bool {
		if i >= len(statuses) || statuses[i] != StateAvailable || exclude[int32(i)] {
			return false
		}
		st := &l.seats[i]
		return (b.Section == "" || st.Section == b.Section) && (b.MaxPriceCents <= 0 || st.PriceCents <= b.MaxPriceCents)
	}
	bestAny, anyScore := -1, math.MaxInt
	// clean holds the spread best orphan-free blocks, best first.
	type block struct{ start, score int }
	clean := make([]block, 0, spread)
	// Walk maximal runs of adjacent available seats in one row.
	for i := 0; i < len(l.seats); {
		if !ok(i) {
			i++
			continue
		}
		j := i + 1
		for j < len(l.seats) && ok(j) && adjacent(&l.seats[j-1], &l.seats[j]) {
			j++
		}
		// Run is [i, j). Try each window of q seats in it.
		for start := i; start+q <= j; start++ {
			score := 0
			for k := start; k < start+q; k++ {
				score += l.seats[k].Rank
			}
			if score < anyScore {
				bestAny, anyScore = start, score
			}
			left, right := start-i, j-(start+q)
			if left == 1 || right == 1 || (len(clean) == spread && score >= clean[len(clean)-1].score) {
				continue
			}
			if len(clean) < spread {
				clean = append(clean, block{})
			}
			k := len(clean) - 1
			for ; k > 0 && clean[k-1].score > score; k-- {
				clean[k] = clean[k-1]
			}
			clean[k] = block{start, score}
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
	return pickScattered(l, q, ok)
}

// adjacent reports whether b sits right next to a in the same row.
func adjacent(a, b *SeatInfo) bool {
	return a.Section == b.Section && a.Row == b.Row && b.Number == a.Number+1
}

// pickScattered takes the q best available seats of the best-ranked section
// that has q of them.
func pickScattered(l *eventLayout, q int, ok func(int) bool) []int32 {
	for _, sec := range l.sections {
		var cand []int32
		for i := range l.seats {
			if l.seats[i].Section == sec.ID && ok(i) {
				cand = append(cand, int32(i))
			}
		}
		if len(cand) < q {
			continue
		}
		// Selection by rank; q ≤ 8 so a partial selection sort is cheapest.
		for k := 0; k < q; k++ {
			m := k
			for c := k + 1; c < len(cand); c++ {
				if l.seats[cand[c]].Rank < l.seats[cand[m]].Rank {
					m = c
				}
			}
			cand[k], cand[m] = cand[m], cand[k]
		}
		return cand[:q]
	}
	return nil
}
