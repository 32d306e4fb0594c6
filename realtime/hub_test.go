package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTransport records frames; block makes writes hang like a client that
// never reads, until unblocked.
type fakeTransport struct {
	mu     sync.Mutex
	frames [][]byte
	code   int
	pings  int
	closed bool
	got    chan []byte
	block  chan struct{}
	// gate, when set, makes each write wait for a token; delay slows
	// every write; skipBeats keeps heartbeats out of got.
	gate      chan struct{}
	delay     time.Duration
	skipBeats bool
}

func newFake(blocked bool) *fakeTransport {
	f := &fakeTransport{got: make(chan []byte, 10000)}
	if blocked {
		f.block = make(chan struct{})
	}
	return f
}

func (f *fakeTransport) WriteFrame(fr *Frame, _ time.Time) error {
	if f.block != nil {
		<-f.block
	}
	if f.gate != nil {
		<-f.gate
	}
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("closed")
	}
	f.frames = append(f.frames, fr.Data)
	if !f.skipBeats || !strings.Contains(string(fr.Data), `"heartbeat"`) {
		f.got <- fr.Data
	}
	return nil
}
func (f *fakeTransport) WritePing(time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pings++
	return nil
}
func (f *fakeTransport) WriteClose(code int, _ string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.code = code
	return nil
}
func (f *fakeTransport) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeTransport) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case b := <-f.got:
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no frame within 5 s")
	}
	return nil
}

// nextRaw is the next frame's bytes.
func (f *fakeTransport) nextRaw(t *testing.T) string {
	t.Helper()
	select {
	case b := <-f.got:
		return string(b)
	case <-time.After(5 * time.Second):
		t.Fatal("no frame within 5 s")
	}
	return ""
}

func data(s string) Publication { return Publication{Data: []byte(s)} }

// joinRuns is a test MergeFunc: payloads merge into one frame joined by
// "+", except that one starting with "|" starts a new frame (as a gap in a
// stream would).
func joinRuns(ps [][]byte) [][]byte {
	var out [][]byte
	for _, p := range ps {
		if len(out) == 0 || p[0] == '|' {
			out = append(out, append([]byte(nil), p...))
			continue
		}
		out[len(out)-1] = append(append(out[len(out)-1], '+'), p...)
	}
	return out
}

func startHub(t *testing.T, b Broker, cfg HubConfig) *Hub {
	t.Helper()
	if cfg.CloseGrace == 0 {
		cfg.CloseGrace = time.Millisecond // the fake client never answers a close
	}
	h := NewHub(b, cfg)
	h.Start()
	t.Cleanup(h.Close)
	return h
}

