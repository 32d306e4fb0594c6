package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// TestBrowser starts the real app with the demo stadium and runs the browser
// tests in web/test (node's test runner driving Debian's Chromium through
// playwright-core). Without node, Chromium or `npm ci` in web/ it is skipped
// locally and fails in CI, like the other real peers.
func TestBrowser(t *testing.T) {
	webDir, _ := filepath.Abs("../../web")
	need := map[string]string{
		"node":            "",
		"chromium":        "/usr/bin/chromium",
		"playwright-core": filepath.Join(webDir, "node_modules", "playwright-core", "package.json"),
	}
	for what, path := range need {
		var err error
		if path == "" {
			_, err = exec.LookPath(what)
		} else {
			_, err = os.Stat(path)
		}
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("browser tests need %s (make test installs it): %v", what, err)
			}
			t.Skipf("browser tests need %s: %v", what, err)
		}
	}
	// Mail goes to mailpit, where web/test/recovery.test.mjs reads it.
	mailAPI, smtpURL := testkit.Mailpit(t)
	env := map[string]string{
		"DATABASE_URL": testkit.DBURL(t), "REDIS_URL": testkit.RedisURL(), "LISTEN_ADDR": "127.0.0.1:0",
		"REDIS_PREFIX": "t" + testkit.RandomHex(4) + ":", "LOG_LEVEL": "warn",
		"SECRET_KEY": strings.Repeat("cd", 32), "SMTP_URL": smtpURL,
	}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	if code := run(ctx, []string{"seed", "demo"}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("seed demo: exit %d", code)
	}
	app, base := runApp(t, getenv)
	res, err := http.Get(base + "/api/events?status=on_sale")
	if err != nil {
		t.Fatal(err)
	}
	var events []struct{ ID string }
	err = json.NewDecoder(res.Body).Decode(&events)
	res.Body.Close()
	if err != nil || len(events) == 0 {
		t.Fatalf("no on-sale demo event: %v", err)
	}
	roomEvent := waitingRoomEvent(t, app)
	// A second node with PAYMENTS=stripe for web/test/stripe.test.mjs, on
	// the same database and Redis: stripe-mock (behind StripeTestCards, for
	// Stripe's test-mode outcomes) is its Stripe API. Each node's
	// reconciler may look at the other's open payments: the Stripe ones
	// settle at once, and a test payment looked up at stripe-mock stays open
	// (stripe-mock answers requires_payment_method), so neither disturbs the
	// other.
	// The spec plays Stripe.js's 3-D Secure challenge on the proxy
	// (BOXOFFICE_STRIPE_API).
	stripeAPI := testkit.StripeTestCards(t)
	stripeEnv := map[string]string{"PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_123",
		"STRIPE_PUBLISHABLE_KEY": "pk_test_boxoffice", "STRIPE_API_BASE": stripeAPI}
	stripeApp, stripeBase := runApp(t, func(k string) string { return cmp.Or(stripeEnv[k], env[k]) })
	stripeEvent := smallEvent(t, stripeApp.Seats, "Stripe Night "+testkit.RandomHex(3), 1, 2, 10, `{"enabled": false}`)
	// A scanner account for the scan page: signed up over HTTP, granted the
	// role with the admin command as an operator would.
	scanner := "scanner-" + testkit.RandomHex(4) + "@example.test"
	res, err = http.Post(base+"/api/accounts", "application/json",
		strings.NewReader(`{"email":"`+scanner+`","password":"browser-test-1","name":"Gate 3"}`))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("scanner sign-up: %v %v", res, err)
	}
	res.Body.Close()
	if code := run(ctx, []string{"admin", "grant", scanner, "scanner"}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("admin grant: exit %d", code)
	}
	// An admin for the dashboard test (web/test/admin.test.mjs).
	adminEmail, adminPassword := "admin-"+testkit.RandomHex(4)+"@example.test", "browser-admin-1"
	adminAcct, _, err := app.Accounts.SignUp(ctx, adminEmail, adminPassword, "Browser Admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Accounts.Grant(ctx, adminEmail, "admin"); err != nil {
		t.Fatal(err)
	}
	// Staff sign in with a second factor: the admin spec uses one recovery
	// code per sign-in (a TOTP code is good once per 30 s).
	enr, err := app.Accounts.BeginTOTP(ctx, adminAcct.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := account.TOTPCode(enr.Secret, time.Now().Add(-30*time.Second))
	adminCodes, err := app.Accounts.ConfirmTOTP(ctx, adminAcct.ID, code)
	if err != nil {
		t.Fatal(err)
	}
	// The other specs act as that admin through one session, signed in
	// here with the last recovery code (BOXOFFICE_ADMIN_TOKEN; the pages
	// carry it as the session cookie).
	var step *account.SecondStep
	if _, _, err := app.Accounts.SignIn(ctx, adminEmail, adminPassword); !errors.As(err, &step) {
		t.Fatalf("admin sign-in: %v, want a second step", err)
	}
	_, adminToken, err := app.Accounts.CompleteSignIn(ctx, step.Challenge, adminCodes[len(adminCodes)-1])
	if err != nil {
		t.Fatal(err)
	}
	adminCodes = adminCodes[:len(adminCodes)-1]
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	if dir := os.Getenv("BOXOFFICE_ARTIFACTS"); dir != "" {
		artifacts = dir
	}
	// BROWSER_SPECS (space-separated files of web/test) runs only those
	// specs, for a change to one page; empty runs them all.
	args := []string{"--test", "--test-reporter=spec", "--test-concurrency=1"}
	if specs := strings.Fields(os.Getenv("BROWSER_SPECS")); len(specs) > 0 {
		for _, f := range specs {
			args = append(args, filepath.Join("test", f))
		}
	} else {
		args = append(args, "test/")
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(), "BOXOFFICE_URL="+base, "BOXOFFICE_EVENT="+events[0].ID, "BOXOFFICE_ARTIFACTS="+artifacts,
		"BOXOFFICE_ROOM_EVENT="+strconv.FormatInt(roomEvent, 10), "BOXOFFICE_SCANNER_EMAIL="+scanner,
		"BOXOFFICE_ADMIN_EMAIL="+adminEmail, "BOXOFFICE_ADMIN_PASSWORD="+adminPassword,
		"BOXOFFICE_ADMIN_RECOVERY_CODES="+strings.Join(adminCodes, " "), "BOXOFFICE_ADMIN_TOKEN="+adminToken, "MAILPIT_URL="+mailAPI,
		"BOXOFFICE_STRIPE_URL="+stripeBase, "BOXOFFICE_STRIPE_EVENT="+stripeEvent, "BOXOFFICE_STRIPE_API="+stripeAPI)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "METRIC ") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if err != nil {
		t.Fatalf("browser tests failed (screenshots in %s):\n%s", artifacts, out.String())
	}
	t.Logf("browser tests passed; screenshots in %s", artifacts)
}

