package seatmap_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// channel names an event's channel as cmd does (the broker's seats topic).
func channel(prefix string) func(int64) string {
	return func(id int64) string { return prefix + "event:" + strconv.FormatInt(id, 10) + ":seats" }
}

// TestRedisStream: each publish gets the next seq under one epoch, catch-up
// merges per seat (higher version wins), a trimmed stream or another epoch
// is ErrStreamGone, and a Redis that lost the keys starts a new epoch.
func TestRedisStream(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	p := seatmap.NewRedisStream(rdb, prefix, channel(prefix))
	p.MaxLen = 10
	start, err := p.Position(ctx, 7)
	if err != nil || start.Epoch == "" || start.Seq != 0 {
		t.Fatalf("start position %+v %v", start, err)
	}
	for v := int64(1); v <= 3; v++ {
		if err := p.PublishSeats(ctx, 7, []seatmap.SeatChange{{Idx: 4, State: 'h', Version: v}, {Idx: 10 + int32(v), State: 's', Version: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	pos, _ := p.Position(ctx, 7)
	if pos.Epoch != start.Epoch || pos.Seq != 3 {
		t.Fatalf("position %+v, want seq 3 in epoch %s", pos, start.Epoch)
	}
	d, err := p.Diffs(ctx, 7, seatmap.Position{Epoch: pos.Epoch, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []seatmap.SeatChange{{4, 'h', 3}, {12, 's', 1}, {13, 's', 1}}
	if d.From != 1 || d.To != 3 || len(d.Seats) != len(want) {
		t.Fatalf("diffs %+v", d)
	}
	for i := range want {
		if d.Seats[i] != want[i] {
			t.Errorf("seat %d: got %+v want %+v", i, d.Seats[i], want[i])
		}
	}
	if d, err := p.Diffs(ctx, 7, seatmap.Position{Seq: 3}); err != nil || len(d.Seats) != 0 || d.To != 3 {
		t.Errorf("diffs from the head: %+v %v", d, err)
	}
	for _, tc := range []struct {
		epoch string
		from  int64
	}{{"other", 1}, {pos.Epoch, 4}} {
		if _, err := p.Diffs(ctx, 7, seatmap.Position{Epoch: tc.epoch, Seq: tc.from}); !errors.Is(err, seatmap.ErrStreamGone) {
			t.Errorf("Diffs(%q, %d) = %v, want ErrStreamGone", tc.epoch, tc.from, err)
		}
	}
	// Past MaxLen the oldest entries are trimmed: gone, not a silent gap.
	for range 300 {
		p.PublishSeats(ctx, 7, []seatmap.SeatChange{{Idx: 1, State: 'a', Version: 9}})
	}
	if _, err := p.Diffs(ctx, 7, seatmap.Position{Epoch: pos.Epoch, Seq: 1}); !errors.Is(err, seatmap.ErrStreamGone) {
		t.Errorf("diffs from a trimmed seq: %v, want ErrStreamGone", err)
	}
	// Redis lost everything: a new epoch, seq from 0.
	keys, _ := rdb.Keys(ctx, prefix+"ev:{7}:*").Result()
	rdb.Del(ctx, keys...)
	again, _ := p.Position(ctx, 7)
	if again.Epoch == start.Epoch || again.Seq != 0 {
		t.Errorf("after data loss %+v, want a new epoch at 0", again)
	}
}

// TestRedisStreamFailedPublish: a publish that fails (here a timeout while
// Redis is paused) leaves a change no seq covers, so the stream moves to a
// new epoch and clients refetch instead of silently missing it.
func TestRedisStreamFailedPublish(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	admin := srv.Client()
	rdb := srv.Client()
	rdb.Options().ReadTimeout = 100 * time.Millisecond
	rdb.Options().WriteTimeout = 100 * time.Millisecond
	ctx := context.Background()
	p := seatmap.NewRedisStream(rdb, "t:", channel("t:"))
	if err := p.PublishSeats(ctx, 1, []seatmap.SeatChange{{Idx: 0, State: 'h', Version: 1}}); err != nil {
		t.Fatal(err)
	}
	before, _ := p.Position(ctx, 1)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "400", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.PublishSeats(ctx, 1, []seatmap.SeatChange{{Idx: 0, State: 'a', Version: 2}}); err == nil {
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

// TestRedisStreamFrames: what a subscriber of the channel hears is the
// diff frame behind the broker's position header, seq by seq.
func TestRedisStreamFrames(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	p := seatmap.NewRedisStream(rdb, prefix, channel(prefix))
	sub := rdb.Subscribe(ctx, channel(prefix)(9))
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	for v := int64(1); v <= 2; v++ {
		if err := p.PublishSeats(ctx, 9, []seatmap.SeatChange{{Idx: 3, State: 'h', Version: v}, {Idx: 7, State: 'x', Version: 2}}); err != nil {
			t.Fatal(err)
		}
	}
	pos, _ := p.Position(ctx, 9)
	for seq := int64(1); seq <= 2; seq++ {
		m, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := "__p1:" + strconv.FormatInt(seq, 10) + ":" + pos.Epoch + "__" +
			`{"type":"seats","event":"9","epoch":"` + pos.Epoch + `","from":` + strconv.FormatInt(seq-1, 10) +
			`,"to":` + strconv.FormatInt(seq, 10) + `,"seats":[[3,"h",` + strconv.FormatInt(seq, 10) + `],[7,"x",2]]}`
		if m.Payload != want {
			t.Errorf("message %d:\n got %s\nwant %s", seq, m.Payload, want)
		}
	}
}
