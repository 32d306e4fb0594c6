package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

func TestLoadConfigNamesTheBadVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"HOLD_TTL": "ten minutes"}, "HOLD_TTL"},
		{map[string]string{"HOLD_TTL": "0s"}, "HOLD_TTL"},
		{map[string]string{"PAYMENT_GRACE": "forever"}, "PAYMENT_GRACE"},
		{map[string]string{"SESSION_CACHE_TTL": "48h"}, "SESSION_CACHE_TTL"},
		{map[string]string{"MAX_SEATS_PER_ACCOUNT": "9"}, "MAX_SEATS_PER_ACCOUNT"},
		{map[string]string{"DB_MAX_CONNS": "-1"}, "DB_MAX_CONNS"},
		{map[string]string{"PAYMENTS": "paypal"}, "PAYMENTS"},
		{map[string]string{"PAYMENTS": "stripe"}, "STRIPE_SECRET_KEY"},
		{map[string]string{"PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_1"}, "STRIPE_PUBLISHABLE_KEY"},
		{map[string]string{"PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_PUBLISHABLE_KEY": "sk_test_1"}, "STRIPE_PUBLISHABLE_KEY"},
		{map[string]string{"DATABASE_URL": "not a url"}, "DATABASE_URL"},
		{map[string]string{"REDIS_URL": "localhost:6379"}, "REDIS_URL"},
		{map[string]string{"REDIS_URL": "redis+cluster://10.0.0.1,10.0.0.2:6379"}, "REDIS_URL"},
		{map[string]string{"REDIS_URL": "redis+cluster://10.0.0.1:6379/1"}, "REDIS_URL"},
		{map[string]string{"REDIS_URL": "redis+cluster://10.0.0.1:6379?frobs=3"}, "REDIS_URL"},
		{map[string]string{"REDIS_PREFIX": "bo:{x}:"}, "REDIS_PREFIX"},
		{map[string]string{"SECRET_KEY": "short"}, "SECRET_KEY"},
		{map[string]string{"ALLOWED_ORIGINS": "https://a.example/path"}, "ALLOWED_ORIGINS"},
		{map[string]string{"LOG_LEVEL": "chatty"}, "LOG_LEVEL"},
		{map[string]string{"RATE_LIMITS": "holds.ip=lots"}, "RATE_LIMITS"},
		{map[string]string{"TRUSTED_PROXIES": "nginx"}, "TRUSTED_PROXIES"},
		{map[string]string{"REVIEW_SIGNALS": "hold_to_pay=fast"}, "REVIEW_SIGNALS"},
		{map[string]string{"REVIEW_SIGNALS": "captcha=1"}, "REVIEW_SIGNALS"},
	}
	for _, tt := range tests {
		_, err := loadConfig(func(k string) string { return tt.env[k] }, 2)
		if err == nil || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("env %v: err = %v, want one naming %s", tt.env, err, tt.name)
		}
		if err != nil && strings.Contains(err.Error(), "short") && tt.name == "SECRET_KEY" {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	c, err := loadConfig(func(string) string { return "" }, 2)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.RateLimits == nil {
		t.Error("rate limits are off by default; want the defaults")
	}
	if off, _ := loadConfig(func(k string) string { return map[string]string{"RATE_LIMITS": "off"}[k] }, 2); off.RateLimits != nil {
		t.Error("RATE_LIMITS=off left limits on")
	}
	if c.ReviewSignals == nil || c.ReviewSignals.MinHoldToPay != 10*time.Second {
		t.Errorf("review signals by default: %+v, want on with the defaults", c.ReviewSignals)
	}
	tuned, err := loadConfig(func(k string) string {
		return map[string]string{"REVIEW_SIGNALS": "hold_to_pay=4s, holds_per_minute=20"}[k]
	}, 2)
	if err != nil || tuned.ReviewSignals.MinHoldToPay != 4*time.Second || tuned.ReviewSignals.MaxHoldsPerMinute != 20 ||
		tuned.ReviewSignals.MinJoinToHold != 3*time.Second {
		t.Errorf("REVIEW_SIGNALS overrides: %+v %v", tuned.ReviewSignals, err)
	}
	if off, _ := loadConfig(func(k string) string { return map[string]string{"REVIEW_SIGNALS": "off"}[k] }, 2); off.ReviewSignals != nil {
		t.Error("REVIEW_SIGNALS=off left screening on")
	}
	if c.ListenAddr != ":8080" || c.HoldTTL != 10*time.Minute || c.PaymentGrace != 5*time.Minute || c.MaxSeatsPerAccount != 8 || c.DBMaxConns != 24 || !c.SecretGenerated || len(c.SecretKey) != 32 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	// The top-level help lists every command, one line each, and is not
	// serve's help.
	for _, h := range []string{"--help", "-h", "help"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{h}, func(string) string { return "" }, &out, &errb); code != 0 {
			t.Errorf("%s: exit %d", h, code)
		}
		for _, cmd := range []string{"serve", "migrate", "seed demo", "seed fans", "admin grant", "flashsale", "check", "healthcheck", "verify-queue", "verify-lottery"} {
			if !strings.Contains(out.String(), "\n  boxoffice "+cmd) {
				t.Errorf("%s: the command list lacks %q:\n%s", h, cmd, out.String())
			}
		}
		if strings.Contains(out.String(), "Usage: boxoffice serve") {
			t.Errorf("%s printed serve's flags:\n%s", h, out.String())
		}
	}
	for _, args := range [][]string{{"serve"}, {"migrate"}, {"seed"}, {"seed", "demo"}, {"seed", "fans", "3"}, {"admin"}, {"flashsale"}, {"check"}, {"healthcheck"}, {"verify-queue"}, {"verify-lottery"}} {
		for _, h := range []string{"-h", "--help"} {
			var out, errb bytes.Buffer
			code := run(context.Background(), append(args, h), func(string) string { return "" }, &out, &errb)
			if code != 0 || !strings.Contains(out.String()+errb.String(), "Usage") {
				t.Errorf("%v %s: exit %d, output %q", args, h, code, out.String()+errb.String())
			}
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// TestServeOnPortZero runs the real binary's commands against the test
// database: migrate, seed demo twice (idempotent), seed fans, admin grant, then
// serve on a free port and call it.
func TestServeOnPortZero(t *testing.T) {
	dbURL := testkit.DBURL(t)
	_, _ = testkit.Redis(t)
	dir := t.TempDir()
	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": testkit.RedisURL(), "LISTEN_ADDR": "127.0.0.1:0",
		"REDIS_PREFIX": "t" + testkit.RandomHex(4) + ":", "LOG_LEVEL": "warn",
		"SECRET_KEY": strings.Repeat("ab", 32),
	}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	for _, args := range [][]string{{"migrate"}, {"seed", "demo"}, {"seed", "demo"}, {"seed", "fans", "3", "-tokens", filepath.Join(dir, "fans.tokens")}} {
		var out, errb bytes.Buffer
		if code := run(ctx, args, getenv, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s %s", args, code, out.String(), errb.String())
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "fans.tokens"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 3 {
		t.Fatalf("tokens file has %d lines, want 3", len(lines))
	}
	email, token, _ := strings.Cut(lines[0], " ")
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"admin", "grant", email, "admin"}, getenv, &out, &errb); code != 0 {
		t.Fatalf("admin grant: %d %s", code, errb.String())
	}
	if code := run(ctx, []string{"admin", "grant", "nobody@example.test", "admin"}, getenv, &out, &errb); code != 1 {
		t.Errorf("admin grant to an unknown email: exit %d, want 1", code)
	}
	// A scanner kept to one event's door; the event goes with scanner only.
	door, _, _ := strings.Cut(lines[1], " ")
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"admin", "grant", door, "scanner", "1"}, 0},
		{[]string{"admin", "grant", door, "finance", "1"}, 1},
		{[]string{"admin", "grant", door, "scanner", "first"}, 2},
	} {
		if code := run(ctx, c.args, getenv, &out, &errb); code != c.want {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.want)
		}
	}

	_, base := runApp(t, getenv)
	get := func(path, token string) (int, []byte) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if code, _ := get("/healthz", ""); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	// A request id given is returned; the error body carries it too.
	req, _ := http.NewRequest("GET", base+"/api/events/0", nil)
	req.Header.Set("X-Request-ID", "serve-test-1")
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.Header.Get("X-Request-ID") != "serve-test-1" || !bytes.Contains(b, []byte(`"request_id":"serve-test-1"`)) {
			t.Errorf("request id: header %q, body %s", res.Header.Get("X-Request-ID"), b)
		}
	}
	if code, body := get("/readyz", ""); code != 200 || !bytes.Contains(body, []byte(`"ok"`)) {
		t.Errorf("readyz: %d %s", code, body)
	}
	// The container's HEALTHCHECK: the port from LISTEN_ADDR (a wildcard
	// host means loopback), and exit 1 where nothing answers.
	port := base[strings.LastIndexByte(base, ':'):]
	hcEnv := func(k string) string { return map[string]string{"LISTEN_ADDR": port}[k] }
	if code := run(ctx, []string{"healthcheck"}, hcEnv, &out, &errb); code != 0 {
		t.Errorf("healthcheck on LISTEN_ADDR=%s: exit %d %s", port, code, errb.String())
	}
	if code := run(ctx, []string{"healthcheck", "-url", "http://127.0.0.1:1/readyz", "-timeout", "2s"}, getenv, &out, &errb); code != 1 {
		t.Errorf("healthcheck of a closed port: exit %d, want 1", code)
	}
	code, body := get("/api/events", "")
	var events []struct {
		ID           string `json:"id"`
		Name, Status string
		Capacity     int
		Available    int
		SaleOpens    time.Time `json:"sale_opens"`
	}
	if err := json.Unmarshal(body, &events); code != 200 || err != nil {
		t.Fatalf("events: %d %s", code, body)
	}
	// Other tests of this package add events to the same database: keep
	// the demo's two, by their seeded names.
	demo := events[:0]
	standing := ""
	for _, ev := range events {
		if strings.Contains(ev.Name, "Midnight Echoes") || strings.Contains(ev.Name, "Aurora Lights") {
			demo = append(demo, ev)
		}
		if strings.Contains(ev.Name, "Neon Harbor") {
			standing = ev.ID
		}
	}
	// The third demo event sells a standing floor of 5,000 in front of
	// the stage: the availability counts it as one area (how many are
	// left depends on the browser tests, which buy from the same floor).
	if code, body := get("/api/events/"+standing+"/availability", ""); code != 200 ||
		!bytes.Contains(body, []byte(`"ga":[{"section":"FLOOR","capacity":5000,"available":`)) {
		t.Errorf("availability of the standing-floor event %q: %d %.300s", standing, code, body[max(0, len(body)-300):])
	}
	if events = demo; len(events) != 2 {
		t.Fatalf("demo events: %+v, want the two seeded ones", events)
	}
	for _, ev := range events {
		if ev.Capacity < 45000 || ev.Available < ev.Capacity*85/100 {
			t.Errorf("demo event %+v: want a ~50,000-seat stadium with 10%% held back", ev)
		}
	}
	// The demo may have been seeded by an earlier test of this package more
	// than two minutes ago (the load tests take that long under -race), in
	// which case the waiting-room event has opened and revealed its seed.
	// It may even open while this test runs.
	upcoming := events[1].Status == "upcoming"
	opens, slack := events[1].SaleOpens, 5*time.Second
	if events[0].Status != "on_sale" ||
		(upcoming && opens.Before(time.Now().Add(-slack))) ||
		(!upcoming && (events[1].Status != "on_sale" || opens.After(time.Now().Add(slack)))) {
		t.Errorf("demo statuses %q, %q (opens %v); want on_sale then upcoming, or on_sale once open",
			events[0].Status, events[1].Status, events[1].SaleOpens)
	}
	// The waiting-room event is admitted by this node's admitter and
	// publishes its fairness commitment before the sale opens.
	if code, body := get("/api/events/"+events[1].ID+"/queue/fairness", ""); code != 200 ||
		!bytes.Contains(body, []byte(`"seed_commitment":"`)) ||
		(upcoming && events[1].SaleOpens.After(time.Now()) && bytes.Contains(body, []byte(`"seed":`))) {
		t.Errorf("fairness of the waiting-room event: %d %s", code, body)
	}
	if code, body := get("/api/me", token); code != 200 || !bytes.Contains(body, []byte(`"role":"admin"`)) {
		t.Errorf("me as the granted admin: %d %s", code, body)
	}
	if code, body := get("/", ""); code != 200 || !bytes.Contains(body, []byte("Boxoffice")) {
		t.Errorf("home page: %d", code)
	}
	code, body = get("/metrics", "")
	// After that traffic, every family of figures is there: HTTP, sockets,
	// pools, jobs and payments (docs/operations.md lists them).
	for _, want := range []string{`boxoffice_http_requests_total{method="GET",route="/api/events",status="200"} 1`, "boxoffice_hold_seconds_bucket", "go_goroutines",
		"boxoffice_ws_connections 0", "boxoffice_ws_slow_consumer_closes_total", "boxoffice_ws_frames_total", "boxoffice_ws_bytes_out_total",
		"boxoffice_pg_pool_acquires_total", "boxoffice_pg_pool_acquired_conns", "boxoffice_redis_pool_hits_total",
		`boxoffice_jobs_dead{kind="checkout.refund"} 0`, `boxoffice_jobs_running{kind="checkout.refund"} 0`, "boxoffice_payments_stuck 0",
		`boxoffice_payments_total{op="confirm",outcome="authorized",provider="test"} 0`} {
		if code != 200 || !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics: %d, missing %q", code, want)
		}
	}
	// Every metric the Grafana dashboard plots is one the app serves (the
	// per-event ones appear once an event is tracked: their names are in
	// server/stats.go).
	dash, err := os.ReadFile("../../deploy/grafana/boxoffice.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`\bboxoffice_[a-z_]+`).FindAllString(string(dash), -1) {
		name = strings.TrimSuffix(name, "_bucket")
		if !strings.HasPrefix(name, "boxoffice_event_") && !bytes.Contains(body, []byte("# TYPE "+name+" ")) {
			t.Errorf("the dashboard plots %s, which /metrics lacks", name)
		}
	}
}
