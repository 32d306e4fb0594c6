package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/loadtest"
	"github.com/boxoffice/boxoffice/seatmap"
)

// testApp runs the real app on port 0 with rate limits off (a load test
// from one address would hit them) and returns its env and base URL.
func testApp(t *testing.T) (getenv func(string) string, app *App, base string) {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL": testkit.DBURL(t), "REDIS_URL": testkit.RedisURL(), "LISTEN_ADDR": "127.0.0.1:0",
		"REDIS_PREFIX": "t" + testkit.RandomHex(4) + ":", "LOG_LEVEL": "error",
		"SECRET_KEY": strings.Repeat("ef", 32), "RATE_LIMITS": "off", "DB_MAX_CONNS": "24",
	}
	getenv = func(k string) string { return env[k] }
	app, base = runApp(t, getenv)
	return getenv, app, base
}

// runApp starts the real app with the configuration getenv gives (listen
// on port 0) and stops it when the test ends; it returns the app and its
// base URL. Every test that needs a running node starts it here.
func runApp(t *testing.T, getenv func(string) string) (*App, string) {
	t.Helper()
	cfg, err := loadConfig(getenv, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	app := &App{Config: cfg, Log: newLogger(io.Discard, cfg.LogLevel)}
	if err := app.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	if err := app.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return app, "http://" + app.Addr()
}

// smallEvent creates an on-sale event of sections × rows × perRow seats,
// section A priciest (the hot one).
func smallEvent(t *testing.T, seats *seatmap.Service, name string, sections, rows, perRow int, room string) string {
	t.Helper()
	l := seatmap.Layout{}
	prices := map[string]int64{}
	rank := 0
	for s := range sections {
		id := string(rune('A' + s))
		l.Sections = append(l.Sections, seatmap.Section{ID: id, Name: "Section " + id, Tier: "t" + id, Rank: s})
		prices[id] = int64(10000 - 1000*s)
		for r := 1; r <= rows; r++ {
			for n := 1; n <= perRow; n++ {
				rank++
				l.Seats = append(l.Seats, seatmap.SeatSpec{Section: id, Row: fmt.Sprint(r), Number: n,
					X: float64(s*perRow + n), Y: float64(r), Type: seatmap.SeatStandard, Rank: rank})
			}
		}
	}
	ctx := context.Background()
	v, err := seats.CreateVenue(ctx, name, l)
	if err != nil {
		t.Fatal(err)
	}
	id, err := seats.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: name,
		EventDate: time.Now().Add(24 * time.Hour), SaleOpens: time.Now().Add(-time.Minute),
		Prices: prices, ReserveShare: 0.05, WaitingRoom: json.RawMessage(room)})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(id)
}

// flashsale runs `boxoffice flashsale` and returns its report and output.
func flashsale(t *testing.T, getenv func(string) string, args ...string) (loadtest.Report, string) {
	t.Helper()
	reportFile := filepath.Join(t.TempDir(), "report.json")
	args = append([]string{"flashsale", "-quiet", "-report", reportFile, "-database-url", getenv("DATABASE_URL")}, args...)
	var out, errs bytes.Buffer
	start := time.Now()
	code := run(context.Background(), args, getenv, &out, &errs)
	t.Logf("flashsale in %v:\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if code != 0 {
		t.Fatalf("flashsale: exit %d\n%s%s", code, out.String(), errs.String())
	}
	var rep loadtest.Report
	b, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, b)
	}
	return rep, out.String()
}

// checkReport asserts what every run must show.
func checkReport(t *testing.T, rep loadtest.Report) {
	t.Helper()
	if rep.Invariants == nil || !rep.Invariants.OK || rep.Invariants.Oversold != 0 {
		t.Fatalf("invariants: %+v (%s)", rep.Invariants, rep.InvariantsError)
	}
	if !rep.SoldOut && !rep.CappedByTime && rep.FansDone != int64(rep.Config.Fans) {
		t.Fatalf("the run neither sold out, nor hit its cap, nor finished its fans: %+v", rep)
	}
	if rep.Orders == 0 || rep.HoldsAccepted == 0 {
		t.Fatalf("nothing was bought: %+v", rep)
	}
	// A payment the time cap cut off may still complete on the server, so
	// the counts agree only for a run that ended by itself.
	if got := rep.Invariants.Sold; !rep.CappedByTime && int64(got) != rep.SeatsBought {
		t.Errorf("Postgres says %d seats sold, the fans bought %d", got, rep.SeatsBought)
	}
}

