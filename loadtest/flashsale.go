package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/waitingroom"
)

// Config is one flash-sale run.
type Config struct {
	// BaseURL of the server, e.g. http://127.0.0.1:8080 (required).
	BaseURL string
	// Nodes are further base URLs of the same deployment (optional). Fans
	// and watchers are spread over BaseURL and Nodes, and a caller whose
	// node refuses connections moves to the next one, as a load balancer in
	// front of the nodes would move it; a watcher whose socket drops
	// reconnects to the next node. The fault drills use this to kill nodes
	// mid-sale.
	Nodes []string
	// Event is the event id (required).
	Event string
	// Fans is how many fans take part (default 100). Tokens are used first;
	// the rest sign up themselves (slow: password hashing).
	Fans   int
	Tokens []string
	// Watchers follow the seat map over WebSocket (default 0).
	Watchers int
	// MeasuringWatchers bounds how many watchers record every frame for the
	// latency and convergence figures (default 50); the others only count.
	MeasuringWatchers int
	// SeatWeights[i] is the relative weight of wanting i+1 seats (default
	// 1,2 or 4 seats: "30,40,0,30"-like {3,4,0,3}).
	SeatWeights []float64
	// HotBias is the chance a fan aims at a hot section (the priciest
	// fifth of sections) when picking seats (default 0.5).
	HotBias float64
	// BestAvailable is the share of humans who ask for best available
	// rather than naming seats from the map (default 0.5). Bots always name
	// hot seats.
	BestAvailable float64
	// GA is the share of humans who hold places of a general-admission
	// area (a quantity, {"ga": ...}) when the event has one with places
	// left (0: none; the flag -ga defaults to 0.3); the others pick seats
	// as above.
	GA float64
	// Bots is the share of fans that are bots: no think time, the most
	// seats allowed, hot seats only, more retries (default 0).
	Bots float64
	// BotSeats is how many seats a bot asks for (default 8, the usual cap).
	BotSeats int
	// Think is the mean human pause before holding and before paying
	// (exponential; default 0).
	Think time.Duration
	// Decline is the share of payments made with the declining test card.
	Decline float64
	// Waitlist is the share of humans who, finding what they want sold
	// out, join the event's waiting list and wait for an offer (polling
	// their entry every WaitlistPoll, default 300 ms), then buy it like
	// any hold (0: none).
	Waitlist     float64
	WaitlistPoll time.Duration
	// Duration caps the run (default 2m).
	Duration time.Duration
	// Concurrency bounds fans in flight at once (default 256).
	Concurrency int
	// QueuePoll is how often a waiting fan polls /queue/me (default 1s).
	QueuePoll time.Duration
	// AllowRemote permits a non-loopback BaseURL.
	AllowRemote bool
	// Progress receives a \r-updated line while running (nil: none).
	Progress io.Writer
	// Invariants, when set, is called after the run to check the event in
	// Postgres.
	Invariants func(ctx context.Context) (Invariants, error)
}

// ServedNode is one app node the driver ran in its own process, with what
// it did over the run.
type ServedNode struct {
	URL      string `json:"url"`
	Requests int64  `json:"requests"`
	// PostgresAcquires are the node's Postgres pool acquisitions: one per
	// statement or transaction it sent.
	PostgresAcquires int64 `json:"postgres_acquires"`
	// PeakSockets is the most WebSockets open on the node at once
	// (sampled every 100 ms).
	PeakSockets int64 `json:"peak_sockets"`
}

// Invariants are the hard rule's figures read straight from Postgres.
type Invariants struct {
	Capacity          int      `json:"capacity"`
	Available         int      `json:"available"`
	Held              int      `json:"held"`
	Sold              int      `json:"sold"`
	Reserved          int      `json:"reserved"`
	Oversold          int      `json:"oversold"`
	DoubleCaptures    int      `json:"double_captures"`
	DanglingAuthorize int      `json:"dangling_authorizations"`
	Violations        []string `json:"violations"`
	OK                bool     `json:"ok"`
}

