package server

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// StatsPublisher sends the dashboard frame on event:{e}:stats
// (realtime.Frames satisfies it).
type StatsPublisher interface {
	PublishStats(ctx context.Context, eventID int64, stats map[string]any) error
}

// EventStats is the admin dashboard's figures for one event: the body of
// GET /api/admin/events/{event}/stats and of the 1 Hz stats frame.
//
// Seat counts, revenue and rates are cluster-wide: they come from one
// snapshot plus the seat-diff stream every node publishes to. Queue figures
// are cluster-wide from the waiting room's Redis counters. Node figures
// (sockets, hold latency, hold results) are this node's, named by Node;
// Prometheus scrapes every node and sums them.
type EventStats struct {
	Event string    `json:"event"`
	At    time.Time `json:"at"`
	seatmap.EventState
	seatmap.SeatFigures
	// HoldsPerSecond and SalesPerSecond are seats that became held or sold
	// per second over the last tick.
	HoldsPerSecond float64 `json:"holds_per_second"`
	SalesPerSecond float64 `json:"sales_per_second"`
	waitingroom.Figures
	seatmap.HoldFigures
	// Errors is the hold requests that failed with an internal error.
	Errors int64 `json:"errors"`
	// Sockets is this node's open sockets; EventSockets those following
	// the event's seat map or queue here; Admins the dashboard sockets.
	Sockets      int64  `json:"sockets"`
	EventSockets int    `json:"event_sockets"`
	Admins       int    `json:"admins"`
	Node         string `json:"node"`
}

// statsTracker keeps one seat counter per watched event on this node and
// advances it from the diff stream: a tick costs the changes since the last
// tick plus a few Redis reads, never a scan of the seats.
type statsTracker struct {
	s    *Server
	node string

	mu     sync.Mutex
	events map[int64]*trackedEvent
}

type trackedEvent struct {
	mu       sync.Mutex // serialises catch-up of one event
	counter  *seatmap.SeatCounter
	loadedAt time.Time
	base     struct {
		at         time.Time
		held, sold int64
	}
	holdRate, saleRate float64
	last               *EventStats
	used               time.Time
}

func newStatsTracker(s *Server) *statsTracker {
	node, _ := os.Hostname()
	return &statsTracker{s: s, node: node, events: make(map[int64]*trackedEvent)}
}

// statsReload is how often an event's counter is rebuilt from a snapshot
// when there is no diff stream (one node without Redis).
const statsReload = time.Second

// Figures brings an event's counter up to date and returns its figures.
func (t *statsTracker) Figures(ctx context.Context, eventID int64) (*EventStats, error) {
	state, err := t.s.deps.Seats.EventState(ctx, eventID)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	te := t.events[eventID]
	if te == nil {
		te = &trackedEvent{}
		t.events[eventID] = te
	}
	t.mu.Unlock()

	te.mu.Lock()
	defer te.mu.Unlock()
	now := time.Now()
	te.used = now
	if err := t.advance(ctx, eventID, te, now); err != nil {
		return nil, err
	}
	f := te.counter.Figures()
	if dt := now.Sub(te.base.at).Seconds(); dt >= 0.5 {
		te.holdRate = float64(f.SeatsHeldTotal-te.base.held) / dt
		te.saleRate = float64(f.SeatsSoldTotal-te.base.sold) / dt
		te.base.at, te.base.held, te.base.sold = now, f.SeatsHeldTotal, f.SeatsSoldTotal
	}
	st := &EventStats{Event: strconv.FormatInt(eventID, 10), At: now.UTC(), EventState: state, SeatFigures: f,
		HoldsPerSecond: te.holdRate, SalesPerSecond: te.saleRate, Node: t.node,
		HoldFigures: t.s.deps.Seats.HoldFigures(eventID)}
	st.Errors = st.Results["error"]
	if t.s.deps.Queue != nil {
		q, err := t.s.deps.Queue.Figures(ctx, eventID)
		if err != nil {
			t.s.log.Warn("stats: queue figures", "event", eventID, "err", err)
		}
		st.Figures = q
	}
	if hub := t.s.deps.Hub; hub != nil {
		st.Sockets = hub.Stats().Conns
		st.EventSockets = hub.Subscribers(realtime.SeatsTopic(eventID)) + hub.Subscribers(realtime.QueueTopic(eventID))
		st.Admins = hub.Subscribers(realtime.StatsTopic(eventID))
	}
	te.last = st
	return st, nil
}

