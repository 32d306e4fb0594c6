package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/media"
	"github.com/boxoffice/boxoffice/presale"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/salestats"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// env is a real server on a loopback port over the test database and Redis.
type env struct {
	t      testing.TB
	queue  *waitingroom.Service
	pool   *pgxpool.Pool
	noInv  map[string]bool
	base   string
	seats  *seatmap.Service
	accts  *account.Service
	srv    *server.Server
	hub    *realtime.Hub
	sales  *salestats.Engine
	client *http.Client
	// proc and checkout are the test processor and checkout behind the
	// checkout routes; logs holds everything the server and checkout logged.
	proc     *checkout.TestProcessor
	checkout *checkout.Service
	logs     *syncBuffer
	rdb      *redis.Client
}

type envOpts struct {
	redisDown bool
	// mailer and webhookSecret configure checkout (nil: no email sent).
	mailer        checkout.Mailer
	webhookSecret string
	// limits turns rate limiting on with these limits; limitPrefix, when
	// set, is the limiter's key prefix (two envs sharing it are two nodes).
	limits      map[string]server.RouteLimits
	limitPrefix string
	// limiterDown points the rate limiter at a Redis that does not answer.
	limiterDown    bool
	trustedProxies []netip.Prefix
	// live, when set, runs the real-time side: a RedisBroker and a Hub with
	// this config, and the RedisStream as seatmap's publisher, wired as cmd
	// wires them.
	live *realtime.HubConfig
	// rdb and prefix, when set, replace the test's shared Redis and key
	// prefix (two nodes share them; a fault test brings its own Redis).
	rdb    *redis.Client
	prefix string
	// wrapPub wraps the seat publisher (to time publishes).
	wrapPub func(seatmap.Publisher) seatmap.Publisher
	// metrics serves /metrics from a fresh registry.
	metrics bool
	// review screens purchases with the waiting room's signals (checkout
	// Config.Screen), as the binary does.
	review bool
	// settingsTTL is how long the waiting room caches an event's settings:
	// 1 ms by default, so a test's change shows at once; the benchmarks
	// use the server's default (1 s), or every hold would read Postgres.
	settingsTTL time.Duration
	// holdBatch is seatmap's Config.HoldBatch (0: its default; 1: no group
	// commit of holds).
	holdBatch int
	// holdRounds is seatmap's Config.HoldRounds (0: its default).
	holdRounds int
	// convertBatch is checkout's Config.ConvertBatch (0: its default; 1: no
	// group commit of conversions).
	convertBatch int
}