// waitingRoomEvent creates a small on-sale event behind a waiting room that
// admits two fans a second, with 30 fans already in line, so a fan who
// joins from the browser sees a position that falls and then gets in.
func waitingRoomEvent(t *testing.T, app *App) int64 {
	t.Helper()
	ctx := context.Background()
	layout := seatmap.Layout{Sections: []seatmap.Section{{ID: "A", Name: "Section A", Tier: "floor"}}}
	for row := 1; row <= 4; row++ {
		for n := 1; n <= 20; n++ {
			layout.Seats = append(layout.Seats, seatmap.SeatSpec{Section: "A", Row: strconv.Itoa(row), Number: n,
				X: float64(10 + n*12), Y: float64(10 + row*12), Type: seatmap.SeatStandard, Rank: row*100 + n})
		}
	}
	v, err := app.Seats.CreateVenue(ctx, "Queue Club "+testkit.RandomHex(3), layout)
	if err != nil {
		t.Fatal(err)
	}
	id, err := app.Seats.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: "Waiting Room Night",
		EventDate: time.Now().Add(48 * time.Hour), SaleOpens: time.Now().Add(-time.Minute),
		Prices: map[string]int64{"default": 3500}})
	if err != nil {
		t.Fatal(err)
	}
	// The spec's fan signs up over the API and reads no mail: this room
	// does not require a verified address (the default for rooms does).
	if err := app.Queue.Configure(ctx, id, waitingroom.Settings{Enabled: true, AdmitPerMinute: 120, ActiveLimit: 100, PowDifficulty: 8,
		RequireVerifiedEmail: new(false)}); err != nil {
		t.Fatal(err)
	}
	fans, err := app.Accounts.SeedFans(ctx, "queue-"+testkit.RandomHex(3), 30, "queue-fan-password")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fans {
		ch, err := app.Queue.Challenge(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		nonce, err := waitingroom.Solve(ctx, ch.Challenge, ch.Difficulty)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Queue.Join(ctx, id, f.ID, waitingroom.Solution{Challenge: ch.Challenge, Signature: ch.Signature, Solution: nonce}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}
