package server_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// smallDesign is a venue as the builder sends it: one seated section of
// rows × 10 with an accessible seat and its companion, a restricted view
// seat and vip front seats, a standing area and a stage.
func smallDesign(rows int) map[string]any {
	return map[string]any{
		"stage": map[string]any{"x": 400, "y": 10, "width": 200, "height": 40},
		"sections": []any{
			map[string]any{"id": "STALLS", "name": "Stalls", "tier": "stalls", "rows": rows, "seats_per_row": 10,
				"row_labels": "letters", "x": 500, "y": 80, "curve": 6, "seat_types": []any{
					map[string]any{"type": "vip", "row": "A", "from": 1, "to": 3},
					map[string]any{"type": "accessible", "row": "C", "from": 1, "to": 1},
					map[string]any{"type": "companion", "row": "C", "from": 2, "to": 2},
					map[string]any{"type": "restricted_view", "from": 10, "to": 10},
				}},
			map[string]any{"id": "PIT", "name": "Standing", "kind": "ga", "capacity": 50,
				"area": map[string]any{"x": 300, "y": 200, "width": 400, "height": 100}},
		},
	}
}

type venueDetail struct {
	ID       string
	Capacity int
	Events   int
	Editable bool
	Layout   struct {
		Seats []struct {
			Row    string
			Number int
			Type   string
		}
		Stage *struct{ X, Y, Width, Height float64 }
	}
	Design map[string]any
}