// testSecret signs the waiting room's challenges and tokens in tests.
var testSecret = []byte("server-test-secret-0123456789abcdef")

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	db := testkit.DB(t)
	rdb, prefix := o.rdb, o.prefix
	if rdb == nil {
		rdb, prefix = testkit.Redis(t)
	}
	var (
		pub    seatmap.Publisher
		hub    *realtime.Hub
		stream *seatmap.RedisStream
		frames *realtime.Frames
	)
	if o.live != nil {
		broker := realtime.NewRedisBroker(rdb, prefix, nil)
		stream = seatmap.NewRedisStream(rdb, prefix, func(id int64) string { return broker.Channel(realtime.SeatsTopic(id)) })
		pub = stream
		if o.wrapPub != nil {
			pub = o.wrapPub(pub)
		}
		cfg := *o.live
		cfg.Positions = stream.Head
		hub = realtime.NewHub(broker, cfg)
		hub.Start()
		frames = realtime.NewFrames(broker)
	}
	seats := seatmap.New(db, seatmap.NewRedisGate(rdb, prefix), pub, nil, seatmap.Config{HoldBatch: o.holdBatch, HoldRounds: o.holdRounds})
	redisCheck := func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	if o.redisDown {
		redisCheck = func(context.Context) error { return fmt.Errorf("dial tcp 127.0.0.1:1: connection refused") }
	}
	var mailer account.Mailer
	if o.mailer != nil {
		mailer = o.mailer
	}
	accts := account.NewService(db, account.Config{HashCost: bcrypt.MinCost, SecretKey: testSecret, Mailer: mailer, BaseURL: "http://app.test"})
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.settingsTTL == 0 {
		o.settingsTTL = time.Millisecond
	}
	queue := waitingroom.New(db, rdb, nil, nil, waitingroom.Config{SecretKey: testSecret, Prefix: prefix,
		SettingsTTL: o.settingsTTL})
	proc := checkout.NewTestProcessor()
	coCfg := checkout.Config{SecretKey: []byte("server-test-secret-key-of-32-bytes"),
		WebhookSecret: o.webhookSecret, BaseURL: "http://app.test", Admissions: queue, ConvertBatch: o.convertBatch}
	if o.review {
		coCfg.Screen = queue
	}
	co := checkout.New(db, seats, proc, o.mailer, log, coCfg)
	var live seatmap.AccountPublisher // nil without the real-time side
	if frames != nil {
		live = frames
	}
	seats.NotifyOffers(co.EnqueueNotice, live) // as cmd wires them
	var limiter server.Limiter
	if o.limits != nil {
		lp := o.limitPrefix
		if lp == "" {
			lp = prefix
		}
		shared := server.NewRedisLimiter(rdb, lp)
		// A test's limits are exact: a check slowed past the production
		// timeout by a loaded machine must not be decided per node.
		shared.Timeout = 10 * time.Second
		limiter = shared
		if o.limiterDown {
			dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
			t.Cleanup(func() { dead.Close() })
			limiter = server.NewRedisLimiter(dead, lp)
		}
		t.Cleanup(func() { // redis_rate puts "rate:" before our prefix
			ctx := context.Background()
			iter := rdb.Scan(ctx, 0, "rate:"+lp+"*", 1000).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
		})
	}
	presales := presale.New(db, log, presale.Config{CacheTTL: o.settingsTTL})
	presales.MailLotteryResults(co.EnqueueNotice)
	runner := jobs.NewRunner(db, nil, jobs.Config{})
	co.RegisterJobs(runner)
	seats.RegisterJobs(runner)
	accts.RegisterJobs(runner)
	presales.RegisterJobs(runner)
	deps := server.Deps{
		Media:    &media.Store{Dir: t.TempDir()},
		Jobs:     runner,
		Log:      log,
		Accounts: accts,
		Seats:    seats,
		Checkout: co,
		Queue:    queue,
		Presales: presales,
		Limiter:  limiter,
		Postgres: func(ctx context.Context) error { return db.Ping(ctx) },
		Redis:    redisCheck,
	}
	statsCfg := salestats.Config{Seats: seats, Queue: queue, Funnel: co, Log: log}
	if hub != nil {
		deps.Hub, deps.Diffs = hub, stream
		statsCfg.Diffs, statsCfg.Audience, statsCfg.Publisher = stream, hub, frames
	}
	deps.Stats = salestats.New(statsCfg)
	if o.metrics {
		deps.Metrics = prometheus.NewRegistry()
		deps.Metrics.MustRegister(deps.Stats)
	}
	srv := server.New(server.Config{BaseURL: "http://app.test", RateLimits: o.limits, TrustedProxies: o.trustedProxies}, deps)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		if hub != nil {
			hub.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &env{t: t, queue: queue, pool: db, noInv: map[string]bool{}, base: "http://" + ln.Addr().String(), seats: seats, accts: accts, srv: srv, hub: hub,
		sales:  deps.Stats,
		client: contractClient(t, &http.Transport{MaxIdleConnsPerHost: 300}),
		proc:   proc, checkout: co, logs: logs, rdb: rdb}
}

// resp is a decoded response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errCode returns error.code of an error body, failing the test when the
// body is not in the API's error shape.
func (r resp) errCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d body %q is not an error object", r.status, r.body)
	}
	return e.Error.Code
}

// do sends a request; body may be nil, a string (sent raw) or a value
// (sent as JSON). headers alternate name, value.
func (e *env) do(method, path, token string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: raw}
}

// signUp creates an account and returns its id and token.
func (e *env) signUp(name string) (id, token string) {
	e.t.Helper()
	r := e.do("POST", "/api/accounts", "", map[string]string{
		"email": name + "-" + testkit.RandomHex(4) + "@example.test", "password": "correct horse", "name": name})
	if r.status != 201 {
		e.t.Fatalf("sign up: %d %s", r.status, r.body)
	}
	var out struct{ ID, Token string }
	r.json(e.t, &out)
	return out.ID, out.Token
}