// Latency is a percentile summary in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// Report is the outcome of a run; it is also written as JSON.
type Report struct {
	BaseURL string    `json:"base_url"`
	Event   string    `json:"event"`
	Started time.Time `json:"started"`
	Elapsed float64   `json:"elapsed_seconds"`
	Config  struct {
		Fans          int       `json:"fans"`
		Watchers      int       `json:"watchers"`
		Concurrency   int       `json:"concurrency"`
		BotSeats      int       `json:"bot_seats"`
		Bots          float64   `json:"bots"`
		HotBias       float64   `json:"hot_bias"`
		Decline       float64   `json:"decline"`
		BestAvailable float64   `json:"best_available"`
		GA            float64   `json:"ga"`
		Waitlist      float64   `json:"waitlist"`
		Think         string    `json:"think"`
		Duration      string    `json:"duration"`
		SeatWeights   []float64 `json:"seat_weights"`
		WaitingRoom   bool      `json:"waiting_room"`
	} `json:"config"`
	Capacity int `json:"capacity"`
	// NodeRequests counts the answered requests per node (base URL): a
	// sale over several nodes shows how the load was spread.
	NodeRequests map[string]int64 `json:"node_requests"`
	// Served are the app nodes the driver ran in its own process
	// (flashsale -serve) and what each did; empty against running nodes.
	Served []ServedNode `json:"served_nodes,omitempty"`
	// ProcessCPUSeconds is the CPU time of the driver's process over the
	// run, its served nodes included (-serve only).
	ProcessCPUSeconds float64 `json:"process_cpu_seconds,omitempty"`
	// SoldOut: no seat available or held; SellOutSeconds from start.
	SoldOut        bool    `json:"sold_out"`
	SellOutSeconds float64 `json:"sell_out_seconds,omitempty"`
	CappedByTime   bool    `json:"capped_by_time"`
	Interrupted    bool    `json:"interrupted"`
	FansDone       int64   `json:"fans_done"`
	Orders         int64   `json:"orders"`
	// OrdersInReview are the orders the server's review signals held back
	// (counted in Orders too): a bot-speed run against a deployment with
	// REVIEW_SIGNALS on sends most of its purchases there.
	OrdersInReview int64   `json:"orders_in_review"`
	Declines       int64   `json:"declines"`
	SeatsBought    int64   `json:"seats_bought"`
	BotSeats       int64   `json:"bot_seats"`
	BotShare       float64 `json:"bot_seat_share"`
	HoldsAccepted  int64   `json:"holds_accepted"`
	HoldsRejected  int64   `json:"holds_rejected"`
	HoldsPerSec    float64 `json:"holds_accepted_per_second"`
	RejectsPerSec  float64 `json:"holds_rejected_per_second"`

	// GAHolds are the accepted holds of general-admission places.
	GAHolds int64 `json:"ga_holds"`
	// WaitlistJoins are the fans who joined the waiting list,
	// WaitlistOffers those offered places, WaitlistSeats the seats bought
	// through offers (counted in SeatsBought too).
	WaitlistJoins  int64 `json:"waitlist_joins"`
	WaitlistOffers int64 `json:"waitlist_offers"`
	WaitlistSeats  int64 `json:"waitlist_seats"`

	// Steps: latency of each request kind (challenge, pow, join, admission
	// wait, hold, checkout, confirm, signup).
	Steps  map[string]Latency `json:"steps"`
	Errors map[string]int64   `json:"errors"`
	// DiffLatency: hold response received → the seat's diff frame at a
	// watcher (0 when the frame came first); DiffLatencyFromRequest counts
	// from the hold request's start (an upper bound on commit → socket).
	DiffLatency            Latency `json:"diff_latency"`
	DiffLatencyFromRequest Latency `json:"diff_latency_from_request"`
	DiffMissed             int64   `json:"diff_missed"`
	Frames                 int64   `json:"frames"`
	WatcherGaps            int64   `json:"watcher_gaps"`
	WatchersConverged      int     `json:"watchers_converged"`
	WatchersMeasured       int     `json:"watchers_measured"`
	// Diverged are the seats (idx, at most maxDiverged) on which some
	// measuring watcher's final view differs from the final snapshot.
	Diverged      []int `json:"diverged_seats,omitempty"`
	WatcherErrors int64 `json:"watcher_errors"`
	// Reconnects counts watcher sockets that dropped and were opened again
	// (on the next node); ReconnectLatency is the time from the drop to the
	// resynced view.
	Reconnects       int64   `json:"reconnects"`
	ReconnectLatency Latency `json:"reconnect_latency"`
	// OrderIDs are the orders the fans were told about by a successful
	// confirmation, for drills that check each one exists in Postgres.
	OrderIDs        []string    `json:"-"`
	Invariants      *Invariants `json:"invariants,omitempty"`
	InvariantsError string      `json:"invariants_error,omitempty"`
}

// OK reports whether the run broke nothing it can see: invariants hold
// (when checked) and the watchers converged.
func (r *Report) OK() bool {
	if r.InvariantsError != "" || (r.Invariants != nil && !r.Invariants.OK) {
		return false
	}
	return r.WatchersConverged == r.WatchersMeasured
}

func (c *Config) defaults() {
	if c.Fans <= 0 {
		c.Fans = 100
	}
	if c.MeasuringWatchers <= 0 {
		c.MeasuringWatchers = 50
	}
	if len(c.SeatWeights) == 0 {
		c.SeatWeights = []float64{3, 4, 0, 3}
	}
	if c.BotSeats <= 0 {
		c.BotSeats = 8
	}
	if c.Duration <= 0 {
		c.Duration = 2 * time.Minute
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 256
	}
	if c.QueuePoll <= 0 {
		c.QueuePoll = time.Second
	}
	if c.WaitlistPoll <= 0 {
		c.WaitlistPoll = 300 * time.Millisecond
	}
}

// CheckTarget refuses a base URL that is not on this machine unless remote
// targets are allowed: the driver is a denial of service for any site whose
// owner did not ask for it.
func CheckTarget(ctx context.Context, base string, allowRemote bool) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("loadtest: base URL %q is not an http(s) URL", base)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return fmt.Errorf("loadtest: resolve %s: %w", host, err)
		}
		ips = ips[:0]
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("loadtest: %s is not a loopback address; a load test against a machine you do not own is an attack (pass -allow-remote for your own staging deployment)", host)
		}
	}
	return nil
}

// seat is one seat of the layout.
type seat struct {
	ID      string
	Idx     int
	Section string
	Price   int64
	// GA marks a place of a general-admission area: held by quantity,
	// never named.
	GA bool
}

// recorder collects the figures of a run.
type recorder struct {
	mu     sync.Mutex
	steps  map[string][]time.Duration
	errors map[string]int64
	holds  []holdMark
	// orderIDs are the orders confirmations returned; reconnects the drop →
	// resync time of each watcher reconnection.
	orderIDs   []string
	reconnects []time.Duration

	accepted, rejected, orders, reviews, declines, seatsBought, botSeats, fansDone atomic.Int64
	frames, gaps, watchErrs                                                        atomic.Int64

	gaHolds atomic.Int64 // accepted holds of general-admission places

	waitJoins, waitOffers, waitSeats atomic.Int64 // waiting-list joins, offers, seats bought through offers
}

