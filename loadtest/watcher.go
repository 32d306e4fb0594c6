package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// watcher is one fan watching the seat map: it keeps a view from the
// snapshot and the diffs (as the browser does) and, when measuring, the
// arrival time of every change per seat.
type watcher struct {
	d       *driver
	measure bool
	// route is the node the socket and the snapshots go to; a dropped
	// socket moves it on to the next node.
	route *route

	mu       sync.Mutex
	ok       bool // subscribed and synced once
	view     []byte
	versions []int64
	seq      int64
	epoch    string
	arrivals map[int][]time.Time
}

// seatsFrame is a server frame; only seats and heartbeat frames are read
// in full.
type seatsFrame struct {
	Type  string  `json:"type"`
	Epoch string  `json:"epoch"`
	From  int64   `json:"from"`
	To    int64   `json:"to"`
	Seats [][]any `json:"seats"`
	// Positions (heartbeats) are the stream positions of quiet topics.
	Positions map[string]struct {
		Epoch string `json:"epoch"`
		Seq   int64  `json:"seq"`
	} `json:"positions"`
}

// seatsPrefix starts every seats frame (realtime encodes type first).
var seatsPrefix = []byte(`{"type":"seats"`)

// errRefused ends a watcher: the server answered the subscription with an
// error frame, which another try would get too.
var errRefused = errors.New("loadtest: subscription refused")

// Reconnection backoff: the first retry comes soon (a killed node's
// sockets should land elsewhere at once), later ones no faster than a
// second, so a deployment that is down is not hammered.
const (
	reconnectFirst = 50 * time.Millisecond
	reconnectMax   = time.Second
)

