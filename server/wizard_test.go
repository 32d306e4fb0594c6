package server_test

import (
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestEventEditBeforeSale is the event wizard's API: the venue list names
// each venue's sections and seat types; an upcoming event's name, times
// and prices change (the seat map shows the new prices at once, a vip
// price wins over the section's); bad input is a 422 with a code; once
// the sale is open every such change is a 409 sale_started and nothing of
// the request is applied.
func TestEventEditBeforeSale(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	layout := seatmap.Layout{Sections: []seatmap.Section{{ID: "A", Name: "Stalls", Tier: "floor"}, {ID: "B", Name: "Circle", Tier: "upper"}}}
	for n := 1; n <= 10; n++ {
		sec, typ := "A", seatmap.SeatStandard
		if n > 6 {
			sec = "B"
		}
		if n == 1 {
			typ = seatmap.SeatVIP
		}
		layout.Seats = append(layout.Seats, seatmap.SeatSpec{Section: sec, Row: "1", Number: n, X: float64(n * 10), Y: 10, Type: typ, Rank: n})
	}
	venueName := "Wizard Hall " + testkit.RandomHex(4)
	r := e.do("POST", "/api/admin/venues", admin, map[string]any{"name": venueName, "layout": layout, "time_zone": "Europe/Lisbon"})
	var venue struct{ ID string }
	r.json(t, &venue)
	if r.status != 201 {
		t.Fatalf("create venue: %d %s", r.status, r.body)
	}

	r = e.do("GET", "/api/admin/venues", admin, nil)
	var venues []struct {
		ID, Name  string
		TimeZone  string `json:"time_zone"`
		Sections  []struct{ ID, Name, Tier, Kind string }
		SeatTypes []string `json:"seat_types"`
	}
	r.json(t, &venues)
	found := false
	for _, v := range venues {
		if v.ID != venue.ID {
			continue
		}
		found = true
		if v.TimeZone != "Europe/Lisbon" || len(v.Sections) != 2 || v.Sections[1].Name != "Circle" || v.Sections[0].Kind != "seated" ||
			len(v.SeatTypes) != 2 || v.SeatTypes[0] != "standard" || v.SeatTypes[1] != "vip" {
			t.Errorf("venue outline: %+v", v)
		}
	}
	if r.status != 200 || !found {
		t.Fatalf("venues: %d, venue %s listed %v", r.status, venue.ID, found)
	}

	now := time.Now().UTC()
	r = e.do("POST", "/api/admin/events", admin, map[string]any{
		"venue_id": venue.ID, "name": "Draft Night", "event_date": now.Add(72 * time.Hour), "sale_opens": now.Add(time.Hour),
		"prices": map[string]int64{"default": 1000}, "reserve_share": 0,
	})
	var ev struct{ ID string }
	r.json(t, &ev)
	if r.status != 201 {
		t.Fatalf("create event: %d %s", r.status, r.body)
	}
	path := "/api/admin/events/" + ev.ID

	newDate, newOpens := now.Add(96*time.Hour).Truncate(time.Second), now.Add(2*time.Hour).Truncate(time.Second)
	r = e.do("PATCH", path, admin, map[string]any{"name": "Opening Night", "event_date": newDate, "sale_opens": newOpens})
	var got struct {
		Name, Status string
		EventDate    time.Time `json:"event_date"`
		SaleOpens    time.Time `json:"sale_opens"`
	}
	r.json(t, &got)
	if r.status != 200 || got.Name != "Opening Night" || !got.EventDate.Equal(newDate) || !got.SaleOpens.Equal(newOpens) || got.Status != "upcoming" {
		t.Fatalf("edit details: %d %s", r.status, r.body)
	}

	r = e.do("PUT", path+"/prices", admin, map[string]any{"prices": map[string]int64{"A": 4000, "B": 2500, "vip": 9000}})
	if r.status != 200 {
		t.Fatalf("reprice: %d %s", r.status, r.body)
	}
	if want, got := map[int]int64{1: 9000, 2: 4000, 6: 4000, 7: 2500, 10: 2500}, seatPrices(t, e, ev.ID); !pricesInclude(got, want) {
		t.Errorf("seat map prices by seat number: %v, want %v", got, want)
	}

	for name, c := range map[string]struct {
		method string
		path   string
		body   map[string]any
		code   string
	}{
		"sale after the show": {"PATCH", path, map[string]any{"sale_opens": now.Add(200 * time.Hour)}, "invalid_dates"},
		"sale in the past":    {"PATCH", path, map[string]any{"sale_opens": now.Add(-time.Hour)}, "invalid_dates"},
		"empty name":          {"PATCH", path, map[string]any{"name": ""}, "validation_failed"},
		"blank name":          {"PATCH", path, map[string]any{"name": "   "}, "validation_failed"},
		"unknown field":       {"PATCH", path, map[string]any{"venue_id": "1"}, "malformed_json"},
		"unknown price key":   {"PUT", path + "/prices", map[string]any{"prices": map[string]int64{"A": 1, "B": 1, "balcony": 1}}, "unknown_price_key"},
		"unpriced seats":      {"PUT", path + "/prices", map[string]any{"prices": map[string]int64{"A": 1}}, "missing_price"},
		"negative price":      {"PUT", path + "/prices", map[string]any{"prices": map[string]int64{"default": -1}}, "validation_failed"},
		"no prices":           {"PUT", path + "/prices", map[string]any{"prices": map[string]int64{}}, "validation_failed"},
	} {
		r := e.do(c.method, c.path, admin, c.body)
		if r.status != 422 && !(c.code == "malformed_json" && r.status == 400) {
			t.Errorf("%s: %d %s, want 422 %s", name, r.status, r.body, c.code)
			continue
		}
		if code := r.errCode(t); code != c.code {
			t.Errorf("%s: code %s (%s), want %s", name, code, r.body, c.code)
		}
	}
	if r := e.do("PUT", "/api/admin/events/99999999/prices", admin, map[string]any{"prices": map[string]int64{"default": 1}}); r.status != 404 {
		t.Errorf("unknown event: %d %s, want 404", r.status, r.body)
	}

	if r := e.do("PATCH", path, admin, map[string]any{"status": "open"}); r.status != 200 {
		t.Fatalf("open: %d %s", r.status, r.body)
	}
	for name, c := range map[string]struct {
		method, path string
		body         map[string]any
	}{
		"rename":           {"PATCH", path, map[string]any{"name": "Too Late", "print_at_home": true}},
		"move the date":    {"PATCH", path, map[string]any{"event_date": now.Add(100 * time.Hour)}},
		"move the sale":    {"PATCH", path, map[string]any{"sale_opens": now.Add(3 * time.Hour)}},
		"change the price": {"PUT", path + "/prices", map[string]any{"prices": map[string]int64{"default": 1}}},
	} {
		if r := e.do(c.method, c.path, admin, c.body); r.status != 409 || r.errCode(t) != "sale_started" {
			t.Errorf("%s on sale: %d %s, want 409 sale_started", name, r.status, r.body)
		}
	}
	r = e.do("GET", "/api/events/"+ev.ID, "", nil)
	var after struct {
		Name        string
		PrintAtHome bool `json:"print_at_home"`
	}
	r.json(t, &after)
	if after.Name != "Opening Night" || after.PrintAtHome {
		t.Errorf("a refused edit changed the event: %s", r.body)
	}
	if want, got := map[int]int64{1: 9000, 2: 4000, 7: 2500}, seatPrices(t, e, ev.ID); !pricesInclude(got, want) {
		t.Errorf("a refused reprice changed prices: %v", got)
	}
}

// seatPrices reads an event's seat map and returns each seat's face
// price by seat number.
func seatPrices(t *testing.T, e *env, eventID string) map[int]int64 {
	t.Helper()
	r := e.do("GET", "/api/events/"+eventID+"/seatmap", "", nil)
	var m struct {
		Seats []struct {
			Number     int
			PriceCents int64 `json:"price_cents"`
		}
	}
	r.json(t, &m)
	out := map[int]int64{}
	for _, s := range m.Seats {
		out[s.Number] = s.PriceCents
	}
	return out
}

func pricesInclude(got, want map[int]int64) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
