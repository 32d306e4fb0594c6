package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
)

// liveCfg is the hub config of the socket tests: defaults and the merge
// functions cmd wires, except a shorter heartbeat where a test needs a lost
// last diff noticed quickly.
func liveCfg() *realtime.HubConfig {
	return &realtime.HubConfig{Merge: map[string]realtime.MergeFunc{
		realtime.KindSeats: seatmap.MergeFrames, realtime.KindQueue: realtime.KeepLast, realtime.KindStats: realtime.KeepLast}}
}

// pgStatuses is the truth: one letter per seat in idx order.
func (e *env) pgStatuses(event string) string {
	e.t.Helper()
	var s string
	err := e.pool.QueryRow(context.Background(), `
		SELECT coalesce(string_agg(CASE status WHEN 'available' THEN 'a' WHEN 'held' THEN 'h'
		                                       WHEN 'sold' THEN 's' ELSE 'r' END, '' ORDER BY idx), '')
		FROM seats WHERE event_id = $1`, event).Scan(&s)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) hold(event, token string, seatIDs ...string) (string, bool) {
	e.t.Helper()
	r := e.do("POST", "/api/events/"+event+"/holds", token, map[string]any{"seat_ids": seatIDs})
	if r.status != 201 {
		if r.status != 409 {
			e.t.Logf("hold: %d %s", r.status, r.body)
		}
		return "", false
	}
	var h holdBody
	r.json(e.t, &h)
	return h.ID, true
}