// run follows the seat map until ctx ends. A socket that drops (its node
// died, or closed it as a slow consumer) is opened again on the next node,
// as the browser does behind a load balancer, and the view is resynced from
// that node's snapshot; the time from the drop to the resynced view is
// recorded. ready is signalled once: after the first sync, or when the first
// attempt failed.
func (w *watcher) run(ctx context.Context, ready chan<- struct{}) {
	signalled := false
	signal := func() {
		if !signalled {
			signalled = true
			ready <- struct{}{}
		}
	}
	defer signal()
	var dropped time.Time
	backoff := reconnectFirst
	for {
		synced := false
		err := w.session(ctx, func() {
			synced = true
			signal()
			if !dropped.IsZero() {
				w.d.rec.mu.Lock()
				w.d.rec.reconnects = append(w.d.rec.reconnects, time.Since(dropped))
				w.d.rec.mu.Unlock()
				dropped = time.Time{}
			}
		})
		if ctx.Err() != nil {
			return
		}
		w.d.rec.watchErrs.Add(1)
		signal()
		if errors.Is(err, errRefused) {
			return
		}
		if synced {
			dropped, backoff = time.Now(), reconnectFirst
		} else {
			backoff = min(2*backoff, reconnectMax)
		}
		w.route.i++
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// session is one socket: subscribe, sync from the snapshot (then call
// synced), apply frames until the socket fails or ctx ends.
func (w *watcher) session(ctx context.Context, synced func()) error {
	d := w.d
	base := d.base(w.route)
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		return err
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	topic := "event:" + d.cfg.Event + ":seats"
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","topic":"`+topic+`"}`)); err != nil {
		return err
	}
	var buffered []seatsFrame
	subscribed := false
	// One buffer per socket, reused for every message: ReadMessage's fresh
	// slice per frame made the driver's garbage collector, not the
	// server, a large share of a 5,000-watcher run's CPU.
	var buf bytes.Buffer
	for {
		msg, err := readInto(ws, &buf)
		now := time.Now()
		if err != nil {
			return err
		}
		// A watcher that does not measure only counts seat frames: decoding
		// every frame for thousands of sockets would make the driver, not
		// the server, the bottleneck.
		if !w.measure && subscribed && bytes.HasPrefix(msg, seatsPrefix) {
			d.rec.frames.Add(1)
			continue
		}
		var f seatsFrame
		if json.Unmarshal(msg, &f) != nil {
			continue
		}
		switch f.Type {
		case "subscribed":
			subscribed = true
			if err := w.sync(ctx); err != nil {
				return err
			}
			synced()
			for _, b := range buffered {
				w.apply(ctx, b, now)
			}
			buffered = nil
		case "seats":
			d.rec.frames.Add(1)
			if !subscribed {
				buffered = append(buffered, f)
				continue
			}
			w.apply(ctx, f, now)
		case "heartbeat":
			// A heartbeat names the topic's latest position, so a last diff
			// this node never delivered (its subscription was down, say)
			// is noticed and fetched, as the browser does. Only a watcher
			// that keeps a view does: one that only counts frames has no
			// position, and would fetch the whole stream on every beat.
			if p, ok := f.Positions[topic]; ok && w.measure && subscribed && p.Epoch != "" {
				w.fill(ctx, seatsFrame{Epoch: p.Epoch, From: p.Seq + 1, To: p.Seq})
			}
		case "resync":
			d.rec.gaps.Add(1)
			_ = w.sync(ctx)
		case "error":
			return errRefused
		}
	}
}

// readInto reads the next message into buf (emptied first) and returns its
// bytes, valid until the next call.
func readInto(ws *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := ws.NextReader()
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sync loads the snapshot into the view.
func (w *watcher) sync(ctx context.Context) error {
	var a struct {
		Epoch    string `json:"epoch"`
		Seq      int64  `json:"seq"`
		Statuses string `json:"statuses"`
	}
	st, err := w.d.getJSON(ctx, w.route, "/api/events/"+w.d.cfg.Event+"/availability", "", nil, &a)
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("loadtest: availability: status %d", st)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.view = []byte(a.Statuses)
	if len(w.versions) != len(w.view) {
		w.versions = make([]int64, len(w.view))
	}
	w.seq, w.epoch, w.ok = a.Seq, a.Epoch, true
	if w.measure && w.arrivals == nil {
		w.arrivals = map[int][]time.Time{}
	}
	return nil
}

// apply applies one diff frame, after filling any gap before it (fill).
// A frame already in the view is skipped; a seat's higher version wins, so a
// refetched snapshot and late diffs agree.
func (w *watcher) apply(ctx context.Context, f seatsFrame, at time.Time) {
	w.fill(ctx, f)
	w.mu.Lock()
	defer w.mu.Unlock()
	if f.Epoch != w.epoch || f.To <= w.seq {
		return
	}
	w.merge(f, at, w.measure)
}

// fill closes the gap between the view and frame f as the browser does
// (web/static/js/seatsync.js): the missing diffs from the node's catch-up
// endpoint, or a fresh snapshot when the stream no longer has them or a
// new epoch began. A snapshot may be a second old (nodes cache it), so its
// seq can still fall short of f: then the diffs after it are fetched too.
// Each round counts as a gap.
func (w *watcher) fill(ctx context.Context, f seatsFrame) {
	for try := 0; try < 3; try++ {
		w.mu.Lock()
		epoch, seq := w.epoch, w.seq
		w.mu.Unlock()
		if f.Epoch == epoch && f.From <= seq+1 {
			return
		}
		w.d.rec.gaps.Add(1)
		if f.Epoch == epoch {
			var c seatsFrame
			path := fmt.Sprintf("/api/events/%s/diffs?from=%d&epoch=%s", w.d.cfg.Event, seq, url.QueryEscape(epoch))
			if st, err := w.d.getJSON(ctx, w.route, path, "", nil, &c); err == nil && st == 200 && c.Epoch == epoch {
				w.mu.Lock()
				w.merge(c, time.Time{}, false)
				w.mu.Unlock()
				continue
			}
		}
		if w.sync(ctx) != nil {
			return
		}
	}
}

// merge writes a frame's (or a catch-up's) seats into the view; with record
// it also notes their arrival at at. The caller holds w.mu.
func (w *watcher) merge(f seatsFrame, at time.Time, record bool) {
	w.seq = max(w.seq, f.To)
	for _, s := range f.Seats {
		if len(s) < 3 {
			continue
		}
		idxF, _ := s[0].(float64)
		state, _ := s[1].(string)
		verF, _ := s[2].(float64)
		idx, ver := int(idxF), int64(verF)
		if idx < 0 || idx >= len(w.view) || state == "" {
			continue
		}
		if ver >= w.versions[idx] {
			w.versions[idx] = ver
			w.view[idx] = state[0]
		}
		if record {
			w.arrivals[idx] = append(w.arrivals[idx], at)
		}
	}
}

// converged reports whether the view equals the truth.
func (w *watcher) converged(truth string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ok && string(w.view) == truth
}

// maxDiverged bounds Report.Diverged.
const maxDiverged = 100

// diverged adds to seats (sorted, no repeats, at most maxDiverged) the
// seats on which the view differs from the truth.
func (w *watcher) diverged(truth string, seats []int) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := 0; i < len(truth) && len(seats) < maxDiverged; i++ {
		if i < len(w.view) && w.view[i] == truth[i] {
			continue
		}
		if k, found := slices.BinarySearch(seats, i); !found {
			seats = slices.Insert(seats, k, i)
		}
	}
	return seats
}

// firstAfter is the first change of seat idx that arrived at or after t.
func (w *watcher) firstAfter(idx int, t time.Time) (time.Time, bool) {
	for _, a := range w.arrivals[idx] {
		if !a.Before(t) {
			return a, true
		}
	}
	return time.Time{}, false
}