// holdMark is one accepted hold, for the diff latency.
type holdMark struct {
	sent, recv time.Time
	idx        int
}

func (r *recorder) step(name string, d time.Duration) {
	r.mu.Lock()
	r.steps[name] = append(r.steps[name], d)
	r.mu.Unlock()
}

func (r *recorder) fail(step string, status int, code string) {
	k := step + ":" + strconv.Itoa(status)
	if code != "" {
		k += ":" + code
	}
	r.mu.Lock()
	r.errors[k]++
	r.mu.Unlock()
}

// driver is one run's shared state.
type driver struct {
	cfg      Config
	nodes    []string       // BaseURL, then Nodes
	answered []atomic.Int64 // per node, by index
	http     *http.Client
	seats    []seat
	byID     map[string]int
	hot      []int    // seat indexes in hot sections
	areas    []gaArea // general-admission areas
	view     []atomicState
	room     bool
	rec      *recorder
	stopNew  chan struct{}
	stopOnce sync.Once
	start    time.Time
}

// Run drives the flash sale and returns its report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Event == "" {
		return nil, errors.New("loadtest: an event is required")
	}
	var nodes []string
	for _, u := range append([]string{cfg.BaseURL}, cfg.Nodes...) {
		if err := CheckTarget(ctx, u, cfg.AllowRemote); err != nil {
			return nil, err
		}
		nodes = append(nodes, strings.TrimRight(u, "/"))
	}
	cfg.BaseURL = nodes[0]
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Concurrency + 16
	tr.MaxIdleConns = cfg.Concurrency + 16
	d := &driver{
		cfg:      cfg,
		nodes:    nodes,
		answered: make([]atomic.Int64, len(nodes)),
		http:     &http.Client{Transport: tr, Timeout: 30 * time.Second},
		rec:      &recorder{steps: map[string][]time.Duration{}, errors: map[string]int64{}},
		stopNew:  make(chan struct{}),
	}
	if err := d.load(ctx); err != nil {
		return nil, err
	}
	rep := &Report{BaseURL: cfg.BaseURL, Event: cfg.Event, Capacity: len(d.seats)}
	rc := &rep.Config
	rc.Fans, rc.Watchers, rc.Concurrency, rc.BotSeats = cfg.Fans, cfg.Watchers, cfg.Concurrency, cfg.BotSeats
	rc.Bots, rc.HotBias, rc.Decline, rc.BestAvailable, rc.GA = cfg.Bots, cfg.HotBias, cfg.Decline, cfg.BestAvailable, cfg.GA
	rc.Waitlist = cfg.Waitlist
	rc.Think, rc.Duration, rc.SeatWeights, rc.WaitingRoom = cfg.Think.String(), cfg.Duration.String(), cfg.SeatWeights, d.room

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchers := make([]*watcher, cfg.Watchers)
	var wwg sync.WaitGroup
	ready := make(chan struct{}, cfg.Watchers)
	for i := range watchers {
		w := &watcher{d: d, measure: i < cfg.MeasuringWatchers, route: &route{i: i}}
		watchers[i] = w
		wwg.Add(1)
		go func() { defer wwg.Done(); w.run(watchCtx, ready) }()
	}
	for range watchers { // wait until subscribed (or failed), at most 10 s
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
		}
	}

	d.start = time.Now()
	rep.Started = d.start.UTC()
	var soldAt atomic.Int64
	monDone := make(chan struct{})
	go func() { defer close(monDone); d.monitor(runCtx, &soldAt) }()
	progDone := make(chan struct{})
	go func() { defer close(progDone); d.progress(runCtx, monDone) }()

	sem := make(chan struct{}, cfg.Concurrency)
	var fwg sync.WaitGroup
	nBots := int(float64(cfg.Fans)*cfg.Bots + 0.5)
	botEvery := 0
	if nBots > 0 {
		botEvery = cfg.Fans / nBots
	}
launch:
	for i := 0; i < cfg.Fans; i++ {
		select {
		case sem <- struct{}{}:
		case <-runCtx.Done():
			break launch
		case <-d.stopNew:
			break launch
		}
		bot := botEvery > 0 && i%botEvery == 0 && i/botEvery < nBots
		token := ""
		if i < len(cfg.Tokens) {
			token = cfg.Tokens[i]
		}
		fwg.Add(1)
		go func(i int) {
			defer func() { <-sem; fwg.Done() }()
			d.fan(runCtx, &route{i: i}, i, token, bot)
			d.rec.fansDone.Add(1)
		}(i)
	}
	fwg.Wait()
	rep.Interrupted = ctx.Err() != nil
	rep.CappedByTime = runCtx.Err() != nil && soldAt.Load() == 0 && !rep.Interrupted
	rep.Elapsed = time.Since(d.start).Seconds()
	d.stop()
	cancel()
	<-monDone
	<-progDone
	rep.NodeRequests = make(map[string]int64, len(d.nodes))
	for i, n := range d.nodes {
		rep.NodeRequests[n] += d.answered[i].Load()
	}
	if at := soldAt.Load(); at > 0 {
		rep.SoldOut = true
		rep.SellOutSeconds = time.Duration(at).Seconds()
	}

	// What follows runs even after an interrupt: the report and the
	// invariants matter most then.
	ctx, cancelAfter := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancelAfter()
	// Let the last diffs arrive and the availability cache (about a second)
	// turn over, then check every measuring watcher against the truth.
	if cfg.Watchers > 0 {
		time.Sleep(1500 * time.Millisecond)
		truth, _, err := d.availability(ctx, &route{})
		for _, w := range watchers {
			if !w.measure {
				continue
			}
			rep.WatchersMeasured++
			if err == nil && w.converged(truth) {
				rep.WatchersConverged++
			} else if err == nil {
				rep.Diverged = w.diverged(truth, rep.Diverged)
			}
		}
	}
	stopWatch()
	wwg.Wait()
	d.summarize(rep, watchers)
	if cfg.Invariants != nil {
		inv, err := cfg.Invariants(ctx)
		if err != nil {
			rep.InvariantsError = err.Error()
		} else {
			rep.Invariants = &inv
		}
	}
	return rep, nil
}