// TestFlashSale: the load driver against two nodes of the real app (one
// database, one Redis, given with -nodes), a small event of 300 seats and
// 300 seeded fans (10% bots, 10% declines) with 3 watchers. The event
// sells out (or the run ends by its cap) with every invariant holding,
// both nodes answer, and the watchers' diff latency is measured.
func TestFlashSale(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	getenv, app, base := testApp(t)
	_, second := runApp(t, getenv)
	event := smallEvent(t, app.Seats, "flash sale test", 4, 5, 15, `{"enabled": false}`)
	tokens := filepath.Join(t.TempDir(), "fans.tokens")
	if code := run(context.Background(), []string{"seed", "fans", "300", "-tokens", tokens}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("seed fans: exit %d", code)
	}
	rep, _ := flashsale(t, getenv, "-url", base, "-nodes", second, "-event", event, "-fans", "300", "-tokens", tokens,
		"-watchers", "3", "-bots", "0.1", "-decline", "0.1", "-duration", "20s", "-concurrency", "64")
	checkReport(t, rep)
	if len(rep.NodeRequests) != 2 || rep.NodeRequests[base] == 0 || rep.NodeRequests[second] == 0 {
		t.Errorf("requests per node %v: want both %s and %s to answer", rep.NodeRequests, base, second)
	}
	if rep.Declines == 0 {
		t.Errorf("no decline in %d orders with a 10%% decline rate", rep.Orders)
	}
	if rep.BotSeats == 0 {
		t.Errorf("bots bought nothing: %+v", rep)
	}
	if rep.DiffLatency.N == 0 || rep.WatchersConverged != 3 {
		t.Errorf("diff latency not measured or watchers diverged: latency %+v, converged %d/3, missed %d",
			rep.DiffLatency, rep.WatchersConverged, rep.DiffMissed)
	}
	if !rep.SoldOut {
		t.Logf("not sold out: %d of %d seats bought (the run ended by its cap or its fans)", rep.SeatsBought, rep.Capacity)
	}
}

// TestFlashSaleWaitlist: 200 fans for an event of 40 seats, half of the
// humans joining the waiting list once it is sold out, with a quarter of
// the payments declined so that seats keep coming back. Fans join, some
// are offered the places that came back and buy them, and every invariant
// holds (the seats bought are the seats sold).
func TestFlashSaleWaitlist(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	getenv, app, base := testApp(t)
	event := smallEvent(t, app.Seats, "flash sale waitlist test", 2, 2, 10, `{"enabled": false}`)
	tokens := filepath.Join(t.TempDir(), "fans.tokens")
	if code := run(context.Background(), []string{"seed", "fans", "200", "-tokens", tokens}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("seed fans: exit %d", code)
	}
	rep, _ := flashsale(t, getenv, "-url", base, "-event", event, "-fans", "200", "-tokens", tokens,
		"-waitlist", "0.5", "-decline", "0.25", "-duration", "30s", "-concurrency", "48")
	checkReport(t, rep)
	if rep.WaitlistJoins == 0 || rep.WaitlistOffers == 0 || rep.WaitlistSeats == 0 {
		t.Errorf("waiting list: %d joined, %d offered, %d seats bought; want some of each",
			rep.WaitlistJoins, rep.WaitlistOffers, rep.WaitlistSeats)
	}
}

// TestFlashSaleGA: the driver against an event with a standing floor of
// 150 beside 120 seats: 300 fans, half of the humans going for the floor.
// Ga holds are made, and every invariant holds, conservation of the area
// included (held + sold + free = its capacity).
func TestFlashSaleGA(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	getenv, app, base := testApp(t)
	l := seatmap.Layout{Sections: []seatmap.Section{
		{ID: "A", Name: "Section A", Tier: "tA", Rank: 1},
		{ID: "FLOOR", Name: "Standing floor", Tier: "floor", Kind: seatmap.KindGA, Capacity: 150,
			Area: seatmap.Area{X: 0, Y: 0, Width: 100, Height: 30}},
	}}
	for r := 1; r <= 8; r++ {
		for n := 1; n <= 15; n++ {
			l.Seats = append(l.Seats, seatmap.SeatSpec{Section: "A", Row: fmt.Sprint(r), Number: n,
				X: float64(n * 5), Y: float64(40 + r*5), Type: seatmap.SeatStandard, Rank: r*100 + n})
		}
	}
	ctx := context.Background()
	v, err := app.Seats.CreateVenue(ctx, "flash sale ga test", l)
	if err != nil {
		t.Fatal(err)
	}
	id, err := app.Seats.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: "flash sale ga test",
		EventDate: time.Now().Add(24 * time.Hour), SaleOpens: time.Now().Add(-time.Minute),
		Prices: map[string]int64{"A": 9000, "floor": 6000}, WaitingRoom: json.RawMessage(`{"enabled": false}`)})
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(t.TempDir(), "fans.tokens")
	if code := run(ctx, []string{"seed", "fans", "300", "-tokens", tokens}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("seed fans: exit %d", code)
	}
	rep, _ := flashsale(t, getenv, "-url", base, "-event", fmt.Sprint(id), "-fans", "300", "-tokens", tokens,
		"-ga", "0.5", "-bots", "0.05", "-duration", "20s", "-concurrency", "64")
	checkReport(t, rep)
	if rep.GAHolds == 0 || rep.Capacity != 270 {
		t.Errorf("ga holds %d over a capacity of %d, want some over 270 (120 seats + 150 standing)", rep.GAHolds, rep.Capacity)
	}
	var floorSold int
	if err := app.DB.QueryRow(ctx, `SELECT count(*) FROM seats WHERE event_id = $1 AND section = 'FLOOR' AND status = 'sold'`,
		id).Scan(&floorSold); err != nil {
		t.Fatal(err)
	}
	if floorSold == 0 || floorSold > 150 {
		t.Errorf("%d standing places sold, want 1..150", floorSold)
	}
}

