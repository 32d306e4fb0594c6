package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
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

	mu       sync.Mutex
	ok       bool // subscribed and synced once
	view     []byte
	versions []int64
	seq      int64
	epoch    string
	arrivals map[int][]time.Time
}

// seatsFrame is a server frame; only seats frames are read in full.
type seatsFrame struct {
	Type  string  `json:"type"`
	Epoch string  `json:"epoch"`
	From  int64   `json:"from"`
	To    int64   `json:"to"`
	Seats [][]any `json:"seats"`
}

// seatsPrefix starts every seats frame (realtime encodes type first).
var seatsPrefix = []byte(`{"type":"seats"`)

func (w *watcher) run(ctx context.Context, ready chan<- struct{}) {
	signalled := false
	signal := func() {
		if !signalled {
			signalled = true
			ready <- struct{}{}
		}
	}
	defer signal()
	d := w.d
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(d.cfg.BaseURL, "http")+"/ws", nil)
	if err != nil {
		d.rec.watchErrs.Add(1)
		return
	}
	defer ws.Close()
	go func() { <-ctx.Done(); ws.Close() }()
	topic := "event:" + d.cfg.Event + ":seats"
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","topic":"`+topic+`"}`)); err != nil {
		d.rec.watchErrs.Add(1)
		return
	}
	var buffered []seatsFrame
	subscribed := false
	for {
		_, msg, err := ws.ReadMessage()
		now := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				d.rec.watchErrs.Add(1)
			}
			return
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
				d.rec.watchErrs.Add(1)
				return
			}
			signal()
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
		case "resync":
			d.rec.gaps.Add(1)
			_ = w.sync(ctx)
		case "error":
			d.rec.watchErrs.Add(1)
			return
		}
	}
}

// sync loads the snapshot into the view.
func (w *watcher) sync(ctx context.Context) error {
	var a struct {
		Epoch    string `json:"epoch"`
		Seq      int64  `json:"seq"`
		Statuses string `json:"statuses"`
	}
	if _, err := w.d.getJSON(ctx, "/api/events/"+w.d.cfg.Event+"/availability", "", nil, &a); err != nil {
		return err
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

// apply applies one diff frame: skipped when already in the snapshot, a
// snapshot refetch on a gap or an epoch change (counted as a gap). A seat's
// higher version wins, so a refetched snapshot and late diffs agree.
func (w *watcher) apply(ctx context.Context, f seatsFrame, at time.Time) {
	w.mu.Lock()
	if f.Epoch != w.epoch || f.From > w.seq+1 {
		w.mu.Unlock()
		w.d.rec.gaps.Add(1)
		if w.sync(ctx) != nil {
			return
		}
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	if f.To <= w.seq && f.Epoch == w.epoch {
		return
	}
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
		if w.measure {
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

// firstAfter is the first change of seat idx that arrived at or after t.
func (w *watcher) firstAfter(idx int, t time.Time) (time.Time, bool) {
	for _, a := range w.arrivals[idx] {
		if !a.Before(t) {
			return a, true
		}
	}
	return time.Time{}, false
}
