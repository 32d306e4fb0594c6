package seatmap_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/seatmap"
)

func TestHoldThenRelease(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	acct := f.accounts(1)[0]
	h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: []int64{f.seats[3], f.seats[2]}})
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if h.Status != seatmap.HoldActive || len(h.Seats) != 2 || h.TotalCents != 10000 {
		t.Errorf("hold = %+v, want active, 2 seats, 10000 cents", h)
	}
	if d := time.Until(h.ExpiresAt); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("expires in %v, want about the default 10m", d)
	}
	if st, _ := f.status(2); st != "held" {
		t.Errorf("seat 2 is %s, want held", st)
	}
	got, err := f.svc.GetHold(ctx, acct, h.ID)
	if err != nil || got.ID != h.ID || got.Status != seatmap.HoldActive {
		t.Errorf("GetHold = %+v, %v", got, err)
	}
	if _, err := f.svc.GetHold(ctx, acct+1000, h.ID); !errors.Is(err, seatmap.ErrHoldNotFound) {
		t.Errorf("another account's GetHold: err = %v, want not found", err)
	}
	if err := f.svc.Release(ctx, acct+1000, h.ID); !errors.Is(err, seatmap.ErrHoldNotFound) {
		t.Errorf("another account's Release: err = %v, want not found", err)
	}
	if err := f.svc.Release(ctx, acct, h.ID); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if st, _ := f.status(2); st != "available" {
		t.Errorf("seat 2 is %s after release, want available", st)
	}
	if err := f.svc.Release(ctx, acct, h.ID); !errors.Is(err, seatmap.ErrHoldNotActive) {
		t.Errorf("second Release: err = %v, want hold_not_active", err)
	}
	// The released seats can be held again at once, through the gate.
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: []int64{f.seats[2]}}); err != nil {
		t.Errorf("hold after release: %v", err)
	}
}

// TestHoldRace: ≥ 200 concurrent holds from 60 accounts over overlapping
// sets of 20 seats. Every seat ends in at most one live hold, the winners'
// seats are disjoint, and every loser is told which of its seats were taken
// — seats that some winner indeed holds.
func TestHoldRace(t *testing.T) {
	t.Run("redis gate", func(t *testing.T) { testHoldRace(t, false) })
	t.Run("postgres alone", func(t *testing.T) { testHoldRace(t, true) })
}

func testHoldRace(t *testing.T, noGate bool) {
	// A gate call that times out on the loaded test machine falls back to
	// Postgres alone and may leave its keys behind, refusing a seat nobody
	// ends up holding until the sweeper's gate repair (TestGateRepair): a
	// long GateTimeout keeps that fallback out of this race, whose rule is
	// that every refusal names a seat a winner holds.
	reg := prometheus.NewRegistry()
	f := newFixture(t, fixtureOpts{layout: smallLayout(1, 2, 10), noGate: noGate,
		cfg: seatmap.Config{GateTimeout: 30 * time.Second, Metrics: reg}})
	ctx := context.Background()
	// 60 accounts make at most 4 requests each of at most 2 seats, so none
	// can reach the cap of 8 and every refusal must be a seat conflict.
	accts := f.accounts(60)
	const requests = 240
	type result struct {
		want  []int64
		hold  seatmap.Hold
		taken []string
		err   error
	}
	results := make([]result, requests)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range requests {
		n := 1 + rand.IntN(2)
		want := make([]int64, 0, n)
		for len(want) < n {
			id := f.seats[rand.IntN(len(f.seats))]
			if !slices.Contains(want, id) {
				want = append(want, id)
			}
		}
		results[i].want = want
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: accts[i%len(accts)], SeatIDs: want})
			results[i].hold, results[i].err = h, err
			if e := apperr.As(err); e != nil {
				results[i].taken, _ = e.Details["seats"].([]string)
			}
		}()
	}
	close(start)
	wg.Wait()

	owner := map[int64]string{}
	wins := 0
	for i, r := range results {
		switch {
		case r.err == nil:
			wins++
			for _, s := range r.hold.Seats {
				if prev, dup := owner[s.ID]; dup {
					t.Fatalf("seat %d held by %s and %s", s.ID, prev, r.hold.ID)
				}
				owner[s.ID] = r.hold.ID
			}
		case errors.Is(r.err, seatmap.ErrSeatUnavailable):
			if len(r.taken) == 0 {
				t.Errorf("request %d: 409 without naming seats", i)
			}
			for _, s := range r.taken {
				if !slices.ContainsFunc(r.want, func(id int64) bool { return seatString(id) == s }) {
					t.Errorf("request %d named seat %s it did not ask for", i, s)
				}
			}
		default:
			t.Errorf("request %d: unexpected error %v", i, r.err)
		}
	}
	// With no releases, every seat a loser was told is taken is held now.
	for i, r := range results {
		for _, s := range r.taken {
			found := false
			for id := range owner {
				if seatString(id) == s {
					found = true
				}
			}
			if !found {
				t.Errorf("request %d was told seat %s is taken, but no winner holds it", i, s)
			}
		}
	}
	inv := f.checkInvariants()
	if inv.Held != len(owner) {
		t.Errorf("held seats = %d, winners hold %d", inv.Held, len(owner))
	}
	rounds, carried := holdRounds(t, reg)
	t.Logf("%d requests: %d holds won, %d seats held of %d; %d rounds carried %d holds", requests, wins, inv.Held, len(f.seats), rounds, carried)
	if wins == 0 || wins == requests {
		t.Errorf("wins = %d: the race did not contend", wins)
	}
}

