package seatmap_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestHoldRoundMixed: holds that share a round (group commit, holdbatch.go)
// each get their own answer. In one round a hold of a taken seat and a hold
// over its account's cap are refused and leave none of their seats held,
// beside holds that succeed; a hold wanting a seat of an earlier hold of
// the queue, and a second hold of the same account, go in the next round
// and are answered as if they had come after. With the Redis gate, the
// gate's batched script answers first; with Postgres alone, the one
// statement does.
func TestHoldRoundMixed(t *testing.T) {
	t.Run("redis gate", func(t *testing.T) { testHoldRoundMixed(t, false) })
	t.Run("postgres alone", func(t *testing.T) { testHoldRoundMixed(t, true) })
}

func testHoldRoundMixed(t *testing.T, noGate bool) {
	f := newFixture(t, fixtureOpts{noGate: noGate})
	ctx := context.Background()
	accts := f.accounts(6)
	a, b, c, d, e, x := accts[0], accts[1], accts[2], accts[3], accts[4], accts[5]
	seats := func(idx ...int) []int64 {
		ids := make([]int64, len(idx))
		for i, k := range idx {
			ids[i] = f.seats[k]
		}
		return ids
	}
	// Seat 0 is taken; c holds 7 of its 8 seats.
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: x, SeatIDs: seats(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: c, SeatIDs: seats(10, 11, 12, 13, 14, 15, 16)}); err != nil {
		t.Fatal(err)
	}
	reqs := []seatmap.HoldRequest{
		{AccountID: a, SeatIDs: seats(1, 2)}, // 0: succeeds
		{AccountID: b, SeatIDs: seats(3, 0)}, // 1: seat 0 taken
		{AccountID: c, SeatIDs: seats(4, 5)}, // 2: over c's cap
		{AccountID: d, SeatIDs: seats(2, 6)}, // 3: seat 2 is hold 0's: next round, refused
		{AccountID: a, SeatIDs: seats(7)},    // 4: a's second hold: next round, succeeds
		{AccountID: e, SeatIDs: seats(8, 9)}, // 5: succeeds
	}
	for i := range reqs {
		reqs[i].EventID = f.event
	}
	holds, errs, rounds := f.svc.HoldTogether(ctx, reqs)
	if !slices.Equal(rounds, []int{4, 2}) {
		t.Errorf("rounds carried %v holds, want [4 2]", rounds)
	}
	for _, i := range []int{0, 4, 5} {
		if errs[i] != nil {
			t.Errorf("hold %d: %v, want success", i, errs[i])
		} else if got := idsOf(holds[i]); !slices.Equal(got, slices.Sorted(slices.Values(reqs[i].SeatIDs))) {
			t.Errorf("hold %d holds %v, want %v", i, got, reqs[i].SeatIDs)
		}
	}
	wantTaken := func(i int, seat int64) {
		t.Helper()
		if !errors.Is(errs[i], seatmap.ErrSeatUnavailable) {
			t.Errorf("hold %d: err = %v, want seat_unavailable", i, errs[i])
			return
		}
		named, _ := apperr.As(errs[i]).Details["seats"].([]string)
		if !slices.Equal(named, []string{strconvI(seat)}) {
			t.Errorf("hold %d named %v as taken, want [%d]", i, named, seat)
		}
	}
	wantTaken(1, f.seats[0])
	wantTaken(3, f.seats[2])
	if !errors.Is(errs[2], seatmap.ErrCapExceeded) {
		t.Errorf("hold 2: err = %v, want seat_cap_exceeded", errs[2])
	}
	// No partial hold: every seat of a refused hold is where it was.
	for _, k := range []int{3, 4, 5, 6} {
		if st, hold := f.status(k); st != "available" || hold != nil {
			t.Errorf("seat %d is %s (hold %v) after refused holds, want available", k, st, hold)
		}
	}
	for i, k := range map[int][]int{0: {1, 2}, 4: {7}, 5: {8, 9}} {
		for _, idx := range k {
			if st, hold := f.status(idx); st != "held" || hold == nil || *hold != holds[i].ID {
				t.Errorf("seat %d is %s by %v, want held by hold %d (%s)", idx, st, hold, i, holds[i].ID)
			}
		}
	}
	// The refused holds left no gate keys behind: their seats hold at once.
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: d, SeatIDs: seats(3, 4, 5, 6)}); err != nil {
		t.Errorf("holding the refused holds' seats afterwards: %v", err)
	}
	// The fixture's cleanup checks the invariants, every account's counter
	// among them.
}

func idsOf(h seatmap.Hold) []int64 {
	ids := make([]int64, len(h.Seats))
	for i, s := range h.Seats {
		ids[i] = s.ID
	}
	return ids
}

// holdRounds reads from a service's metrics how many rounds of holds it
// wrote and how many holds they carried (group commit: more holds than
// rounds means holds shared rounds).
func holdRounds(t *testing.T, reg *prometheus.Registry) (rounds, holds int) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "boxoffice_hold_round_holds" {
			h := mf.GetMetric()[0].GetHistogram()
			return int(h.GetSampleCount()), int(h.GetSampleSum())
		}
	}
	return 0, 0
}
