package seatmap_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/seatmap"
)

// logPublisher is a seat stream in memory: it numbers what it publishes,
// reads it back merged per seat, and can lose publishes (a node that died
// between its commit and its publish).
type logPublisher struct {
	mu   sync.Mutex
	log  [][]seatmap.SeatChange
	lose atomic.Bool
}

func (p *logPublisher) PublishSeats(_ context.Context, _ int64, cs []seatmap.SeatChange) error {
	if p.lose.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, append([]seatmap.SeatChange(nil), cs...))
	return nil
}

func (p *logPublisher) Position(context.Context, int64) (seatmap.Position, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return seatmap.Position{Epoch: "e", Seq: int64(len(p.log))}, nil
}

func (p *logPublisher) Diffs(_ context.Context, _ int64, after seatmap.Position) (seatmap.Diffs, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []seatmap.SeatChange
	for _, cs := range p.log[after.Seq:] {
		out = append(out, cs...)
	}
	return seatmap.Diffs{Epoch: "e", From: after.Seq, To: int64(len(p.log)), Seats: seatmap.MergeChanges(out)}, nil
}

// last returns the latest published change of seat idx.
func (p *logPublisher) last(idx int32) (seatmap.SeatChange, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var c seatmap.SeatChange
	found := false
	for _, cs := range p.log {
		for _, x := range cs {
			if x.Idx == idx {
				c, found = x, true
			}
		}
	}
	return c, found
}

// TestStreamRepair: a hold whose publish was lost is published again from
// Postgres on the second check that finds the stream behind (the first
// could be a publish in flight); changes the stream carried are left
// alone.
func TestStreamRepair(t *testing.T) {
	pub := &logPublisher{}
	f := newFixture(t, fixtureOpts{pub: pub, cfg: seatmap.Config{StreamCheck: time.Nanosecond, SweepInterval: time.Hour}})
	ctx := context.Background()
	fans := f.accounts(3)
	hold := func(fan int64, idx int) {
		t.Helper()
		if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: fan, SeatIDs: []int64{f.seats[idx]}}); err != nil {
			t.Fatal(err)
		}
	}
	repair := func(want int) {
		t.Helper()
		if n, err := f.svc.RepairStream(ctx); err != nil || n != want {
			t.Fatalf("RepairStream = %d, %v; want %d", n, err, want)
		}
	}
	hold(fans[0], 0)
	repair(0) // starts following the event
	pub.lose.Store(true)
	hold(fans[1], 1) // committed, never published
	pub.lose.Store(false)
	if _, ok := pub.last(1); ok {
		t.Fatal("the lost publish reached the stream")
	}
	repair(0) // behind once: maybe in flight
	repair(1) // behind twice: republished
	c, ok := pub.last(1)
	var version int64
	if err := f.db.QueryRow(ctx, `SELECT version FROM seats WHERE id = $1`, f.seats[1]).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !ok || c.State != seatmap.StateHeld || c.Version != version {
		t.Errorf("republished %+v (%v), want held at version %d", c, ok, version)
	}
	hold(fans[2], 2) // published as usual
	repair(0)
	repair(0)
}
