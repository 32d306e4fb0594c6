package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/fairdraw"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/presale"
	"github.com/boxoffice/boxoffice/server"
)

// lotteryFan is a fan of a lottery test with their token and address.
type lotteryFan struct {
	id, token, email string
}

// lotteryEvent makes a presale event with an open window and a lottery on
// it, closing and drawing in an hour (tests move those times with
// closeLottery); it returns the event, the window and its seats.
func (e *env) lotteryEvent(admin string, target int) (ev string, w presaleWindow, seats []string) {
	e.t.Helper()
	ev, bySection := e.presaleEvent(2)
	w = e.createWindow(admin, ev, -time.Minute, 2*time.Hour, nil)
	r := e.do("POST", "/api/admin/events/"+ev+"/lottery", admin, map[string]any{"presale_id": w.ID, "target": target,
		"closes_at": time.Now().Add(time.Hour).Format(time.RFC3339), "draws_at": time.Now().Add(time.Hour).Format(time.RFC3339)})
	if r.status != 201 {
		e.t.Fatalf("create lottery: %d %s", r.status, r.body)
	}
	return ev, w, append(bySection["S1"], bySection["S2"]...)
}

// closeLottery moves the lottery's close and draw times, and its draw
// job, to now: the test's stand-in for waiting an hour.
func (e *env) closeLottery(ev string) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `UPDATE lotteries SET closes_at = now() - interval '1 second',
		draws_at = now() - interval '1 second' WHERE event_id = $1`, ev); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE jobs SET run_at = now() WHERE dedupe_key = $1`, "lottery-draw:"+ev); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) lotteryFans(n int) []lotteryFan {
	e.t.Helper()
	fans := make([]lotteryFan, n)
	for i := range fans {
		fans[i].id, fans[i].token = e.signUp(fmt.Sprint("lotfan", i))
		me, _ := e.me(fans[i].token)
		fans[i].email = me.Email
	}
	return fans
}

func (e *env) publicLottery(ev string) presale.Lottery {
	e.t.Helper()
	var l presale.Lottery
	r := e.do("GET", "/api/events/"+ev+"/lottery", "", nil)
	if r.status != 200 {
		e.t.Fatalf("GET lottery: %d %s", r.status, r.body)
	}
	r.json(e.t, &l)
	return l
}

// TestLotteryEndToEnd is the lottery's whole life over HTTP: 30 fans
// register (one twice, one withdraws), registration closes, two job
// runners and two direct calls draw at once, and then: the published data
// (commitment, seed, sorted hashed registrants, target) recompute exactly
// the published winners; changing the seed, one registrant or the target
// changes them; each winner has one email and a code that gets them into
// the presale, and nobody else can use it; the others are told they were
// not drawn.
func TestLotteryEndToEnd(t *testing.T) {
	e, mailAPI := mailEnv(t, envOpts{})
	admin := e.admin()
	const fansN, target = 30, 10
	ev, w, seats := e.lotteryEvent(admin, target)
	fans := e.lotteryFans(fansN + 1) // the last one withdraws

	before := e.publicLottery(ev)
	if before.State != presale.LotteryOpen || len(before.SeedCommitment) != 64 || before.Seed != "" ||
		before.Registrants != nil || before.Winners != nil || before.Target != target {
		t.Fatalf("open lottery published %+v", before)
	}
	for i, f := range fans {
		r := e.do("POST", "/api/events/"+ev+"/registrations", f.token, nil)
		if r.status != 201 {
			t.Fatalf("fan %d registers: %d %s", i, r.status, r.body)
		}
	}
	// Registering again is no change; withdrawing works while open.
	var first, again presale.Registration
	e.do("GET", "/api/events/"+ev+"/registrations", fans[0].token, nil).json(t, &first)
	r := e.do("POST", "/api/events/"+ev+"/registrations", fans[0].token, nil)
	r.json(t, &again)
	if r.status != 200 || again != first || again.State != presale.RegistrationRegistered {
		t.Fatalf("register again: %d %+v, first %+v", r.status, again, first)
	}
	quitter := fans[fansN]
	if r := e.do("DELETE", "/api/events/"+ev+"/registrations", quitter.token, nil); r.status != 204 {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/events/"+ev+"/registrations", quitter.token, nil); r.status != 404 || r.errCode(t) != "registration_not_found" {
		t.Fatalf("withdrawn fan's registration: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/events/"+ev+"/registrations", quitter.token, nil); r.status != 404 {
		t.Fatalf("withdraw twice: %d %s", r.status, r.body)
	}
	fans = fans[:fansN]

	e.closeLottery(ev)
	for _, c := range []struct{ method, token string }{{"POST", quitter.token}, {"DELETE", fans[1].token}} {
		if r := e.do(c.method, "/api/events/"+ev+"/registrations", c.token, nil); r.status != 409 || r.errCode(t) != "registration_closed" {
			t.Errorf("%s after close: %d %s", c.method, r.status, r.body)
		}
	}
	// Registered before: POST after close still answers the registration.
	if r := e.do("POST", "/api/events/"+ev+"/registrations", fans[2].token, nil); r.status != 200 {
		t.Errorf("registered fan POSTs after close: %d %s", r.status, r.body)
	}
	closed := e.publicLottery(ev)
	if closed.State != presale.LotteryClosed || closed.Seed != "" || len(closed.Registrants) != fansN ||
		!slices.IsSorted(closed.Registrants) || closed.Winners != nil {
		t.Fatalf("closed lottery published %+v", closed)
	}

	// Two job runners and two direct draws at once: one draw.
	draw := presale.New(e.db(), nil, presale.Config{})
	draw.MailLotteryResults(e.checkout.EnqueueNotice)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				errs[i] = draw.RunDraw(context.Background(), eventID(t, ev))
				return
			}
			runner := jobs.NewRunner(e.db(), nil, jobs.Config{})
			draw.RegisterJobs(runner)
			_, errs[i] = runner.Drain(context.Background())
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	pub := e.publicLottery(ev)
	if pub.State != presale.LotteryDrawn || pub.DrawnAt == nil || len(pub.Winners) != target {
		t.Fatalf("drawn lottery published %+v", pub)
	}
	// The recompute, from the JSON alone.
	raw, _ := json.Marshal(pub)
	var outside presale.Lottery
	if err := json.Unmarshal(raw, &outside); err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(outside.Seed)
	if sum := sha256.Sum256(seed); hex.EncodeToString(sum[:]) != before.SeedCommitment {
		t.Fatal("the revealed seed is not the one committed before registration")
	}
	if got, err := outside.Verify(); err != nil || !slices.Equal(got, pub.Winners) {
		t.Fatalf("recompute: %v %v, published %v", got, err, pub.Winners)
	}
	t.Logf("%d registrants, %d winners recomputed from the published data", len(pub.Registrants), len(pub.Winners))
	// Each input changed: the published winners no longer check out, and
	// the draw itself gives other winners.
	other := [32]byte(seed)
	other[0] ^= 1
	changes := map[string]func(l *presale.Lottery){
		"another seed, recommitted": func(l *presale.Lottery) {
			l.Seed, l.SeedCommitment = hex.EncodeToString(other[:]), fairdraw.Commitment(other, "")
		},
		"one registrant dropped": func(l *presale.Lottery) { l.Registrants = l.Registrants[1:] },
		"one registrant replaced": func(l *presale.Lottery) {
			l.Registrants[len(l.Registrants)/2] = presale.HashAccount([]byte("k"), 1)
		},
		"one registrant added": func(l *presale.Lottery) {
			l.Registrants = append(l.Registrants, presale.HashAccount([]byte("k"), 2))
		},
		"target minus one":           func(l *presale.Lottery) { l.Target-- },
		"target plus one":            func(l *presale.Lottery) { l.Target++ },
		"seed not the committed one": func(l *presale.Lottery) { l.Seed = hex.EncodeToString(other[:]) },
	}
	for name, change := range changes {
		l := outside
		l.Registrants = slices.Clone(outside.Registrants)
		change(&l)
		if _, err := l.Verify(); err == nil {
			t.Errorf("%s: the published winners still check out", name)
		}
	}

	// One code and one row per winner, whoever ran the draw.
	var codes, ranked int
	if err := e.pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM presale_codes WHERE presale_id = $1),
		(SELECT count(*) FROM registrations WHERE event_id = $2 AND code IS NOT NULL AND draw_rank IS NOT NULL)`,
		w.ID, ev).Scan(&codes, &ranked); err != nil {
		t.Fatal(err)
	}
	if codes != target || ranked != target {
		t.Fatalf("%d codes and %d winners stored, want %d", codes, ranked, target)
	}

	// Results: on the account and by email, once each.
	runner := jobs.NewRunner(e.db(), nil, jobs.Config{})
	e.checkout.RegisterJobs(runner)
	if _, err := runner.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var winner, loser *lotteryFan
	var winnerCode string
	for i := range fans {
		f := &fans[i]
		var reg presale.Registration
		e.do("GET", "/api/events/"+ev+"/registrations", f.token, nil).json(t, &reg)
		var mine []presale.Registration
		e.do("GET", "/api/account/registrations", f.token, nil).json(t, &mine)
		if len(mine) != 1 || mine[0] != reg {
			t.Fatalf("fan %d: account registrations %+v, event registration %+v", i, mine, reg)
		}
		won := slices.Contains(pub.Winners, reg.Hash)
		if !slices.Contains(pub.Registrants, reg.Hash) {
			t.Fatalf("fan %d's hash is not in the published list", i)
		}
		text := lotteryMailTo(t, mailAPI, f.email)
		switch {
		case won && reg.State == presale.RegistrationWon && reg.Code != "" && strings.Contains(text, reg.Code):
			if winner == nil {
				winner, winnerCode = f, reg.Code
			}
		case !won && reg.State == presale.RegistrationNotDrawn && reg.Code == "" && strings.Contains(text, "public sale"):
			loser = f
		default:
			t.Fatalf("fan %d: won=%v registration %+v mail %q", i, won, reg, text)
		}
	}
	// The code works for its winner only, through the presale's own path.
	if r := e.do("POST", "/api/events/"+ev+"/holds", loser.token, seatsBody(seats[0]), server.HeaderAccessCode, winnerCode); r.status != 409 ||
		r.errCode(t) != "access_code_used" {
		t.Fatalf("a loser with the winner's code: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/events/"+ev+"/holds", loser.token, seatsBody(seats[0])); r.status != 403 ||
		r.errCode(t) != "access_code_required" {
		t.Fatalf("a loser without a code: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/events/"+ev+"/holds", winner.token, seatsBody(seats[0]), server.HeaderAccessCode, winnerCode); r.status != 201 {
		t.Fatalf("the winner with their code: %d %s", r.status, r.body)
	}
	// Another run finds it drawn and changes nothing.
	if err := draw.RunDraw(context.Background(), eventID(t, ev)); err != nil {
		t.Fatal(err)
	}
	if again := e.publicLottery(ev); !slices.Equal(again.Winners, pub.Winners) || !again.DrawnAt.Equal(*pub.DrawnAt) {
		t.Fatalf("a second run changed the draw: %+v", again)
	}
	// The sale's opening reaches every registrant, drawn or not, and not
	// the fan who withdrew.
	if err := e.checkout.RemindSaleOpened(context.Background(), eventID(t, ev)); err != nil {
		t.Fatal(err)
	}
	e.drainJobs()
	mailTo(t, mailAPI, winner.email, "On sale now: ")
	mailTo(t, mailAPI, loser.email, "On sale now: ")
	if n := countSubject(t, mailAPI, quitter.email, "On sale now: "); n != 0 {
		t.Errorf("the fan who withdrew got %d sale opening mails", n)
	}
}

// lotteryMailTo waits for the one lottery email to addr and returns its
// text; a second one fails the test.
func lotteryMailTo(t *testing.T, api, addr string) string {
	t.Helper()
	text, _ := mailTo(t, api, addr, "lottery")
	var list struct {
		Messages []struct{ Subject string }
	}
	if err := json.Unmarshal(httpGet(t, api+"/api/v1/search?query="+url.QueryEscape(`to:"`+addr+`"`)), &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range list.Messages {
		if strings.Contains(m.Subject, "lottery") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d lottery emails to %s, want 1", n, addr)
	}
	return text
}

// TestLotteryDrawCrashMidway: a draw that fails after some of its emails
// were written (the process dying mid-way) leaves nothing behind: no
// codes, no winners, no emails, not drawn; the next run draws once.
func TestLotteryDrawCrashMidway(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, w, _ := e.lotteryEvent(admin, 3)
	for _, f := range e.lotteryFans(6) {
		if r := e.do("POST", "/api/events/"+ev+"/registrations", f.token, nil); r.status != 201 {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
	}
	e.closeLottery(ev)
	crashing := presale.New(e.db(), nil, presale.Config{})
	sent := 0
	crashing.MailLotteryResults(func(ctx context.Context, q pg.Querier, accountID int64, key, subject, body string) error {
		if sent++; sent == 4 {
			return errors.New("the node died")
		}
		return e.checkout.EnqueueNotice(ctx, q, accountID, key, subject, body)
	})
	if err := crashing.RunDraw(context.Background(), eventID(t, ev)); err == nil {
		t.Fatal("the crashing draw succeeded")
	}
	count := func() (codes, mails int) {
		t.Helper()
		if err := e.pool.QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM presale_codes WHERE presale_id = $1),
			(SELECT count(*) FROM jobs WHERE dedupe_key LIKE $2)`, w.ID, "notice:lottery:"+ev+":%").Scan(&codes, &mails); err != nil {
			t.Fatal(err)
		}
		return codes, mails
	}
	if codes, mails := count(); codes != 0 || mails != 0 || e.publicLottery(ev).State != presale.LotteryClosed {
		t.Fatalf("after the crash: %d codes, %d mails, %s", codes, mails, e.publicLottery(ev).State)
	}
	good := presale.New(e.db(), nil, presale.Config{})
	good.MailLotteryResults(e.checkout.EnqueueNotice)
	for range 2 {
		if err := good.RunDraw(context.Background(), eventID(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	if codes, mails := count(); codes != 3 || mails != 6 {
		t.Fatalf("after the draw: %d codes, %d mails, want 3 and 6", codes, mails)
	}
	if _, err := e.publicLottery(ev).Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestLotteryAPIRules: admin validation and roles, registration on an
// event without a lottery, and that nothing of one fan's registration is
// visible to another.
func TestLotteryAPIRules(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, w, _ := e.lotteryEvent(admin, 5)
	other, _ := e.presaleEvent(1)
	otherWindow := e.createWindow(admin, other, -time.Minute, time.Hour, nil)
	at := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }
	_, fan := e.signUp("fan")
	_, mallory := e.signUp("mallory")

	for _, c := range []struct {
		name, event, token string
		body               map[string]any
		status             int
		code               string
	}{
		{"a fan", other, fan, map[string]any{"presale_id": otherWindow.ID, "target": 5, "closes_at": at(time.Hour), "draws_at": at(time.Hour)}, 403, "forbidden"},
		{"draw before close", other, admin, map[string]any{"presale_id": otherWindow.ID, "target": 5, "closes_at": at(time.Hour), "draws_at": at(time.Minute)}, 422, "validation_failed"},
		{"closed already", other, admin, map[string]any{"presale_id": otherWindow.ID, "target": 5, "closes_at": at(-time.Minute), "draws_at": at(time.Minute)}, 422, "validation_failed"},
		{"after the window", other, admin, map[string]any{"presale_id": otherWindow.ID, "target": 5, "closes_at": at(time.Minute), "draws_at": at(2 * time.Hour)}, 422, "validation_failed"},
		{"another event's window", other, admin, map[string]any{"presale_id": w.ID, "target": 5, "closes_at": at(time.Minute), "draws_at": at(time.Minute)}, 422, "validation_failed"},
		{"no target", other, admin, map[string]any{"presale_id": otherWindow.ID, "closes_at": at(time.Minute), "draws_at": at(time.Minute)}, 422, "validation_failed"},
		{"an unknown field", other, admin, map[string]any{"presale_id": otherWindow.ID, "target": 5, "seed": "00", "closes_at": at(time.Minute), "draws_at": at(time.Minute)}, 400, ""},
		{"a second lottery", ev, admin, map[string]any{"presale_id": w.ID, "target": 5, "closes_at": at(time.Minute), "draws_at": at(time.Minute)}, 409, "lottery_exists"},
		{"an unknown event", "999999999", admin, map[string]any{"presale_id": w.ID, "target": 5, "closes_at": at(time.Minute), "draws_at": at(time.Minute)}, 404, "event_not_found"},
	} {
		r := e.do("POST", "/api/admin/events/"+c.event+"/lottery", c.token, c.body)
		if r.status != c.status || (c.code != "" && r.errCode(t) != c.code) {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
		}
	}

	if r := e.do("POST", "/api/events/"+other+"/registrations", fan, nil); r.status != 404 || r.errCode(t) != "lottery_not_found" {
		t.Errorf("register without a lottery: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/events/"+other+"/lottery", "", nil); r.status != 404 || r.errCode(t) != "lottery_not_found" {
		t.Errorf("no lottery: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/events/"+ev+"/registrations", "", nil); r.status != 401 {
		t.Errorf("register signed out: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/events/"+ev+"/registrations", fan, map[string]any{"account_id": "1"}); r.status != 400 {
		t.Errorf("register with a body: %d %s", r.status, r.body)
	}
	var reg presale.Registration
	r := e.do("POST", "/api/events/"+ev+"/registrations", fan, nil)
	r.json(t, &reg)
	if r.status != 201 || reg.State != presale.RegistrationRegistered || len(reg.Hash) != 64 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	// Mallory sees neither the registration nor its hash.
	if r := e.do("GET", "/api/events/"+ev+"/registrations", mallory, nil); r.status != 404 {
		t.Errorf("mallory's GET: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/events/"+ev+"/registrations", mallory, nil); r.status != 404 {
		t.Errorf("mallory's DELETE: %d %s", r.status, r.body)
	}
	var mine []presale.Registration
	e.do("GET", "/api/account/registrations", mallory, nil).json(t, &mine)
	if len(mine) != 0 {
		t.Errorf("mallory's account lists %+v", mine)
	}
	if r := e.do("GET", "/api/events/"+ev+"/lottery", mallory, nil); strings.Contains(string(r.body), reg.Hash) {
		t.Errorf("the open lottery publishes a registrant's hash: %s", r.body)
	}
	// The fan is still registered.
	if r := e.do("GET", "/api/events/"+ev+"/registrations", fan, nil); r.status != 200 {
		t.Errorf("fan's registration: %d %s", r.status, r.body)
	}
}
