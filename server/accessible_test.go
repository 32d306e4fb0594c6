package server_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/seatmap"
)

// TestAccessibleBooking: over the API, an event created with a hold-back
// keeps its wheelchair spaces for fans who ask for them; a fan asks for one
// with a companion and gets both side by side, with the notice; bad
// combinations are 422; the admin schedules and then releases the
// hold-back.
func TestAccessibleBooking(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	// Row 1: ten standard seats; row 2: two wheelchair spaces, then eight
	// standard seats. A reserve share of 0.1 holds back the two spaces.
	layout := seatmap.Layout{Sections: []seatmap.Section{{ID: "A", Name: "A", Tier: "floor"}}}
	for r := 1; r <= 2; r++ {
		for n := 1; n <= 10; n++ {
			typ := seatmap.SeatStandard
			if r == 2 && n <= 2 {
				typ = seatmap.SeatAccessible
			}
			layout.Seats = append(layout.Seats, seatmap.SeatSpec{Section: "A", Row: strconv.Itoa(r), Number: n,
				X: float64(n * 10), Y: float64(r * 10), Type: typ, Rank: r*100 + n})
		}
	}
	var venue struct{ ID string }
	r := e.do("POST", "/api/admin/venues", admin, map[string]any{"name": "Access Hall", "layout": layout})
	r.json(t, &venue)
	if r.status != 201 {
		t.Fatalf("venue: %d %s", r.status, r.body)
	}
	now := time.Now().UTC()
	type accessibleInfo struct {
		Seats, Available int
		HeldBack         int        `json:"held_back"`
		ReleaseAt        *time.Time `json:"release_at"`
		Notice           string
	}
	var ev struct {
		ID         string
		Accessible accessibleInfo
	}
	r = e.do("POST", "/api/admin/events", admin, map[string]any{"venue_id": venue.ID, "name": "Access Night",
		"event_date": now.Add(48 * time.Hour), "sale_opens": now.Add(-time.Minute), "prices": map[string]int64{"default": 4200},
		"reserve_share": 0.1})
	r.json(t, &ev)
	if a := ev.Accessible; r.status != 201 || a.Seats != 2 || a.HeldBack != 2 || a.ReleaseAt != nil || a.Notice != seatmap.AccessibleNotice {
		t.Fatalf("create event: %d %s", r.status, r.body)
	}
	path := "/api/events/" + ev.ID + "/holds"
	_, fan := e.signUp("fan")
	for _, bad := range []struct {
		best map[string]any
		code string
	}{
		{map[string]any{"quantity": 1, "accessible": 2}, "invalid_accessible_count"},
		{map[string]any{"quantity": 2, "accessible": -1}, "validation_failed"},
	} {
		if r := e.do("POST", path, fan, map[string]any{"best_available": bad.best}); r.status != 422 || r.errCode(t) != bad.code {
			t.Errorf("best_available %v: %d %s, want 422 %s", bad.best, r.status, r.body, bad.code)
		}
	}
	// A plain fan never gets the spaces, even when asking for the row.
	var plain struct{ Seats []struct{ Type string } }
	r = e.do("POST", path, fan, map[string]any{"best_available": map[string]any{"quantity": 8}})
	r.json(t, &plain)
	if r.status != 201 {
		t.Fatalf("plain hold: %d %s", r.status, r.body)
	}
	for _, s := range plain.Seats {
		if s.Type != seatmap.SeatStandard {
			t.Errorf("a plain hold got a %s seat: %s", s.Type, r.body)
		}
	}

	_, wheel := e.signUp("wheel")
	var hold struct {
		ID    string
		Seats []struct {
			ID, Type, Row string
			Number        int
		}
		Access int    `json:"accessible"`
		Notice string `json:"accessible_notice"`
	}
	r = e.do("POST", path, wheel, map[string]any{"best_available": map[string]any{"quantity": 2, "accessible": 1}})
	r.json(t, &hold)
	if r.status != 201 || hold.Access != 1 || hold.Notice != seatmap.AccessibleNotice || len(hold.Seats) != 2 {
		t.Fatalf("accessible hold: %d %s", r.status, r.body)
	}
	if a, b := hold.Seats[0], hold.Seats[1]; a.Type != seatmap.SeatAccessible || b.Type != seatmap.SeatStandard ||
		a.Row != "2" || b.Row != "2" || b.Number != a.Number+1 {
		t.Errorf("accessible hold seats %+v, want a wheelchair space and the seat beside it", hold.Seats)
	}
	r = e.do("GET", "/api/holds/"+hold.ID, wheel, nil)
	r.json(t, &hold)
	if r.status != 200 || hold.Access != 1 || hold.Notice == "" {
		t.Errorf("get accessible hold: %d %s", r.status, r.body)
	}
	var stored int
	if err := e.db().QueryRow(context.Background(), `SELECT accessible FROM holds WHERE id = $1`, hold.ID).Scan(&stored); err != nil || stored != 1 {
		t.Errorf("holds.accessible = %d, %v; want 1", stored, err)
	}

	// The space left cannot be picked by hand before the release.
	var seatmapBody struct{ Seats []struct{ ID, Type string } }
	e.do("GET", "/api/events/"+ev.ID+"/seatmap", "", nil).json(t, &seatmapBody)
	var space string
	for _, s := range seatmapBody.Seats {
		if s.Type == seatmap.SeatAccessible && s.ID != hold.Seats[0].ID {
			space = s.ID
		}
	}
	_, late := e.signUp("late")
	if r := e.do("POST", path, late, map[string]any{"seat_ids": []string{space}}); r.status != 409 {
		t.Errorf("a plain fan picks the held-back space: %d %s, want 409", r.status, r.body)
	}

	release := "/api/admin/events/" + ev.ID + "/accessible/release"
	at := now.Add(time.Hour).Truncate(time.Second)
	r = e.do("POST", release, admin, map[string]any{"at": at})
	if r.status != 202 || string(r.body) != fmt.Sprintf(`{"scheduled":{"at":%q,"seats":1}}`, at.Format(time.RFC3339)) {
		t.Errorf("schedule: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/events/"+ev.ID, "", nil)
	r.json(t, &ev)
	if a := ev.Accessible; a.ReleaseAt == nil || !a.ReleaseAt.Equal(at) {
		t.Errorf("event after scheduling: %s", r.body)
	}
	if r := e.do("POST", release, admin, nil); r.status != 200 || string(r.body) != `{"released":1}` {
		t.Errorf("release now: %d %s", r.status, r.body)
	}
	if r := e.do("POST", release, admin, nil); r.status != 200 || string(r.body) != `{"released":0}` {
		t.Errorf("release again: %d %s", r.status, r.body)
	}
	if r := e.do("POST", release, admin, map[string]any{"at": at}); r.status != 409 || r.errCode(t) != "accessible_released" {
		t.Errorf("schedule after the release: %d %s", r.status, r.body)
	}
	if r := e.do("POST", release, admin, map[string]any{"when": "now"}); r.status != 400 && r.status != 422 {
		t.Errorf("unknown field: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/admin/events/99999999/accessible/release", admin, nil); r.status != 404 {
		t.Errorf("unknown event: %d %s", r.status, r.body)
	}
	// The released space is on general sale.
	if r := e.do("POST", path, late, map[string]any{"seat_ids": []string{space}}); r.status != 201 {
		t.Errorf("a plain fan picks the released space: %d %s, want 201", r.status, r.body)
	}

	// An event may be created with its release time, in the future.
	create := map[string]any{"venue_id": venue.ID, "name": "Access Night 2",
		"event_date": now.Add(48 * time.Hour), "sale_opens": now.Add(-time.Minute), "prices": map[string]int64{"default": 4200},
		"reserve_share": 0.1, "accessible_release_at": at}
	r = e.do("POST", "/api/admin/events", admin, create)
	r.json(t, &ev)
	if a := ev.Accessible; r.status != 201 || a.HeldBack != 2 || a.ReleaseAt == nil || !a.ReleaseAt.Equal(at) {
		t.Errorf("create with a release time: %d %s", r.status, r.body)
	}
	create["accessible_release_at"] = now.Add(-time.Minute)
	if r := e.do("POST", "/api/admin/events", admin, create); r.status != 422 || r.errCode(t) != "invalid_dates" {
		t.Errorf("create with a past release time: %d %s, want 422 invalid_dates", r.status, r.body)
	}
}
