package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/waitingroom"
)

// TestReviewQueueOverHTTP: with the waiting room's signals screening
// purchases (as the binary wires them), a fan who joins, holds and pays at
// a bot's speed gets an order under review, not tickets; the admin's queue
// lists it with its reasons; approve gives the fan valid tickets, reject
// puts the seats back on the map and leaves the fan's card uncharged. A
// purchase on an event without a room is not screened.
func TestReviewQueueOverHTTP(t *testing.T) {
	e := newEnv(t, envOpts{review: true})
	ctx := context.Background()
	ev, seats := e.roomEvent(waitingroom.Settings{AdmitPerMinute: 6000, PowDifficulty: 6})
	admin := e.admin()
	admitter := e.queue.NewAdmitter(eventID(t, ev)) // one leader for the test

	// buyFast joins, is admitted, holds and pays at once.
	buyFast := func(name, seat string) (token, orderID string) {
		_, token = e.signUp(name)
		if r := e.do("POST", "/api/events/"+ev+"/queue", token, e.solvedJoin(ev, token)); r.status != 201 {
			t.Fatalf("join: %d %s", r.status, r.body)
		}
		if _, err := admitter.Step(ctx); err != nil {
			t.Fatal(err)
		}
		var st waitingroom.Status
		e.do("GET", "/api/events/"+ev+"/queue/me", token, nil).json(t, &st)
		r := e.do("POST", "/api/events/"+ev+"/holds", token, map[string]any{"seat_ids": []string{seat}}, "X-Admission-Token", st.AdmissionToken)
		if r.status != 201 {
			t.Fatalf("hold: %d %s", r.status, r.body)
		}
		var h struct{ ID string }
		r.json(t, &h)
		p := e.startCheckout(h.ID, token)
		r = e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, map[string]string{"card_number": "4242424242424242"})
		var res struct {
			Status  string
			OrderID string `json:"order_id"`
		}
		r.json(t, &res)
		if r.status != 200 || res.Status != "review" || res.OrderID == "" {
			t.Fatalf("a bot-speed purchase: %d %s, want status review with an order", r.status, r.body)
		}
		return token, res.OrderID
	}
	keep, keepOrder := buyFast("quick", seats[0])
	drop, dropOrder := buyFast("quicker", seats[1])

	// The fan sees the order under review and no usable ticket.
	var o struct {
		Status  string
		Tickets []struct{ ID, Status string }
	}
	e.do("GET", "/api/orders/"+keepOrder, keep, nil).json(t, &o)
	if o.Status != "review" || len(o.Tickets) != 1 || o.Tickets[0].Status != "review" {
		t.Fatalf("the fan's order: %+v", o)
	}
	if r := e.do("GET", "/api/tickets/"+o.Tickets[0].ID+"/code", keep, nil); r.status != 409 || r.errCode(t) != "order_in_review" {
		t.Errorf("code under review: %d %s", r.status, r.body)
	}

	var queue []struct {
		ID      string
		Email   string
		Reasons []string
		Seats   []string
	}
	r := e.do("GET", "/api/admin/reviews?event="+ev, admin, nil)
	r.json(t, &queue)
	if r.status != 200 || len(queue) != 2 || queue[0].ID != keepOrder || queue[1].ID != dropOrder {
		t.Fatalf("review queue: %d %s", r.status, r.body)
	}
	if !slices.Contains(queue[0].Reasons, waitingroom.ReasonJoinToHold) || !slices.Contains(queue[0].Reasons, waitingroom.ReasonHoldToPay) {
		t.Errorf("reasons %v, want join-to-hold and hold-to-pay too fast", queue[0].Reasons)
	}
	if r := e.do("GET", "/api/admin/reviews?event=abc", admin, nil); r.status != 404 {
		t.Errorf("queue of a bad event id: %d %s", r.status, r.body)
	}

	// Approve one: tickets valid, a code, captured.
	if r := e.do("POST", "/api/admin/orders/"+keepOrder+"/approve", admin, nil); r.status != 200 || !strings.Contains(string(r.body), `"paid"`) {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	e.do("GET", "/api/orders/"+keepOrder, keep, nil).json(t, &o)
	if o.Status != "paid" || o.Tickets[0].Status != "valid" {
		t.Errorf("after approval: %+v", o)
	}
	if r := e.do("GET", "/api/tickets/"+o.Tickets[0].ID+"/code", keep, nil); r.status != 200 {
		t.Errorf("code after approval: %d %s", r.status, r.body)
	}

	// Reject the other: the seat is free on the map, no money taken.
	before := e.proc.Stats().CapturedCents
	if r := e.do("POST", "/api/admin/orders/"+dropOrder+"/reject", admin, nil); r.status != 200 || !strings.Contains(string(r.body), `"rejected"`) {
		t.Fatalf("reject: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/admin/orders/"+dropOrder+"/approve", admin, nil); r.status != 409 || r.errCode(t) != "order_not_in_review" {
		t.Errorf("approve after reject: %d %s", r.status, r.body)
	}
	if got := e.proc.Stats().CapturedCents; got != before {
		t.Errorf("captured %d cents → %d on reject", before, got)
	}
	if a := e.availability(ev); a[1] != 'a' {
		t.Errorf("the rejected seat is %q on the map, want available", a[1])
	}
	e.do("GET", "/api/orders/"+dropOrder, drop, nil).json(t, &o)
	if o.Status != "rejected" || o.Tickets[0].Status != "void" {
		t.Errorf("the rejected order: %+v", o)
	}
	for _, bad := range []string{"not-a-uuid", "00000000-0000-0000-0000-000000000000"} {
		if r := e.do("POST", "/api/admin/orders/"+bad+"/approve", admin, nil); r.status != 404 {
			t.Errorf("approve %s: %d %s", bad, r.status, r.body)
		}
	}

	// No room, no screening: the same speed buys tickets at once.
	free, freeSeats := e.event(1, 1, 2)
	_, fan := e.signUp("walk-in")
	e.pay(e.holdSeats(free, fan, freeSeats[0]), fan)
	var all []struct{ ID string }
	e.do("GET", "/api/admin/reviews", admin, nil).json(t, &all)
	if len(all) != 0 {
		t.Errorf("review queue after the decisions: %v, want empty", all)
	}
}
