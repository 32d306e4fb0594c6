package server_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/seatmap"
)

// TestAdminRoutesNeedAdmin walks every registered admin route: anonymous
// callers get 401 and fans 403, before any body is read.
func TestAdminRoutesNeedAdmin(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, fan := e.signUp("fan")
	param := regexp.MustCompile(`:\w+`)
	n := 0
	for _, r := range e.srv.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/admin/") || r.Method == "HEAD" || r.Method == "USE" {
			continue
		}
		n++
		path := param.ReplaceAllString(r.Path, "1")
		if got := e.do(r.Method, path, "", map[string]any{}); got.status != 401 {
			t.Errorf("anonymous %s %s: %d, want 401", r.Method, path, got.status)
		}
		if got := e.do(r.Method, path, fan, map[string]any{}); got.status != 403 || got.errCode(t) != "forbidden" {
			t.Errorf("fan %s %s: %d %s, want 403", r.Method, path, got.status, got.body)
		}
	}
	if n < 4 {
		t.Errorf("only %d admin routes found", n)
	}
}

func TestAdminVenueAndEvent(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	r := e.do("POST", "/api/admin/venues", admin, map[string]any{"name": "Little Theater", "preset": "theater"})
	var venue struct {
		ID       string
		Capacity int
	}
	r.json(t, &venue)
	if r.status != 201 || venue.Capacity < 1500 || venue.Capacity > 2500 {
		t.Fatalf("create theater: %d %s", r.status, r.body)
	}
	bad := []struct {
		name string
		body any
		code string
	}{
		{"no preset or layout", map[string]any{"name": "x"}, "invalid_venue"},
		{"unknown preset", map[string]any{"name": "x", "preset": "moon"}, "validation_failed"},
		{"bad layout", map[string]any{"name": "x", "layout": map[string]any{"sections": []any{}, "seats": []any{map[string]any{"section": "Z", "row": "A", "number": 1, "type": "standard"}}}}, "invalid_layout"},
	}
	for _, b := range bad {
		if r := e.do("POST", "/api/admin/venues", admin, b.body); r.status != 422 || r.errCode(t) != b.code {
			t.Errorf("%s: %d %s, want 422 %s", b.name, r.status, r.body, b.code)
		}
	}
	layout := seatmap.Layout{Sections: []seatmap.Section{{ID: "A", Name: "A", Tier: "floor"}}}
	for n := 1; n <= 20; n++ {
		layout.Seats = append(layout.Seats, seatmap.SeatSpec{Section: "A", Row: "1", Number: n, X: float64(n * 10), Y: 10, Type: seatmap.SeatStandard, Rank: n})
	}
	r = e.do("POST", "/api/admin/venues", admin, map[string]any{"name": "Club", "layout": layout})
	r.json(t, &venue)
	if r.status != 201 || venue.Capacity != 20 {
		t.Fatalf("upload layout: %d %s", r.status, r.body)
	}

	now := time.Now().UTC()
	body := map[string]any{
		"venue_id": venue.ID, "name": "Club Night", "event_date": now.Add(72 * time.Hour), "sale_opens": now.Add(time.Hour),
		"prices": map[string]int64{"floor": 3000}, "reserve_share": 0.25,
		"waiting_room": map[string]any{"enabled": true, "admit_per_minute": 60, "active_limit": 10},
	}
	r = e.do("POST", "/api/admin/events", admin, body)
	var ev struct {
		ID, Status  string
		Available   int
		WaitingRoom map[string]any `json:"waiting_room"`
	}
	r.json(t, &ev)
	if r.status != 201 || ev.Status != "upcoming" || ev.Available != 15 || ev.WaitingRoom["enabled"] != true {
		t.Fatalf("create event: %d %s", r.status, r.body)
	}
	for name, b := range map[string]map[string]any{
		"sale after the show": {"venue_id": venue.ID, "name": "x", "event_date": now, "sale_opens": now.Add(time.Hour), "prices": map[string]int64{"floor": 1}},
		"no prices":           {"venue_id": venue.ID, "name": "x", "event_date": now.Add(time.Hour), "sale_opens": now, "prices": map[string]int64{}},
		"no price for seats":  {"venue_id": venue.ID, "name": "x", "event_date": now.Add(time.Hour), "sale_opens": now, "prices": map[string]int64{"balcony": 1}},
		"negative price":      {"venue_id": venue.ID, "name": "x", "event_date": now.Add(time.Hour), "sale_opens": now, "prices": map[string]int64{"floor": -5}},
		"share over 1":        {"venue_id": venue.ID, "name": "x", "event_date": now.Add(time.Hour), "sale_opens": now, "prices": map[string]int64{"floor": 1}, "reserve_share": 1.5},
	} {
		if r := e.do("POST", "/api/admin/events", admin, b); r.status != 422 {
			t.Errorf("%s: %d %s, want 422", name, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/admin/events", admin, map[string]any{"venue_id": "99999999", "name": "x", "event_date": now.Add(time.Hour), "sale_opens": now, "prices": map[string]int64{"floor": 1}}); r.status != 404 {
		t.Errorf("unknown venue: %d %s, want 404", r.status, r.body)
	}
}

func TestAdminSteersTheSale(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	event, seats := e.event(1, 2, 10)
	_, fan := e.signUp("fan")
	path := "/api/admin/events/" + event
	hold := func() int {
		return e.do("POST", "/api/events/"+event+"/holds", fan, map[string]any{"best_available": map[string]any{"quantity": 1}}).status
	}
	if r := e.do("PATCH", path, admin, map[string]any{"status": "pause"}); r.status != 200 || !strings.Contains(string(r.body), `"status":"paused"`) {
		t.Fatalf("pause: %d %s", r.status, r.body)
	}
	if got := hold(); got != 409 {
		t.Errorf("hold while paused: %d, want 409", got)
	}
	if r := e.do("PATCH", path, admin, map[string]any{"status": "resume"}); r.status != 200 || !strings.Contains(string(r.body), `"status":"on_sale"`) {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	if got := hold(); got != 201 {
		t.Errorf("hold after resume: %d, want 201", got)
	}
	if r := e.do("PATCH", path, admin, map[string]any{"status": "explode"}); r.status != 422 {
		t.Errorf("unknown action: %d, want 422", r.status)
	}
	if r := e.do("PATCH", "/api/admin/events/99999999", admin, map[string]any{"status": "pause"}); r.status != 404 {
		t.Errorf("pause unknown event: %d, want 404", r.status)
	}

	// Hold back seats by hand, then release some by section and some by id.
	if _, err := e.db().Exec(t.Context(), `UPDATE seats SET status = 'reserved', reserved_reason = 'artist' WHERE id = ANY($1::bigint[])`, seats[10:16]); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", path+"/inventory/release", admin, map[string]any{"section": "S1", "count": 4})
	if r.status != 200 || !strings.Contains(string(r.body), `"released":4`) {
		t.Errorf("release 4 by section: %d %s", r.status, r.body)
	}
	r = e.do("POST", path+"/inventory/release", admin, map[string]any{"seat_ids": seats[10:16]})
	if r.status != 200 || !strings.Contains(string(r.body), `"released":2`) {
		t.Errorf("release the rest by id: %d %s", r.status, r.body)
	}
	if r := e.do("POST", path+"/inventory/release", admin, map[string]any{"seat_ids": seats[10:11]}); r.status != 409 {
		t.Errorf("release a seat that is not held back: %d, want 409", r.status)
	}
	if r := e.do("POST", path+"/inventory/release", admin, map[string]any{"section": "S1"}); r.status != 422 {
		t.Errorf("release without count: %d, want 422", r.status)
	}

	if r := e.do("PATCH", path, admin, map[string]any{"status": "cancel"}); r.status != 200 || !strings.Contains(string(r.body), `"status":"cancelled"`) {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	for _, action := range []string{"cancel", "open", "resume"} {
		if r := e.do("PATCH", path, admin, map[string]any{"status": action}); r.status != 409 {
			t.Errorf("%s a cancelled event: %d, want 409", action, r.status)
		}
	}
	if got := hold(); got != 409 {
		t.Errorf("hold on a cancelled event: %d, want 409", got)
	}
}