// advance applies the diffs since the counter's position, or (re)loads it
// from a snapshot when it has none, the stream lost its place, or there is
// no stream.
func (t *statsTracker) advance(ctx context.Context, eventID int64, te *trackedEvent, now time.Time) error {
	diffs := t.s.deps.Diffs
	if te.counter != nil && diffs != nil {
		pos := te.counter.Position()
		d, err := diffs.Diffs(ctx, eventID, pos.Epoch, pos.Seq)
		if err == nil {
			changes := make([]seatmap.SeatChange, 0, len(d.Seats))
			for _, e := range d.Seats {
				if len(e.State) == 1 {
					changes = append(changes, seatmap.SeatChange{Idx: int32(e.Idx), State: e.State[0], Version: e.Version})
				}
			}
			te.counter.Apply(seatmap.Position{Epoch: d.Epoch, Seq: d.To}, changes)
			return nil
		}
		if !errors.Is(err, realtime.ErrDiffsGone) {
			return err
		}
	}
	if te.counter != nil && diffs == nil && now.Sub(te.loadedAt) < statsReload {
		return nil
	}
	c, err := t.s.deps.Seats.NewSeatCounter(ctx, eventID)
	if err != nil {
		return err
	}
	// Totals restart with a new counter: restart the rate baseline too.
	te.counter, te.loadedAt = c, now
	te.base.at, te.base.held, te.base.sold = now, 0, 0
	return nil
}

// statsIdle is how long an event nobody asked about stays tracked.
const statsIdle = time.Minute

// Run ticks every second until ctx ends: it publishes a stats frame for
// every event an admin socket on this node follows, and keeps the figures
// of on-sale events current for /metrics. Only nodes with an admin watching
// publish, so an unwatched sale costs no broker traffic; cmd's publisher
// takes a short Redis lease per event so that admins on several nodes get
// one frame a second, not one per node.
func (t *statsTracker) Run(ctx context.Context, pub StatsPublisher) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var onSale []int64
	var listed time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(listed) > 10*time.Second {
			listed = time.Now()
			if evs, err := t.s.deps.Seats.Events(ctx, seatmap.StatusOnSale); err == nil {
				onSale = onSale[:0]
				for _, e := range evs {
					onSale = append(onSale, e.ID)
				}
			}
		}
		var watched []int64
		if t.s.deps.Hub != nil {
			watched = t.s.deps.Hub.TopicsOf(realtime.KindStats)
		}
		// Watched events first: their frames must not wait for the first
		// load of every on-sale event's counter.
		for _, id := range watched {
			st, err := t.Figures(ctx, id)
			if err != nil {
				if ctx.Err() == nil {
					t.s.log.Warn("stats: figures", "event", id, "err", err)
				}
				continue
			}
			if pub != nil {
				if err := pub.PublishStats(ctx, id, st.frame()); err != nil {
					t.s.log.Warn("stats: publish", "event", id, "err", err)
				}
			}
		}
		for _, id := range onSale {
			if slices.Contains(watched, id) {
				continue
			}
			if _, err := t.Figures(ctx, id); err != nil && ctx.Err() == nil {
				t.s.log.Warn("stats: figures", "event", id, "err", err)
			}
		}
		t.forgetIdle()
	}
}

func (t *statsTracker) forgetIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, te := range t.events {
		if te.mu.TryLock() {
			if time.Since(te.used) > statsIdle {
				delete(t.events, id)
			}
			te.mu.Unlock()
		}
	}
}

