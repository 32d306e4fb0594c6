package waitingroom

import (
	"context"
	"testing"
	"time"
)

// TestFigures: the dashboard's queue figures follow joins and an admission
// tick, from the room's counters.
func TestFigures(t *testing.T) {
	f := newFixture(t, false)
	s := f.service(nil, nil)
	ctx := context.Background()
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true, AdmitPerMinute: 60_000, ActiveLimit: 10})
	bulkJoin(t, s, ev, accounts(1, 50))
	got, err := s.Figures(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	// Before the first tick opens the room, arrivals wait for the shuffle.
	if got.Prequeue != 50 || got.QueueLength != 0 || got.Cursor != 0 || got.ActiveShoppers != 0 {
		t.Fatalf("after 50 joins: %+v", got)
	}
	res, err := s.NewAdmitter(ev).Step(ctx)
	if err != nil || len(res.Admitted) == 0 {
		t.Fatalf("tick: %+v %v", res, err)
	}
	got, err = s.Figures(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(res.Admitted))
	if got.ActiveShoppers != n || got.Cursor < n || got.QueueLength != 50-got.Cursor || got.Prequeue != 0 || n > 10 {
		t.Errorf("after admitting %d: %+v", n, got)
	}
}
