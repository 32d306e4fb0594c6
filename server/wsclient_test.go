package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// frame is one server frame as a test client sees it.
type frame struct {
	Type      string               `json:"type"`
	Topic     string               `json:"topic"`
	Code      string               `json:"code"`
	Event     string               `json:"event"`
	Epoch     string               `json:"epoch"`
	From      int64                `json:"from"`
	To        int64                `json:"to"`
	Seats     [][3]json.RawMessage `json:"seats"`
	Positions map[string]struct {
		Epoch string `json:"epoch"`
		Seq   int64  `json:"seq"`
	} `json:"positions"`
	raw []byte
	at  time.Time
}

type seat struct {
	idx     int
	state   byte
	version int64
}

func (f frame) seats(t testing.TB) []seat {
	out := make([]seat, len(f.Seats))
	for i, s := range f.Seats {
		var st string
		if json.Unmarshal(s[0], &out[i].idx) != nil || json.Unmarshal(s[1], &st) != nil ||
			json.Unmarshal(s[2], &out[i].version) != nil || len(st) != 1 {
			t.Errorf("bad seat entry in %s", f.raw)
		}
		out[i].state = st[0]
	}
	return out
}

// wsConn is a test socket: a reader goroutine turns frames into a channel
// and records how the socket closed.
type wsConn struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan frame
	done   chan struct{}
	// closeCode is the close code the server sent (1006 if none), valid
	// once done is closed.
	closeCode int
}

// dialWS opens /ws on base (http://host:port) with optional bearer token
// and extra headers (name, value pairs). It does not start reading when
// noRead is set.
func dialWS(t testing.TB, base, token string, noRead bool, headers ...string) (*wsConn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, res, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", h)
	if err != nil {
		return nil, res, err
	}
	w := &wsConn{t: t, c: c, frames: make(chan frame, 100000), done: make(chan struct{})}
	t.Cleanup(func() { c.Close() })
	if !noRead {
		go w.read()
	}
	return w, res, nil
}

func mustDialWS(t testing.TB, base, token string) *wsConn {
	t.Helper()
	w, _, err := dialWS(t, base, token, false)
	if err != nil {
		t.Fatalf("dial ws: %v", err)
	}
	return w
}

func (w *wsConn) read() {
	defer close(w.done)
	w.closeCode = websocket.CloseAbnormalClosure
	for {
		_, data, err := w.c.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				w.closeCode = ce.Code
			}
			return
		}
		f := frame{raw: data, at: time.Now()}
		if err := json.Unmarshal(data, &f); err != nil {
			w.t.Errorf("server sent non-JSON %q", data)
		}
		w.frames <- f
	}
}

func (w *wsConn) send(s string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		w.t.Fatalf("ws write: %v", err)
	}
}

// next returns the next frame whose type is in types (all when empty). It
// waits up to 30 s: a bound for a hung server, generous enough for a
// machine whose two cores run several suites at once.
func (w *wsConn) next(types ...string) frame {
	w.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case f := <-w.frames:
			if len(types) == 0 || strings.Contains(" "+strings.Join(types, " ")+" ", " "+f.Type+" ") {
				return f
			}
		case <-w.done:
			if len(w.frames) > 0 {
				continue // frames read before the close come first
			}
			w.t.Fatalf("socket closed (%d) while waiting for %v", w.closeCode, types)
		case <-timeout:
			w.t.Fatalf("no %v frame within 30 s", types)
		}
	}
}

// subscribe subscribes and waits for the ack.
func (w *wsConn) subscribe(topic string) {
	w.t.Helper()
	w.send(`{"op":"subscribe","topic":"` + topic + `"}`)
	if f := w.next("subscribed", "error"); f.Type != "subscribed" || f.Topic != topic {
		w.t.Fatalf("subscribe %s: %s", topic, f.raw)
	}
}

// closed waits for the server to close the socket and returns its code.
func (w *wsConn) closed() int {
	w.t.Helper()
	select {
	case <-w.done:
		return w.closeCode
	case <-time.After(10 * time.Second):
		w.t.Fatal("socket not closed within 10 s")
	}
	return 0
}

// syncClient is the browser client's algorithm (web/static/js/seatsync.js)
// in Go, over a lossy socket: it must converge to Postgres anyway.
type syncClient struct {
	t     testing.TB
	base  string
	event string
	http  *http.Client

	mu       sync.Mutex
	epoch    string
	seq      int64
	statuses []byte
	versions []int64
	buffered map[int64]frame // out-of-order frames by from
	behind   bool            // a catch-up is due
	refetch  bool            // a snapshot is due
	log      []string
}

