package server_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// presaleEvent makes an event whose general sale opens in an hour, over
// two sections S1 and S2 of rows×10 seats; it returns the event and its
// seat ids by section.
func (e *env) presaleEvent(rows int) (string, map[string][]string) {
	e.t.Helper()
	ev, _ := e.event(2, rows, 10)
	id, _ := strconv.ParseInt(ev, 10, 64)
	if _, err := e.pool.Exec(context.Background(), `UPDATE events SET sale_opens = now() + interval '1 hour' WHERE id = $1`, id); err != nil {
		e.t.Fatal(err)
	}
	e.seats.ForgetEvent(id)
	var m struct {
		Seats []struct {
			ID      string `json:"id"`
			Section string `json:"section"`
		} `json:"seats"`
	}
	e.do("GET", "/api/events/"+ev+"/seatmap", "", nil).json(e.t, &m)
	bySection := map[string][]string{}
	for _, s := range m.Seats {
		bySection[s.Section] = append(bySection[s.Section], s.ID)
	}
	return ev, bySection
}

// presaleWindow is a window as the admin routes answer it.
type presaleWindow struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	SharedCode string `json:"shared_code"`
	Codes      int    `json:"codes"`
	Redeemed   int    `json:"redeemed"`
	Admitted   int    `json:"admitted"`
	HasAccess  bool   `json:"has_access"`
}

// createWindow creates a presale window from offsets to now.
func (e *env) createWindow(admin, ev string, from, to time.Duration, extra map[string]any) presaleWindow {
	e.t.Helper()
	body := map[string]any{"name": "Fan club", "starts_at": time.Now().Add(from).Format(time.RFC3339Nano),
		"ends_at": time.Now().Add(to).Format(time.RFC3339Nano)}
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("POST", "/api/admin/events/"+ev+"/presales", admin, body)
	if r.status != 201 {
		e.t.Fatalf("create presale: %d %s", r.status, r.body)
	}
	var w presaleWindow
	r.json(e.t, &w)
	return w
}

// presaleCodes generates n single-use codes for a window and returns the CSV
// export's rows (header first).
func (e *env) presaleCodes(admin, presale string, n int) [][]string {
	e.t.Helper()
	if r := e.do("POST", "/api/admin/presales/"+presale+"/codes", admin, map[string]any{"count": n}); r.status != 201 {
		e.t.Fatalf("generate codes: %d %s", r.status, r.body)
	}
	return e.codesCSV(admin, presale)
}