// TestLeadingEdge: a topic whose last frame has been written sends the
// next payload at once, unmerged: with MaxDelay an hour, a hub that waited
// for a window would never send the second frame. A kind without a
// MergeFunc sends each payload as it comes. The hub never looks into the
// payloads (these are not even JSON).
func TestLeadingEdge(t *testing.T) {
	b := NewMemoryBroker()
	h := startHub(t, b, HubConfig{MaxDelay: time.Hour, HeartbeatInterval: time.Hour,
		Merge: map[string]MergeFunc{KindSeats: joinRuns}})
	ft := newFake(false)
	c := h.Attach(context.Background(), ft, 0)
	if err := c.Subscribe(context.Background(), SeatsTopic(1)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range []string{"a", "b", "c"} {
		b.Publish(ctx, SeatsTopic(1), data(p))
		// A payload that came while the previous frame was being written
		// goes out on its own as soon as it is written: the same bytes.
		if got := ft.nextRaw(t); got != p {
			t.Fatalf("frame %q, want %q", got, p)
		}
	}
	c.Subscribe(ctx, QueueTopic(1))
	for _, p := range []string{"q1", "q2", "q3"} {
		b.Publish(ctx, QueueTopic(1), data(p))
	}
	for _, want := range []string{"q1", "q2", "q3"} {
		if got := ft.nextRaw(t); got != want {
			t.Errorf("unmerged kind: got %q, want %q", got, want)
		}
	}
}

// TestMergeUnderBackpressure: payloads that come while the topic's last
// frame is still queued for a socket go to the kind's MergeFunc once, as
// soon as that frame is written (MaxDelay is an hour: no timer involved),
// and every frame it returns is sent, in order; each is encoded once.
func TestMergeUnderBackpressure(t *testing.T) {
	b := NewMemoryBroker()
	h := startHub(t, b, HubConfig{MaxDelay: time.Hour, HeartbeatInterval: time.Hour,
		Merge: map[string]MergeFunc{KindSeats: joinRuns}})
	ft := newFake(false)
	ft.gate = make(chan struct{}) // each write waits for a token
	ctx := context.Background()
	c := h.Attach(ctx, ft, 0)
	if err := c.Subscribe(ctx, SeatsTopic(1)); err != nil {
		t.Fatal(err)
	}
	frames := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); h.Stats().Frames < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d frames fanned out, want %d", h.Stats().Frames, n)
			}
		}
	}
	for _, p := range []string{"a", "b", "c", "d"} {
		b.Publish(ctx, SeatsTopic(1), data(p))
	}
	frames(1) // a went out at once; b, c, d wait for its write
	ft.gate <- struct{}{}
	if got := ft.nextRaw(t); got != "a" {
		t.Fatalf("first frame %q, want a", got)
	}
	frames(2) // b+c+d, queued and not yet written
	for _, p := range []string{"e", "f", "|g", "h"} {
		b.Publish(ctx, SeatsTopic(1), data(p))
	}
	ft.gate <- struct{}{}
	if got := ft.nextRaw(t); got != "b+c+d" {
		t.Fatalf("merged frame %q, want b+c+d", got)
	}
	close(ft.gate)
	// What the MergeFunc keeps apart goes out apart, in order.
	if a, z := ft.nextRaw(t), ft.nextRaw(t); a != "e+f" || z != "|g+h" {
		t.Errorf("split frames %q %q, want e+f then |g+h", a, z)
	}
	if n := h.Stats().Frames; n != 4 {
		t.Errorf("%d frames fanned out, want 4 (each encoded once)", n)
	}
}

// TestFanoutBudget: with a budget of one socket write a second and two
// sockets, a topic's frames go out at least 2 s apart. The first payload
// goes at once; those that come within the 2 s wait, though nothing is
// in flight, and go out merged in one frame to both sockets.
func TestFanoutBudget(t *testing.T) {
	b := NewMemoryBroker()
	h := startHub(t, b, HubConfig{MaxDelay: time.Hour, HeartbeatInterval: time.Hour, FanoutBudget: 1,
		Merge: map[string]MergeFunc{KindSeats: joinRuns}})
	ctx := context.Background()
	var fakes []*fakeTransport
	for range 2 {
		ft := newFake(false)
		if err := h.Attach(ctx, ft, 0).Subscribe(ctx, SeatsTopic(1)); err != nil {
			t.Fatal(err)
		}
		fakes = append(fakes, ft)
	}
	b.Publish(ctx, SeatsTopic(1), data("a"))
	for _, ft := range fakes {
		if got := ft.nextRaw(t); got != "a" {
			t.Fatalf("first frame %q, want a", got)
		}
	}
	for _, p := range []string{"b", "c", "d"} {
		b.Publish(ctx, SeatsTopic(1), data(p))
	}
	for _, ft := range fakes {
		if got := ft.nextRaw(t); got != "b+c+d" {
			t.Errorf("second frame %q, want b+c+d (held for the budget's spacing)", got)
		}
	}
	if n := h.Stats().Frames; n != 2 {
		t.Errorf("%d frames fanned out, want 2", n)
	}
}