// TestFlashSaleWaitingRoom: the same driver through the waiting room
// (proof of work at difficulty 4, a fast admit rate, fewer active-shopper
// places than fans). Most fans are seeded;
// the last two sign up themselves, so the signup path runs too (few:
// password hashing is slow on purpose, and slower still under -race).
func TestFlashSaleWaitingRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	getenv, app, base := testApp(t)
	// The two fans who sign up themselves read no mail: the room does not
	// require a verified address (seeded fans are verified anyway).
	event := smallEvent(t, app.Seats, "flash sale room test", 2, 4, 10,
		`{"enabled": true, "admit_per_minute": 3000, "active_limit": 20, "pow_difficulty": 4, "require_verified_email": false}`)
	tokens := filepath.Join(t.TempDir(), "fans.tokens")
	if code := run(context.Background(), []string{"seed", "fans", "38", "-tokens", tokens}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("seed fans: exit %d", code)
	}
	rep, _ := flashsale(t, getenv, "-url", base, "-event", event, "-fans", "40", "-tokens", tokens, "-watchers", "1",
		"-decline", "0.1", "-duration", "20s", "-queue-poll", "200ms")
	checkReport(t, rep)
	if !rep.Config.WaitingRoom {
		t.Fatal("the driver did not see the waiting room")
	}
	// 40 fans through 20 active-shopper places: only buyers releasing their
	// place (checkout.Config.Admissions) lets more than 20 in. (Not all 40:
	// fans still waiting at the sell-out stop.)
	if got := rep.Steps["admission_wait"].N; got <= 20 {
		t.Errorf("%d of 40 fans admitted through 20 active places: buyers did not free theirs", got)
	}
	for _, step := range []string{"challenge", "pow", "join", "admission_wait", "signup"} {
		if rep.Steps[step].N == 0 {
			t.Errorf("step %s never ran: %+v", step, rep.Steps)
		}
	}
}

// TestParseNodes: -nodes takes a count of consecutive ports or a list of
// base URLs, and refuses anything else with a reason.
func TestParseNodes(t *testing.T) {
	got, err := parseNodes("http://127.0.0.1:8080", "3")
	if err != nil || strings.Join(got, " ") != "http://127.0.0.1:8081 http://127.0.0.1:8082" {
		t.Errorf("count: %v %v", got, err)
	}
	if got, err := parseNodes("http://127.0.0.1:8080", "1"); err != nil || len(got) != 0 {
		t.Errorf("one node: %v %v", got, err)
	}
	got, err = parseNodes("http://127.0.0.1:8080", " http://[::1]:9001, http://127.0.0.1:9002")
	if err != nil || strings.Join(got, " ") != "http://[::1]:9001 http://127.0.0.1:9002" {
		t.Errorf("list: %v %v", got, err)
	}
	for _, bad := range []struct{ base, spec string }{
		{"http://127.0.0.1:8080", "0"}, {"http://127.0.0.1:8080", "65"}, {"http://127.0.0.1", "2"},
		{"http://127.0.0.1:65535", "2"}, {"http://127.0.0.1:8080", "ftp://x:1"}, {"http://127.0.0.1:8080", "two"},
		{"http://127.0.0.1:8080", "http://a:1,,http://b:2"},
	} {
		if got, err := parseNodes(bad.base, bad.spec); err == nil {
			t.Errorf("-url %s -nodes %q accepted: %v", bad.base, bad.spec, got)
		}
	}
}

// TestFlashSaleRefusesRemote: the driver will not load a site that is not on
// this machine without -allow-remote.
func TestFlashSaleRefusesRemote(t *testing.T) {
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"flashsale", "-url", "http://192.0.2.1:8080", "-event", "1"},
		func(string) string { return "" }, &out, &errs)
	if code != 1 || !strings.Contains(errs.String(), "not a loopback address") {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
	if err := loadtest.CheckTarget(context.Background(), "http://[::1]:1", false); err != nil {
		t.Errorf("::1 refused: %v", err)
	}
}
