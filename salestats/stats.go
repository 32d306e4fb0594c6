package salestats

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// Publisher sends an encoded stats frame to the admins of an event
// (realtime.Frames satisfies it, on event:{e}:stats; Lease wraps it).
type Publisher interface {
	PublishStats(ctx context.Context, eventID int64, frame []byte) error
}

// Audience is what the figures need from this node's realtime hub
// (realtime.Hub satisfies it).
type Audience interface {
	// OpenSockets is the node's open sockets.
	OpenSockets() int64
	// EventAudience is the node's sockets following an event: fans on its
	// seat map or queue, admins on its stats.
	EventAudience(eventID int64) (fans, admins int)
	// AdminEvents lists the events an admin socket on this node follows.
	AdminEvents() []int64
}

// Funnel supplies the figures between the queue and the sold seats: fans
// holding, fans paying and the recent payment failures (checkout.Service
// satisfies it).
type Funnel interface {
	Funnel(ctx context.Context, eventID int64) (checkout.Funnel, error)
}

// Config is what an Engine reads and where it publishes. Seats is
// required; every other field may be nil.
type Config struct {
	Seats *seatmap.Service
	// Queue supplies the waiting room's figures.
	Queue *waitingroom.Service
	// Funnel supplies the holding, paying and payment-failure figures.
	Funnel Funnel
	// Diffs is the seat-diff stream the counters follow; without it (one
	// node without Redis) they are rebuilt from a snapshot each second.
	Diffs seatmap.StreamReader
	// Audience supplies the socket figures and the events admins watch.
	Audience Audience
	// Publisher receives each watched event's frame every second.
	Publisher Publisher
	// Log receives warnings; nil discards them.
	Log *slog.Logger
	// Node names this node in the figures (default: the host name).
	Node string
}

// EventStats is the admin dashboard's figures for one event: the body of
// GET /api/admin/events/{event}/stats and, with "type":"stats", of the 1 Hz
// stats frame.
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
	// Funnel's figures are cluster-wide, read from Postgres.
	checkout.Funnel
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

// Engine keeps one seat counter per watched event on this node and
// advances it from the diff stream: a tick costs the changes since the last
// tick plus a few Redis reads, never a scan of the seats.
type Engine struct {
	cfg Config
	log *slog.Logger

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

var _ prometheus.Collector = (*Engine)(nil)

// New returns an Engine; Run starts its loop.
func New(cfg Config) *Engine {
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, log: cfg.Log, events: make(map[int64]*trackedEvent)}
}

// statsReload is how often an event's counter is rebuilt from a snapshot
// when there is no diff stream (one node without Redis).
const statsReload = time.Second

// Figures brings an event's counter up to date and returns its figures.
func (t *Engine) Figures(ctx context.Context, eventID int64) (*EventStats, error) {
	state, err := t.cfg.Seats.EventState(ctx, eventID)
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
		HoldsPerSecond: te.holdRate, SalesPerSecond: te.saleRate, Node: t.cfg.Node,
		HoldFigures: t.cfg.Seats.HoldFigures(eventID)}
	st.Errors = st.Results["error"]
	if t.cfg.Queue != nil {
		q, err := t.cfg.Queue.Figures(ctx, eventID)
		if err != nil {
			t.log.Warn("stats: queue figures", "event", eventID, "err", err)
		}
		st.Figures = q
	}
	if t.cfg.Funnel != nil {
		f, err := t.cfg.Funnel.Funnel(ctx, eventID)
		if err != nil {
			t.log.Warn("stats: funnel figures", "event", eventID, "err", err)
		}
		st.Funnel = f
	}
	if a := t.cfg.Audience; a != nil {
		st.Sockets = a.OpenSockets()
		st.EventSockets, st.Admins = a.EventAudience(eventID)
	}
	te.last = st
	return st, nil
}