// churn has fans hold and release seats until d passes, each keeping a few
// holds a while (under the seat cap), and returns how many changes it made.
func (e *env) churn(event string, seatIDs []string, fans int, d time.Duration) int {
	e.t.Helper()
	var wg sync.WaitGroup
	var total atomic.Int64
	stop := time.Now().Add(d)
	for f := range fans {
		_, token := e.signUp(fmt.Sprintf("fan%d", f))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var kept []string
			for i := 0; time.Now().Before(stop); i++ {
				hold, ok := e.hold(event, token, seatIDs[(f*13+i*7)%len(seatIDs)])
				if !ok {
					continue
				}
				total.Add(1)
				if i%3 == 0 {
					kept = append(kept, hold)
					if len(kept) <= 3 {
						continue
					}
					hold, kept = kept[0], kept[1:]
				}
				e.release(token, hold)
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(total.Load())
}

func (e *env) release(token, hold string) {
	e.t.Helper()
	if r := e.do("DELETE", "/api/holds/"+hold, token, nil); r.status != 204 {
		e.t.Fatalf("release: %d %s", r.status, r.body)
	}
}

// timedPublisher records when each seat change was handed to the stream,
// right after its commit.
type timedPublisher struct {
	seatmap.Publisher
	mu sync.Mutex
	at map[[2]int64]time.Time
}

func (p *timedPublisher) PublishSeats(ctx context.Context, eventID int64, changes []seatmap.SeatChange) error {
	now := time.Now()
	p.mu.Lock()
	for _, c := range changes {
		p.at[[2]int64{int64(c.Idx), c.Version}] = now
	}
	p.mu.Unlock()
	return p.Publisher.PublishSeats(ctx, eventID, changes)
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// TestWSTwoNodes: two servers on their own ports share Postgres and Redis;
// a socket on node A sees every hold and release made through node B, in
// order and with the right states, and the commit→socket latency is
// printed.
func TestWSTwoNodes(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	a := newEnv(t, envOpts{live: liveCfg(), rdb: rdb, prefix: prefix})
	timed := &timedPublisher{at: map[[2]int64]time.Time{}}
	b := newEnv(t, envOpts{live: liveCfg(), rdb: rdb, prefix: prefix,
		wrapPub: func(p seatmap.Publisher) seatmap.Publisher { timed.Publisher = p; return timed }})
	event, seatIDs := a.event(1, 2, 10)
	_, token := b.signUp("fan")
	ws := mustDialWS(t, a.base, "")
	ws.subscribe("event:" + event + ":seats")

	const ops = 40
	var lat []time.Duration
	seq := int64(-1)
	var hold string
	for i := range ops {
		seatIdx := i / 2 % len(seatIDs)
		want := byte('h')
		if i%2 == 0 {
			var ok bool
			if hold, ok = b.hold(event, token, seatIDs[seatIdx]); !ok {
				t.Fatalf("hold %d failed", i)
			}
		} else {
			want = 'a'
			b.release(token, hold)
		}
		f := ws.next("seats")
		if seq >= 0 && f.From != seq {
			t.Errorf("frame from %d after %d: a gap on a calm socket", f.From, seq)
		}
		seq = f.To
		ss := f.seats(t)
		if len(ss) != 1 || ss[0].idx != seatIdx || ss[0].state != want {
			t.Fatalf("op %d: frame %s, want seat %d %c", i, f.raw, seatIdx, want)
		}
		timed.mu.Lock()
		at, ok := timed.at[[2]int64{int64(ss[0].idx), ss[0].version}]
		timed.mu.Unlock()
		if !ok {
			t.Fatalf("frame %s was not published by node B", f.raw)
		}
		lat = append(lat, f.at.Sub(at))
		// Past the coalescing tick, so each change meets a quiet topic
		// (in a burst, changes wait up to one tick by design).
		time.Sleep(60 * time.Millisecond)
	}
	t.Logf("node B commit → node A socket over %d changes: p50 %v, p99 %v, max %v",
		len(lat), percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1))
	fmt.Printf("TestWSTwoNodes: commit→socket latency over %d changes: p50 %v p99 %v\n",
		len(lat), percentile(lat, 0.50), percentile(lat, 0.99))
	if a.pgStatuses(event) != strings.Repeat("a", len(seatIDs)) {
		t.Errorf("seats left held")
	}
}

// TestWSConvergence: a client that drops 30% of its frames at random and
// delays others (reordering them) still matches Postgres within 2 s of the
// last change, through gap catch-up, heartbeats and version ordering.
func TestWSConvergence(t *testing.T) {
	cfg := liveCfg()
	// A lost last diff is noticed from the next heartbeat that gets
	// through; dropping 30% of heartbeats too, 200 ms makes a 2 s miss
	// astronomically unlikely (the default 500 ms suits a real client,
	// which does not drop frames on purpose).
	cfg.HeartbeatInterval = 200 * time.Millisecond
	e := newEnv(t, envOpts{live: cfg})
	event, seatIDs := e.event(2, 5, 10)
	ws := mustDialWS(t, e.base, "")
	ws.subscribe("event:" + event + ":seats")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := newSyncClient(t, e.base, event)
	go client.run(ctx, lossy(ctx, ws, 0.30, 0.30, 300*time.Millisecond))

	// Eight fans hold and release seats for a while.
	total := e.churn(event, seatIDs, 8, 2*time.Second)
	last := time.Now()
	truth := e.pgStatuses(event)
	for client.view() != truth {
		if time.Since(last) > 2*time.Second {
			client.mu.Lock()
			t.Fatalf("not converged 2 s after the last change (%d changes)\n view  %s\n truth %s\n log %v",
				total, client.statuses, truth, client.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%d changes; converged %v after the last one", total, time.Since(last))
}

// TestWSSlowClient: a socket that never reads is sent resync and closed
// with 4008 once its byte queue overflows; the other sockets get every
// frame, are not closed, and the hub's queues stay within their bound.
func TestWSSlowClient(t *testing.T) {
	cfg := liveCfg()
	cfg.QueueBytes = 128 << 10
	cfg.MaxDelay = time.Microsecond // frames barely wait for a hung write: fill the queue fast
	e := newEnv(t, envOpts{live: cfg})
	event, _ := e.event(1, 1, 5)
	topic := "event:" + event + ":queue"
	slow, _, err := dialWS(t, e.base, "", true)
	if err != nil {
		t.Fatal(err)
	}
	slow.send(`{"op":"subscribe","topic":"` + topic + `"}`)
	fast := make([]*wsConn, 4)
	for i := range fast {
		fast[i] = mustDialWS(t, e.base, "")
		fast[i].subscribe(topic)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse

	pad := strings.Repeat("x", 16<<10)
	sent := 0
	var lat []time.Duration
	deadline := time.Now().Add(20 * time.Second)
	for e.hub.Stats().SlowClosed == 0 || sent < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("no slow consumer detected after %d frames of 16 KiB", sent)
		}
		payload := fmt.Sprintf(`{"type":"queue","event":%q,"sent":%d,"pad":%q}`, event, time.Now().UnixNano(), pad)
		if err := e.hub.Publish(context.Background(), topic, realtime.Publication{Data: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
		sent++
		for _, w := range fast {
			f := w.next("queue")
			var sentAt int64
			fmt.Sscanf(string(f.raw[strings.Index(string(f.raw), `"sent":`)+7:]), "%d", &sentAt)
			lat = append(lat, f.at.Sub(time.Unix(0, sentAt)))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("%d frames of 16 KiB; other sockets' latency p50 %v p99 %v; hub max queue %d B (bound %d); heap %d → %d KiB",
		sent, percentile(lat, 0.5), percentile(lat, 0.99), e.hub.Stats().MaxQueued, cfg.QueueBytes, heapBefore>>10, ms.HeapInuse>>10)
	if q := e.hub.Stats().MaxQueued; q > int64(cfg.QueueBytes) {
		t.Errorf("a queue held %d bytes, over the %d bound", q, cfg.QueueBytes)
	}
	if ms.HeapInuse > heapBefore+64<<20 {
		t.Errorf("heap grew from %d to %d KiB", heapBefore>>10, ms.HeapInuse>>10)
	}
	// The slow socket now reads: what the kernel buffered, then resync,
	// then the slow-consumer close.
	go slow.read()
	var lastType, lastTopic string
	for {
		select {
		case f := <-slow.frames:
			lastType, lastTopic = f.Type, f.Topic
			continue
		case <-slow.done:
			// The reader queued everything before closing done.
			for len(slow.frames) > 0 {
				f := <-slow.frames
				lastType, lastTopic = f.Type, f.Topic
			}
		case <-time.After(15 * time.Second):
			t.Fatal("slow socket not closed")
		}
		break
	}
	if slow.closeCode != realtime.CloseSlowConsumer {
		t.Errorf("slow socket closed with %d, want %d", slow.closeCode, realtime.CloseSlowConsumer)
	}
	if lastType != "resync" || lastTopic != topic {
		t.Errorf("last frame before the close: %s %s, want resync %s", lastType, lastTopic, topic)
	}
	for i, w := range fast {
		select {
		case <-w.done:
			t.Errorf("fast socket %d closed (%d)", i, w.closeCode)
		default:
		}
	}
}

// TestWSRedisRestart: Redis (a private server) dies mid-sale and comes
// back empty. Both nodes resubscribe; the client is told to resync or sees
// a new epoch, and ends up equal to Postgres, including the hold made while
// Redis was down: no silent gap.
func TestWSRedisRestart(t *testing.T) {
	// go-redis logs every failed dial while Redis is down; that is the
	// point of the test, not news.
	redis.SetLogger(quietRedisLog{})
	srv := testkit.StartRedisServer(t)
	rdb := srv.Client()
	rdb.Options().DialTimeout = 200 * time.Millisecond
	rdb.Options().ReadTimeout = 300 * time.Millisecond
	rdb.Options().WriteTimeout = 300 * time.Millisecond
	cfg := liveCfg()
	a := newEnv(t, envOpts{live: cfg, rdb: rdb, prefix: "bo:"})
	b := newEnv(t, envOpts{live: cfg, rdb: rdb, prefix: "bo:"})
	event, seatIDs := a.event(1, 1, 10)
	_, token := b.signUp("fan")
	ws := mustDialWS(t, a.base, "")
	ws.subscribe("event:" + event + ":seats")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frames := make(chan frame, 1000)
	var seen []frame
	var seenMu sync.Mutex
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case f := <-ws.frames:
				seenMu.Lock()
				seen = append(seen, f)
				seenMu.Unlock()
				frames <- f
			}
		}
	}()
	client := newSyncClient(t, a.base, event)
	go client.run(ctx, frames)
	if _, ok := b.hold(event, token, seatIDs[0]); !ok {
		t.Fatal("hold before the restart")
	}
	waitConverged(t, a, client, event, "before the restart")
	client.mu.Lock()
	epoch1 := client.epoch
	client.mu.Unlock()

	srv.Stop()
	if _, ok := b.hold(event, token, seatIDs[1]); !ok { // Postgres alone
		t.Fatal("hold while Redis is down")
	}
	srv.Start()
	// Node A notices the reconnect and tells its sockets to resync.
	deadline := time.Now().Add(10 * time.Second)
	for {
		seenMu.Lock()
		resync := slices.ContainsFunc(seen, func(f frame) bool { return f.Type == "resync" })
		seenMu.Unlock()
		if resync {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no resync frame within 10 s of Redis coming back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitConverged(t, a, client, event, "after the restart")
	// Both nodes are subscribed again, in a new epoch.
	if _, ok := b.hold(event, token, seatIDs[2]); !ok {
		t.Fatal("hold after the restart")
	}
	waitConverged(t, a, client, event, "after a hold past the restart")
	deadline = time.Now().Add(10 * time.Second)
	for {
		seenMu.Lock()
		live := slices.ContainsFunc(seen, func(f frame) bool { return f.Type == "seats" && f.Epoch != epoch1 })
		seenMu.Unlock()
		if live {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no seats frame in a new epoch after the restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	client.mu.Lock()
	t.Logf("client log %v", client.log)
	client.mu.Unlock()
}

func waitConverged(t *testing.T, e *env, c *syncClient, event, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		truth := e.pgStatuses(event)
		if c.view() == truth {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: client %q, Postgres %q", when, c.view(), truth)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWSBadInput: refused input gets an error frame or a close with the
// documented code, never a crash: the node keeps serving.
func TestWSBadInput(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg()})
	event, _ := e.event(1, 1, 3)
	_, fanToken := e.signUp("fan")

	ws := mustDialWS(t, e.base, fanToken)
	for _, tc := range []struct{ send, code string }{
		{`{"op":"dance"}`, "unknown_op"},
		{`garbage`, "bad_json"},
		{`{"op":"subscribe","topic":"event:` + event + `:seats","x":1}`, "bad_json"},
		{`{"op":"subscribe","topic":"event:999999999:seats"}`, "unknown_topic"},
		{`{"op":"subscribe","topic":"nope"}`, "unknown_topic"},
		{`{"op":"subscribe","topic":"account:1"}`, "unknown_topic"},
		{`{"op":"subscribe","topic":"event:` + event + `:stats"}`, "forbidden"},
	} {
		ws.send(tc.send)
		if f := ws.next("error"); f.Code != tc.code {
			t.Errorf("%s: error %q, want %q", tc.send, f.Code, tc.code)
		}
	}
	ws.send(`{"op":"ping","id":"p1"}`)
	if f := ws.next(); f.Type != "pong" {
		t.Errorf("ping: %s", f.raw)
	}

	// Oversized: 1009.
	big := mustDialWS(t, e.base, "")
	// The server may close before the write ends: its error is no news.
	_ = big.c.WriteMessage(websocket.TextMessage, []byte(`{"op":"ping","id":"`+strings.Repeat("x", 4096)+`"}`))
	if code := big.closed(); code != websocket.CloseMessageTooBig {
		t.Errorf("oversized message: close %d, want 1009", code)
	}
	// Binary: 1003.
	bin := mustDialWS(t, e.base, "")
	bin.c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	if code := bin.closed(); code != realtime.CloseUnsupportedData {
		t.Errorf("binary message: close %d, want 1003", code)
	}
	// A stream of garbage: error frames, then 1008.
	spam := mustDialWS(t, e.base, "")
	for range 12 {
		spam.c.WriteMessage(websocket.TextMessage, []byte("{{{"))
	}
	if code := spam.closed(); code != realtime.ClosePolicyViolation {
		t.Errorf("garbage stream: close %d, want 1008", code)
	}
	// A flood of ops: rate_limited error frames, then 1008.
	flood := mustDialWS(t, e.base, "")
	for range 40 {
		flood.c.WriteMessage(websocket.TextMessage, []byte(`{"op":"ping"}`))
	}
	code := flood.closed()
	limited := false
	for len(flood.frames) > 0 { // all read before the close
		if (<-flood.frames).Code == "rate_limited" {
			limited = true
		}
	}
	if code != realtime.ClosePolicyViolation || !limited {
		t.Errorf("op flood: rate_limited seen %v, close %d, want 1008", limited, code)
	}
	// Foreign origins are refused at the handshake; the site's own pass.
	if _, res, err := dialWS(t, e.base, "", false, "Origin", "https://evil.example"); err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("foreign origin: %v %v, want 403", err, res)
	}
	if _, _, err := dialWS(t, e.base, "", false, "Origin", "http://app.test"); err != nil {
		t.Errorf("own origin refused: %v", err)
	}
	// Not an upgrade.
	if r := e.do("GET", "/ws", "", nil); r.status != 400 {
		t.Errorf("GET /ws without upgrade: %d", r.status)
	}
	// Still serving.
	ok := mustDialWS(t, e.base, "")
	ok.subscribe("event:" + event + ":seats")
}

// TestWSQueueStatsAdmitted: frames from the other packages' publishers
// (here a synthetic one) reach the right sockets: queue to the event's
// subscribers, stats to admins only, admitted to that account only.
func TestWSQueueStatsAdmitted(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg()})
	event, _ := e.event(1, 1, 3)
	adminID, adminToken := e.signUp("admin")
	if _, err := e.pool.Exec(context.Background(), `UPDATE accounts SET role = 'admin' WHERE id = $1`, adminID); err != nil {
		t.Fatal(err)
	}
	e.enrolTOTP(adminToken) // staff sign in with a second factor
	fanID, fanToken := e.signUp("fan")
	_, otherToken := e.signUp("other")
	admin, fan, other := mustDialWS(t, e.base, adminToken), mustDialWS(t, e.base, fanToken), mustDialWS(t, e.base, otherToken)
	admin.subscribe("event:" + event + ":stats")
	fan.subscribe("event:" + event + ":queue")
	other.send(`{"op":"ping"}`)
	other.next("pong")

	pub := realtime.NewFrames(hubBroker{e.hub})
	ctx := context.Background()
	var evID, fID int64
	fmt.Sscan(event, &evID)
	fmt.Sscan(fanID, &fID)
	pub.PublishQueue(ctx, evID, []byte(`{"type":"queue","event":"`+event+`","serving":42}`))
	if f := fan.next("queue"); f.Event != event || !strings.Contains(string(f.raw), `"serving":42`) {
		t.Errorf("queue frame %s", f.raw)
	}
	pub.PublishStats(ctx, evID, []byte(`{"type":"stats","held":3}`))
	if f := admin.next("stats"); !strings.Contains(string(f.raw), `"held":3`) {
		t.Errorf("stats frame %s", f.raw)
	}
	pub.PublishAdmitted(ctx, fID, []byte(`{"type":"admitted","event":"`+event+`","admission_token":"adm"}`))
	if f := fan.next("admitted"); f.Event != event || !strings.Contains(string(f.raw), `"admission_token":"adm"`) {
		t.Errorf("admitted frame %s", f.raw)
	}
	select {
	case f := <-other.frames:
		t.Errorf("another account got %s", f.raw)
	case <-time.After(100 * time.Millisecond):
	}
}

// hubBroker publishes through a hub (its broker), for the synthetic
// publisher.
type hubBroker struct{ h *realtime.Hub }

func (b hubBroker) Publish(ctx context.Context, topic string, p realtime.Publication) error {
	return b.h.Publish(ctx, topic, p)
}
func (hubBroker) Subscribe(context.Context, string) error     { return nil }
func (hubBroker) Unsubscribe(context.Context, string) error   { return nil }
func (hubBroker) Run(context.Context, realtime.Handler) error { return nil }

// TestDiffsEndpoint: catch-up over HTTP and its refusals.
func TestDiffsEndpoint(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg()})
	event, seatIDs := e.event(1, 1, 5)
	_, token := e.signUp("fan")
	var snap struct {
		Epoch string `json:"epoch"`
		Seq   int64  `json:"seq"`
	}
	e.do("GET", "/api/events/"+event+"/availability", "", nil).json(t, &snap)
	hold, _ := e.hold(event, token, seatIDs[1], seatIDs[3])
	e.release(token, hold)
	r := e.do("GET", fmt.Sprintf("/api/events/%s/diffs?from=%d&epoch=%s", event, snap.Seq, snap.Epoch), "", nil)
	if r.status != 200 {
		t.Fatalf("diffs: %d %s", r.status, r.body)
	}
	var d struct {
		From, To int64
		Seats    [][3]any
	}
	r.json(t, &d)
	if d.From != snap.Seq || d.To != snap.Seq+2 || len(d.Seats) != 2 || d.Seats[0][1] != "a" || d.Seats[1][1] != "a" {
		t.Errorf("diffs %s", r.body)
	}
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"", 422}, {"?from=abc", 400}, {"?from=-1", 422}, {"?from=1.5", 400},
		{fmt.Sprintf("?from=%d&epoch=stale", snap.Seq), 410},
		{fmt.Sprintf("?from=%d", snap.Seq+100), 410},
	} {
		if r := e.do("GET", "/api/events/"+event+"/diffs"+tc.query, "", nil); r.status != tc.status {
			t.Errorf("diffs%s: %d, want %d (%s)", tc.query, r.status, tc.status, r.body)
		} else {
			r.errCode(t)
		}
	}
	if r := e.do("GET", "/api/events/999999999/diffs?from=0", "", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown event: %d", r.status)
	}
}

// TestWSBrowserModule: the browser module itself (web/static/js/seatsync.js,
// run by node) follows a live event over a socket that loses 30% of its
// messages, and matches Postgres within 2 s of the last change.
func TestWSBrowserModule(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI")
		}
		t.Skip("node not installed")
	}
	cfg := liveCfg()
	cfg.HeartbeatInterval = 200 * time.Millisecond // heartbeats are dropped too
	e := newEnv(t, envOpts{live: cfg})
	event, seatIDs := e.event(1, 4, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--experimental-websocket", "--no-warnings", "../web/e2e/live_client.mjs", e.base, event, "0.3")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	var mu sync.Mutex
	view := ""
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct{ Statuses string }
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				mu.Lock()
				view = line.Statuses
				mu.Unlock()
			}
		}
	}()
	current := func() string { mu.Lock(); defer mu.Unlock(); return view }
	for deadline := time.Now().Add(10 * time.Second); current() == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the module loaded no snapshot within 10 s")
		}
	}
	e.churn(event, seatIDs, 4, 2*time.Second)
	last := time.Now()
	truth := e.pgStatuses(event)
	for current() != truth {
		if time.Since(last) > 2*time.Second {
			t.Fatalf("the module did not converge within 2 s\n view  %s\n truth %s", current(), truth)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("converged %v after the last change", time.Since(last))
}

type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

// TestWSBurstInOrder: a burst of frames published faster than the socket
// writes them (its writer then drains its queue in vectored batches)
// arrives whole and in order, with the socket's control frames (pongs to
// the client's pings) in between, never inside a data frame. A queue
// topic's frames may coalesce (the latest cursor wins), so the test asks
// for increasing numbers ending with the last, not for every one.
func TestWSBurstInOrder(t *testing.T) {
	e, event, topic := queueStream(t)
	w := mustDialWS(t, e.base, "")
	w.subscribe(topic)
	const n = 500
	for i := range n {
		if i%50 == 0 {
			w.send(`{"op":"ping"}`)
		}
		payload := fmt.Sprintf(`{"type":"queue","event":%q,"n":%d,"pad":%q}`, event, i, strings.Repeat("y", i%700))
		if err := e.hub.Publish(context.Background(), topic, realtime.Publication{Data: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	last, frames := -1, 0
	for last < n-1 {
		f := w.next("queue")
		var got struct{ N int }
		if err := json.Unmarshal(f.raw, &got); err != nil || got.N <= last {
			t.Fatalf("frame after %d: %v %.80s", last, err, f.raw)
		}
		last = got.N
		frames++
	}
	t.Logf("%d publishes arrived as %d frames", n, frames)
}

// TestWSClientCloseAnsweredLast: a client closes while frames stream to
// it. The server's close frame is the last frame on the wire: browsers
// refuse a data frame after it ("data frame received after close"). The
// frames are read raw off the connection, so nothing the client library
// does hides a frame after the close.
func TestWSClientCloseAnsweredLast(t *testing.T) {
	e, event, topic := queueStream(t)
	for round := range 40 {
		w, _, err := dialWS(t, e.base, "", true)
		if err != nil {
			t.Fatal(err)
		}
		w.send(`{"op":"subscribe","topic":"` + topic + `"}`)
		stop := make(chan struct{})
		published := make(chan struct{})
		go func() {
			defer close(published)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				payload := fmt.Sprintf(`{"type":"queue","event":%q,"n":%d}`, event, i)
				_ = e.hub.Publish(context.Background(), topic, realtime.Publication{Data: []byte(payload)})
				time.Sleep(20 * time.Microsecond)
			}
		}()
		nc := w.c.NetConn()
		_ = nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(nc)
		data, closedAt, afterClose := 0, -1, 0
		for n := 0; ; n++ {
			op, err := readRawFrame(r)
			if err != nil {
				break // the server closed the connection
			}
			switch {
			case op == 0x8:
				if closedAt < 0 {
					closedAt = n
				}
			case closedAt >= 0:
				afterClose++
			case op == 0x1:
				data++
				if data == 20 {
					// Frames are flowing: the client closes now.
					if err := w.c.WriteControl(websocket.CloseMessage,
						websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		close(stop)
		<-published
		if closedAt < 0 || afterClose > 0 {
			t.Fatalf("round %d: %d data frames, close frame at %d, %d frames after it; want a close and nothing after", round, data, closedAt, afterClose)
		}
	}
}

// readRawFrame reads one unmasked server frame and returns its opcode.
func readRawFrame(r *bufio.Reader) (byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, err
	}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		n = int64(b[0])<<8 | int64(b[1])
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		n = 0
		for _, x := range b {
			n = n<<8 | int64(x)
		}
	}
	_, err := io.CopyN(io.Discard, r, n)
	return h[0] & 0x0f, err
}

// queueStream is a server whose topics send every payload at once (no
// coalescing window) and the queue topic of a fresh event on it: a stream
// a test publishes to as fast as it likes.
func queueStream(t *testing.T) (e *env, event, topic string) {
	t.Helper()
	cfg := liveCfg()
	cfg.MaxDelay = time.Microsecond
	e = newEnv(t, envOpts{live: cfg})
	event, _ = e.event(1, 1, 2)
	return e, event, "event:" + event + ":queue"
}
