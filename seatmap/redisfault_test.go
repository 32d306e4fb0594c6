package seatmap_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// race runs n concurrent holds of 1-3 random seats from accts and returns
// how many won; every error must be a seat conflict or a cap refusal.
func race(t *testing.T, f *fixture, accts []int64, n int, midway func()) int64 {
	t.Helper()
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == n/2 && midway != nil {
				midway()
			}
			k := 1 + rand.IntN(3)
			perm := rand.Perm(len(f.seats))[:k]
			ids := make([]int64, k)
			for j, p := range perm {
				ids[j] = f.seats[p]
			}
			_, err := f.svc.Hold(context.Background(), seatmap.HoldRequest{EventID: f.event, AccountID: accts[i%len(accts)], SeatIDs: ids})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, seatmap.ErrSeatUnavailable), errors.Is(err, seatmap.ErrCapExceeded):
			default:
				t.Errorf("hold: unexpected error %v", err)
			}
		}()
	}
	wg.Wait()
	return wins.Load()
}

// TestRedisStopped: with Redis dead, holds go through Postgres alone and are
// still correct; when it comes back the gate works again.
func TestRedisStopped(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	f := newFixture(t, fixtureOpts{gate: seatmap.NewRedisGate(srv.Client(), "bo:"), layout: smallLayout(1, 2, 15)})
	accts := f.accounts(40)
	srv.Stop()
	wins := race(t, f, accts, 200, nil)
	inv := f.checkInvariants()
	t.Logf("Redis down: %d holds won, %d seats held", wins, inv.Held)
	if wins == 0 {
		t.Fatal("no hold succeeded with Redis down")
	}
	srv.Start()
	f2 := newFixture(t, fixtureOpts{gate: seatmap.NewRedisGate(srv.Client(), "bo:")})
	if _, err := f2.svc.Hold(context.Background(), seatmap.HoldRequest{EventID: f2.event, AccountID: accts[0], SeatIDs: f2.seats[:1]}); err != nil {
		t.Errorf("hold after Redis came back: %v", err)
	}
}

// TestRedisFlushedMidRace: Redis forgets every gate key halfway through a
// race; Postgres still lets no seat be held twice.
func TestRedisFlushedMidRace(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	rdb := srv.Client()
	f := newFixture(t, fixtureOpts{gate: seatmap.NewRedisGate(rdb, "bo:"), layout: smallLayout(1, 2, 15)})
	accts := f.accounts(40)
	wins := race(t, f, accts, 300, func() {
		if err := rdb.FlushAll(context.Background()).Err(); err != nil {
			t.Errorf("FLUSHALL: %v", err)
		}
	})
	inv := f.checkInvariants()
	t.Logf("flushed mid-race: %d holds won, %d seats held", wins, inv.Held)
}