func (d *driver) stop() { d.stopOnce.Do(func() { close(d.stopNew) }) }

func (d *driver) stopped() bool {
	select {
	case <-d.stopNew:
		return true
	default:
		return false
	}
}

// load reads the event (waiting room on?), its layout and availability.
func (d *driver) load(ctx context.Context) error {
	var ev struct {
		WaitingRoom struct {
			Enabled bool `json:"enabled"`
		} `json:"waiting_room"`
	}
	r := &route{}
	if st, err := d.getJSON(ctx, r, "/api/events/"+d.cfg.Event, "", nil, &ev); err != nil || st != 200 {
		return fmt.Errorf("loadtest: event %s: status %d: %v", d.cfg.Event, st, err)
	}
	d.room = ev.WaitingRoom.Enabled
	var layout struct {
		Sections []struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"sections"`
		Seats []struct {
			ID         string `json:"id"`
			Idx        int    `json:"idx"`
			Section    string `json:"section"`
			PriceCents int64  `json:"price_cents"`
		} `json:"seats"`
	}
	if st, err := d.getJSON(ctx, r, "/api/events/"+d.cfg.Event+"/seatmap", "", nil, &layout); err != nil || st != 200 {
		return fmt.Errorf("loadtest: seat map of %s: status %d: %v", d.cfg.Event, st, err)
	}
	d.seats = make([]seat, len(layout.Seats))
	d.byID = make(map[string]int, len(layout.Seats))
	price := map[string]int64{}
	area := map[string]int{}
	for _, sec := range layout.Sections {
		if sec.Kind == "ga" {
			area[sec.ID] = len(d.areas)
			d.areas = append(d.areas, gaArea{section: sec.ID})
		}
	}
	for _, s := range layout.Seats {
		if s.Idx < 0 || s.Idx >= len(d.seats) {
			return fmt.Errorf("loadtest: seat %s has idx %d outside 0..%d", s.ID, s.Idx, len(d.seats)-1)
		}
		k, ga := area[s.Section]
		d.seats[s.Idx] = seat{ID: s.ID, Idx: s.Idx, Section: s.Section, Price: s.PriceCents, GA: ga}
		d.byID[s.ID] = s.Idx
		if ga {
			d.areas[k].places = append(d.areas[k].places, s.Idx)
			continue
		}
		price[s.Section] = max(price[s.Section], s.PriceCents)
	}
	// Hot sections: the priciest fifth (at least one).
	secs := make([]string, 0, len(price))
	for s := range price {
		secs = append(secs, s)
	}
	sort.Slice(secs, func(i, j int) bool {
		if price[secs[i]] != price[secs[j]] {
			return price[secs[i]] > price[secs[j]]
		}
		return secs[i] < secs[j]
	})
	hot := map[string]bool{}
	for _, s := range secs[:max(1, len(secs)/5)] {
		hot[s] = true
	}
	for i, s := range d.seats {
		if hot[s.Section] {
			d.hot = append(d.hot, i)
		}
	}
	d.view = make([]atomicState, len(d.seats))
	statuses, _, err := d.availability(ctx, r)
	if err != nil {
		return err
	}
	for i := range d.view {
		if i < len(statuses) {
			d.view[i].Store(uint32(statuses[i]))
		}
	}
	return nil
}

// availability fetches the snapshot: statuses and seq.
func (d *driver) availability(ctx context.Context, r *route) (string, int64, error) {
	var a struct {
		Seq      int64  `json:"seq"`
		Statuses string `json:"statuses"`
	}
	st, err := d.getJSON(ctx, r, "/api/events/"+d.cfg.Event+"/availability", "", nil, &a)
	if err != nil || st != 200 {
		return "", 0, fmt.Errorf("loadtest: availability: status %d: %v", st, err)
	}
	return a.Statuses, a.Seq, nil
}

// monitor polls availability and declares the sell-out when no seat is
// available or held.
func (d *driver) monitor(ctx context.Context, soldAt *atomic.Int64) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	r := &route{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.stopNew:
			return
		case <-t.C:
		}
		s, _, err := d.availability(ctx, r)
		if err != nil {
			continue
		}
		for i := 0; i < len(s) && i < len(d.view); i++ {
			d.view[i].Store(uint32(s[i]))
		}
		if !strings.ContainsAny(s, "ah") {
			soldAt.Store(int64(time.Since(d.start)))
			d.stop()
			return
		}
	}
}

// progress writes one \r-updated line a second.
func (d *driver) progress(ctx context.Context, done <-chan struct{}) {
	w := d.cfg.Progress
	if w == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	line := func() {
		r := d.rec
		fmt.Fprintf(w, "\r%5.1fs fans %d/%d  holds %d ok %d rejected  orders %d declines %d  seats sold %d/%d  frames %d   ",
			time.Since(d.start).Seconds(), r.fansDone.Load(), d.cfg.Fans, r.accepted.Load(), r.rejected.Load(),
			r.orders.Load(), r.declines.Load(), r.seatsBought.Load(), len(d.seats), r.frames.Load())
	}
	for {
		select {
		case <-ctx.Done():
			line()
			fmt.Fprintln(w)
			return
		case <-done:
			line()
			fmt.Fprintln(w)
			return
		case <-t.C:
			line()
		}
	}
}

// apiError is the code of an error body, if any.
func apiError(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		return e.Error.Code
	}
	return ""
}

// route is one caller's node: an index into driver.nodes that moves on to
// the next node when a connection is refused. A refused connection means
// the request reached no server, so sending it elsewhere is safe for every
// method, which is what a load balancer in front of the nodes does.
type route struct{ i int }

func (d *driver) base(r *route) string { return d.nodes[r.i%len(d.nodes)] }

// refused reports whether err is a failure to connect (nothing was sent).
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// do sends one request to the caller's node and decodes a JSON answer into
// out (when 2xx); a refused connection moves the caller to the next node and
// tries there, once per node. It returns the status and the body.
func (d *driver) do(ctx context.Context, r *route, method, path, token string, headers map[string]string, body, out any) (int, []byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	var res *http.Response
	for try := 0; ; try++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, d.base(r)+path, rd)
		if err != nil {
			return 0, nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err = d.http.Do(req)
		if err == nil {
			d.answered[r.i%len(d.nodes)].Add(1)
			break
		}
		if !refused(err) || try+1 >= len(d.nodes) {
			return 0, nil, err
		}
		r.i++
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, b, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, b, nil
}

func (d *driver) getJSON(ctx context.Context, r *route, path, token string, headers map[string]string, out any) (int, error) {
	st, _, err := d.do(ctx, r, "GET", path, token, headers, nil, out)
	return st, err
}

// call is do with timing and error accounting under step.
func (d *driver) call(ctx context.Context, r *route, step, method, path, token string, headers map[string]string, body, out any, want int) (int, string, bool) {
	t0 := time.Now()
	st, b, err := d.do(ctx, r, method, path, token, headers, body, out)
	d.rec.step(step, time.Since(t0))
	if err != nil {
		if ctx.Err() != nil {
			d.rec.fail(step, 0, "cancelled")
		} else {
			d.rec.fail(step, 0, "transport")
		}
		return st, "", false
	}
	if st != want {
		code := apiError(b)
		d.rec.fail(step, st, code)
		return st, code, false
	}
	return st, "", true
}

func (d *driver) think(ctx context.Context, rng *rand.Rand, bot bool) bool {
	if bot || d.cfg.Think <= 0 {
		return ctx.Err() == nil
	}
	t := time.Duration(rng.ExpFloat64() * float64(d.cfg.Think))
	select {
	case <-time.After(t):
		return true
	case <-ctx.Done():
		return false
	}
}

// fan is one fan's whole visit.
func (d *driver) fan(ctx context.Context, r *route, i int, token string, bot bool) {
	rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
	if token == "" {
		var acct struct {
			Token string `json:"token"`
		}
		email := fmt.Sprintf("flash-%d-%d-%d@example.test", time.Now().UnixNano(), i, rng.IntN(1e6))
		if _, _, ok := d.call(ctx, r, "signup", "POST", "/api/accounts", "", nil,
			map[string]string{"email": email, "password": "load-test-password", "name": "Flash fan"}, &acct, 201); !ok {
			return
		}
		token = acct.Token
	}
	if d.stopped() {
		return
	}
	var hdr map[string]string
	if d.room {
		adm, ok := d.queue(ctx, r, token)
		if !ok {
			return
		}
		hdr = map[string]string{"X-Admission-Token": adm}
	}
	if !d.think(ctx, rng, bot) {
		return
	}
	n := d.quantity(rng, bot)
	// A fan who lost a seat looks again after a moment (the map has moved
	// on by then); a bot retries at once and more often.
	attempts, backoff := 5, 300*time.Millisecond
	if bot {
		attempts, backoff = 8, 30*time.Millisecond
	}
	standing := !bot && len(d.areas) > 0 && rng.Float64() < d.cfg.GA
	waits := !bot && rng.Float64() < d.cfg.Waitlist
	var hold struct {
		ID    string `json:"id"`
		Seats []struct {
			Idx int `json:"idx"`
		} `json:"seats"`
	}
	held := false
	for a := 0; a < attempts && !held; a++ {
		if a > 0 {
			select {
			case <-time.After(backoff/2 + rand.N(backoff)):
			case <-ctx.Done():
				return
			}
		}
		if d.stopped() || ctx.Err() != nil {
			return
		}
		var body any
		var picked []int
		// A standing fan asks for a quantity of an area with places left.
		// The last attempt asks for best available: a fan whose picks keep
		// losing takes what is left, as people do.
		area := ""
		if standing && a < attempts-1 {
			area = d.pickArea(rng)
		}
		if area != "" {
			body = map[string]any{"ga": map[string]any{"section": area, "quantity": n}}
		} else if a == attempts-1 || (!bot && rng.Float64() < d.cfg.BestAvailable) {
			body = map[string]any{"best_available": map[string]int{"quantity": n}}
		} else {
			picked = d.pick(rng, n, bot || rng.Float64() < d.cfg.HotBias)
			if len(picked) == 0 {
				body = map[string]any{"best_available": map[string]int{"quantity": n}}
			} else {
				ids := make([]string, len(picked))
				for k, p := range picked {
					ids[k] = d.seats[p].ID
				}
				body = map[string]any{"seat_ids": ids}
			}
		}
		sent := time.Now()
		st, code, ok := d.call(ctx, r, "hold", "POST", "/api/events/"+d.cfg.Event+"/holds", token, hdr, body, &hold, 201)
		recv := time.Now()
		switch {
		case ok:
			held = true
			d.rec.accepted.Add(1)
			if _, ga := body.(map[string]any)["ga"]; ga {
				d.rec.gaHolds.Add(1)
			}
			if len(hold.Seats) > 0 {
				d.rec.mu.Lock()
				d.rec.holds = append(d.rec.holds, holdMark{sent: sent, recv: recv, idx: hold.Seats[0].Idx})
				d.rec.mu.Unlock()
			}
			for _, s := range hold.Seats {
				if s.Idx >= 0 && s.Idx < len(d.view) {
					d.view[s.Idx].Store('h')
				}
			}
		case st == 409:
			d.rec.rejected.Add(1)
			for _, p := range picked {
				d.view[p].Store('h') // taken: look elsewhere next time
			}
			if _, best := body.(map[string]any)["best_available"]; best && waits {
				a = attempts // best available found nothing: to the waiting list
			}
		case st == 429 || st == 503:
			time.Sleep(100 * time.Millisecond)
		default:
			_ = code
			return // 403, 422, 410...: this fan is done
		}
	}
	if !held {
		if waits {
			d.waitForOffer(ctx, r, rng, token, n)
		}
		return
	}
	if !d.think(ctx, rng, bot) {
		return
	}
	if d.pay(ctx, r, rng, token, hold.ID, len(hold.Seats)) && bot {
		d.rec.botSeats.Add(int64(len(hold.Seats)))
	}
}

// pay checks out a hold of seats seats and confirms the payment with the
// good card, or the declining one for a Decline share of payments; it
// reports whether an order came of it.
func (d *driver) pay(ctx context.Context, r *route, rng *rand.Rand, token, holdID string, seats int) bool {
	var co struct {
		Payment struct {
			ID string `json:"id"`
		} `json:"payment"`
	}
	if !d.again(ctx, func() (int, bool) {
		st, _, ok := d.call(ctx, r, "checkout", "POST", "/api/holds/"+holdID+"/checkout", token, nil, nil, &co, 201)
		return st, ok
	}) {
		return false
	}
	card := "4242424242424242"
	if rng.Float64() < d.cfg.Decline {
		card = "4000000000000002"
	}
	var res struct {
		Status     string `json:"status"`
		OrderID    string `json:"order_id"`
		RetryUntil string `json:"retry_until"`
	}
	if !d.again(ctx, func() (int, bool) {
		st, _, ok := d.call(ctx, r, "confirm", "POST", "/api/payments/"+co.Payment.ID+"/confirm", token, nil,
			map[string]string{"card_number": card}, &res, 200)
		return st, ok
	}) {
		return false
	}
	switch {
	case res.OrderID != "":
		d.rec.orders.Add(1)
		if res.Status == "review" {
			d.rec.reviews.Add(1)
		}
		d.rec.mu.Lock()
		d.rec.orderIDs = append(d.rec.orderIDs, res.OrderID)
		d.rec.mu.Unlock()
		d.rec.seatsBought.Add(int64(seats))
		return true
	case res.Status == "declined":
		d.rec.declines.Add(1)
		if res.RetryUntil != "" {
			// The seats wait for another card; this fan gives up at
			// once, so they go back on sale as they would without the
			// retry window.
			d.again(ctx, func() (int, bool) {
				st, _, ok := d.call(ctx, r, "abandon", "POST", "/api/payments/"+co.Payment.ID+"/abandon", token, nil, nil, nil, 200)
				return st, ok
			})
		}
	default:
		d.rec.fail("confirm", 200, "status_"+res.Status)
	}
	return false
}

// waitForOffer joins the waiting list for n places and polls the entry
// until places are offered, then buys them as any hold. It gives up when
// the sale is over (nothing left available or held: nothing can come
// back) or the run ends; a join refused because places are on sale again
// (409 not_sold_out) ends the fan's visit too.
func (d *driver) waitForOffer(ctx context.Context, r *route, rng *rand.Rand, token string, n int) {
	path := "/api/events/" + d.cfg.Event + "/waitlist"
	if _, _, ok := d.call(ctx, r, "waitlist", "POST", path, token, nil, map[string]int{"quantity": n}, nil, 201); !ok {
		return
	}
	d.rec.waitJoins.Add(1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.cfg.WaitlistPoll):
		}
		var e struct {
			Status string `json:"status"`
			Offer  *struct {
				HoldID string `json:"hold_id"`
				Seats  int    `json:"seats"`
			} `json:"offer"`
		}
		if _, _, ok := d.call(ctx, r, "waitlist_poll", "GET", path, token, nil, nil, &e, 200); !ok {
			return
		}
		switch {
		case e.Status == "offered" && e.Offer != nil:
			d.rec.waitOffers.Add(1)
			if d.pay(ctx, r, rng, token, e.Offer.HoldID, e.Offer.Seats) {
				d.rec.waitSeats.Add(int64(e.Offer.Seats))
			}
			return
		case e.Status != "waiting" || d.stopped():
			return
		}
	}
}

// again sends a checkout or payment step, and sends it again after a 503
// (a dependency down for a moment), as a fan clicking again would: both
// are idempotent per hold and payment, and a confirmation the outage cut
// after the card was authorized is settled by the next one. At most 6
// tries, 100 ms to 1.6 s apart (3.1 s of waiting in all).
func (d *driver) again(ctx context.Context, send func() (status int, ok bool)) bool {
	for try, wait := 0, 100*time.Millisecond; ; try, wait = try+1, min(2*wait, 1600*time.Millisecond) {
		st, ok := send()
		if ok || st != 503 || try == 5 {
			return ok
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

// queue solves the proof of work, joins and waits for admission by polling
// /queue/me; it returns the admission token.
func (d *driver) queue(ctx context.Context, r *route, token string) (string, bool) {
	var ch struct {
		Challenge  string `json:"challenge"`
		Difficulty int    `json:"difficulty"`
		Signature  string `json:"signature"`
	}
	ev := "/api/events/" + d.cfg.Event
	if _, _, ok := d.call(ctx, r, "challenge", "GET", ev+"/queue/challenge", token, nil, nil, &ch, 200); !ok {
		return "", false
	}
	t0 := time.Now()
	sol, err := waitingroom.Solve(ctx, ch.Challenge, ch.Difficulty)
	d.rec.step("pow", time.Since(t0))
	if err != nil {
		return "", false
	}
	var me struct {
		State          string `json:"state"`
		AdmissionToken string `json:"admission_token"`
	}
	if _, _, ok := d.call(ctx, r, "join", "POST", ev+"/queue", token, nil,
		map[string]string{"challenge": ch.Challenge, "signature": ch.Signature, "solution": sol}, &me, 201); !ok {
		return "", false
	}
	t0 = time.Now()
	for me.AdmissionToken == "" {
		select {
		case <-ctx.Done():
			d.rec.fail("admission", 0, "stopped")
			return "", false
		case <-d.stopNew:
			return "", false
		case <-time.After(d.cfg.QueuePoll):
		}
		if _, _, ok := d.call(ctx, r, "queue_me", "GET", ev+"/queue/me", token, nil, nil, &me, 200); !ok {
			return "", false
		}
		if me.State == "expired" {
			d.rec.fail("admission", 200, "expired")
			return "", false
		}
	}
	d.rec.step("admission_wait", time.Since(t0))
	return me.AdmissionToken, true
}

// quantity draws how many seats a fan wants.
func (d *driver) quantity(rng *rand.Rand, bot bool) int {
	if bot {
		return d.cfg.BotSeats
	}
	total := 0.0
	for _, w := range d.cfg.SeatWeights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range d.cfg.SeatWeights {
		if x < w {
			return i + 1
		}
		x -= w
	}
	return 1
}

// gaArea is one general-admission area of the event: its section and the
// idx of each of its places.
type gaArea struct {
	section string
	places  []int
}

// pickArea returns a general-admission area that looks to have places
// left, probing a few random places of each; "" when none does.
func (d *driver) pickArea(rng *rand.Rand) string {
	if len(d.areas) == 0 {
		return ""
	}
	first := rng.IntN(len(d.areas))
	for k := range d.areas {
		a := d.areas[(first+k)%len(d.areas)]
		for range 16 {
			if len(a.places) > 0 && d.view[a.places[rng.IntN(len(a.places))]].Load() == 'a' {
				return a.section
			}
		}
	}
	return ""
}

// pick chooses n seats that look available, consecutive by idx within one
// section, from the hot sections or anywhere; nil when it finds none.
// Places of general-admission areas are never named.
func (d *driver) pick(rng *rand.Rand, n int, hot bool) []int {
	pool := d.hot
	if !hot || len(pool) == 0 {
		pool = nil
	}
	size := len(d.seats)
	if pool != nil {
		size = len(pool)
	}
	for try := 0; try < 8; try++ {
		k := rng.IntN(size)
		start := k
		if pool != nil {
			start = pool[k]
		}
		var out []int
		for i := start; i < len(d.seats) && len(out) < n; i++ {
			if d.seats[i].Section != d.seats[start].Section || d.seats[i].GA {
				break
			}
			if d.view[i].Load() == 'a' {
				out = append(out, i)
			} else if len(out) > 0 {
				break
			}
		}
		if len(out) == n {
			return out
		}
	}
	return nil
}

// summarize fills the report's figures.
func (d *driver) summarize(rep *Report, watchers []*watcher) {
	r := d.rec
	rep.FansDone = r.fansDone.Load()
	rep.Orders, rep.OrdersInReview, rep.Declines = r.orders.Load(), r.reviews.Load(), r.declines.Load()
	rep.SeatsBought, rep.BotSeats = r.seatsBought.Load(), r.botSeats.Load()
	if rep.SeatsBought > 0 {
		rep.BotShare = float64(rep.BotSeats) / float64(rep.SeatsBought)
	}
	rep.HoldsAccepted, rep.HoldsRejected = r.accepted.Load(), r.rejected.Load()
	rep.GAHolds = r.gaHolds.Load()
	rep.WaitlistJoins, rep.WaitlistOffers, rep.WaitlistSeats = r.waitJoins.Load(), r.waitOffers.Load(), r.waitSeats.Load()
	span := rep.Elapsed
	if rep.SoldOut {
		span = rep.SellOutSeconds
	}
	if span > 0 {
		rep.HoldsPerSec = float64(rep.HoldsAccepted) / span
		rep.RejectsPerSec = float64(rep.HoldsRejected) / span
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rep.Steps = map[string]Latency{}
	for k, v := range r.steps {
		rep.Steps[k] = summarize(v)
	}
	rep.Errors = r.errors
	rep.Frames, rep.WatcherGaps, rep.WatcherErrors = r.frames.Load(), r.gaps.Load(), r.watchErrs.Load()
	rep.OrderIDs = r.orderIDs
	rep.Reconnects = int64(len(r.reconnects))
	rep.ReconnectLatency = summarize(r.reconnects)
	var fromResp, fromReq []time.Duration
	for _, w := range watchers {
		if !w.measure || !w.ok {
			continue
		}
		for _, h := range r.holds {
			at, found := w.firstAfter(h.idx, h.sent)
			if !found {
				rep.DiffMissed++
				continue
			}
			fromReq = append(fromReq, at.Sub(h.sent))
			fromResp = append(fromResp, max(0, at.Sub(h.recv)))
		}
	}
	rep.DiffLatency = summarize(fromResp)
	rep.DiffLatencyFromRequest = summarize(fromReq)
}

func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) float64 { return ms(ds[min(len(ds)-1, int(p*float64(len(ds))))]) }
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{N: len(ds), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(ds[len(ds)-1]), Mean: ms(sum / time.Duration(len(ds)))}
}

// WriteSummary prints the report for people.
// writeCounts prints label and then each count of m, by key, in item's
// format (a %s for the key, a %d for the count), on one line.
func writeCounts(w io.Writer, label, item string, m map[string]int64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprint(w, label)
	for _, k := range keys {
		fmt.Fprintf(w, item, k, m[k])
	}
	fmt.Fprintln(w)
}

func (r *Report) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "flash sale of event %s at %s: %d seats, %d fans (bots %.0f%%), %d watchers, waiting room %v\n",
		r.Event, r.BaseURL, r.Capacity, r.Config.Fans, r.Config.Bots*100, r.Config.Watchers, r.Config.WaitingRoom)
	switch {
	case r.SoldOut:
		fmt.Fprintf(w, "  sold out in %.2f s\n", r.SellOutSeconds)
	case r.Interrupted:
		fmt.Fprintf(w, "  NOT sold out: interrupted after %.2f s\n", r.Elapsed)
	case r.CappedByTime:
		fmt.Fprintf(w, "  NOT sold out: stopped by the time cap after %.2f s\n", r.Elapsed)
	default:
		fmt.Fprintf(w, "  NOT sold out: every fan was done after %.2f s\n", r.Elapsed)
	}
	fmt.Fprintf(w, "  fans done %d, orders %d (%d under review), declines %d, seats bought %d, bots' share of seats %.1f%%\n",
		r.FansDone, r.Orders, r.OrdersInReview, r.Declines, r.SeatsBought, r.BotShare*100)
	if len(r.NodeRequests) > 1 {
		writeCounts(w, "  requests per node:", " %s %d", r.NodeRequests)
	}
	for _, n := range r.Served {
		fmt.Fprintf(w, "  node %s (in process): %d requests, %d Postgres round trips (background loops included), %d sockets at most\n",
			n.URL, n.Requests, n.PostgresAcquires, n.PeakSockets)
	}
	if r.ProcessCPUSeconds > 0 && r.SeatsBought > 0 {
		fmt.Fprintf(w, "  CPU of the nodes and the driver together: %.1f s, %.2f ms per seat bought\n",
			r.ProcessCPUSeconds, r.ProcessCPUSeconds*1e3/float64(r.SeatsBought))
	}
	fmt.Fprintf(w, "  holds accepted %d (%.1f/s, %d of them general admission), rejected %d (%.1f/s)\n",
		r.HoldsAccepted, r.HoldsPerSec, r.GAHolds, r.HoldsRejected, r.RejectsPerSec)
	if r.Config.Waitlist > 0 {
		fmt.Fprintf(w, "  waiting list: %d joined, %d offered places, %d seats bought through offers\n",
			r.WaitlistJoins, r.WaitlistOffers, r.WaitlistSeats)
	}
	names := make([]string, 0, len(r.Steps))
	for k := range r.Steps {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		l := r.Steps[k]
		fmt.Fprintf(w, "  %-15s n=%-6d p50 %7.1f ms  p90 %7.1f  p99 %7.1f  max %7.1f\n", k, l.N, l.P50, l.P90, l.P99, l.Max)
	}
	if r.Config.Watchers > 0 {
		fmt.Fprintf(w, "  diff latency (hold response → frame) n=%d p50 %.1f ms p99 %.1f max %.1f; from hold request p50 %.1f p99 %.1f; missed %d\n",
			r.DiffLatency.N, r.DiffLatency.P50, r.DiffLatency.P99, r.DiffLatency.Max,
			r.DiffLatencyFromRequest.P50, r.DiffLatencyFromRequest.P99, r.DiffMissed)
		fmt.Fprintf(w, "  frames %d, gaps %d, watcher errors %d, watchers converged %d/%d\n",
			r.Frames, r.WatcherGaps, r.WatcherErrors, r.WatchersConverged, r.WatchersMeasured)
		if r.Reconnects > 0 {
			fmt.Fprintf(w, "  watcher reconnects %d: drop → resynced p50 %.1f ms max %.1f\n",
				r.Reconnects, r.ReconnectLatency.P50, r.ReconnectLatency.Max)
		}
	}
	if len(r.Errors) > 0 {
		writeCounts(w, "  errors by step:status:code:", " %s=%d", r.Errors)
	}
	switch {
	case r.InvariantsError != "":
		fmt.Fprintf(w, "  invariants: NOT CHECKED: %s\n", r.InvariantsError)
	case r.Invariants == nil:
		fmt.Fprintln(w, "  invariants: not checked (pass -database-url)")
	default:
		fmt.Fprintf(w, "  invariants %s\n", r.Invariants)
	}
}

// String gives the verdict and the figures in one line, as the flash-sale
// summary and `boxoffice check` print them.
func (i Invariants) String() string {
	verdict := "OK"
	if !i.OK {
		verdict = "BROKEN: " + strings.Join(i.Violations, "; ")
	}
	return fmt.Sprintf("%s: capacity %d = available %d + held %d + sold %d + reserved %d; oversold %d, double captures %d, dangling authorizations %d",
		verdict, i.Capacity, i.Available, i.Held, i.Sold, i.Reserved, i.Oversold, i.DoubleCaptures, i.DanglingAuthorize)
}

// atomicState is one seat's status letter in the driver's shared view.
type atomicState = atomic.Uint32
