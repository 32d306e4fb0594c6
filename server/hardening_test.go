package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/server"
)

// bareServer is the app without any backing service, serving on loopback:
// enough for what runs before the handlers (headers, limits, recovery).
func bareServer(t *testing.T, cfg server.Config) (base string) {
	t.Helper()
	srv := server.New(cfg, server.Deps{Log: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// errorBody decodes the JSON error shape, failing when the body is not one.
func errorBody(t *testing.T, status int, body []byte) string {
	t.Helper()
	return resp{status: status, body: body}.errCode(t)
}

func TestPanicAnswers500AndKeepsServing(t *testing.T) {
	logs := &syncBuffer{}
	srv := server.New(server.Config{}, server.Deps{Log: slog.New(slog.NewJSONHandler(logs, nil))})
	srv.App().Get("/test/panic", func(*fiber.Ctx) error { panic("boom in a handler") })
	for range 2 { // the second panic proves the first left the node serving
		res, err := srv.App().Test(httptest.NewRequest("GET", "/test/panic", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 500 || errorBody(t, res.StatusCode, body) != "internal" || strings.Contains(string(body), "boom") {
			t.Fatalf("panic: %d %s, want 500 internal without the panic text", res.StatusCode, body)
		}
	}
	res, err := srv.App().Test(httptest.NewRequest("GET", "/healthz", nil), -1)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz after panics: %v %v", res, err)
	}
	if l := logs.String(); !strings.Contains(l, "handler panic") || !strings.Contains(l, "boom in a handler") || !strings.Contains(l, "goroutine") {
		t.Errorf("the panic and its stack are not logged: %s", l)
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, tt := range []struct {
		base string
		hsts bool
	}{{"http://app.test", false}, {"https://tickets.example", true}} {
		base := bareServer(t, server.Config{BaseURL: tt.base})
		for _, path := range []string{"/healthz", "/api/events/nope", "/no/such/page"} {
			res, err := http.Get("http://" + base + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			h := res.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self';", "frame-ancestors 'none'", "object-src 'none'", "frame-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s %s: CSP %q lacks %q", tt.base, path, csp, want)
				}
			}
			if strings.Contains(csp, "stripe") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP without Stripe allows more than the pages load: %q", csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s %s: headers %v", tt.base, path, h)
			}
			if got := h.Get("Strict-Transport-Security") != ""; got != tt.hsts {
				t.Errorf("%s: HSTS sent = %v, want %v", tt.base, got, tt.hsts)
			}
		}
	}
}

// rawRequest writes head on a fresh connection and returns the response,
// which may come before the rest of a body was sent.
func rawRequest(t *testing.T, addr, head string) (int, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

func TestBodyLimits(t *testing.T) {
	addr := bareServer(t, server.Config{BaseURL: "http://app.test"})
	big := strings.Repeat("x", 65<<10)
	post := func(path, body string) (int, []byte) {
		res, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, raw
	}
	// 64 KB on every route, the API and the rest alike.
	for _, path := range []string{"/api/sessions", "/api/nothing", "/healthz", "/ws"} {
		if st, body := post(path, big); st != 413 || errorBody(t, st, body) != "body_too_large" {
			t.Errorf("POST %s with 65 KB: %d %s, want 413 body_too_large", path, st, body)
		}
	}
	if st, body := post("/api/nothing", `{"a":1}`); st != 404 {
		t.Errorf("a small body: %d %s, want the route's own 404", st, body)
	}
	// The venue upload alone takes more: past the limit, the admin check.
	if st, body := post("/api/admin/venues", strings.Repeat(" ", 2<<20)+"{}"); st != 401 {
		t.Errorf("a 2 MB venue upload: %d %s, want it to reach the admin check (401)", st, body)
	}
	st, body := rawRequest(t, addr, "POST /api/admin/venues HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n\r\n"+
		strings.Repeat(" ", 16<<10))
	if st != 413 || errorBody(t, st, body) != "body_too_large" {
		t.Errorf("a 20 MB venue upload, 16 KB sent: %d %s, want 413", st, body)
	}
	// Refused before the body is read: the answer comes though only the
	// first 8 KB (what fasthttp reads ahead) is ever sent.
	st, body = rawRequest(t, addr, "POST /api/sessions HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"+
		strings.Repeat("z", 8<<10))
	if st != 413 || errorBody(t, st, body) != "body_too_large" {
		t.Errorf("declared 10 MB, 8 KB sent: %d %s, want 413 at once", st, body)
	}
	// A chunked body is read up to the limit, not to its end: 72 KB, then
	// the client stalls without the last chunk, as a slow-loris would.
	var chunked strings.Builder
	for range 9 {
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", 8<<10, strings.Repeat("y", 8<<10))
	}
	st, body = rawRequest(t, addr, "POST /api/sessions HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"+chunked.String())
	if st != 413 || errorBody(t, st, body) != "body_too_large" {
		t.Errorf("chunked 72 KB then a stall: %d %s, want 413", st, body)
	}
}

// TestForwardedHostTrustedOnlyFromProxies: the origin check of cookie
// requests and sockets compared the Origin with the request's host, which
// Fiber took from a client-sent X-Forwarded-Host.
func TestForwardedHostTrustedOnlyFromProxies(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg()})
	_, token := e.signUp("forwarded")
	evil := []string{"Cookie", "bo_session=" + token, "Origin", "http://evil.example", "X-Forwarded-Host", "evil.example"}
	if r := e.do("DELETE", "/api/holds/00000000-0000-0000-0000-000000000000", "", nil, evil...); r.status != 403 || r.errCode(t) != "csrf" {
		t.Errorf("cookie request from evil.example naming itself in X-Forwarded-Host: %d %s, want 403 csrf", r.status, r.body)
	}
	if _, res, err := dialWS(t, e.base, "", false, "Origin", "http://evil.example", "X-Forwarded-Host", "evil.example"); err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("socket from evil.example with X-Forwarded-Host: err %v, want 403", err)
	}
	// From a trusted proxy the header counts (the proxy set it).
	p := newEnv(t, envOpts{trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	_, token = p.signUp("proxied")
	r := p.do("DELETE", "/api/holds/00000000-0000-0000-0000-000000000000", "", nil,
		"Cookie", "bo_session="+token, "Origin", "https://tickets.example", "X-Forwarded-Host", "tickets.example")
	if r.status == 403 {
		t.Errorf("behind a trusted proxy, same host: %d %s, want past the origin check", r.status, r.body)
	}
}

// TestBadInputIs4xx: input that reached Postgres or bcrypt and came back
// as a 500 is refused up front.
func TestBadInputIs4xx(t *testing.T) {
	e := newEnv(t, envOpts{})
	email := func() string { return "bad-" + testkit.RandomHex(4) + "@example.test" }
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		// 40 characters, 80 bytes: bcrypt refuses over 72 bytes (a 500).
		{"password over 72 bytes", map[string]string{"email": email(), "password": strings.Repeat("é", 40), "name": "A"}, 422, "validation_failed"},
		// Postgres cannot store a NUL in text (a 500).
		{"NUL in a name", `{"email":"` + email() + `","password":"12345678","name":"A\u0000B"}`, 400, "malformed_json"},
		{"NUL in an email", `{"email":"a\u0000` + email() + `","password":"12345678","name":"A"}`, 400, "malformed_json"},
		{"name of spaces", map[string]string{"email": email(), "password": "12345678", "name": "   "}, 422, "validation_failed"},
		{"name with a line break", map[string]string{"email": email(), "password": "12345678", "name": "Eve\r\nBcc: x@example.test"}, 422, "validation_failed"},
		{"name of a control character", map[string]string{"email": email(), "password": "12345678", "name": "\u0007"}, 422, "validation_failed"},
		{"name of a line separator", map[string]string{"email": email(), "password": "12345678", "name": "A\u2028B"}, 422, "validation_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/api/accounts", "", tt.body)
			if r.status != tt.status || r.errCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	// A name with accents and inner spaces is fine; "\\u0000" as text too.
	if r := e.do("POST", "/api/accounts", "", `{"email":"`+email()+`","password":"12345678","name":"Zoë  van \\u0000 Dijk"}`); r.status != 201 {
		t.Errorf("an ordinary name: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/sessions", "", map[string]string{"email": email(), "password": strings.Repeat("é", 40)}); r.status != 422 {
		t.Errorf("sign-in with an 80-byte password: %d %s, want 422", r.status, r.body)
	}
	admin := e.admin()
	if r := e.do("GET", "/api/admin/events/1/orders?q=a%00b", admin, nil); r.status != 400 {
		t.Errorf("NUL in a query string: %d %s, want 400", r.status, r.body)
	}
	if r := e.do("POST", "/api/admin/venues", admin, map[string]string{"name": "\n", "preset": "theater"}); r.status != 422 {
		t.Errorf("a venue named by a line break: %d %s, want 422", r.status, r.body)
	}
}

// TestEmailLookalikesAreOneAccount: case and Unicode normal form do not
// make a second account, and either spelling signs in.
func TestEmailLookalikesAreOneAccount(t *testing.T) {
	e := newEnv(t, envOpts{})
	local := "zo" + testkit.RandomHex(3)
	composed := local + "\u00eb@example.test"                     // ë
	decomposed := strings.ToUpper(local) + "E\u0308@EXAMPLE.test" // E + combining diaeresis, upper case
	fullwidth := local + "\u00eb@\uff45xample.test"               // a fullwidth e in the domain
	if r := e.do("POST", "/api/accounts", "", map[string]string{"email": composed, "password": "12345678", "name": "Zoë"}); r.status != 201 {
		t.Fatalf("sign up: %d %s", r.status, r.body)
	}
	for _, other := range []string{decomposed, fullwidth} {
		if r := e.do("POST", "/api/accounts", "", map[string]string{"email": other, "password": "12345678", "name": "Twin"}); r.status != 409 {
			t.Errorf("sign up as %q: %d %s, want 409 email_taken", other, r.status, r.body)
		}
		if r := e.do("POST", "/api/sessions", "", map[string]string{"email": other, "password": "12345678"}); r.status != 200 {
			t.Errorf("sign in as %q: %d %s, want the one account", other, r.status, r.body)
		}
	}
}

// TestSignInThrottledPerAccount: guesses at one account are limited by
// its email, whatever address they come from, and other accounts are not
// affected.
func TestSignInThrottledPerAccount(t *testing.T) {
	e := newEnv(t, envOpts{limits: map[string]server.RouteLimits{
		server.LimitSignIn: {PerIP: server.Rate{N: 1000, Per: time.Minute, Burst: 1000}, PerAccount: server.Rate{N: 5, Per: time.Minute, Burst: 5}},
	}})
	victim := "victim-" + testkit.RandomHex(4) + "@example.test"
	if r := e.do("POST", "/api/accounts", "", map[string]string{"email": victim, "password": "right password", "name": "V"}); r.status != 201 {
		t.Fatal(r.status)
	}
	for i := range 5 {
		if r := e.do("POST", "/api/sessions", "", map[string]string{"email": victim, "password": fmt.Sprint("guess ", i)}); r.status != 401 {
			t.Fatalf("guess %d: %d %s, want 401", i, r.status, r.body)
		}
	}
	// The next guess, even with another case of the email, waits.
	r := e.do("POST", "/api/sessions", "", map[string]string{"email": strings.ToUpper(victim), "password": "guess 6"})
	if r.status != 429 || r.errCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Errorf("sixth guess: %d %s, want 429 with Retry-After", r.status, r.body)
	}
	if r := e.do("POST", "/api/sessions", "", map[string]string{"email": "other-" + testkit.RandomHex(4) + "@example.test", "password": "whatever1"}); r.status != 401 {
		t.Errorf("another account: %d %s, want 401 (not throttled)", r.status, r.body)
	}
}

// TestLimitsHoldWithoutRedis: with the limiter's Redis down, limits are
// kept per node instead of letting everything through.
func TestLimitsHoldWithoutRedis(t *testing.T) {
	e := newEnv(t, envOpts{limiterDown: true, limits: map[string]server.RouteLimits{
		server.LimitAuth: {PerIP: server.Rate{N: 2, Per: time.Minute, Burst: 2}},
	}})
	var last resp
	for range 3 {
		last = e.do("POST", "/api/accounts", "", map[string]string{"email": "nr-" + testkit.RandomHex(4) + "@example.test", "password": "12345678", "name": "N"})
	}
	if last.status != 429 {
		t.Errorf("third sign-up in a minute with a burst of 2, Redis down: %d %s, want 429", last.status, last.body)
	}
	if !strings.Contains(e.logs.String(), "limits are per node") {
		t.Error("the fallback is not logged")
	}
}

// TestTransferOffersRateLimited: each offer emails another fan.
func TestTransferOffersRateLimited(t *testing.T) {
	e := newEnv(t, envOpts{limits: map[string]server.RouteLimits{
		server.LimitTransfer: {PerIP: server.Rate{N: 1000, Per: time.Minute, Burst: 1000}, PerAccount: server.Rate{N: 1, Per: time.Hour, Burst: 1}},
	}})
	_, token := e.signUp("sender")
	body := map[string]string{"to_email": "nobody-" + testkit.RandomHex(4) + "@example.test"}
	if r := e.do("POST", "/api/tickets/00000000-0000-0000-0000-000000000000/transfers", token, body); r.status == 429 {
		t.Fatalf("first offer: %d", r.status)
	}
	if r := e.do("POST", "/api/tickets/00000000-0000-0000-0000-000000000000/transfers", token, body); r.status != 429 {
		t.Errorf("second offer in an hour with a budget of 1: %d %s, want 429", r.status, r.body)
	}
}

// TestWSSocketCaps: sockets per account are capped (429 at the upgrade),
// and a closed socket frees its slot.
func TestWSSocketCaps(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg(), limits: server.DefaultRateLimits()})
	_, token := e.signUp("tabs")
	var open []*wsConn
	for i := range server.DefaultWSMaxPerAccount {
		ws, _, err := dialWS(t, e.base, token, false)
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		open = append(open, ws)
	}
	_, res, err := dialWS(t, e.base, token, false)
	if err == nil || res == nil || res.StatusCode != 429 {
		t.Fatalf("socket past the cap: err %v, want 429", err)
	}
	open[0].c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws, _, err := dialWS(t, e.base, token, false)
		if err == nil {
			ws.c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed socket's slot was not freed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, ws := range open[1:] {
		ws.c.Close()
	}
}
