package realtime_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/realtime"
)

// TestRedisBrokerResubscribes: publications travel with their stream
// position (the header seatmap's stream script writes too); a private Redis is killed and restarted; the
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
	// Through the broker, with and without a stream position; data that
	// looks like a header stays data.
	for _, tc := range []struct {
		pub  realtime.Publication
		want string
	}{
		{realtime.Publication{Data: []byte(`{"a":1}`)}, `event:1:queue {"a":1}`},
		{realtime.Publication{Data: []byte(`{"a":2}`), Epoch: "ep", Seq: 12}, `event:1:queue {"a":2}@ep:12`},
		{realtime.Publication{Data: []byte(`__p1:3:x__y`)}, `event:1:queue __p1:3:x__y`},
		{realtime.Publication{Data: nil, Epoch: "e2", Seq: 1}, `event:1:queue @e2:1`},
	} {
		if err := b.Publish(ctx, "event:1:queue", tc.pub); err != nil {
			t.Fatal(err)
		}
		h.want(t, tc.want)
	}
	// A broken header is dropped, not delivered as data.
	pub.Publish(ctx, "t:event:1:queue", "__p1:x:ep__{}")
	pub.Publish(ctx, "t:event:1:queue", "after")
	h.want(t, "event:1:queue after")
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

func (r *recorder) HandleMessage(topic string, pub realtime.Publication) {
	if pub.Epoch != "" {
		r.msgs <- fmt.Sprintf("%s %s@%s:%d", topic, pub.Data, pub.Epoch, pub.Seq)
		return
	}
	r.msgs <- topic + " " + string(pub.Data)
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
