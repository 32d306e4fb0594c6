package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// TestVerifyQueue runs `boxoffice verify-queue` against the real app: fans
// join an upcoming sale's pre-queue over HTTP, the command says there is
// nothing to verify yet, the sale opens (the app's own admitter draws),
// and the command prints OK and a fan's number. Then it checks a tampered
// copy of the same proof (two numbers swapped) and answers clearly for a
// wrong event, an unreachable server and bad arguments.
func TestVerifyQueue(t *testing.T) {
	getenv, app, base := testApp(t)
	ctx := context.Background()
	// An upcoming sale with its waiting room on.
	id := oneSeatEvent(t, app, "verify", time.Hour, json.RawMessage(`{"enabled": true, "pow_difficulty": 1}`))
	event := fmt.Sprint(id)
	verify := func(args ...string) (int, string) {
		var out, errs bytes.Buffer
		code := run(ctx, append([]string{"verify-queue"}, args...), getenv, &out, &errs)
		return code, out.String() + errs.String()
	}
	var hashes []string
	for i := range 4 {
		var acct struct{ Token string }
		call(t, "POST", base+"/api/accounts", "", map[string]string{"email": "verify-" + testkit.RandomHex(5) + "@example.test",
			"password": "correct horse", "name": "fan"}, 201, &acct)
		var ch waitingroom.Challenge
		call(t, "GET", base+"/api/events/"+event+"/queue/challenge", acct.Token, nil, 200, &ch)
		nonce, err := waitingroom.Solve(ctx, ch.Challenge, ch.Difficulty)
		if err != nil {
			t.Fatal(err)
		}
		var st waitingroom.Status
		call(t, "POST", base+"/api/events/"+event+"/queue", acct.Token,
			map[string]string{"challenge": ch.Challenge, "signature": ch.Signature, "solution": nonce}, 201, &st)
		if st.State != waitingroom.StatePrequeue {
			t.Fatalf("fan %d joined as %+v, want the pre-queue", i, st)
		}
		hashes = append(hashes, st.ProofHash)
	}
	if code, out := verify(event, "-url", base); code != 1 || !strings.Contains(out, "nothing to verify yet") || !strings.Contains(out, "commitment") {
		t.Errorf("before the sale: exit %d\n%s", code, out)
	}

	if _, err := app.DB.Exec(ctx, `UPDATE events SET sale_opens = now() - interval '1 second' WHERE id = $1`, event); err != nil {
		t.Fatal(err)
	}
	var proof waitingroom.QueueProof
	waitFor(t, "the app to draw the pre-queue", 30*time.Second, func() bool {
		proof = waitingroom.QueueProof{}
		call(t, "GET", base+"/api/events/"+event+"/queue/proof", "", nil, 200, &proof)
		return proof.Seed != ""
	})
	code, out := verify("-url", base+"/", event, "-hash", hashes[2])
	t.Logf("verify-queue:\n%s", out)
	if code != 0 || !strings.Contains(out, "OK: ") || !strings.Contains(out, "4 pre-queued fans") || !strings.Contains(out, " is number ") {
		t.Errorf("after the sale opened: exit %d\n%s", code, out)
	}
	if code, out := verify(event, "-url", base, "-hash", strings.Repeat("0", 64)); code != 1 || !strings.Contains(out, "not in this pre-queue") {
		t.Errorf("a hash that is not there: exit %d\n%s", code, out)
	}

	// A server that publishes the same proof with numbers 1 and 2 swapped.
	tampered := proof
	tampered.Order = append([]string(nil), proof.Order...)
	tampered.Order[0], tampered.Order[1] = tampered.Order[1], tampered.Order[0]
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/events/"+event+"/queue/proof" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"event_not_found","message":"no such event"}}`))
			return
		}
		_ = json.NewEncoder(w).Encode(tampered)
	}))
	defer liar.Close()
	if code, out := verify(event, "-url", liar.URL); code != 1 || !strings.Contains(out, "DIFFERS: number 1 is") || !strings.Contains(out, "2 of 4 numbers differ") {
		t.Errorf("a tampered order: exit %d\n%s", code, out)
	}
	if code, out := verify("999999", "-url", liar.URL); code != 1 || !strings.Contains(out, "no such event (event_not_found)") {
		t.Errorf("an unknown event: exit %d\n%s", code, out)
	}
	if code, out := verify(event, "-url", "http://127.0.0.1:1", "-timeout", "2s"); code != 1 || !strings.Contains(out, "is the server running") {
		t.Errorf("nothing listening: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{}, {"abc"}, {event, "extra"}, {event, "-url", "ftp://x"}, {event, "-frob"}} {
		if code, out := verify(args...); code != 2 || !strings.Contains(out, "Usage") && !strings.Contains(out, "verify-queue:") {
			t.Errorf("verify-queue %q: exit %d, want 2 with help\n%s", args, code, out)
		}
	}
}

// oneSeatEvent makes an upcoming event of one seat on a new venue, its
// sale opening after saleIn, for the verify commands' tests.
func oneSeatEvent(t *testing.T, app *App, name string, saleIn time.Duration, room json.RawMessage) int64 {
	t.Helper()
	ctx := context.Background()
	l := seatmap.Layout{Sections: []seatmap.Section{{ID: "A", Name: "A", Tier: "t"}},
		Seats: []seatmap.SeatSpec{{Section: "A", Row: "1", Number: 1, Type: seatmap.SeatStandard, Rank: 1}}}
	v, err := app.Seats.CreateVenue(ctx, name+" "+testkit.RandomHex(3), l)
	if err != nil {
		t.Fatal(err)
	}
	id, err := app.Seats.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: name, EventDate: time.Now().Add(24 * time.Hour),
		SaleOpens: time.Now().Add(saleIn), Prices: map[string]int64{"default": 1000}, WaitingRoom: room})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
