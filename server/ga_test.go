package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/boxoffice/boxoffice/seatmap"
)

// gaEvent is an on-sale event with a seated section S1 (4 seats at 42.00)
// and a standing floor FLOOR of capacity places at 30.00; it returns the
// event id.
func (e *env) gaEvent(capacity int) string {
	e.t.Helper()
	l := seatmap.Layout{
		Sections: []seatmap.Section{
			{ID: "S1", Name: "Section 1", Tier: "t", Rank: 1},
			{ID: "FLOOR", Name: "Standing floor", Tier: "floor", Rank: 0, Kind: seatmap.KindGA, Capacity: capacity,
				Area: seatmap.Area{X: 0, Y: 0, Width: 100, Height: 40}},
		},
	}
	for n := 1; n <= 4; n++ {
		l.Seats = append(l.Seats, seatmap.SeatSpec{Section: "S1", Row: "A", Number: n, X: float64(n * 5), Y: 60, Type: seatmap.SeatStandard, Rank: n})
	}
	event, _ := e.eventFrom(context.Background(), l, map[string]int64{"default": 4200, "floor": 3000})
	return event
}

// freshGA is the ga counts of an event from a snapshot taken now.
func (e *env) freshGA(event string) []seatmap.GACount {
	e.t.Helper()
	var id int64
	fmt.Sscan(event, &id)
	snap, err := seatmap.New(e.db(), nil, nil, nil, seatmap.Config{}).Snapshot(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return snap.GA
}

// TestGAEndToEnd: a standing floor over HTTP. The seat map and the
// availability describe it as one area with its count; a fan holds 3
// places by quantity (201, 3 places without rows, 90.00), pays, and gets 3
// tickets with their own codes; the count drops by 3. One ticket is
// transferred, another resold through the ordinary resale flow.
func TestGAEndToEnd(t *testing.T) {
	e := newEnv(t, envOpts{})
	event := e.gaEvent(20)
	var m struct {
		Sections []struct {
			ID       string `json:"id"`
			Kind     string `json:"kind"`
			Capacity int    `json:"capacity"`
		} `json:"sections"`
	}
	e.do("GET", "/api/events/"+event+"/seatmap", "", nil).json(t, &m)
	kinds := map[string]string{}
	for _, s := range m.Sections {
		kinds[s.ID] = fmt.Sprint(s.Kind, " ", s.Capacity)
	}
	if kinds["FLOOR"] != "ga 20" || kinds["S1"] != "seated 4" {
		t.Errorf("seat map sections %+v, want FLOOR ga 20 and S1 seated 4", m.Sections)
	}
	var av struct {
		GA []seatmap.GACount `json:"ga"`
	}
	e.do("GET", "/api/events/"+event+"/availability", "", nil).json(t, &av)
	if len(av.GA) != 1 || av.GA[0] != (seatmap.GACount{Section: "FLOOR", Capacity: 20, Available: 20}) {
		t.Errorf("availability ga = %+v", av.GA)
	}

	alice, bob, carol := e.fan("alice"), e.fan("bob"), e.fan("carol")
	r := e.do("POST", "/api/events/"+event+"/holds", alice.token, map[string]any{"ga": map[string]any{"section": "FLOOR", "quantity": 3}})
	if r.status != 201 {
		t.Fatalf("ga hold: %d %s", r.status, r.body)
	}
	var h struct {
		ID         string `json:"id"`
		TotalCents int64  `json:"total_cents"`
		Seats      []struct {
			ID      string `json:"id"`
			Section string `json:"section"`
			Row     string `json:"row"`
		} `json:"seats"`
	}
	r.json(t, &h)
	if h.TotalCents != 9000 || len(h.Seats) != 3 {
		t.Fatalf("ga hold = %+v, want 3 places, 9000", h)
	}
	for _, s := range h.Seats {
		if s.Section != "FLOOR" || s.Row != "" {
			t.Errorf("held %+v, want a FLOOR place without a row", s)
		}
	}
	orderID := e.pay(h.ID, alice.token)
	var o struct {
		Tickets []struct{ ID string }
	}
	e.do("GET", "/api/orders/"+orderID, alice.token, nil).json(t, &o)
	if len(o.Tickets) != 3 {
		t.Fatalf("order has %d tickets, want 3", len(o.Tickets))
	}
	codes := map[string]bool{}
	for _, tk := range o.Tickets {
		rot, static := e.codes(tk.ID, alice.token)
		codes[rot], codes[static] = true, true
	}
	if len(codes) != 6 {
		t.Errorf("3 tickets have %d distinct codes, want 6", len(codes))
	}
	if ga := e.freshGA(event); len(ga) != 1 || ga[0].Available != 17 {
		t.Errorf("ga counts after the sale = %+v, want 17 left", ga)
	}

	// Transfer: bob gets the first ticket.
	r = e.do("POST", "/api/tickets/"+o.Tickets[0].ID+"/transfers", alice.token, map[string]string{"to_email": bob.email})
	var tr struct{ ID string }
	r.json(t, &tr)
	if r.status != 201 {
		t.Fatalf("offer: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/transfers/"+tr.ID+"/accept", bob.token, nil); r.status != 200 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/tickets/"+o.Tickets[0].ID, bob.token, nil); r.status != 200 {
		t.Errorf("bob reading his ga ticket: %d %s", r.status, r.body)
	}

	// Resale: alice lists the second at face value, carol buys it.
	l := e.list(o.Tickets[1].ID, alice.token, 3000)
	r = e.do("POST", "/api/listings/"+l.ID+"/holds", carol.token, nil)
	if r.status != 201 {
		t.Fatalf("resale hold: %d %s", r.status, r.body)
	}
	var rh struct{ ID string }
	r.json(t, &rh)
	e.pay(rh.ID, carol.token)
	var carols []struct {
		Seat struct{ Section string }
	}
	e.do("GET", "/api/tickets", carol.token, nil).json(t, &carols)
	if len(carols) != 1 || carols[0].Seat.Section != "FLOOR" {
		t.Errorf("carol's tickets %+v, want one FLOOR ticket", carols)
	}
}

func TestGAHoldBadInputHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event := e.gaEvent(5)
	_, token := e.signUp("picky")
	path := "/api/events/" + event + "/holds"
	ga := func(section any, quantity any) map[string]any {
		return map[string]any{"ga": map[string]any{"section": section, "quantity": quantity}}
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"seated section", ga("S1", 2), 422, "section_not_ga"},
		{"unknown section", ga("NOPE", 2), 422, "unknown_section"},
		{"no section", map[string]any{"ga": map[string]any{"quantity": 2}}, 422, "validation_failed"},
		{"zero", ga("FLOOR", 0), 422, "validation_failed"},
		{"negative", ga("FLOOR", -1), 422, "validation_failed"},
		{"over the cap", ga("FLOOR", 9), 422, "invalid_seat_count"},
		{"sixty-five", ga("FLOOR", 65), 422, "validation_failed"},
		{"quantity a string", ga("FLOOR", "2"), 400, "malformed_json"},
		{"quantity huge", `{"ga": {"section": "FLOOR", "quantity": 1e30}}`, 400, "malformed_json"},
		{"section a number", ga(7, 2), 400, "malformed_json"},
		{"ga and seat_ids", map[string]any{"ga": map[string]any{"section": "FLOOR", "quantity": 1}, "seat_ids": []string{"1"}}, 422, "invalid_hold_request"},
		{"ga and best", map[string]any{"ga": map[string]any{"section": "FLOOR", "quantity": 1}, "best_available": map[string]any{"quantity": 1}}, 422, "invalid_hold_request"},
		{"more than are left", ga("FLOOR", 6), 409, "seat_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", path, token, tt.body)
			if r.status != tt.status || r.errCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
}