func newSyncClient(t testing.TB, base, event string) *syncClient {
	hc := contractClient(t, &http.Transport{})
	hc.Timeout = 5 * time.Second
	return &syncClient{t: t, base: base, event: event, http: hc, buffered: map[int64]frame{}}
}

// run applies frames from in until ctx ends, refetching and catching up as
// needed. The caller starts it after subscribing, so the snapshot comes
// after the subscription (frames in between are buffered).
func (s *syncClient) run(ctx context.Context, in <-chan frame) {
	s.snapshot()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-in:
			s.onFrame(f)
		case <-tick.C:
		}
		s.mu.Lock()
		refetch, behind := s.refetch, s.behind
		s.mu.Unlock()
		if refetch {
			s.snapshot()
		} else if behind {
			s.catchUp()
		}
	}
}

func (s *syncClient) onFrame(f frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Type {
	case "resync":
		s.refetch = true
	case "heartbeat":
		for _, p := range f.Positions {
			if p.Epoch != s.epoch {
				s.refetch = true
			} else if p.Seq > s.seq {
				s.behind = true
			}
		}
	case "seats":
		if f.Epoch != s.epoch {
			s.refetch = true
			return
		}
		if f.To <= s.seq {
			return // stale
		}
		s.buffered[f.From] = f
		s.drain()
	}
}

// drain applies buffered frames that continue the stream; a frame past a
// gap waits for the catch-up.
func (s *syncClient) drain() {
	for {
		progressed := false
		for from, f := range s.buffered {
			if f.To <= s.seq {
				delete(s.buffered, from)
				continue
			}
			if from <= s.seq {
				s.apply(f.seats(s.t))
				s.seq = f.To
				delete(s.buffered, from)
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	s.behind = len(s.buffered) > 0
}

func (s *syncClient) apply(seats []seat) {
	for _, st := range seats {
		if st.idx < 0 || st.idx >= len(s.statuses) {
			s.t.Errorf("seat idx %d out of range", st.idx)
			continue
		}
		if st.version > s.versions[st.idx] {
			s.versions[st.idx] = st.version
			s.statuses[st.idx] = st.state
		}
	}
}

func (s *syncClient) get(path string, v any) int {
	res, err := s.http.Get(s.base + path)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			s.t.Errorf("GET %s: %v", path, err)
		}
	}
	return res.StatusCode
}

func (s *syncClient) snapshot() {
	var snap struct {
		Epoch    string `json:"epoch"`
		Seq      int64  `json:"seq"`
		Statuses string `json:"statuses"`
	}
	if s.get("/api/events/"+s.event+"/availability", &snap) != 200 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch, s.seq, s.statuses = snap.Epoch, snap.Seq, []byte(snap.Statuses)
	s.versions = make([]int64, len(s.statuses))
	s.refetch = false
	s.log = append(s.log, fmt.Sprintf("snapshot %s@%d", snap.Epoch, snap.Seq))
	s.drain()
}

func (s *syncClient) catchUp() {
	s.mu.Lock()
	path := fmt.Sprintf("/api/events/%s/diffs?from=%d&epoch=%s", s.event, s.seq, s.epoch)
	s.mu.Unlock()
	var d struct {
		Epoch string               `json:"epoch"`
		From  int64                `json:"from"`
		To    int64                `json:"to"`
		Seats [][3]json.RawMessage `json:"seats"`
	}
	switch s.get(path, &d) {
	case 200:
		s.mu.Lock()
		defer s.mu.Unlock()
		if d.Epoch == s.epoch && d.From == s.seq {
			s.apply(frame{Seats: d.Seats}.seats(s.t))
			s.seq = d.To
			s.behind = false
			s.log = append(s.log, fmt.Sprintf("caught up %d→%d", d.From, d.To))
			s.drain()
		}
	case 410:
		s.mu.Lock()
		s.refetch = true
		s.mu.Unlock()
	}
}

func (s *syncClient) view() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.statuses)
}

// lossy passes frames from w on, dropping dropRate of them at random and
// delaying (so reordering) reorderRate of the rest by up to maxDelay.
func lossy(ctx context.Context, w *wsConn, dropRate, reorderRate float64, maxDelay time.Duration) <-chan frame {
	out := make(chan frame, 10000)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case f := <-w.frames:
				r := rand.Float64()
				switch {
				case r < dropRate:
				case r < dropRate+reorderRate:
					time.AfterFunc(time.Duration(rand.Int64N(int64(maxDelay))), func() {
						select {
						case out <- f:
						case <-ctx.Done():
						}
					})
				default:
					out <- f
				}
			}
		}
	}()
	return out
}
