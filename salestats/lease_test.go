package salestats

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

// countingPublisher counts publishes.
type countingPublisher struct{ n atomic.Int64 }

func (p *countingPublisher) PublishStats(context.Context, int64, []byte) error {
	p.n.Add(1)
	return nil
}

// TestLeaseOneNode: of two nodes building the same event's stats frames,
// only the lease holder publishes, every time it builds one (two ticks close
// together both go out); the other takes over once the holder has been
// silent for the lease; another event is separate.
func TestLeaseOneNode(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	p := &countingPublisher{}
	nodeA := NewLease(p, rdb, prefix, "a")
	nodeB := NewLease(p, rdb, prefix, "b")
	nodeA.ttl, nodeB.ttl = 300*time.Millisecond, 300*time.Millisecond
	ctx := context.Background()
	publish := func(l *Lease, event int64) int64 {
		before := p.n.Load()
		if err := l.PublishStats(ctx, event, []byte(`{"type":"stats"}`)); err != nil {
			t.Fatal(err)
		}
		return p.n.Load() - before
	}
	for i, step := range []struct {
		l     *Lease
		event int64
		want  int64
	}{{nodeA, 7, 1}, {nodeB, 7, 0}, {nodeA, 7, 1}, {nodeA, 7, 1}, {nodeB, 8, 1}} {
		if got := publish(step.l, step.event); got != step.want {
			t.Errorf("step %d (%s, event %d): %d publishes, want %d", i, step.l.node, step.event, got, step.want)
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
