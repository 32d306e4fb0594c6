package server_test

import (
	"context"
	"testing"
)

// TestWaitlistHTTP: the waiting list over HTTP. A fan cannot join while
// seats are on sale (409 not_sold_out); once sold out they join (201,
// position 1) and see their entry; unknown fields are 400. When the seats
// come back the fan is offered one as a hold (GET shows the offer, an
// email notice is in the outbox); another fan can neither read nor check
// out that hold (404); the fan pays for it like any hold and the entry
// reads fulfilled.
func TestWaitlistHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 2)
	alice, bob, carol := e.fan("alice"), e.fan("bob"), e.fan("carol")
	path := "/api/events/" + event + "/waitlist"

	if r := e.do("POST", path, bob.token, map[string]any{"quantity": 1}); r.status != 409 || r.errCode(t) != "not_sold_out" {
		t.Fatalf("join while on sale: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/events/"+event+"/holds", alice.token, map[string]any{"seat_ids": seats})
	if r.status != 201 {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	var h struct{ ID string }
	r.json(t, &h)
	if r := e.do("POST", path, bob.token, map[string]any{"quantity": 1, "extra": true}); r.status != 400 {
		t.Errorf("unknown field: %d %s", r.status, r.body)
	}
	if r := e.do("GET", path, bob.token, nil); r.status != 404 {
		t.Errorf("entry before joining: %d %s", r.status, r.body)
	}
	type entry struct {
		Status   string
		Position int
		Offer    *struct {
			HoldID string `json:"hold_id"`
			Seats  int
		}
	}
	var got entry
	r = e.do("POST", path, bob.token, map[string]any{"quantity": 1, "section": "S1"})
	if r.status != 201 {
		t.Fatalf("join: %d %s", r.status, r.body)
	}
	if r.json(t, &got); got.Status != "waiting" || got.Position != 1 {
		t.Errorf("joined: %+v, want waiting at 1", got)
	}
	if r := e.do("POST", path, bob.token, map[string]any{"quantity": 1}); r.status != 409 || r.errCode(t) != "already_waiting" {
		t.Errorf("join twice: %d %s", r.status, r.body)
	}

	if r := e.do("DELETE", "/api/holds/"+h.ID, alice.token, nil); r.status != 204 {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	e.do("GET", path, bob.token, nil).json(t, &got)
	if got.Status != "offered" || got.Offer == nil || got.Offer.Seats != 1 {
		t.Fatalf("after the release: %+v, want an offer of 1", got)
	}
	offer := got.Offer.HoldID
	var mails int
	if err := e.db().QueryRow(context.Background(), `SELECT count(*) FROM jobs WHERE dedupe_key = $1`,
		"notice:waitlist-offer:"+offer).Scan(&mails); err != nil || mails != 1 {
		t.Errorf("offer emails in the outbox: %d (%v), want 1", mails, err)
	}
	if r := e.do("GET", "/api/holds/"+offer, carol.token, nil); r.status != 404 {
		t.Errorf("another fan reads the offer: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/holds/"+offer+"/checkout", carol.token, nil); r.status != 404 {
		t.Errorf("another fan checks out the offer: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", path, carol.token, nil); r.status != 404 {
		t.Errorf("another fan leaves a list they are not on: %d %s", r.status, r.body)
	}
	e.pay(offer, bob.token)
	e.do("GET", path, bob.token, nil).json(t, &got)
	if got.Status != "fulfilled" {
		t.Errorf("after paying: %+v, want fulfilled", got)
	}
}
