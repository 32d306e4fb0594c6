package realtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/realtime"
)

// TestSeatStream: each publish gets the next seq under one epoch, catch-up
// merges per seat (higher version wins), a trimmed stream or another epoch
// is ErrDiffsGone, and a Redis that lost the keys starts a new epoch.
func TestSeatStream(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	p := realtime.NewSeatStream(rdb, prefix)
	p.MaxLen = 10
	start, err := p.Position(ctx, 7)
	if err != nil || start.Epoch == "" || start.Seq != 0 {
		t.Fatalf("start position %+v %v", start, err)
	}
	for v := int64(1); v <= 3; v++ {
		if err := p.Publish(ctx, 7, []realtime.SeatEntry{{Idx: 4, State: "h", Version: v}, {Idx: 10 + v, State: "s", Version: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	pos, _ := p.Position(ctx, 7)
	if pos.Epoch != start.Epoch || pos.Seq != 3 {
		t.Fatalf("position %+v, want seq 3 in epoch %s", pos, start.Epoch)
	}
	d, err := p.Diffs(ctx, 7, pos.Epoch, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []realtime.SeatEntry{{4, "h", 3}, {12, "s", 1}, {13, "s", 1}}
	if d.From != 1 || d.To != 3 || len(d.Seats) != len(want) {
		t.Fatalf("diffs %+v", d)
	}
	for i := range want {
		if d.Seats[i] != want[i] {
			t.Errorf("seat %d: got %+v want %+v", i, d.Seats[i], want[i])
		}
	}
	if d, err := p.Diffs(ctx, 7, "", 3); err != nil || len(d.Seats) != 0 || d.To != 3 {
		t.Errorf("diffs from the head: %+v %v", d, err)
	}
	for _, tc := range []struct {
		epoch string
		from  int64
	}{{"other", 1}, {pos.Epoch, 4}} {
		if _, err := p.Diffs(ctx, 7, tc.epoch, tc.from); !errors.Is(err, realtime.ErrDiffsGone) {
			t.Errorf("Diffs(%q, %d) = %v, want ErrDiffsGone", tc.epoch, tc.from, err)
		}
	}
	// Past MaxLen the oldest entries are trimmed: gone, not a silent gap.
	for range 300 {
		p.Publish(ctx, 7, []realtime.SeatEntry{{Idx: 1, State: "a", Version: 9}})
	}
	if _, err := p.Diffs(ctx, 7, pos.Epoch, 1); !errors.Is(err, realtime.ErrDiffsGone) {
		t.Errorf("diffs from a trimmed seq: %v, want ErrDiffsGone", err)
	}
	// Redis lost everything: a new epoch, seq from 0.
	keys, _ := rdb.Keys(ctx, prefix+"ev:{7}:*").Result()
	rdb.Del(ctx, keys...)
	again, _ := p.Position(ctx, 7)
	if again.Epoch == start.Epoch || again.Seq != 0 {
		t.Errorf("after data loss %+v, want a new epoch at 0", again)
	}
}

// TestRedisBrokerResubscribes: a private Redis is killed and restarted; the
// broker resubscribes by itself, tells the hub to resync, and messages
// flow again.
func TestRedisBrokerResubscribes(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	rdb := srv.Client()
	b := realtime.NewRedisBroker(rdb, "t:", nil)
	h := &recorder{msgs: make(chan string, 100), resyncs: make(chan struct{}, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx, h); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	if err := b.Subscribe(sctx, "event:1:queue"); err != nil {
		t.Fatal(err)
	}
	pub := srv.Client()
	pub.Publish(ctx, "t:event:1:queue", "one")
	h.want(t, "event:1:queue one")
	srv.Stop()
	srv.Start()
	select {
	case <-h.resyncs:
	case <-time.After(10 * time.Second):
		t.Fatal("no resync after the restart")
	}
	// Resubscribed: publish until it arrives (the resubscribe may trail
	// the resync by a moment).
	deadline := time.Now().Add(5 * time.Second)
	for {
		pub.Publish(ctx, "t:event:1:queue", "two")
		select {
		case m := <-h.msgs:
			if m != "event:1:queue two" {
				t.Fatalf("got %q", m)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no message after the restart")
		}
	}
}

type recorder struct {
	msgs    chan string
	resyncs chan struct{}
}

func (r *recorder) HandleMessage(topic string, payload []byte) {
	r.msgs <- topic + " " + string(payload)
}
func (r *recorder) HandleResync() { r.resyncs <- struct{}{} }

func (r *recorder) want(t *testing.T, s string) {
	t.Helper()
	select {
	case m := <-r.msgs:
		if m != s {
			t.Fatalf("got %q want %q", m, s)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no message %q", s)
	}
}

// TestSeatStreamFailedPublish: a publish that fails (here a timeout while
// Redis is paused) leaves a change no seq covers, so the stream moves to a
// new epoch and clients refetch instead of silently missing it.
func TestSeatStreamFailedPublish(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	admin := srv.Client()
	rdb := srv.Client()
	rdb.Options().ReadTimeout = 100 * time.Millisecond
	rdb.Options().WriteTimeout = 100 * time.Millisecond
	ctx := context.Background()
	p := realtime.NewSeatStream(rdb, "t:")
	if err := p.Publish(ctx, 1, []realtime.SeatEntry{{Idx: 0, State: "h", Version: 1}}); err != nil {
		t.Fatal(err)
	}
	before, _ := p.Position(ctx, 1)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "400", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, 1, []realtime.SeatEntry{{Idx: 0, State: "a", Version: 2}}); err == nil {
		t.Fatal("publish during CLIENT PAUSE succeeded; the test needs it to time out")
	}
	time.Sleep(500 * time.Millisecond)
	after, err := p.Position(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if after.Epoch == before.Epoch {
		t.Errorf("epoch %s kept after a failed publish: clients would miss the change", after.Epoch)
	}
	again, _ := p.Position(ctx, 1)
	if again.Epoch != after.Epoch {
		t.Errorf("epoch changed again (%s → %s) without a new failure", after.Epoch, again.Epoch)
	}
}