// TestStuckSocketDoesNotHoldTopic: a socket whose write hangs holds its
// topic back for MaxDelay at most, then is behind and no longer waited
// for; it overflows and is closed as a slow consumer, while the other
// sockets get every payload, in order, merged or not.
func TestStuckSocketDoesNotHoldTopic(t *testing.T) {
	b := NewMemoryBroker()
	h := startHub(t, b, HubConfig{MaxDelay: 5 * time.Millisecond, QueueBytes: 1 << 10, HeartbeatInterval: time.Hour,
		Merge: map[string]MergeFunc{KindSeats: joinRuns}})
	ctx := context.Background()
	stuck := newFake(true)
	t.Cleanup(func() { close(stuck.block) })
	cs := h.Attach(ctx, stuck, 0)
	cs.Subscribe(ctx, SeatsTopic(1))
	fast := []*fakeTransport{newFake(false), newFake(false), newFake(false)}
	for _, ft := range fast {
		h.Attach(ctx, ft, 0).Subscribe(ctx, SeatsTopic(1))
	}
	const n = 400
	for i := range n {
		b.Publish(ctx, SeatsTopic(1), data(fmt.Sprintf("p%03d", i)))
		if i%20 == 0 {
			time.Sleep(time.Millisecond) // let some frames out between bursts
		}
	}
	for i, ft := range fast {
		expectSequence(t, ft, n, fmt.Sprintf("socket %d", i))
	}
	for deadline := time.Now().Add(5 * time.Second); h.Stats().SlowClosed == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stuck socket was not closed as a slow consumer")
		}
	}
}

// expectSequence reads frames from ft until it has seen the n payloads
// p000, p001, ... (merged frames joined by "+") and fails on any other
// order, loss or duplicate.
func expectSequence(t *testing.T, ft *fakeTransport, n int, who string) {
	t.Helper()
	next := 0
	for next < n {
		for _, p := range strings.Split(ft.nextRaw(t), "+") {
			if want := fmt.Sprintf("p%03d", next); p != want {
				t.Fatalf("%s: got %q, want %q", who, p, want)
			}
			next++
		}
	}
}

// TestOrderAndNoLossRace: several sockets with writes of varying speed
// (a socket that is behind is not waited for; one that is idle is) get
// every payload of a stream exactly once and in order, however the hub
// merged them. Run under -race.
func TestOrderAndNoLossRace(t *testing.T) {
	b := NewMemoryBroker()
	h := startHub(t, b, HubConfig{HeartbeatInterval: time.Millisecond, Shards: 3,
		Merge: map[string]MergeFunc{KindSeats: joinRuns}})
	ctx := context.Background()
	var socks []*fakeTransport
	for i := range 7 {
		ft := newFake(false)
		ft.delay = time.Duration(i%3) * 200 * time.Microsecond
		ft.skipBeats = true
		socks = append(socks, ft)
		h.Attach(ctx, ft, 0).Subscribe(ctx, SeatsTopic(1))
	}
	const n = 600
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			b.Publish(ctx, SeatsTopic(1), Publication{Data: fmt.Appendf(nil, "p%03d", i), Epoch: "e", Seq: int64(i + 1)})
			if i%50 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for i, ft := range socks {
		expectSequence(t, ft, n, fmt.Sprintf("socket %d", i))
	}
	<-done
}