func seatString(id int64) string { return strconvI(id) }

func TestCapPerAccount(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	acct := f.accounts(1)[0]
	hold := func(idx ...int) (seatmap.Hold, error) {
		ids := make([]int64, len(idx))
		for i, x := range idx {
			ids[i] = f.seats[x]
		}
		return f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: ids})
	}
	if _, err := hold(0, 1, 2, 3, 4); err != nil {
		t.Fatal(err)
	}
	h2, err := hold(5, 6, 7)
	if err != nil {
		t.Fatal(err)
	}
	_, err = hold(8)
	if !errors.Is(err, seatmap.ErrCapExceeded) || apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("9th seat: err = %v, want seat_cap_exceeded (422)", err)
	}
	if st, _ := f.status(8); st != "available" {
		t.Errorf("seat 8 is %s after a refused hold, want available", st)
	}
	if err := f.svc.Release(ctx, acct, h2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := hold(8, 9, 10); err != nil {
		t.Errorf("after releasing 3 seats, holding 3 more: %v", err)
	}
}

func TestHoldRejectsBadRequests(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	other := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	acct := f.accounts(1)[0]
	nine := slices.Clone(f.seats[:9])
	tests := []struct {
		name  string
		event int64
		seats []int64
		want  error
	}{
		{"no seats", f.event, nil, seatmap.ErrSeatCount},
		{"nine seats", f.event, nine, seatmap.ErrSeatCount},
		{"duplicate", f.event, []int64{f.seats[0], f.seats[0]}, seatmap.ErrDuplicateSeats},
		{"unknown seat", f.event, []int64{f.seats[0], 987654321}, seatmap.ErrUnknownSeats},
		{"another event's seat", f.event, []int64{other.seats[0]}, seatmap.ErrUnknownSeats},
		{"unknown event", 987654321, []int64{f.seats[0]}, seatmap.ErrEventNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: tt.event, AccountID: acct, SeatIDs: tt.seats})
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if inv := f.checkInvariants(); inv.Held != 0 {
		t.Errorf("%d seats held after only bad requests", inv.Held)
	}
}

func TestNotOnSale(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	acct := f.accounts(1)[0]
	if _, err := f.db.Exec(ctx, `UPDATE events SET paused = true WHERE id = $1`, f.event); err != nil {
		t.Fatal(err)
	}
	f.svc.ForgetEvent(f.event)
	_, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: f.seats[:1]})
	if !errors.Is(err, seatmap.ErrNotOnSale) {
		t.Errorf("hold while paused: err = %v, want not_on_sale", err)
	}
}

func TestReserveShare(t *testing.T) {
	f := newFixture(t, fixtureOpts{reserve: 0.1, layout: smallLayout(2, 5, 20)})
	inv := f.checkInvariants()
	if inv.Reserved != 20 || inv.Available != 180 {
		t.Errorf("reserved %d available %d of 200, want 20 and 180", inv.Reserved, inv.Available)
	}
	ctx := context.Background()
	var reservedID int64
	if err := f.db.QueryRow(ctx, `SELECT id FROM seats WHERE event_id = $1 AND status = 'reserved' LIMIT 1`, f.event).Scan(&reservedID); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: f.accounts(1)[0], SeatIDs: []int64{reservedID}})
	if !errors.Is(err, seatmap.ErrSeatUnavailable) {
		t.Errorf("holding a reserved seat: err = %v, want seat_unavailable", err)
	}
}