// advance applies the diffs since the counter's position, or (re)loads it
// from a snapshot when it has none, the stream lost its place, or there is
// no stream.
func (t *Engine) advance(ctx context.Context, eventID int64, te *trackedEvent, now time.Time) error {
	diffs := t.cfg.Diffs
	if te.counter != nil && diffs != nil {
		d, err := diffs.Diffs(ctx, eventID, te.counter.Position())
		if err == nil {
			te.counter.Apply(seatmap.Position{Epoch: d.Epoch, Seq: d.To}, d.Seats)
			return nil
		}
		if !errors.Is(err, seatmap.ErrStreamGone) {
			return err
		}
	}
	if te.counter != nil && diffs == nil && now.Sub(te.loadedAt) < statsReload {
		return nil
	}
	c, err := t.cfg.Seats.NewSeatCounter(ctx, eventID)
	if err != nil {
		return err
	}
	// Totals restart with a new counter: restart the rate baseline too.
	te.counter, te.loadedAt = c, now
	te.base.at, te.base.held, te.base.sold = now, 0, 0
	return nil
}

// warmBudget is how long a tick spends, at most, keeping the figures of
// unwatched on-sale events current for /metrics.
const warmBudget = 300 * time.Millisecond

// statsIdle is how long an event nobody asked about stays tracked.
const statsIdle = time.Minute

// Run ticks every second until ctx ends: it publishes a stats frame for
// every event an admin socket on this node follows, and keeps the figures
// of on-sale events current for /metrics. Only nodes with an admin watching
// publish, so an unwatched sale costs no broker traffic; a Lease as the
// Publisher makes admins on several nodes get one frame a second, not one
// per node.
func (t *Engine) Run(ctx context.Context) {
	pub := t.cfg.Publisher
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var onSale []int64
	var listed time.Time
	var warmNext int
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(listed) > 10*time.Second {
			listed = time.Now()
			if page, err := t.cfg.Seats.Events(ctx, seatmap.EventQuery{Status: seatmap.StatusOnSale, Limit: seatmap.MaxEventsLimit}); err == nil {
				onSale = onSale[:0]
				for _, e := range page.Events {
					onSale = append(onSale, e.ID)
				}
			}
		}
		var watched []int64
		if t.cfg.Audience != nil {
			watched = t.cfg.Audience.AdminEvents()
		}
		// Watched events first: their frames must not wait for the first
		// load of every on-sale event's counter.
		for _, id := range watched {
			st, err := t.Figures(ctx, id)
			if err != nil {
				if ctx.Err() == nil {
					t.log.Warn("stats: figures", "event", id, "err", err)
				}
				continue
			}
			if pub != nil {
				if err := pub.PublishStats(ctx, id, st.frame()); err != nil {
					t.log.Warn("stats: publish", "event", id, "err", err)
				}
			}
		}
		// The rest of the on-sale events within a time budget, resuming
		// where the last tick stopped: first loads of many events (a
		// counter each) must not hold back the next watched frame.
		budget := time.Now().Add(warmBudget)
		for n := 0; n < len(onSale) && time.Now().Before(budget); n++ {
			warmNext %= len(onSale)
			id := onSale[warmNext]
			warmNext++
			if slices.Contains(watched, id) {
				continue
			}
			if _, err := t.Figures(ctx, id); err != nil && ctx.Err() == nil {
				t.log.Warn("stats: figures", "event", id, "err", err)
			}
		}
		t.forgetIdle()
	}
}

func (t *Engine) forgetIdle() {
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

// frame is the stats frame: the figures with "type":"stats".
func (st *EventStats) frame() []byte {
	b, _ := json.Marshal(struct { // plain values: Marshal cannot fail
		Type string `json:"type"`
		*EventStats
	}{"stats", st})
	return b
}

// Collect reports the last figures of every tracked event as Prometheus
// metrics (no I/O at scrape time). Describe sends nothing: the collector
// is unchecked, since its label values come and go with events.
func (t *Engine) Collect(ch chan<- prometheus.Metric) {
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
func (t *Engine) Describe(chan<- *prometheus.Desc) {}

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