// TestGAVenueBadInputHTTP: the admin API refuses a bad ga section with a
// 422 naming the field, never a 500.
func TestGAVenueBadInputHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	seat := map[string]any{"section": "S1", "row": "A", "number": 1, "x": 1, "y": 1, "type": "standard", "rank": 0}
	venue := func(ga map[string]any) map[string]any {
		return map[string]any{"name": "GA venue", "layout": map[string]any{
			"sections": []any{map[string]any{"id": "S1", "name": "S1", "tier": "t", "rank": 0}, ga},
			"seats":    []any{seat},
		}}
	}
	area := map[string]any{"x": 0, "y": 0, "width": 50, "height": 20}
	tests := []struct {
		name   string
		ga     map[string]any
		status int
		field  string
	}{
		{"valid", map[string]any{"id": "GA", "name": "Floor", "tier": "floor", "rank": 1, "kind": "ga", "capacity": 300, "area": area}, 201, ""},
		{"no capacity", map[string]any{"id": "GA", "name": "Floor", "tier": "floor", "rank": 1, "kind": "ga", "area": area}, 422, "sections[1].capacity"},
		{"capacity too large", map[string]any{"id": "GA", "name": "Floor", "tier": "floor", "rank": 1, "kind": "ga", "capacity": 100001, "area": area}, 422, "sections[1].capacity"},
		{"no area", map[string]any{"id": "GA", "name": "Floor", "tier": "floor", "rank": 1, "kind": "ga", "capacity": 10}, 422, "sections[1].area"},
		{"unknown kind", map[string]any{"id": "GA", "name": "Floor", "tier": "floor", "rank": 1, "kind": "mosh"}, 422, "sections[1].kind"},
		{"capacity on seated", map[string]any{"id": "GA", "name": "Floor", "tier": "floor", "rank": 1, "capacity": 10}, 422, "sections[1].capacity"},
		{"capacity not a number", map[string]any{"id": "GA", "name": "Floor", "tier": "floor", "rank": 1, "kind": "ga", "capacity": "many", "area": area}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/api/admin/venues", admin, venue(tt.ga))
			var body struct {
				Capacity int `json:"capacity"`
				Error    struct {
					Field string `json:"field"`
				} `json:"error"`
			}
			r.json(t, &body)
			if r.status != tt.status || body.Error.Field != tt.field {
				t.Errorf("got %d %s, want %d field %q", r.status, r.body, tt.status, tt.field)
			}
			if tt.status == 201 && body.Capacity != 301 {
				t.Errorf("venue capacity %d, want 301 (1 seat + 300 standing)", body.Capacity)
			}
		})
	}
}
