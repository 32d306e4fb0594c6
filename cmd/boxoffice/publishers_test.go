package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/realtime"
)

// countingBroker counts publishes.
type countingBroker struct{ n atomic.Int64 }

func (b *countingBroker) Publish(context.Context, string, []byte) error { b.n.Add(1); return nil }
func (*countingBroker) Subscribe(context.Context, string) error         { return nil }
func (*countingBroker) Unsubscribe(context.Context, string) error       { return nil }
func (*countingBroker) Run(context.Context, realtime.Handler) error     { return nil }

// TestStatsPublisherOneNode: of two nodes building the same event's stats
// frames, only the lease holder publishes, every time it builds one (two
// ticks close together both go out); the other takes over once the holder
// has been silent for the lease; another event is separate.
func TestStatsPublisherOneNode(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	b := &countingBroker{}
	nodeA := newStatsPublisher(realtime.NewFrames(b), rdb, prefix, "a")
	nodeB := newStatsPublisher(realtime.NewFrames(b), rdb, prefix, "b")
	nodeA.lease, nodeB.lease = 300*time.Millisecond, 300*time.Millisecond
	ctx := context.Background()
	publish := func(p statsPublisher, event int64) int64 {
		before := b.n.Load()
		if err := p.PublishStats(ctx, event, map[string]any{"held": 1}); err != nil {
			t.Fatal(err)
		}
		return b.n.Load() - before
	}
	for i, step := range []struct {
		p     statsPublisher
		event int64
		want  int64
	}{{nodeA, 7, 1}, {nodeB, 7, 0}, {nodeA, 7, 1}, {nodeA, 7, 1}, {nodeB, 8, 1}} {
		if got := publish(step.p, step.event); got != step.want {
			t.Errorf("step %d (%s, event %d): %d publishes, want %d", i, step.p.node, step.event, got, step.want)
		}
	}
	time.Sleep(400 * time.Millisecond) // A falls silent past its lease
	if got := publish(nodeB, 7); got != 1 {
		t.Errorf("B after A's lease ran out: %d publishes, want 1", got)
	}
	if got := publish(nodeA, 7); got != 0 {
		t.Errorf("A after B took over: %d publishes, want 0", got)
	}
}
