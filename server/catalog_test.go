package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/server"
)

func TestCatalog(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(2, 3, 8)
	r := e.do("GET", "/api/events", "", nil)
	var list []struct {
		ID, Name, Status string
		Venue            struct{ Name string }
		Available        int
		MinPriceCents    int64 `json:"min_price_cents"`
	}
	r.json(t, &list)
	found := false
	for _, ev := range list {
		if ev.ID == event {
			found = true
			if ev.Status != "on_sale" || ev.Available != 48 || ev.MinPriceCents != 4200 || ev.Venue.Name == "" {
				t.Errorf("listed event = %+v", ev)
			}
		}
	}
	if !found {
		t.Errorf("event %s not in %s", event, r.body)
	}
	if r := e.do("GET", "/api/events?status=bogus", "", nil); r.status != 422 {
		t.Errorf("bad status filter: %d", r.status)
	}
	if r := e.do("GET", "/api/events/"+event, "", nil); r.status != 200 || !strings.Contains(string(r.body), `"sections"`) {
		t.Errorf("event detail: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/api/events/0", "/api/events/abc", "/api/events/99999999/seatmap", "/api/events/99999999/availability"} {
		if r := e.do("GET", p, "", nil); r.status != 404 || r.errCode(t) != "event_not_found" {
			t.Errorf("GET %s: %d %s, want 404", p, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/nope", "", nil); r.status != 404 || r.errCode(t) != "not_found" {
		t.Errorf("unknown API route: %d %s", r.status, r.body)
	}

	// The layout is cacheable and revalidates by ETag.
	r = e.do("GET", "/api/events/"+event+"/seatmap", "", nil)
	etag := r.header.Get("ETag")
	if r.status != 200 || etag == "" || !strings.Contains(r.header.Get("Cache-Control"), "max-age") {
		t.Fatalf("seatmap: %d etag %q cache %q", r.status, etag, r.header.Get("Cache-Control"))
	}
	if r := e.do("GET", "/api/events/"+event+"/seatmap", "", nil, "If-None-Match", etag); r.status != 304 {
		t.Errorf("seatmap with If-None-Match: %d, want 304", r.status)
	}

	// Availability reflects a hold (after the snapshot cache's second).
	_, token := e.signUp("viewer")
	if r := e.do("POST", "/api/events/"+event+"/holds", token, map[string]any{"seat_ids": seats[:1]}); r.status != 201 {
		t.Fatal(r.status)
	}
	var snap struct {
		Encoding, Statuses string
		Seq                int64
	}
	e.do("GET", "/api/events/"+event+"/availability", "", nil).json(t, &snap)
	if snap.Encoding != "chars" || len(snap.Statuses) != 48 || !regexp.MustCompile(`^[ah]+$`).MatchString(snap.Statuses) {
		t.Errorf("availability = %+v", snap)
	}
}

// TestAvailabilitySize: the snapshot of a 50,000-seat stadium mid-sale, with
// every seat's status drawn at random (the worst case for compression),
// fits in 16 KB on the wire.
func TestAvailabilitySize(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	layout, err := seatmap.Generate("stadium")
	if err != nil {
		t.Fatal(err)
	}
	event, _ := e.eventFrom(ctx, layout, seatmap.DefaultPrices("stadium"))
	acct, _ := e.signUp("owner")
	db := e.db()
	// A mid-sale mix: 45% available, 10% held, 35% sold, 10% reserved.
	_, err = db.Exec(ctx, `
		WITH r AS (SELECT id, random() AS p FROM seats WHERE event_id = $1)
		UPDATE seats s SET
			status = CASE WHEN r.p < 0.45 THEN 'available' WHEN r.p < 0.55 THEN 'held' WHEN r.p < 0.90 THEN 'sold' ELSE 'reserved' END,
			hold_id = CASE WHEN r.p >= 0.45 AND r.p < 0.55 THEN gen_random_uuid() END,
			holder_account_id = CASE WHEN r.p >= 0.45 AND r.p < 0.90 THEN $2::bigint END,
			reserved_reason = CASE WHEN r.p >= 0.90 THEN 'day_of' END
		FROM r WHERE s.id = r.id`, event, acct)
	if err != nil {
		t.Fatal(err)
	}
	e.skipInvariants(event) // the mix above is written by hand, without holds

	req, _ := http.NewRequest("GET", e.base+"/api/events/"+event+"/availability", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := contractClient(t, &http.Transport{DisableCompression: true}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	wire, _ := io.ReadAll(res.Body)
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("availability not gzipped: %v", res.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(wire))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var snap struct{ Statuses string }
	if err := json.Unmarshal(plain, &snap); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d seats: %d bytes JSON, %d bytes gzip on the wire", len(snap.Statuses), len(plain), len(wire))
	if len(snap.Statuses) != len(layout.Seats) {
		t.Errorf("statuses for %d seats, want %d", len(snap.Statuses), len(layout.Seats))
	}
	if len(wire) > 16<<10 {
		t.Errorf("snapshot is %d bytes on the wire, want ≤ 16 KB", len(wire))
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, envOpts{})
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 || !strings.Contains(string(r.body), `"status":"ok"`) {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
	down := newEnv(t, envOpts{redisDown: true})
	// It names the failing dependency but not its error text (an address
	// or a driver message), which only the log gets.
	if r := down.do("GET", "/readyz", "", nil); r.status != 200 || !strings.Contains(string(r.body), `"status":"degraded"`) ||
		!strings.Contains(string(r.body), `"redis":"unavailable"`) || strings.Contains(string(r.body), "connection refused") ||
		strings.Contains(string(r.body), "127.0.0.1") {
		t.Errorf("readyz without Redis: %d %s, want 200 degraded naming redis without the error text", r.status, r.body)
	}
}

// TestDatabaseDownIs503: with Postgres unreachable, requests fail with 503
// "unavailable" in the error shape, not 500 or a misleading 401.
func TestDatabaseDownIs503(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := server.New(server.Config{}, server.Deps{
		Accounts: account.NewService(pool, account.Config{}),
		Seats:    seatmap.New(pool, nil, nil, nil, seatmap.Config{}),
	})
	for _, path := range []string{"/api/me", "/api/events", "/api/events/1"} {
		req, _ := http.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer some-token")
		res, err := srv.App().Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		loadContract(t)
		if err := checkContract(req, res.StatusCode, res.Header, body); err != nil {
			t.Errorf("contract: GET %s → %d: %v", path, res.StatusCode, err)
		}
		if res.StatusCode != 503 || !strings.Contains(string(body), `"code":"unavailable"`) {
			t.Errorf("GET %s with Postgres down: %d %s, want 503 unavailable", path, res.StatusCode, body)
		}
	}
}
