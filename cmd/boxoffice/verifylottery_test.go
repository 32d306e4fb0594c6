package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/presale"
)

// TestVerifyLottery runs `boxoffice verify-lottery` against the real app:
// before the draw it says there is nothing to verify; after the draw it
// prints OK and whether a fan's hash won; against a server publishing the
// same lottery with two winners swapped, or one registrant replaced, it
// says DIFFERS and exits 1.
func TestVerifyLottery(t *testing.T) {
	getenv, app, base := testApp(t)
	ctx := context.Background()
	id := oneSeatEvent(t, app, "lottery", 3*time.Hour, nil)
	w, err := app.Presales.Create(ctx, id, presale.Spec{Name: "Lottery winners", StartsAt: time.Now(), EndsAt: time.Now().Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Presales.CreateLottery(ctx, id, presale.LotterySpec{PresaleID: w.ID, Target: 3,
		ClosesAt: time.Now().Add(time.Hour), DrawsAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for range 7 {
		var acct struct{ ID string }
		call(t, "POST", base+"/api/accounts", "", map[string]string{"email": "lottery-" + testkit.RandomHex(5) + "@example.test",
			"password": "correct horse", "name": "fan"}, 201, &acct)
		accountID, _ := strconv.ParseInt(acct.ID, 10, 64)
		reg, _, err := app.Presales.Register(ctx, id, accountID)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, reg.Hash)
	}
	event := fmt.Sprint(id)
	verify := func(args ...string) (int, string) {
		var out, errs bytes.Buffer
		code := run(ctx, append([]string{"verify-lottery"}, args...), getenv, &out, &errs)
		return code, out.String() + errs.String()
	}
	if code, out := verify(event, "-url", base); code != 1 || !strings.Contains(out, "nothing to verify yet") || !strings.Contains(out, "7 registered") {
		t.Errorf("before the draw: exit %d\n%s", code, out)
	}

	if _, err := app.DB.Exec(ctx, `UPDATE lotteries SET closes_at = now() - interval '1 second', draws_at = now() - interval '1 second'
		WHERE event_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := app.Presales.RunDraw(ctx, id); err != nil {
		t.Fatal(err)
	}
	lottery, err := app.Presales.Lottery(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	won, lost := -1, -1
	for i, h := range hashes {
		if strings.Contains(strings.Join(lottery.Winners, " "), h) {
			won = i
		} else {
			lost = i
		}
	}
	code, out := verify("-url", base+"/", event, "-hash", hashes[won])
	t.Logf("verify-lottery:\n%s", out)
	if code != 0 || !strings.Contains(out, "OK: ") || !strings.Contains(out, "3 published winners among 7 registrants") || !strings.Contains(out, " won: drawn number ") {
		t.Errorf("after the draw: exit %d\n%s", code, out)
	}
	if code, out := verify(event, "-url", base, "-hash", hashes[lost]); code != 0 || !strings.Contains(out, "registered and not drawn") {
		t.Errorf("a fan not drawn: exit %d\n%s", code, out)
	}
	if code, out := verify(event, "-url", base, "-hash", strings.Repeat("0", 64)); code != 1 || !strings.Contains(out, "not among this lottery's registrants") {
		t.Errorf("a hash that is not there: exit %d\n%s", code, out)
	}

	// A server that publishes the lottery changed.
	var served presale.Lottery
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(served)
	}))
	defer liar.Close()
	for name, change := range map[string]func(l *presale.Lottery){
		"two winners swapped":     func(l *presale.Lottery) { l.Winners[0], l.Winners[1] = l.Winners[1], l.Winners[0] },
		"one registrant replaced": func(l *presale.Lottery) { l.Registrants[3] = strings.Repeat("ab", 32) },
		"target changed":          func(l *presale.Lottery) { l.Target = 4 },
	} {
		served = lottery
		served.Winners = append([]string(nil), lottery.Winners...)
		served.Registrants = append([]string(nil), lottery.Registrants...)
		change(&served)
		if code, out := verify(event, "-url", liar.URL); code != 1 || !strings.Contains(out, "DIFFERS: ") {
			t.Errorf("%s: exit %d\n%s", name, code, out)
		}
	}
	for _, args := range [][]string{{}, {"abc"}, {event, "extra"}, {event, "-url", "ftp://x"}} {
		if code, out := verify(args...); code != 2 || !strings.Contains(out, "Usage") && !strings.Contains(out, "verify-lottery:") {
			t.Errorf("verify-lottery %q: exit %d, want 2 with help\n%s", args, code, out)
		}
	}
}
