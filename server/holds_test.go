package server_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

type holdBody struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	TotalCents int64  `json:"total_cents"`
	Currency   string `json:"currency"`
	ExpiresAt  string `json:"expires_at"`
	Seats      []struct {
		ID string `json:"id"`
	} `json:"seats"`
}

type conflictBody struct {
	Error struct {
		Code  string   `json:"code"`
		Seats []string `json:"seats"`
	} `json:"error"`
}

// TestHoldRaceHTTP: 250 concurrent hold requests from 64 accounts over
// overlapping sets of 20 seats, through the real HTTP stack. Every seat ends
// in at most one hold; every loser gets 409 naming taken seats it asked for.
func TestHoldRaceHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 2, 10)
	// 64 accounts make at most 4 requests each of at most 2 seats, so none
	// can reach the cap of 8 and every refusal must be a seat conflict.
	tokens := make([]string, 64)
	for i := range tokens {
		_, tokens[i] = e.signUp(fmt.Sprint("racer", i))
	}
	const requests = 250
	type result struct {
		want   []string
		status int
		hold   holdBody
		taken  []string
	}
	results := make([]result, requests)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range requests {
		n := 1 + rand.IntN(2)
		perm := rand.Perm(len(seats))[:n]
		for _, p := range perm {
			results[i].want = append(results[i].want, seats[p])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := e.do("POST", "/api/events/"+event+"/holds", tokens[i%len(tokens)], map[string]any{"seat_ids": results[i].want})
			results[i].status = r.status
			switch r.status {
			case 201:
				r.json(t, &results[i].hold)
			case 409:
				var c conflictBody
				r.json(t, &c)
				results[i].taken = c.Error.Seats
			}
		}()
	}
	close(start)
	wg.Wait()
	owner := map[string]string{}
	won := 0
	for i, r := range results {
		switch r.status {
		case 201:
			won++
			for _, s := range r.hold.Seats {
				if prev, ok := owner[s.ID]; ok {
					t.Fatalf("seat %s held by %s and %s", s.ID, prev, r.hold.ID)
				}
				owner[s.ID] = r.hold.ID
			}
		case 409:
			if len(r.taken) == 0 {
				t.Errorf("request %d: 409 names no seats", i)
			}
			for _, s := range r.taken {
				if !slices.Contains(r.want, s) {
					t.Errorf("request %d: 409 names seat %s it did not ask for", i, s)
				}
			}
		default:
			t.Errorf("request %d: status %d", i, r.status)
		}
	}
	for i, r := range results {
		for _, s := range r.taken {
			if _, ok := owner[s]; !ok {
				t.Errorf("request %d told seat %s is taken, but no winner holds it", i, s)
			}
		}
	}
	t.Logf("%d requests: %d won, %d seats held", requests, won, len(owner))
}

func TestHoldBadInputHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 2, 10)
	_, otherSeats := e.event(1, 1, 5)
	_, token := e.signUp("picky")
	path := "/api/events/" + event + "/holds"
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"malformed JSON", path, `{"seat_ids": [`, 400, "malformed_json"},
		{"not an object", path, `"seats"`, 400, "malformed_json"},
		{"non-numeric id", path, map[string]any{"seat_ids": []string{"abc"}}, 400, "malformed_json"},
		{"unknown field", path, map[string]any{"seat_ids": seats[:1], "price_cents": 1}, 400, "malformed_json"},
		{"empty list", path, map[string]any{"seat_ids": []string{}}, 422, "validation_failed"},
		{"neither", path, map[string]any{}, 422, "invalid_hold_request"},
		{"both", path, map[string]any{"seat_ids": seats[:1], "best_available": map[string]any{"quantity": 1}}, 422, "invalid_hold_request"},
		{"nine seats", path, map[string]any{"seat_ids": seats[:9]}, 422, "invalid_seat_count"},
		{"sixty-five seats", path, map[string]any{"seat_ids": slices.Repeat(seats[:1], 65)}, 422, "validation_failed"},
		{"duplicates", path, map[string]any{"seat_ids": []string{seats[0], seats[0]}}, 422, "duplicate_seats"},
		{"unknown seat", path, map[string]any{"seat_ids": []string{"999999999"}}, 422, "unknown_seats"},
		{"another event's seat", path, map[string]any{"seat_ids": otherSeats[:1]}, 422, "unknown_seats"},
		{"best zero", path, map[string]any{"best_available": map[string]any{"quantity": 0}}, 422, "validation_failed"},
		{"best nine", path, map[string]any{"best_available": map[string]any{"quantity": 9}}, 422, "invalid_seat_count"},
		{"unknown event", "/api/events/999999999/holds", map[string]any{"seat_ids": seats[:1]}, 404, "event_not_found"},
		{"garbage event", "/api/events/abc/holds", map[string]any{"seat_ids": seats[:1]}, 404, "event_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", tt.path, token, tt.body)
			if r.status != tt.status || r.errCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	if r := e.do("POST", path, "", map[string]any{"seat_ids": seats[:1]}); r.status != 401 {
		t.Errorf("anonymous hold: %d, want 401", r.status)
	}
}

func TestHoldLifecycleHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(2, 2, 6)
	_, alice := e.signUp("alice")
	_, bob := e.signUp("bob")
	path := "/api/events/" + event + "/holds"

	r := e.do("POST", path, alice, map[string]any{"seat_ids": seats[:2]})
	if r.status != 201 {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	var h holdBody
	r.json(t, &h)
	if h.Status != "active" || h.TotalCents != 8400 || h.Currency != "usd" || len(h.Seats) != 2 || h.ExpiresAt == "" {
		t.Errorf("hold = %+v", h)
	}
	// Bob cannot see or release Alice's hold: 404, as if it did not exist.
	if r := e.do("GET", "/api/holds/"+h.ID, bob, nil); r.status != 404 {
		t.Errorf("bob GET alice's hold: %d, want 404", r.status)
	}
	if r := e.do("DELETE", "/api/holds/"+h.ID, bob, nil); r.status != 404 {
		t.Errorf("bob DELETE alice's hold: %d, want 404", r.status)
	}
	if r := e.do("GET", "/api/holds/not-a-uuid", alice, nil); r.status != 404 {
		t.Errorf("GET garbage hold id: %d, want 404", r.status)
	}
	// Bob's hold on a taken seat: 409 naming it.
	r = e.do("POST", path, bob, map[string]any{"seat_ids": []string{seats[1], seats[2]}})
	var c conflictBody
	r.json(t, &c)
	if r.status != 409 || c.Error.Code != "seat_unavailable" || !slices.Equal(c.Error.Seats, []string{seats[1]}) {
		t.Errorf("bob on a taken seat: %d %s", r.status, r.body)
	}
	// Release frees at once; Bob gets them.
	if r := e.do("DELETE", "/api/holds/"+h.ID, alice, nil); r.status != 204 {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/holds/"+h.ID, alice, nil); r.status != 200 || !strings.Contains(string(r.body), `"status":"released"`) {
		t.Errorf("released hold reads %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/holds/"+h.ID, alice, nil); r.status != 409 {
		t.Errorf("second release: %d, want 409", r.status)
	}
	if r := e.do("POST", path, bob, map[string]any{"seat_ids": []string{seats[1], seats[2]}}); r.status != 201 {
		t.Errorf("bob after release: %d %s", r.status, r.body)
	}
	// Best available: adjacent seats in the best section, and the cap.
	r = e.do("POST", path, alice, map[string]any{"best_available": map[string]any{"quantity": 4}})
	var best holdBody
	r.json(t, &best)
	if r.status != 201 || len(best.Seats) != 4 {
		t.Fatalf("best available: %d %s", r.status, r.body)
	}
	r = e.do("POST", path, alice, map[string]any{"best_available": map[string]any{"quantity": 4}})
	if r.status != 201 {
		t.Fatalf("best available, 8th seat: %d %s", r.status, r.body)
	}
	// Which seats best-available took varies (its retries pick at random
	// among the best blocks), so ask for any free one: the cap refuses it.
	r = e.do("POST", path, alice, map[string]any{"best_available": map[string]any{"quantity": 1}})
	if r.status != 422 || r.errCode(t) != "seat_cap_exceeded" {
		t.Errorf("9th seat: %d %s, want 422 seat_cap_exceeded", r.status, r.body)
	}
}