// frame is the stats as the map Frames.PublishStats takes.
func (st *EventStats) frame() map[string]any {
	b, _ := json.Marshal(st)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "event") // PublishStats sets it
	return m
}

// RunStats runs the stats tracker's 1 Hz loop (see statsTracker.Run) until
// ctx ends; cmd starts it next to the other loops.
func (s *Server) RunStats(ctx context.Context, pub StatsPublisher) { s.stats.Run(ctx, pub) }

// getStats: GET /api/admin/events/:event/stats.
func (s *Server) getStats(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	st, err := s.stats.Figures(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// Collect reports the last figures of every tracked event as Prometheus
// metrics (no I/O at scrape time). Describe sends nothing: the collector
// is unchecked, since its label values come and go with events.
func (t *statsTracker) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	var all []*EventStats
	for _, te := range t.events {
		if te.mu.TryLock() {
			if te.last != nil {
				all = append(all, te.last)
			}
			te.mu.Unlock()
		}
	}
	t.mu.Unlock()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, st := range all {
		e := st.Event
		for _, sec := range st.Sections {
			for status, n := range sec.Counts {
				g(descSeats, float64(n), e, sec.ID, status)
			}
		}
		g(descRevenue, float64(st.RevenueCents), e)
		ch <- prometheus.MustNewConstMetric(descSeatsHeld, prometheus.CounterValue, float64(st.SeatsHeldTotal), e)
		ch <- prometheus.MustNewConstMetric(descSeatsSold, prometheus.CounterValue, float64(st.SeatsSoldTotal), e)
		g(descQueueLength, float64(st.QueueLength), e)
		g(descCursor, float64(st.Cursor), e)
		g(descActive, float64(st.ActiveShoppers), e)
		g(descEventSockets, float64(st.EventSockets), e)
		g(descHoldP99, st.P99Ms/1000, e)
		for result, n := range st.Results {
			ch <- prometheus.MustNewConstMetric(descHoldResults, prometheus.CounterValue, float64(n), e, result)
		}
	}
}

// Describe implements prometheus.Collector (unchecked).
func (t *statsTracker) Describe(chan<- *prometheus.Desc) {}

var (
	descSeats = prometheus.NewDesc("boxoffice_event_seats", "Seats of an event by section and status.",
		[]string{"event", "section", "status"}, nil)
	descRevenue = prometheus.NewDesc("boxoffice_event_revenue_cents", "Face value of an event's sold seats, in cents.",
		[]string{"event"}, nil)
	// Rates are PromQL's (rate(boxoffice_event_seats_sold_total[1m])): the
	// counters restart from 0 when a node reloads an event's counter, which
	// rate() reads as a counter reset.
	descSeatsHeld = prometheus.NewDesc("boxoffice_event_seats_held_total", "Seats that became held since this node loaded the event's counter.",
		[]string{"event"}, nil)
	descSeatsSold = prometheus.NewDesc("boxoffice_event_seats_sold_total", "Seats that became sold since this node loaded the event's counter.",
		[]string{"event"}, nil)
	descQueueLength = prometheus.NewDesc("boxoffice_event_queue_length", "Fans numbered behind the waiting room's cursor.",
		[]string{"event"}, nil)
	descCursor = prometheus.NewDesc("boxoffice_event_queue_cursor", "The waiting room's serving cursor: it only grows, so deriv() of it is the admissions per second.",
		[]string{"event"}, nil)
	descActive = prometheus.NewDesc("boxoffice_event_active_shoppers", "Fans holding an unexpired admission.",
		[]string{"event"}, nil)
	descEventSockets = prometheus.NewDesc("boxoffice_event_sockets", "This node's sockets following the event's seats or queue.",
		[]string{"event"}, nil)
	descHoldP99 = prometheus.NewDesc("boxoffice_event_hold_p99_seconds", "99th percentile latency of this node's last 1024 holds of the event.",
		[]string{"event"}, nil)
	descHoldResults = prometheus.NewDesc("boxoffice_event_holds_total", "This node's hold requests of the event by result.",
		[]string{"event", "result"}, nil)
)
