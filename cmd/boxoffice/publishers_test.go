package main

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/realtime"
)

// countingBroker counts publishes.
type countingBroker struct{ n atomic.Int64 }

func (b *countingBroker) Publish(context.Context, string, []byte) error { b.n.Add(1); return nil }
func (*countingBroker) Subscribe(context.Context, string) error         { return nil }
func (*countingBroker) Unsubscribe(context.Context, string) error       { return nil }
func (*countingBroker) Run(context.Context, realtime.Handler) error     { return nil }

// TestStatsPublisherOneNodePerTick: two nodes building the same event's
// stats frame in one tick publish it once; another event is separate.
func TestStatsPublisherOneNodePerTick(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	b := &countingBroker{}
	nodeA := statsPublisher{realtime.NewFrames(b), rdb, prefix}
	nodeB := statsPublisher{realtime.NewFrames(b), rdb, prefix}
	ctx := context.Background()
	for _, p := range []statsPublisher{nodeA, nodeB, nodeA} {
		if err := p.PublishStats(ctx, 7, map[string]any{"held": 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodeB.PublishStats(ctx, 8, map[string]any{"held": 1}); err != nil {
		t.Fatal(err)
	}
	if got := b.n.Load(); got != 2 {
		t.Errorf("publishes = %d, want 2 (one per event in the tick)", got)
	}
}