// TestKeepLast: a whole-state kind sends the newest payload of a window.
func TestKeepLast(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{{[]string{"a"}, []string{"a"}}, {[]string{"a", "b", "c"}, []string{"c"}}} {
		var in [][]byte
		for _, p := range tc.in {
			in = append(in, []byte(p))
		}
		got := KeepLast(in)
		if len(got) != len(tc.want) || string(got[0]) != tc.want[0] {
			t.Errorf("KeepLast(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestHeartbeatCarriesPosition: a quiet seats topic's sockets get its
// position, so a lost last diff is noticed.
func TestHeartbeatCarriesPosition(t *testing.T) {
	b := NewMemoryBroker()
	h := startHub(t, b, HubConfig{HeartbeatInterval: 20 * time.Millisecond})
	ft := newFake(false)
	c := h.Attach(context.Background(), ft, 0)
	c.Subscribe(context.Background(), SeatsTopic(1))
	b.Publish(context.Background(), SeatsTopic(1), Publication{Data: []byte(`{"type":"x"}`), Epoch: "ep", Seq: 7})
	for range 10 {
		m := ft.next(t)
		if m["type"] != "heartbeat" {
			continue
		}
		pos := m["positions"].(map[string]any)[SeatsTopic(1)].(map[string]any)
		if pos["epoch"] != "ep" || pos["seq"] != 7.0 {
			t.Fatalf("heartbeat %v", m)
		}
		return
	}
	t.Fatal("no heartbeat")
}

// TestHeartbeatWaitsForInFlightHead: while the stream's head keeps moving
// past what the node has delivered (publications on their way through the
// broker, as in a busy sale), heartbeats never announce it, so clients do
// not fetch diffs that are about to arrive; once the head stays put for a
// beat without reaching the node (a publication the node missed), it is
// announced.
func TestHeartbeatWaitsForInFlightHead(t *testing.T) {
	b := NewMemoryBroker()
	var calls atomic.Int64
	var settled atomic.Bool
	positions := func(context.Context, int64) (string, int64, error) {
		n := calls.Add(1)
		if settled.Load() {
			return "ep", 100, nil
		}
		return "ep", 7 + n, nil // always one ahead of the last read
	}
	h := startHub(t, b, HubConfig{HeartbeatInterval: 5 * time.Millisecond, Positions: positions})
	ft := newFake(false)
	c := h.Attach(context.Background(), ft, 0)
	c.Subscribe(context.Background(), SeatsTopic(1))
	b.Publish(context.Background(), SeatsTopic(1), Publication{Data: []byte(`{"type":"x"}`), Epoch: "ep", Seq: 7})
	beatSeq := func(m map[string]any) (float64, bool) {
		if m["type"] != "heartbeat" {
			return 0, false
		}
		return m["positions"].(map[string]any)[SeatsTopic(1)].(map[string]any)["seq"].(float64), true
	}
	for start := calls.Load(); calls.Load() < start+10; {
		select {
		case f := <-ft.got:
			var m map[string]any
			json.Unmarshal(f, &m)
			if seq, ok := beatSeq(m); ok && seq != 7 {
				t.Fatalf("heartbeat announced seq %v while the head was moving; want the node's own 7", seq)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("heartbeats stopped asking for the head")
		}
	}
	settled.Store(true)
	for range 1000 {
		if seq, ok := beatSeq(ft.next(t)); ok && seq == 100 {
			return
		}
	}
	t.Fatal("a head that stayed put was never announced")
}

// TestSlowConsumer: a socket whose writes hang overflows its byte queue, is
// given resync and closed with CloseSlowConsumer; another socket on the
// same topic gets every frame; the queue never exceeds its bound.
func TestSlowConsumer(t *testing.T) {
	b := NewMemoryBroker()
	const limit = 8 << 10
	h := startHub(t, b, HubConfig{QueueBytes: limit, HeartbeatInterval: time.Hour})
	slow, fast := newFake(true), newFake(false)
	ctx := context.Background()
	var unblock sync.Once
	release := func() { unblock.Do(func() { close(slow.block) }) }
	t.Cleanup(release)
	cs, cf := h.Attach(ctx, slow, 0), h.Attach(ctx, fast, 0)
	cs.Subscribe(ctx, QueueTopic(1))
	cf.Subscribe(ctx, QueueTopic(1))
	payload := fmt.Appendf(nil, `{"type":"queue","pad":%q}`, strings.Repeat("x", 200))
	const n = 200
	for i := 0; i < n; i++ {
		b.Publish(ctx, QueueTopic(1), Publication{Data: payload})
		time.Sleep(100 * time.Microsecond) // paced so the fast socket keeps up
	}
	for i := 0; i < n; i++ {
		fast.next(t)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.Stats().SlowClosed == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if h.Stats().SlowClosed != 1 {
		t.Fatalf("slow sockets closed: %d, want 1", h.Stats().SlowClosed)
	}
	release()
	<-cs.Done()
	slow.mu.Lock()
	code := slow.code
	last := string(slow.frames[len(slow.frames)-1])
	slow.mu.Unlock()
	if code != CloseSlowConsumer {
		t.Errorf("close code %d, want %d", code, CloseSlowConsumer)
	}
	if want := string(ResyncFrame(QueueTopic(1))); last != want {
		t.Errorf("last frame before close %s, want %s", last, want)
	}
	if m := h.Stats().MaxQueued; m > limit {
		t.Errorf("queue reached %d bytes, bound %d", m, limit)
	}
	select {
	case <-cf.Done():
		t.Error("the fast socket was closed too")
	default:
	}
}

// TestResyncOnBrokerLoss: HandleResync sends a resync frame per topic.
func TestResyncOnBrokerLoss(t *testing.T) {
	h := startHub(t, NewMemoryBroker(), HubConfig{HeartbeatInterval: time.Hour})
	ft := newFake(false)
	c := h.Attach(context.Background(), ft, 0)
	c.Subscribe(context.Background(), SeatsTopic(3))
	h.HandleResync()
	if m := ft.next(t); m["type"] != "resync" || m["topic"] != SeatsTopic(3) {
		t.Fatalf("got %v", m)
	}
}

// TestFramesPublishers: the queue, stats and admitted publishers route
// their bytes to the sockets of their topics only; admitted goes to that
// account alone; the hub counts the bytes it wrote.
func TestFramesPublishers(t *testing.T) {
	b := NewMemoryBroker()
	h := startHub(t, b, HubConfig{HeartbeatInterval: time.Hour})
	ctx := context.Background()
	fan, other := newFake(false), newFake(false)
	c1 := h.Attach(ctx, fan, 11)
	h.Attach(ctx, other, 12)
	c1.Subscribe(ctx, QueueTopic(5))
	c1.Subscribe(ctx, StatsTopic(5))
	p := NewFrames(b)
	for _, step := range []struct {
		publish func() error
		want    string
	}{
		{func() error { return p.PublishQueue(ctx, 5, []byte(`{"type":"queue"}`)) }, `{"type":"queue"}`},
		{func() error { return p.PublishStats(ctx, 5, []byte(`{"type":"stats"}`)) }, `{"type":"stats"}`},
		{func() error { return p.PublishAdmitted(ctx, 11, []byte(`{"type":"admitted"}`)) }, `{"type":"admitted"}`},
	} {
		if err := step.publish(); err != nil {
			t.Fatal(err)
		}
		if got := fan.nextRaw(t); got != step.want {
			t.Errorf("got %s, want %s", got, step.want)
		}
	}
	select {
	case b := <-other.got:
		t.Errorf("account 12 got %s", b)
	case <-time.After(50 * time.Millisecond):
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.Stats().BytesOut < 51 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := h.Stats(); st.Delivered != 3 || st.BytesOut != 51 {
		t.Errorf("delivered %d frames, %d bytes; want 3 frames, 51 bytes", st.Delivered, st.BytesOut)
	}
}

// TestUnsubscribeStopsDelivery, releases the node's subscription and
// forgets the topic.
func TestUnsubscribeStopsDelivery(t *testing.T) {
	b := NewMemoryBroker()
	h := startHub(t, b, HubConfig{HeartbeatInterval: time.Hour})
	ctx := context.Background()
	ft := newFake(false)
	c := h.Attach(ctx, ft, 0)
	c.Subscribe(ctx, QueueTopic(1))
	c.Unsubscribe(QueueTopic(1))
	deadline := time.Now().Add(2 * time.Second)
	for {
		b.mu.Lock()
		n := len(b.subs[QueueTopic(1)])
		b.mu.Unlock()
		h.mu.Lock()
		_, kept := h.topics[QueueTopic(1)]
		h.mu.Unlock()
		if n == 0 && !kept {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node still subscribed")
		}
		time.Sleep(time.Millisecond)
	}
	b.Publish(ctx, QueueTopic(1), data(`{"type":"queue"}`))
	select {
	case f := <-ft.got:
		t.Errorf("got %s after unsubscribe", f)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestPingsAndShutdown: the hub pings idle sockets, and closing the hub
// closes every socket with 1001.
func TestPingsAndShutdown(t *testing.T) {
	h := NewHub(NewMemoryBroker(), HubConfig{PingInterval: 10 * time.Millisecond, HeartbeatInterval: time.Hour})
	h.Start()
	ft := newFake(false)
	c := h.Attach(context.Background(), ft, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ft.mu.Lock()
		n := ft.pings
		ft.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no pings")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }()
	for {
		ft.mu.Lock()
		code := ft.code
		ft.mu.Unlock()
		if code == CloseGoingAway {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("close code %d, want %d", code, CloseGoingAway)
		}
		time.Sleep(time.Millisecond)
	}
	c.ReaderDone() // as a client answering the close would
	<-closed
	<-c.Done()
	if h.Stats().Conns != 0 {
		t.Errorf("%d sockets open after Close", h.Stats().Conns)
	}
	if h.Attach(context.Background(), newFake(false), 0) != nil {
		t.Error("Attach after Close returned a socket")
	}
}