func (e *env) codesCSV(admin, presale string) [][]string {
	e.t.Helper()
	r := e.do("GET", "/api/admin/presales/"+presale+"/codes", admin, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		e.t.Fatalf("export codes: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func seatsBody(seats ...string) map[string]any { return map[string]any{"seat_ids": seats} }

// TestPresaleSingleUseCodeRace: 100 fans hold at once with one single-use
// code; exactly one gets seats, the others are told the code is used, and
// the winner may use the code again.
func TestPresaleSingleUseCodeRace(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, seats := e.presaleEvent(6) // 60 seats a section
	w := e.createWindow(admin, ev, -time.Minute, time.Hour, nil)
	rows := e.presaleCodes(admin, w.ID, 1)
	if len(rows) != 2 {
		t.Fatalf("csv rows = %d, want header + 1", len(rows))
	}
	code := rows[1][0]

	const fans = 100
	all := append(append([]string{}, seats["S1"]...), seats["S2"]...)
	ids, tokens := make([]string, fans), make([]string, fans)
	for i := range fans {
		ids[i], tokens[i] = e.signUp(fmt.Sprint("fan", i))
	}
	statuses := make([]int, fans)
	codes := make([]string, fans)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range fans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := e.do("POST", "/api/events/"+ev+"/holds", tokens[i], seatsBody(all[i]), server.HeaderAccessCode, code)
			statuses[i] = r.status
			if r.status != 201 {
				codes[i] = r.errCode(t)
			}
		}()
	}
	close(start)
	wg.Wait()
	winner, got := -1, map[string]int{}
	for i := range fans {
		if statuses[i] == 201 {
			got["201"]++
			winner = i
		} else {
			got[fmt.Sprint(statuses[i], " ", codes[i])]++
		}
	}
	if want := map[string]int{"201": 1, "409 access_code_used": fans - 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes = %v, want %v", got, want)
	}
	// The winner keeps the code: another hold with it (and one without
	// it: the account is let in) succeed.
	if r := e.do("POST", "/api/events/"+ev+"/holds", tokens[winner], seatsBody(all[fans]), server.HeaderAccessCode,
		strings.ToLower(code)); r.status != 201 {
		t.Fatalf("winner again with the code: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/events/"+ev+"/holds", tokens[winner], seatsBody(all[fans+1])); r.status != 201 {
		t.Fatalf("winner again without the code: %d %s", r.status, r.body)
	}
	rows = e.codesCSV(admin, w.ID)
	if rows[1][1] != ids[winner] || rows[1][2] == "" {
		t.Errorf("csv row = %v, want redeemed by %s with a time", rows[1], ids[winner])
	}
	var list []presaleWindow
	e.do("GET", "/api/admin/events/"+ev+"/presales", admin, nil).json(t, &list)
	if len(list) != 1 || list[0].Codes != 1 || list[0].Redeemed != 1 || list[0].Admitted != 1 || list[0].State != "open" {
		t.Errorf("admin list = %+v, want one open window, 1 code redeemed, 1 admitted", list)
	}
}

// TestPresaleWindowsAndCodes: a code works only in its window; wrong,
// early and late codes get their own errors; outside any window holds are
// refused as before the sale; a fan let into a window holds without a
// code again.
func TestPresaleWindowsAndCodes(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, seats := e.presaleEvent(2)
	_, fan := e.signUp("fan")
	hold := func(token, seat, code string) resp {
		t.Helper()
		if code == "" {
			return e.do("POST", "/api/events/"+ev+"/holds", token, seatsBody(seat))
		}
		return e.do("POST", "/api/events/"+ev+"/holds", token, seatsBody(seat), server.HeaderAccessCode, code)
	}
	s1 := seats["S1"]

	// No window at all: as before presales.
	if r := hold(fan, s1[0], ""); r.status != 409 || r.errCode(t) != "not_on_sale" {
		t.Fatalf("no window: %d %s", r.status, r.body)
	}
	early := e.createWindow(admin, ev, 30*time.Minute, 50*time.Minute, map[string]any{"shared_code": "later-2026"})
	late := e.createWindow(admin, ev, -time.Hour, -time.Minute, map[string]any{"shared_code": "GONE2026"})
	if early.State != "upcoming" || late.State != "ended" || early.SharedCode != "LATER2026" {
		t.Fatalf("windows: %+v %+v", early, late)
	}
	for _, c := range []struct{ code, status, err string }{
		{"later-2026", "409", "presale_not_open"},
		{"gone2026", "410", "access_code_expired"},
		{"NOPE-NOPE", "403", "access_code_invalid"},
		{"x", "403", "access_code_invalid"},
		{"", "409", "not_on_sale"},
	} {
		r := hold(fan, s1[0], c.code)
		if got := fmt.Sprint(r.status, " ", r.errCode(t)); got != c.status+" "+c.err {
			t.Errorf("hold with %q: %s, want %s %s", c.code, got, c.status, c.err)
		}
		// The code entered alone answers the same.
		if c.code != "" {
			r = e.do("POST", "/api/events/"+ev+"/presales/access", fan, map[string]string{"code": c.code})
			if got := fmt.Sprint(r.status, " ", r.errCode(t)); got != c.status+" "+c.err {
				t.Errorf("enter %q: %s, want %s %s", c.code, got, c.status, c.err)
			}
		}
	}
	// A code of another event is no code here.
	other, _ := e.presaleEvent(1)
	e.createWindow(admin, other, -time.Minute, time.Hour, map[string]any{"shared_code": "OTHER2026"})
	if r := hold(fan, s1[0], "OTHER2026"); r.status != 403 || r.errCode(t) != "access_code_invalid" {
		t.Errorf("other event's code: %d %s", r.status, r.body)
	}

	// An open window with the waiting room on: a fan without a code is
	// told to enter one; with it, no admission token is needed.
	e.createWindow(admin, ev, -time.Minute, time.Hour, map[string]any{"shared_code": "NOW2026"})
	// (Its accounts are not verified, which a room asks by default.)
	if r := e.do("PUT", "/api/admin/events/"+ev+"/queue", admin, map[string]any{"enabled": true,
		"require_verified_email": false}); r.status != 200 {
		t.Fatalf("room on: %d %s", r.status, r.body)
	}
	if r := hold(fan, s1[0], ""); r.status != 403 || r.errCode(t) != "access_code_required" {
		t.Errorf("open window, no code: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/events/"+ev+"/presales/access", fan, map[string]string{"code": "now 2026"})
	if r.status != 200 {
		t.Fatalf("enter code: %d %s", r.status, r.body)
	}
	// With the room on, the window's fans queue in the window's own room
	// (TestPresaleWaitingRoom): no token of it, no hold.
	if r := hold(fan, s1[0], ""); r.status != 403 || r.errCode(t) != "not_admitted" {
		t.Fatalf("let in, room on, not admitted: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/admin/events/"+ev+"/queue", admin, map[string]any{"enabled": false}); r.status != 200 {
		t.Fatalf("room off: %d %s", r.status, r.body)
	}
	if r := hold(fan, s1[0], ""); r.status != 201 {
		t.Fatalf("let in, room off: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/admin/events/"+ev+"/queue", admin, map[string]any{"enabled": true}); r.status != 200 {
		t.Fatalf("room on again: %d %s", r.status, r.body)
	}
	var list []presaleWindow
	e.do("GET", "/api/events/"+ev+"/presales", fan, nil).json(t, &list)
	var states []string
	for _, w := range list {
		states = append(states, fmt.Sprint(w.State, " ", w.HasAccess, " ", w.SharedCode))
	}
	if got, want := strings.Join(states, ","), "ended false ,open true ,upcoming false "; got != want {
		t.Errorf("fan list = %q, want %q (no codes shown)", got, want)
	}

	// Once the general sale opens, presales no longer matter: a fan
	// without any code is only asked for the room's token.
	id, _ := strconv.ParseInt(ev, 10, 64)
	if _, err := e.pool.Exec(context.Background(), `UPDATE events SET sale_opens = now() - interval '1 second' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	e.seats.ForgetEvent(id)
	_, fan2 := e.signUp("fan2")
	if r := hold(fan2, s1[1], ""); r.status != 403 || r.errCode(t) != "not_admitted" {
		t.Errorf("general sale, room on: %d %s", r.status, r.body)
	}
}

// TestPresaleInventoryAndLimit: a window sells only its sections, and no
// account takes more than the window's per-account limit.
func TestPresaleInventoryAndLimit(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, seats := e.presaleEvent(2)
	e.createWindow(admin, ev, -time.Minute, time.Hour,
		map[string]any{"sections": []string{"S1"}, "max_seats_per_account": 2, "shared_code": "CLUB2026"})
	_, fan := e.signUp("fan")
	code := []string{server.HeaderAccessCode, "CLUB2026"}
	post := func(body any) resp {
		return e.do("POST", "/api/events/"+ev+"/holds", fan, body, code...)
	}
	s1, s2 := seats["S1"], seats["S2"]
	for _, c := range []struct {
		name string
		body any
		want string
	}{
		{"other section", seatsBody(s2[0]), "422 presale_section"},
		{"mixed sections", seatsBody(s1[0], s2[0]), "422 presale_section"},
		{"best in other section", map[string]any{"best_available": map[string]any{"quantity": 1, "section": "S2"}}, "422 presale_section"},
		{"over the window's limit", seatsBody(s1[0], s1[1], s1[2]), "422 invalid_seat_count"},
	} {
		r := post(c.body)
		if got := fmt.Sprint(r.status, " ", r.errCode(t)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	// Best available without a section takes the window's only one.
	r := post(map[string]any{"best_available": map[string]any{"quantity": 1}})
	var h struct {
		Seats []struct{ Section string } `json:"seats"`
	}
	r.json(t, &h)
	if r.status != 201 || len(h.Seats) != 1 || h.Seats[0].Section != "S1" {
		t.Fatalf("best available: %d %s", r.status, r.body)
	}
	if r := post(seatsBody(s1[5])); r.status != 201 {
		t.Fatalf("second seat: %d %s", r.status, r.body)
	}
	if r := post(seatsBody(s1[6])); r.status != 422 || r.errCode(t) != "seat_cap_exceeded" {
		t.Errorf("third seat: %d %s, want 422 seat_cap_exceeded", r.status, r.body)
	}

	// Windows are checked when created.
	for _, body := range []map[string]any{
		{"sections": []string{"S9"}},
		{"max_seats_per_account": 9},
		{"shared_code": "a!"},
	} {
		body["name"], body["starts_at"], body["ends_at"] = "Bad", time.Now().Format(time.RFC3339), time.Now().Add(time.Hour).Format(time.RFC3339)
		if r := e.do("POST", "/api/admin/events/"+ev+"/presales", admin, body); r.status != 422 {
			t.Errorf("create %v: %d %s, want 422", body, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/admin/events/"+ev+"/presales", admin, map[string]any{"name": "Backwards",
		"starts_at": time.Now().Format(time.RFC3339), "ends_at": time.Now().Add(-time.Hour).Format(time.RFC3339)}); r.status != 422 {
		t.Errorf("ends before it starts: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/admin/events/"+ev+"/presales", admin, map[string]any{"name": "Twin", "shared_code": "club-2026",
		"starts_at": time.Now().Format(time.RFC3339), "ends_at": time.Now().Add(time.Hour).Format(time.RFC3339)}); r.status != 409 || r.errCode(t) != "shared_code_taken" {
		t.Errorf("shared code twice: %d %s", r.status, r.body)
	}
}

// TestPresaleAdminOnly: the admin routes refuse fans and visitors, and
// unknown windows and events are 404.
func TestPresaleAdminOnly(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, _ := e.presaleEvent(1)
	w := e.createWindow(admin, ev, -time.Minute, time.Hour, nil)
	rows := e.presaleCodes(admin, w.ID, 25)
	if len(rows) != 26 || strings.Join(rows[0], ",") != "code,redeemed_by,redeemed_at" {
		t.Fatalf("csv: %d rows, header %v", len(rows), rows[0])
	}
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		if len(row[0]) != 14 || row[1] != "" || seen[row[0]] {
			t.Errorf("code row %v: want a fresh XXXX-XXXX-XXXX code, not redeemed", row)
		}
		seen[row[0]] = true
	}
	_, fan := e.signUp("fan")
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/admin/events/" + ev + "/presales"},
		{"POST", "/api/admin/events/" + ev + "/presales"},
		{"GET", "/api/admin/presales/" + w.ID + "/codes"},
		{"POST", "/api/admin/presales/" + w.ID + "/codes"},
	} {
		if got := e.do(r.method, r.path, fan, map[string]any{"count": 1}); got.status != 403 {
			t.Errorf("fan %s %s: %d, want 403", r.method, r.path, got.status)
		}
		if got := e.do(r.method, r.path, "", map[string]any{"count": 1}); got.status != 401 {
			t.Errorf("visitor %s %s: %d, want 401", r.method, r.path, got.status)
		}
	}
	for _, path := range []string{"/api/admin/presales/999999999/codes", "/api/admin/presales/nope/codes"} {
		if r := e.do("GET", path, admin, nil); r.status != 404 || r.errCode(t) != "presale_not_found" {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/admin/presales/999999999/codes", admin, map[string]any{"count": 1}); r.status != 404 {
		t.Errorf("codes of no window: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/admin/presales/"+w.ID+"/codes", admin, map[string]any{"count": 10001}); r.status != 422 {
		t.Errorf("too many codes: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/admin/events/999999999/presales", admin, nil); r.status != 404 {
		t.Errorf("windows of no event: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/events/999999999/presales", "", nil); r.status != 404 {
		t.Errorf("public windows of no event: %d %s", r.status, r.body)
	}
}

// TestPresaleCodeGuessingLimited: past the access-code budget, entering
// codes (alone or on holds) answers 429; holds without a code are not
// counted.
func TestPresaleCodeGuessingLimited(t *testing.T) {
	limits := server.DefaultRateLimits()
	limits[server.LimitAccessCode] = server.RouteLimits{PerAccount: server.Rate{N: 3, Per: time.Hour, Burst: 3}}
	e := newEnv(t, envOpts{limits: limits})
	admin := e.admin()
	ev, seats := e.presaleEvent(1)
	e.createWindow(admin, ev, -time.Minute, time.Hour, map[string]any{"shared_code": "REAL2026"})
	_, fan := e.signUp("guesser")
	for range 3 {
		e.do("POST", "/api/events/"+ev+"/holds", fan, seatsBody(seats["S1"][0]))
	}
	var got []string
	for i := range 4 {
		var r resp
		if i%2 == 0 {
			r = e.do("POST", "/api/events/"+ev+"/presales/access", fan, map[string]string{"code": fmt.Sprintf("GUESS%d", i)})
		} else {
			r = e.do("POST", "/api/events/"+ev+"/holds", fan, seatsBody(seats["S1"][0]), server.HeaderAccessCode, fmt.Sprintf("GUESS%d", i))
		}
		got = append(got, fmt.Sprint(r.status, " ", r.errCode(t)))
	}
	want := "403 access_code_invalid,403 access_code_invalid,403 access_code_invalid,429 rate_limited"
	if strings.Join(got, ",") != want {
		t.Errorf("guesses = %v, want %s", got, want)
	}
}

// shareOf is a window's share figures in the admin list.
func (e *env) shareOf(admin, ev, window string) (share, remaining int) {
	e.t.Helper()
	var list []struct {
		ID             string `json:"id"`
		Share          int    `json:"share"`
		ShareRemaining *int   `json:"share_remaining"`
	}
	e.do("GET", "/api/admin/events/"+ev+"/presales", admin, nil).json(e.t, &list)
	for _, w := range list {
		if w.ID == window && w.ShareRemaining != nil {
			return w.Share, *w.ShareRemaining
		}
	}
	e.t.Fatalf("window %s has no share in the admin list", window)
	return 0, 0
}

// TestPresaleShareRace: a window with a share of 7 places, over seats and
// a standing floor. 60 fans hold at once, each 1 seat of their own (or 2
// floor places): the window sells exactly 7 places, never more, and every
// other fan is told the presale sold its share. Places come back when a
// hold is released or expires (once, however often the sweeper runs).
func TestPresaleShareRace(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	// A floor far larger than the share: places claimed by refused picks on
	// this node (recent.go) never run it out, so every refusal is the share's.
	ev := e.gaEvent(400)
	evID, _ := strconv.ParseInt(ev, 10, 64)
	if _, err := e.pool.Exec(context.Background(), `UPDATE events SET sale_opens = now() + interval '1 hour' WHERE id = $1`, evID); err != nil {
		t.Fatal(err)
	}
	e.seats.ForgetEvent(evID)
	var m struct {
		Seats []struct {
			ID      string `json:"id"`
			Section string `json:"section"`
		} `json:"seats"`
	}
	e.do("GET", "/api/events/"+ev+"/seatmap", "", nil).json(t, &m)
	var seats []string
	for _, s := range m.Seats {
		if s.Section == "S1" {
			seats = append(seats, s.ID)
		}
	}
	const share = 7
	w := e.createWindow(admin, ev, -time.Minute, time.Hour, map[string]any{"shared_code": "SHARE" + ev, "share": share})
	code := []string{server.HeaderAccessCode, "SHARE" + ev}

	const fans = 60
	tokens := make([]string, fans)
	for i := range fans {
		_, tokens[i] = e.signUp(fmt.Sprint("sharefan", i))
	}
	places := make([]int, fans)
	holds := make([]string, fans)
	outcomes := make([]string, fans)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range fans {
		wg.Go(func() {
			<-start
			// The four seated fans take a seat each; the rest 2 floor places.
			body, n := map[string]any{"ga": map[string]any{"section": "FLOOR", "quantity": 2}}, 2
			if i < len(seats) {
				body, n = seatsBody(seats[i]), 1
			}
			r := e.do("POST", "/api/events/"+ev+"/holds", tokens[i], body, code...)
			if r.status == 201 {
				var h struct{ ID string }
				r.json(t, &h)
				holds[i], places[i] = h.ID, n
				return
			}
			outcomes[i] = fmt.Sprint(r.status, " ", r.errCode(t))
		})
	}
	close(start)
	wg.Wait()
	sold, refused := 0, map[string]int{}
	for i := range fans {
		sold += places[i]
		if holds[i] == "" {
			refused[outcomes[i]]++
		}
	}
	// The share may end one place short (a 2-place hold does not fit in 1),
	// never over it.
	if sold > share || sold < share-1 {
		t.Fatalf("places held = %d, want %d (or %d), never more", sold, share, share-1)
	}
	if len(refused) != 1 || refused["409 presale_sold_out"] == 0 {
		t.Fatalf("refusals = %v, want only 409 presale_sold_out", refused)
	}
	if got, left := e.shareOf(admin, ev, w.ID); got != share || left != share-sold {
		t.Fatalf("admin share = %d remaining %d, want %d remaining %d", got, left, share, share-sold)
	}

	// Releasing a hold gives its places back; a fan refused before now fits.
	winner, loser := -1, -1
	for i := range fans {
		if holds[i] != "" && places[i] == 2 && winner < 0 {
			winner = i
		}
		if holds[i] == "" && loser < 0 {
			loser = i
		}
	}
	if winner < 0 {
		t.Fatal("no floor hold won")
	}
	if r := e.do("DELETE", "/api/holds/"+holds[winner], tokens[winner], nil); r.status != 204 {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if _, left := e.shareOf(admin, ev, w.ID); left != share-sold+2 {
		t.Fatalf("remaining after release = %d, want %d", left, share-sold+2)
	}
	r := e.do("POST", "/api/events/"+ev+"/holds", tokens[loser], map[string]any{"ga": map[string]any{"section": "FLOOR", "quantity": 2}}, code...)
	if r.status != 201 {
		t.Fatalf("hold after release: %d %s", r.status, r.body)
	}
	var h struct{ ID string }
	r.json(t, &h)

	// An expired hold gives its places back once, however often the
	// sweeper runs.
	if _, err := e.pool.Exec(context.Background(), `UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1`, h.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.seats.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, left := e.shareOf(admin, ev, w.ID); left != share-sold+2 {
		t.Fatalf("remaining after expiry = %d, want %d", left, share-sold+2)
	}
}

// TestPresaleShareCreate: a percentage share becomes a count of the
// event's sellable places when the window is created; a share past them,
// or both kinds at once, is refused.
func TestPresaleShareCreate(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, _ := e.presaleEvent(2) // 40 seats
	w := e.createWindow(admin, ev, -time.Minute, time.Hour, map[string]any{"share_percent": 15})
	if share, left := e.shareOf(admin, ev, w.ID); share != 6 || left != 6 {
		t.Errorf("15%% of 40 = share %d remaining %d, want 6 and 6", share, left)
	}
	for _, extra := range []map[string]any{{"share": 41}, {"share": 5, "share_percent": 10}, {"share_percent": 101}, {"share": -1}} {
		body := map[string]any{"name": "Bad", "starts_at": time.Now().Format(time.RFC3339), "ends_at": time.Now().Add(time.Hour).Format(time.RFC3339)}
		for k, v := range extra {
			body[k] = v
		}
		if r := e.do("POST", "/api/admin/events/"+ev+"/presales", admin, body); r.status != 422 {
			t.Errorf("create %v: %d %s, want 422", extra, r.status, r.body)
		}
	}
}

// TestPresaleWaitingRoom: an event with a waiting room and a presale window
// open before its general sale, with the window's own rate (180 a minute:
// 3 on the admitter's first tick, where the event's rate would admit 100).
// Six fans with the window's code and six without join at once. The code
// holders queue in the window's room, numbered 1..6 among themselves; the
// others wait in the general sale's pre-queue. The window's admitter
// admits the first 3 of its own and nobody else; the general room admits
// nobody before its sale. A window's token admits to the window's holds
// only: not the general room's token, and not no token.
func TestPresaleWaitingRoom(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	admin := e.admin()
	ev, seats := e.roomEvent(waitingroom.Settings{AdmitPerMinute: 6000, PowDifficulty: 4})
	id := eventID(t, ev)
	if _, err := e.pool.Exec(ctx, `UPDATE events SET sale_opens = now() + interval '1 hour' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	e.seats.ForgetEvent(id)
	w := e.createWindow(admin, ev, -time.Minute, time.Hour, map[string]any{"shared_code": "ROOM" + ev, "admit_per_minute": 180})
	presaleID, _ := strconv.ParseInt(w.ID, 10, 64)

	const each = 6
	tokens := make([]string, 2*each)
	for i := range tokens {
		_, tokens[i] = e.signUp(fmt.Sprint("roomfan", i))
	}
	bodies := make([]map[string]string, len(tokens))
	for i := range tokens {
		bodies[i] = e.solvedJoin(ev, tokens[i])
	}
	joined := make([]waitingroom.Status, len(tokens))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range tokens {
		wg.Go(func() {
			<-start
			var headers []string
			if i < each {
				headers = []string{server.HeaderAccessCode, "ROOM" + ev}
			}
			r := e.do("POST", "/api/events/"+ev+"/queue", tokens[i], bodies[i], headers...)
			if r.status != 201 {
				t.Errorf("join %d: %d %s", i, r.status, r.body)
				return
			}
			r.json(t, &joined[i])
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	numbers := map[int64]bool{}
	for i, st := range joined {
		switch {
		case i < each && (st.State != "waiting" || st.Presale != presaleID):
			t.Errorf("code holder %d: %+v, want waiting in presale %d's room", i, st, presaleID)
		case i < each:
			numbers[st.Number] = true
		case st.State != "prequeue" || st.Presale != 0:
			t.Errorf("fan %d without a code: %+v, want the general pre-queue", i, st)
		}
	}
	if len(numbers) != each || !numbers[1] || !numbers[each] {
		t.Errorf("window room numbers = %v, want 1..%d", numbers, each)
	}
	// A code that is not the event's joins no room.
	if r := e.do("POST", "/api/events/"+ev+"/queue", tokens[0], e.solvedJoin(ev, tokens[0]), server.HeaderAccessCode, "NOPE1234"); r.status != 403 || r.errCode(t) != "access_code_invalid" {
		t.Errorf("join with a wrong code: %d %s", r.status, r.body)
	}

	general, err := e.queue.NewAdmitter(id).Step(ctx)
	if err != nil || len(general.Admitted) != 0 {
		t.Fatalf("general admitter before its sale: %+v %v, want nobody", general, err)
	}
	window := e.queue.NewRoomAdmitter(waitingroom.RoomKey{EventID: id, PresaleID: presaleID})
	res, err := window.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Admitted) != 3 {
		t.Fatalf("window admitter admitted %v, want 3 at 180 a minute", res.Admitted)
	}
	var admitted []int
	for i := range tokens {
		var st waitingroom.Status
		r := e.do("GET", "/api/events/"+ev+"/queue/me", tokens[i], nil)
		r.json(t, &st)
		if st.State == "admitted" {
			if i >= each || st.Number > 3 || st.AdmissionToken == "" {
				t.Errorf("fan %d admitted: %+v, want only code holders numbered 1..3", i, st)
			}
			admitted = append(admitted, i)
		}
	}
	if len(admitted) != 3 {
		t.Fatalf("admitted fans = %v, want 3", admitted)
	}

	fan := admitted[0]
	var st waitingroom.Status
	e.do("GET", "/api/events/"+ev+"/queue/me", tokens[fan], nil).json(t, &st)
	hold := func(token string, headers ...string) resp {
		return e.do("POST", "/api/events/"+ev+"/holds", tokens[fan], seatsBody(seats[0]), append(headers, server.HeaderAdmissionToken, token)...)
	}
	acct, _ := e.me(tokens[fan])
	if r := hold(""); r.status != 403 || r.errCode(t) != "not_admitted" {
		t.Errorf("window hold without a token: %d %s", r.status, r.body)
	}
	if r := hold(mint(t, e.queue, acct.ID, id, time.Now().Add(time.Minute))); r.status != 403 || r.errCode(t) != "not_admitted" {
		t.Errorf("window hold with the general room's token: %d %s", r.status, r.body)
	}
	r := hold(st.AdmissionToken)
	if r.status != 201 {
		t.Fatalf("window hold with the window's token: %d %s", r.status, r.body)
	}
	// The purchase frees the fan's place among the window's active
	// shoppers at once, as it does in the general room.
	var h struct{ ID string }
	r.json(t, &h)
	e.pay(h.ID, tokens[fan])
	if res, err := window.Step(ctx); err != nil || res.Active-int64(len(res.Admitted)) != 2 || slices.Contains(res.Admitted, acct.ID) {
		t.Errorf("window room after the purchase: %+v %v, want 2 of the 3 admitted still active", res, err)
	}
	e.do("GET", "/api/events/"+ev+"/queue/me", tokens[fan], nil).json(t, &st)
	if st.State == "admitted" {
		t.Errorf("the buyer is still admitted to the window's room: %+v", st)
	}
}
