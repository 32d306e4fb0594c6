package server_test

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/fairdraw"
	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// roomEvent creates an on-sale event with its waiting room on. Unless set
// says otherwise, holds do not need a verified address (the room is the
// subject, and e.signUp's accounts are not verified).
func (e *env) roomEvent(set waitingroom.Settings) (string, []string) {
	e.t.Helper()
	ev, seats := e.event(1, 2, 5)
	id, _ := strconv.ParseInt(ev, 10, 64)
	set.Enabled = true
	if set.RequireVerifiedEmail == nil {
		set.RequireVerifiedEmail = new(false)
	}
	if err := e.queue.Configure(context.Background(), id, set); err != nil {
		e.t.Fatal(err)
	}
	return ev, seats
}

func eventID(t testing.TB, ev string) int64 {
	id, err := strconv.ParseInt(ev, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// solvedJoin fetches a challenge, solves it and returns the join body.
func (e *env) solvedJoin(ev, token string) map[string]string {
	e.t.Helper()
	r := e.do("GET", "/api/events/"+ev+"/queue/challenge", token, nil)
	if r.status != 200 {
		e.t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	var c waitingroom.Challenge
	r.json(e.t, &c)
	nonce, err := waitingroom.Solve(context.Background(), c.Challenge, c.Difficulty)
	if err != nil {
		e.t.Fatal(err)
	}
	return map[string]string{"challenge": c.Challenge, "signature": c.Signature, "solution": nonce}
}

// TestHoldsNeedAdmission walks a fan through the waiting room over HTTP
// and checks that holds refuse a missing, expired, forged, other-event or
// other-account token with 403 not_admitted.
func TestHoldsNeedAdmission(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	ev, seats := e.roomEvent(waitingroom.Settings{AdmitPerMinute: 6000, PowDifficulty: 6})
	otherEv, _ := e.roomEvent(waitingroom.Settings{PowDifficulty: 6})
	freeEv, freeSeats := e.event(1, 1, 2) // no waiting room
	idStr, fan := e.signUp("fan")
	_, rival := e.signUp("rival")
	acct, _ := strconv.ParseInt(idStr, 10, 64)
	hold := func(ev, token, admission string, seat string) resp {
		return e.do("POST", "/api/events/"+ev+"/holds", token, map[string]any{"seat_ids": []string{seat}}, "X-Admission-Token", admission)
	}
	if r := hold(freeEv, fan, "", freeSeats[0]); r.status != 201 {
		t.Fatalf("hold without a waiting room: %d %s", r.status, r.body)
	}

	r := e.do("GET", "/api/events/"+ev+"/queue/fairness", "", nil)
	var fair waitingroom.Fairness
	r.json(t, &fair)
	if r.status != 200 || len(fair.SeedCommitment) != 64 {
		t.Fatalf("fairness: %d %s", r.status, r.body)
	}

	// Join; the proof of work is single use and must be right.
	body := e.solvedJoin(ev, fan)
	wrong := map[string]string{"challenge": body["challenge"], "signature": body["signature"], "solution": body["solution"] + "0"}
	if waitingroom.LeadingZeroBits(wrong["challenge"], wrong["solution"]) < 6 {
		if r := e.do("POST", "/api/events/"+ev+"/queue", fan, wrong); r.status != 422 || r.errCode(t) != "pow_wrong" {
			t.Errorf("wrong solution: %d %s", r.status, r.body)
		}
	}
	r = e.do("POST", "/api/events/"+ev+"/queue", fan, body)
	var st waitingroom.Status
	r.json(t, &st)
	if r.status != 201 || st.State != "prequeue" && st.State != "waiting" {
		t.Fatalf("join: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/events/"+ev+"/queue", fan, body); r.status != 409 || r.errCode(t) != "pow_replayed" {
		t.Errorf("replayed: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/events/"+ev+"/queue", fan, map[string]string{"challenge": "x"}); r.status != 422 {
		t.Errorf("incomplete body: %d %s", r.status, r.body)
	}

	for _, tc := range []struct{ name, token string }{
		{"no token", ""},
		{"expired", mint(t, e.queue, acct, eventID(t, ev), time.Now().Add(-time.Second))},
		{"forged", mint(t, waitingroom.New(nil, nil, nil, nil, waitingroom.Config{SecretKey: []byte("forger-forger-forger-forger-forger")}), acct, eventID(t, ev), time.Now().Add(time.Minute))},
		{"other event", mint(t, e.queue, acct, eventID(t, otherEv), time.Now().Add(time.Minute))},
		{"other account", mint(t, e.queue, acct+1000, eventID(t, ev), time.Now().Add(time.Minute))},
		{"garbage", "eyJhbGciOiJub25lIn0.e30."},
	} {
		if r := hold(ev, fan, tc.token, seats[0]); r.status != 403 || r.errCode(t) != "not_admitted" {
			t.Errorf("hold with %s token: %d %s, want 403 not_admitted", tc.name, r.status, r.body)
		}
	}

	// The admitter lets the fan in; /queue/me hands over the token.
	if _, err := e.queue.NewAdmitter(eventID(t, ev)).Step(ctx); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/api/events/"+ev+"/queue/me", fan, nil)
	r.json(t, &st)
	if r.status != 200 || st.State != "admitted" || st.AdmissionToken == "" || st.AdmissionExpiresAt == nil {
		t.Fatalf("me after admission: %d %s", r.status, r.body)
	}
	if r := hold(ev, rival, st.AdmissionToken, seats[1]); r.status != 403 {
		t.Errorf("another account using the fan's token: %d %s", r.status, r.body)
	}
	if r := hold(otherEv, fan, st.AdmissionToken, seats[1]); r.status != 403 {
		t.Errorf("the token on another event: %d %s", r.status, r.body)
	}
	hr := hold(ev, fan, st.AdmissionToken, seats[0])
	if hr.status != 201 {
		t.Fatalf("hold with the admission token: %d %s", hr.status, hr.body)
	}
	// Paying ends the admission, so the active-shopper count falls before
	// the token would expire.
	var held struct{ ID string }
	hr.json(t, &held)
	var co struct{ Payment struct{ ID string } }
	e.do("POST", "/api/holds/"+held.ID+"/checkout", fan, map[string]any{}).json(t, &co)
	if r := e.do("POST", "/api/payments/"+co.Payment.ID+"/confirm", fan, map[string]string{"card_number": "4242424242424242"}); r.status != 200 || !strings.Contains(string(r.body), "order_id") {
		t.Fatalf("pay: %d %s", r.status, r.body)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		me, err := e.queue.Me(ctx, eventID(t, ev), acct)
		if err == nil && me.State != "admitted" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the purchase the fan is still %q (%v): the admission was not released", me.State, err)
		}
	}
	// The hold fed the review signals: a purchase paid a second later is
	// faster than a human.
	reasons, err := e.queue.Review(ctx, eventID(t, ev), acct, time.Now(), time.Now().Add(time.Second))
	if err != nil || len(reasons) != 2 || reasons[0] != waitingroom.ReasonJoinToHold || reasons[1] != waitingroom.ReasonHoldToPay {
		t.Errorf("review reasons %v %v, want join-to-hold and hold-to-pay too fast", reasons, err)
	}
	if r := e.do("GET", "/api/events/"+ev+"/queue/me", rival, nil); r.status != 404 || r.errCode(t) != "not_in_queue" {
		t.Errorf("me of a fan who never joined: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/events/"+ev+"/queue/fairness", "", nil)
	r.json(t, &fair)
	if _, err := fairdraw.ParseSeed(fair.Seed, "", fair.SeedCommitment); err != nil {
		t.Errorf("seed after the open: %v (%s)", err, r.body)
	}
}

// TestQueueProof: an admin fixes the beacon before the first join (a fan
// may not), the proof is public, the fans' join answers carry their proof
// hashes, the beacon is refused once a fan joined, and after the open the
// published proof verifies and numbers each fan as /queue/me says.
func TestQueueProof(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	ev, _ := e.roomEvent(waitingroom.Settings{PowDifficulty: 1})
	admin := e.admin()
	beacon := func(token string, body any) resp {
		return e.do("PUT", "/api/admin/events/"+ev+"/queue/beacon", token, body)
	}
	var fans []string
	for i := range 5 {
		_, tok := e.signUp(fmt.Sprint("fan", i))
		fans = append(fans, tok)
	}
	if r := beacon(fans[0], map[string]string{"beacon": "mine"}); r.status != 403 {
		t.Errorf("a fan setting the beacon: %d %s", r.status, r.body)
	}
	for _, body := range []any{map[string]string{}, map[string]any{"beacon": 7}, map[string]string{"beacon": "x", "seed": "y"},
		map[string]string{"beacon": "line\nbreak\n"}, map[string]string{"beacon": strings.Repeat("b", 513)}} {
		if r := beacon(admin, body); r.status/100 != 4 {
			t.Errorf("beacon body %v: %d %s, want a 4xx", body, r.status, r.body)
		}
	}
	r := beacon(admin, map[string]string{"beacon": "lottery draw of 6 December"})
	var before waitingroom.QueueProof
	r.json(t, &before)
	if r.status != 200 || before.Beacon != "lottery draw of 6 December" || before.Seed != "" || before.EventID != ev {
		t.Fatalf("set beacon: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/events/"+ev+"/queue/proof", "", nil); r.status != 200 || !strings.Contains(string(r.body), before.SeedCommitment) {
		t.Errorf("public proof before the sale: %d %s", r.status, r.body)
	}
	hashes := map[string]string{}
	for _, tok := range fans {
		var st waitingroom.Status
		r := e.do("POST", "/api/events/"+ev+"/queue", tok, e.solvedJoin(ev, tok))
		r.json(t, &st)
		if r.status != 201 || len(st.ProofHash) != 64 {
			t.Fatalf("join: %d %s", r.status, r.body)
		}
		hashes[tok] = st.ProofHash
	}
	if r := beacon(admin, map[string]string{"beacon": "a better beacon"}); r.status != 409 || r.errCode(t) != "beacon_fixed" {
		t.Errorf("beacon after a join: %d %s", r.status, r.body)
	}
	if _, err := e.queue.NewAdmitter(eventID(t, ev)).Step(ctx); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/api/events/"+ev+"/queue/proof", "", nil)
	var proof waitingroom.QueueProof
	r.json(t, &proof)
	if r.status != 200 || proof.SeedCommitment != before.SeedCommitment || len(proof.Order) != len(fans) {
		t.Fatalf("proof after the open: %d %s", r.status, r.body)
	}
	if _, err := proof.Verify(); err != nil {
		t.Errorf("the published proof: %v", err)
	}
	for _, tok := range fans {
		var st waitingroom.Status
		e.do("GET", "/api/events/"+ev+"/queue/me", tok, nil).json(t, &st)
		if st.Number < 1 || int(st.Number) > len(proof.Order) || proof.Order[st.Number-1] != hashes[tok] {
			t.Errorf("fan with hash %.8s has number %d, the proof says otherwise", hashes[tok], st.Number)
		}
	}
	if r := e.do("GET", "/api/events/999999999/queue/proof", "", nil); r.status != 404 {
		t.Errorf("proof of no event: %d %s", r.status, r.body)
	}
}

func mint(t testing.TB, q *waitingroom.Service, acct, ev int64, exp time.Time) string {
	t.Helper()
	tok, err := q.MintToken(acct, ev, exp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestQueueSettingsNeedAdmin: PUT .../queue is for admins and validates.
func TestQueueSettingsNeedAdmin(t *testing.T) {
	e := newEnv(t, envOpts{})
	ev, _ := e.event(1, 1, 2)
	_, fan := e.signUp("fan")
	if r := e.do("PUT", "/api/admin/events/"+ev+"/queue", fan, map[string]any{"enabled": true}); r.status != 403 {
		t.Errorf("fan configuring the queue: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/events/"+ev+"/queue/challenge", fan, nil); r.status != 409 || r.errCode(t) != "waiting_room_off" {
		t.Errorf("challenge without a room: %d %s", r.status, r.body)
	}
}

// TestRateLimitSharedByTwoNodes: two servers (two nodes, each with its own
// Redis client) share one budget; past it both answer 429 with Retry-After.
func TestRateLimitSharedByTwoNodes(t *testing.T) {
	limits := server.DefaultRateLimits()
	limits[server.LimitChallenge] = server.RouteLimits{PerIP: server.Rate{N: 1, Per: time.Minute, Burst: 6}}
	shared := "rl" + fmt.Sprint(time.Now().UnixNano()) + ":"
	a := newEnv(t, envOpts{limits: limits, limitPrefix: shared})
	b := newEnv(t, envOpts{limits: limits, limitPrefix: shared})
	ev, _ := a.roomEvent(waitingroom.Settings{PowDifficulty: 1})
	_, fan := a.signUp("fan")
	var mu sync.Mutex
	ok, limited := 0, 0
	var wg sync.WaitGroup
	for i := range 20 {
		node := a
		if i%2 == 1 {
			node = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := node.do("GET", "/api/events/"+ev+"/queue/challenge", fan, nil)
			mu.Lock()
			defer mu.Unlock()
			switch r.status {
			case 200:
				ok++
			case 429:
				limited++
				if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
					t.Errorf("429 without a Retry-After in seconds: %q", r.header.Get("Retry-After"))
				}
			default:
				t.Errorf("status %d %s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	if ok != 6 || limited != 14 {
		t.Errorf("%d allowed and %d limited across two nodes, want 6 (the burst) and 14", ok, limited)
	}
}

func TestParseRateLimits(t *testing.T) {
	got, err := server.ParseRateLimits("holds.ip=1200/m:300, join.account=5/s")
	if err != nil {
		t.Fatal(err)
	}
	if h := got[server.LimitHolds].PerIP; h != (server.Rate{N: 1200, Per: time.Minute, Burst: 300}) {
		t.Errorf("holds.ip %v", h)
	}
	if j := got[server.LimitJoin].PerAccount; j != (server.Rate{N: 5, Per: time.Second, Burst: 5}) {
		t.Errorf("join.account %v", j)
	}
	if got[server.LimitCheckout] != server.DefaultRateLimits()[server.LimitCheckout] {
		t.Error("an unnamed route lost its default")
	}
	if off, err := server.ParseRateLimits("off"); off != nil || err != nil {
		t.Errorf("off: %v %v", off, err)
	}
	for _, bad := range []string{"holds=1/m", "seats.ip=1/m", "holds.ip=1/d", "holds.ip=x/m", "holds.ip=1/m:0", "holds.user=1/m"} {
		if _, err := server.ParseRateLimits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRateLimitPerClientBehindProxy: behind a trusted proxy each fan has
// its own per-IP budget (X-Real-IP); from anyone else the header is ignored.
func TestRateLimitPerClientBehindProxy(t *testing.T) {
	limits := server.DefaultRateLimits()
	limits[server.LimitChallenge] = server.RouteLimits{PerIP: server.Rate{N: 1, Per: time.Minute, Burst: 2}}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		want    []int
	}{
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, []int{200, 200, 429, 200}},
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []int{200, 200, 429, 429}},
	} {
		e := newEnv(t, envOpts{limits: limits, trustedProxies: tc.trusted})
		ev, _ := e.roomEvent(waitingroom.Settings{PowDifficulty: 1})
		_, fan := e.signUp("fan")
		for i, ip := range []string{"203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"} {
			if r := e.do("GET", "/api/events/"+ev+"/queue/challenge", fan, nil, "X-Real-IP", ip); r.status != tc.want[i] {
				t.Errorf("%s: request %d from %s: %d, want %d", tc.name, i, ip, r.status, tc.want[i])
			}
		}
	}
}

// TestQueuePartialUpdate: PUT .../queue with some fields changes those
// fields only. A live attack sent {"admit_per_minute": N} alone and the
// room switched off mid-sale, its other settings reset to defaults.
func TestQueuePartialUpdate(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, _ := e.roomEvent(waitingroom.Settings{AdmitPerMinute: 6000, ActiveLimit: 50, PowDifficulty: 6, AdmissionTTLSeconds: 120})
	put := func(body any) waitingroom.Settings {
		t.Helper()
		r := e.do("PUT", "/api/admin/events/"+ev+"/queue", admin, body)
		if r.status != 200 {
			t.Fatalf("PUT %v: %d %s", body, r.status, r.body)
		}
		var got waitingroom.Settings
		r.json(t, &got)
		return got
	}
	got := put(map[string]any{"admit_per_minute": 1200})
	want := waitingroom.Settings{Enabled: true, AdmitPerMinute: 1200, ActiveLimit: 50, PowDifficulty: 6, AdmissionTTLSeconds: 120,
		RequireVerifiedEmail: new(false)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after admit_per_minute only: got %+v, want %+v", got, want)
	}
	stored, err := e.queue.Settings(context.Background(), eventID(t, ev))
	if err != nil || !reflect.DeepEqual(stored, want) {
		t.Errorf("stored %+v %v, want %+v", stored, err, want)
	}
	got = put(map[string]any{"paused": true})
	want.Paused = true
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after paused only: got %+v, want %+v", got, want)
	}
	// Naming a field switches it, off included.
	got = put(map[string]any{"enabled": false, "paused": false})
	want.Enabled, want.Paused = false, false
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after enabled false: got %+v, want %+v", got, want)
	}
	// Bad values and unknown fields change nothing.
	for _, body := range []any{map[string]any{"admit_per_minute": -1}, map[string]any{"admit_per_minute": "fast"},
		map[string]any{"enabled": true, "bogus": 1}, map[string]any{"enabled": nil}} {
		if r := e.do("PUT", "/api/admin/events/"+ev+"/queue", admin, body); r.status < 400 || r.status >= 500 {
			t.Errorf("PUT %v: %d %s, want a 4xx", body, r.status, r.body)
		}
	}
	if stored, _ := e.queue.Settings(context.Background(), eventID(t, ev)); !reflect.DeepEqual(stored, want) {
		t.Errorf("after refused updates: %+v, want %+v", stored, want)
	}
}