// TestVenueBuilderRoutes: a venue made from a design keeps its design,
// lists, previews, refuses a bad design with every problem at its path,
// is replaced by PUT while no event uses it, and refuses PUT (409
// venue_in_use) once an event does, the event keeping the seats it
// copied.
func TestVenueBuilderRoutes(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	name := fmt.Sprintf("Builder Hall %d", time.Now().UnixNano())
	r := e.do("POST", "/api/admin/venues", admin, map[string]any{"name": name, "city": "Leeds", "design": smallDesign(3)})
	var v venueDetail
	r.json(t, &v)
	if r.status != 201 || v.Capacity != 30+50 {
		t.Fatalf("create from design: %d %s, want 201 with 80 places", r.status, r.body)
	}

	r = e.do("GET", "/api/admin/venues/"+v.ID, admin, nil)
	var got venueDetail
	r.json(t, &got)
	if r.status != 200 || !got.Editable || got.Events != 0 || got.Layout.Stage == nil || got.Design == nil {
		t.Fatalf("get: %d %.300s", r.status, r.body)
	}
	types := map[string][]string{}
	for _, s := range got.Layout.Seats {
		types[s.Type] = append(types[s.Type], fmt.Sprintf("%s%d", s.Row, s.Number))
	}
	want := map[string][]string{
		"vip": {"A1", "A2", "A3"}, "accessible": {"C1"}, "companion": {"C2"},
		"restricted_view": {"A10", "B10", "C10"},
	}
	for typ, seats := range want {
		if !slices.Equal(seats, types[typ]) {
			t.Errorf("%s seats: got %v, want %v", typ, types[typ], seats)
		}
	}
	if n := len(types["standard"]); n != 30-8 {
		t.Errorf("%d standard seats, want 22", n)
	}

	var list []struct {
		ID     string
		Name   string
		Events int
	}
	e.do("GET", "/api/admin/venues", admin, nil).json(t, &list)
	if !slices.ContainsFunc(list, func(l struct {
		ID     string
		Name   string
		Events int
	}) bool {
		return l.ID == v.ID && l.Name == name
	}) {
		t.Errorf("the list lacks venue %s", v.ID)
	}

	var preview struct {
		Capacity int
		Seats    []any
	}
	r = e.do("POST", "/api/admin/venues/preview", admin, map[string]any{"design": smallDesign(4)})
	r.json(t, &preview)
	if r.status != 200 || preview.Capacity != 90 || len(preview.Seats) != 90 {
		t.Errorf("preview: %d %.200s, want 90 places", r.status, r.body)
	}

	// A bad design: every problem comes back at its path.
	bad := smallDesign(3)
	secs := bad["sections"].([]any)
	secs[0].(map[string]any)["seat_types"] = []any{map[string]any{"type": "accessible", "row": "Z", "from": 1, "to": 11}}
	secs = append(secs, map[string]any{"id": "PIT", "name": "Again", "rows": 0, "seats_per_row": 5, "x": 500, "y": 600})
	bad["sections"] = secs
	r = e.do("PUT", "/api/admin/venues/"+v.ID, admin, map[string]any{"name": name, "design": bad})
	var refusal struct {
		Error struct {
			Code   string
			Field  string
			Errors []struct{ Field, Message string }
		}
	}
	r.json(t, &refusal)
	var fields []string
	for _, f := range refusal.Error.Errors {
		fields = append(fields, f.Field)
	}
	wantFields := []string{"sections[0].seat_types[0].row", "sections[0].seat_types[0].to", "sections[2].id", "sections[2].rows"}
	if r.status != 422 || refusal.Error.Code != "invalid_layout" || refusal.Error.Field != wantFields[0] {
		t.Errorf("bad design: %d %s", r.status, r.body)
	}
	if !slices.Equal(fields, wantFields) {
		t.Errorf("error fields: got %q, want %q", fields, wantFields)
	}

	// Overlapping sections are refused at the later one.
	overlap := smallDesign(3)
	overlap["sections"].([]any)[1].(map[string]any)["area"] = map[string]any{"x": 450, "y": 90, "width": 50, "height": 20}
	r = e.do("PUT", "/api/admin/venues/"+v.ID, admin, map[string]any{"name": name, "design": overlap})
	r.json(t, &refusal)
	if r.status != 422 || refusal.Error.Field != "sections[1]" {
		t.Errorf("overlap: %d %s, want 422 at sections[1]", r.status, r.body)
	}

	// Replaced while unused: four rows now.
	r = e.do("PUT", "/api/admin/venues/"+v.ID, admin, map[string]any{"name": name, "city": "York", "design": smallDesign(4)})
	r.json(t, &v)
	if r.status != 200 || v.Capacity != 90 {
		t.Fatalf("replace: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/api/admin/venues/99999999999", "/api/admin/venues/abc"} {
		if r := e.do("PUT", path, admin, map[string]any{"name": "x", "design": smallDesign(3)}); r.status != 404 {
			t.Errorf("PUT %s: %d, want 404", path, r.status)
		}
	}

	// An event copies the seats, companion and restricted view ones too, and
	// shows the stage.
	now := time.Now().UTC()
	r = e.do("POST", "/api/admin/events", admin, map[string]any{"venue_id": v.ID, "name": name + " night",
		"event_date": now.Add(72 * time.Hour), "sale_opens": now.Add(time.Hour),
		"prices": map[string]int64{"default": 2000, "restricted_view": 1000}})
	var ev struct{ ID string }
	r.json(t, &ev)
	if r.status != 201 {
		t.Fatalf("event: %d %s", r.status, r.body)
	}
	seatsOf := func() []string {
		var m struct {
			Seats []struct {
				Row        string
				Number     int
				Type       string
				PriceCents int64 `json:"price_cents"`
			}
		}
		e.do("GET", "/api/events/"+ev.ID+"/seatmap", "", nil).json(t, &m)
		var out []string
		for _, s := range m.Seats {
			out = append(out, fmt.Sprintf("%s%d %s %d", s.Row, s.Number, s.Type, s.PriceCents))
		}
		return out
	}
	before := seatsOf()
	if len(before) != 90 || !slices.Contains(before, "A10 restricted_view 1000") || !slices.Contains(before, "C2 companion 2000") {
		t.Fatalf("event seats: %d, %v", len(before), before[:min(12, len(before))])
	}
	// The fans' map draws the venue's stage where the design put it.
	var m struct {
		Stage *struct{ X, Y, Width, Height float64 }
	}
	e.do("GET", "/api/events/"+ev.ID+"/seatmap", "", nil).json(t, &m)
	if m.Stage == nil || *m.Stage != (struct{ X, Y, Width, Height float64 }{400, 10, 200, 40}) {
		t.Errorf("the event's stage: %+v, want the design's {400 10 200 40}", m.Stage)
	}

	r = e.do("PUT", "/api/admin/venues/"+v.ID, admin, map[string]any{"name": name, "design": smallDesign(5)})
	if r.status != 409 || r.errCode(t) != "venue_in_use" {
		t.Errorf("PUT once used: %d %s, want 409 venue_in_use", r.status, r.body)
	}
	e.do("GET", "/api/admin/venues/"+v.ID, admin, nil).json(t, &got)
	if got.Editable || got.Events != 1 || got.Capacity != 90 {
		t.Errorf("after the refused PUT: editable %v, events %d, capacity %d", got.Editable, got.Events, got.Capacity)
	}
	if after := seatsOf(); !slices.Equal(before, after) {
		t.Errorf("the event's seats changed: %d before, %d after", len(before), len(after))
	}
}

// TestVenueEditRacesEventCreation: an edit and a new event on one venue at
// once end with the event holding the venue's final layout, or the edit
// refused: never an event whose seats the venue no longer has.
func TestVenueEditRacesEventCreation(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	now := time.Now().UTC()
	for i := range 4 {
		name := fmt.Sprintf("Race Hall %d %d", i, time.Now().UnixNano())
		var v struct{ ID string }
		if r := e.do("POST", "/api/admin/venues", admin, map[string]any{"name": name, "design": smallDesign(3)}); r.status != 201 {
			t.Fatalf("venue: %d %s", r.status, r.body)
		} else {
			r.json(t, &v)
		}
		var wg sync.WaitGroup
		var put, post resp
		wg.Add(2)
		go func() {
			defer wg.Done()
			put = e.do("PUT", "/api/admin/venues/"+v.ID, admin, map[string]any{"name": name, "design": smallDesign(5)})
		}()
		go func() {
			defer wg.Done()
			post = e.do("POST", "/api/admin/events", admin, map[string]any{"venue_id": v.ID, "name": name,
				"event_date": now.Add(72 * time.Hour), "sale_opens": now.Add(time.Hour), "prices": map[string]int64{"default": 100}})
		}()
		wg.Wait()
		var ev struct{ Capacity int }
		post.json(t, &ev)
		var venue struct{ Capacity int }
		e.do("GET", "/api/admin/venues/"+v.ID, admin, nil).json(t, &venue)
		if post.status != 201 || (put.status != 200 && put.status != 409) || ev.Capacity != venue.Capacity {
			t.Errorf("round %d: PUT %d, event %d with %d places, venue %d places", i, put.status, post.status, ev.Capacity, venue.Capacity)
		}
	}
}
