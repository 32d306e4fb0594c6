package seatmap_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// lossyGate is the Redis gate whose releases can be made to fail, as a
// release that timed out on a busy Redis does.
type lossyGate struct {
	*seatmap.RedisGate
	failReleases atomic.Bool
}

func (g *lossyGate) Release(ctx context.Context, eventID int64, seatIDs []int64, holdID string) error {
	if g.failReleases.Load() {
		return errors.New("injected: release timed out")
	}
	return g.RedisGate.Release(ctx, eventID, seatIDs, holdID)
}

// TestGateRepair: a hold released in Postgres whose gate release was lost
// leaves keys that refuse every fan; after the refusals, one repair pass
// removes exactly those keys (a live hold's keys stay), and the seats sell.
func TestGateRepair(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	gate := &lossyGate{RedisGate: seatmap.NewRedisGate(rdb, prefix)}
	f := newFixture(t, fixtureOpts{gate: gate, cfg: seatmap.Config{SweepInterval: time.Hour}})
	ctx := context.Background()
	fans := f.accounts(4)
	hold := func(fan int64, idx ...int) (seatmap.Hold, error) {
		ids := make([]int64, len(idx))
		for i, x := range idx {
			ids[i] = f.seats[x]
		}
		return f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: fan, SeatIDs: ids})
	}
	lost, err := hold(fans[0], 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold(fans[1], 2, 3); err != nil { // stays live
		t.Fatal(err)
	}
	gate.failReleases.Store(true)
	if err := f.svc.Release(ctx, fans[0], lost.ID); err != nil {
		t.Fatal(err)
	}
	gate.failReleases.Store(false)

	if _, err := hold(fans[2], 0, 1); !errors.Is(err, seatmap.ErrSeatUnavailable) {
		t.Fatalf("hold of the stale-keyed seats: %v, want the gate's 409", err)
	}
	if _, err := hold(fans[3], 2, 3); !errors.Is(err, seatmap.ErrSeatUnavailable) {
		t.Fatalf("hold of held seats: %v, want 409", err)
	}
	freed, err := f.svc.RepairGate(ctx)
	if err != nil || freed != 2 {
		t.Fatalf("repair freed %d seats (%v), want the 2 of the released hold", freed, err)
	}
	if _, err := hold(fans[2], 0, 1); err != nil {
		t.Errorf("after the repair: %v", err)
	}
	if _, err := hold(fans[3], 2, 3); !errors.Is(err, seatmap.ErrSeatUnavailable) {
		t.Errorf("the live hold's seats after the repair: %v, want 409", err)
	}
	if freed, err := f.svc.RepairGate(ctx); err != nil || freed != 0 {
		t.Errorf("a second pass freed %d (%v), want 0", freed, err)
	}
}