// event creates an on-sale event over a small layout and returns its id and
// seat ids by idx.
func (e *env) event(sections, rows, perRow int) (string, []string) {
	e.t.Helper()
	ctx := context.Background()
	var l seatmap.Layout
	for s := range sections {
		id := fmt.Sprintf("S%d", s+1)
		l.Sections = append(l.Sections, seatmap.Section{ID: id, Name: id, Tier: "t", Rank: s})
		for r := range rows {
			for n := 1; n <= perRow; n++ {
				l.Seats = append(l.Seats, seatmap.SeatSpec{Section: id, Row: fmt.Sprint(r + 1), Number: n,
					X: float64(s*500 + n*5), Y: float64(r * 5), Type: seatmap.SeatStandard, Rank: s*1000 + r*100 + n})
			}
		}
	}
	return e.eventFrom(ctx, l, map[string]int64{"default": 4200})
}

func (e *env) eventFrom(ctx context.Context, l seatmap.Layout, prices map[string]int64) (string, []string) {
	e.t.Helper()
	v, err := e.seats.CreateVenue(ctx, "venue "+testkit.RandomHex(3), l)
	if err != nil {
		e.t.Fatal(err)
	}
	id, err := e.seats.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: e.t.Name(),
		EventDate: time.Now().Add(48 * time.Hour), SaleOpens: time.Now().Add(-time.Minute), Prices: prices})
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.do("GET", fmt.Sprintf("/api/events/%d/seatmap", id), "", nil)
	var m struct {
		Seats []struct {
			ID string `json:"id"`
		} `json:"seats"`
	}
	r.json(e.t, &m)
	ids := make([]string, len(m.Seats))
	for i, s := range m.Seats {
		ids[i] = s.ID
	}
	e.t.Cleanup(func() {
		if e.noInv[fmt.Sprint(id)] {
			return
		}
		inv, err := e.seats.CheckInvariants(context.Background(), id)
		if err != nil || !inv.OK() {
			e.t.Errorf("invariants of event %d: %v %v", id, err, inv.Violations)
		}
		bad, err := e.checkout.CheckInvariants(context.Background(), id)
		if err != nil || len(bad) > 0 {
			e.t.Errorf("checkout invariants of event %d: %v %v", id, err, bad)
		}
	})
	return fmt.Sprint(id), ids
}

func (e *env) db() *pgxpool.Pool { return e.pool }

// skipInvariants is for events whose seats a test wrote by hand.
func (e *env) skipInvariants(event string) { e.noInv[event] = true }

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// admin signs up an account and makes it an admin; it returns its token.
func (e *env) admin() string {
	e.t.Helper()
	email := "admin-" + testkit.RandomHex(4) + "@example.test"
	r := e.do("POST", "/api/accounts", "", map[string]string{"email": email, "password": "admin-password", "name": "Admin"})
	if r.status != 201 {
		e.t.Fatalf("sign up admin: %d %s", r.status, r.body)
	}
	var out struct{ Token string }
	r.json(e.t, &out)
	if err := e.accts.Grant(context.Background(), email, account.RoleAdmin); err != nil {
		e.t.Fatal(err)
	}
	e.enrolTOTP(out.Token)
	return out.Token
}

// enrolTOTP sets up two-factor sign-in for the account of token, as its
// owner would with an authenticator app (staff roles need it), and
// returns the secret and the recovery codes.
func (e *env) enrolTOTP(token string) (secret string, codes []string) {
	e.t.Helper()
	var enr struct {
		Secret string `json:"secret"`
	}
	r := e.do("POST", "/api/account/totp", token, nil)
	if r.status != 201 {
		e.t.Fatalf("begin TOTP: %d %s", r.status, r.body)
	}
	r.json(e.t, &enr)
	code, err := account.TOTPCode(enr.Secret, time.Now().Add(-30*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	var out struct {
		Codes []string `json:"recovery_codes"`
	}
	r = e.do("POST", "/api/account/totp/confirm", token, map[string]string{"code": code})
	if r.status != 200 {
		e.t.Fatalf("confirm TOTP: %d %s", r.status, r.body)
	}
	r.json(e.t, &out)
	return enr.Secret, out.Codes
}
