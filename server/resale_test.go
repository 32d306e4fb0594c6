package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

type listingBody struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	PriceCents int64  `json:"price_cents"`
	Idx        int    `json:"idx"`
	Seat       struct{ ID string }
}

// freshAvailability is the event's availability letters from a snapshot
// taken now (the server caches its snapshot for up to a second).
func (e *env) freshAvailability(event string) string {
	e.t.Helper()
	var id int64
	fmt.Sscan(event, &id)
	snap, err := seatmap.New(e.db(), nil, nil, nil, seatmap.Config{}).Snapshot(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(snap.Statuses)
}

func (e *env) listings(event string) []listingBody {
	e.t.Helper()
	var ls []listingBody
	r := e.do("GET", "/api/events/"+event+"/listings", "", nil)
	r.json(e.t, &ls)
	if r.status != 200 {
		e.t.Fatalf("listings: %d %s", r.status, r.body)
	}
	return ls
}

func (e *env) list(ticket, token string, price int64) listingBody {
	e.t.Helper()
	r := e.do("POST", "/api/tickets/"+ticket+"/listing", token, map[string]int64{"price_cents": price})
	if r.status != 201 {
		e.t.Fatalf("list: %d %s", r.status, r.body)
	}
	var l listingBody
	r.json(e.t, &l)
	return l
}

// TestResaleEndToEnd: the whole resale flow over HTTP. Alice buys a seat
// (face value 42.00) and lists it: above the cap is 422, at 40.00 it is
// listed, shows as x on the map and in the listings, and cannot be
// transferred or scanned. Alice cannot buy her own listing (403). Bob and
// carol race for it: one hold (201), the other 409; withdrawing while a
// buyer holds it is 409. The winner pays through the ordinary checkout:
// the seat is sold (s) to the winner, alice's ticket is void and her
// static and rotating codes are 404 invalid_code, the winner's new ticket
// admits, the payout row says 40.00 - 10% fee = 36.00 for alice, and
// mailpit has the buyer's confirmation and alice's sale email.
func TestResaleEndToEnd(t *testing.T) {
	mailAPI, smtpURL := testkit.Mailpit(t)
	mailer, err := checkout.NewSMTPMailer(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{mailer: mailer})
	ctx := context.Background()
	event, seats := e.event(1, 1, 4)
	e.printAtHome(event, true) // these tests scan the PDF's static code too
	alice, bob, carol := e.fan("alice"), e.fan("bob"), e.fan("carol")
	sc := e.scanner()
	ticket := e.buy(event, seats[1], alice.token)
	oldRotating, oldStatic := e.codes(ticket, alice.token)

	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/listing", alice.token, map[string]int64{"price_cents": 4201}), 422, "price_above_cap", "price above face value")
	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/listing", alice.token, map[string]int64{"price_cents": 0}), 422, "validation_failed", "zero price")
	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/listing", bob.token, map[string]int64{"price_cents": 100}), 404, "ticket_not_found", "bob listing alice's ticket")
	l := e.list(ticket, alice.token, 4000)
	if l.Status != "active" || l.PriceCents != 4000 || l.Idx != 1 {
		t.Errorf("listing %+v", l)
	}
	if av := e.freshAvailability(event); av[:2] != "ax" {
		t.Errorf("availability starts %q, want ax", av[:2])
	}
	if ls := e.listings(event); len(ls) != 1 || ls[0].ID != l.ID || ls[0].Seat.ID != seats[1] {
		t.Errorf("listings %+v", ls)
	}
	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/listing", alice.token, map[string]int64{"price_cents": 3000}), 409, "ticket_listed", "listing twice")
	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/transfers", alice.token, map[string]string{"to_email": bob.email}), 409, "ticket_listed", "transfer while listed")
	e.wantErr(e.checkIn(sc.token, event, oldStatic), 409, "ticket_listed", "check-in while listed")
	e.wantErr(e.do("POST", "/api/listings/"+l.ID+"/holds", alice.token, nil), 403, "own_listing", "the seller buying")
	// A normal hold cannot take a resale seat.
	if r := e.do("POST", "/api/events/"+event+"/holds", bob.token, map[string]any{"seat_ids": []string{seats[1]}}); r.status != 409 {
		t.Errorf("plain hold of a resale seat: %d %s", r.status, r.body)
	}

	// Two buyers race: one hold.
	var wg sync.WaitGroup
	race := map[string]resp{}
	var mu sync.Mutex
	for _, f := range []fan{bob, carol} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/api/listings/"+l.ID+"/holds", f.token, nil)
			mu.Lock()
			race[f.email] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	var winner, loser fan
	switch {
	case race[bob.email].status == 201:
		winner, loser = bob, carol
	case race[carol.email].status == 201:
		winner, loser = carol, bob
	default:
		t.Fatalf("no buyer won: bob %d %s, carol %d %s", race[bob.email].status, race[bob.email].body, race[carol.email].status, race[carol.email].body)
	}
	e.wantErr(race[loser.email], 409, "listing_unavailable", "the race's loser")
	var hold struct {
		ID         string
		TotalCents int64  `json:"total_cents"`
		ListingID  string `json:"listing_id"`
	}
	race[winner.email].json(t, &hold)
	if hold.TotalCents != 4000 || hold.ListingID != l.ID {
		t.Errorf("hold total %d listing %q, want the listing price 4000 and %s", hold.TotalCents, hold.ListingID, l.ID)
	}
	if av := e.freshAvailability(event); av[1] != 'h' {
		t.Errorf("seat shows %q while held, want h", av[1])
	}
	if ls := e.listings(event); len(ls) != 0 {
		t.Errorf("a held listing is still offered: %+v", ls)
	}
	e.wantErr(e.do("DELETE", "/api/tickets/"+ticket+"/listing", alice.token, nil), 409, "listing_held", "withdrawing a held listing")

	orderID := e.pay(hold.ID, winner.token)
	if av := e.freshAvailability(event); av[1] != 's' {
		t.Errorf("seat shows %q after the resale, want s", av[1])
	}
	var alicesTicket struct{ Status string }
	e.do("GET", "/api/tickets/"+ticket, alice.token, nil).json(t, &alicesTicket)
	if alicesTicket.Status != "void" {
		t.Errorf("alice's ticket is %q, want void", alicesTicket.Status)
	}
	e.wantErr(e.checkIn(sc.token, event, oldRotating), 404, "invalid_code", "alice's rotating code after the resale")
	e.wantErr(e.checkIn(sc.token, event, oldStatic), 404, "invalid_code", "alice's static code after the resale")
	var voided struct {
		OrderID string `json:"order_id"`
	}
	e.do("GET", "/api/tickets/"+ticket, alice.token, nil).json(t, &voided)
	e.wantErr(e.do("GET", "/api/orders/"+voided.OrderID+"/pdf", alice.token, nil), 404, "ticket_not_found", "alice's order PDF after the resale")
	var order struct {
		TotalCents int64 `json:"total_cents"`
		Tickets    []struct{ ID string }
	}
	e.do("GET", "/api/orders/"+orderID, winner.token, nil).json(t, &order)
	if order.TotalCents != 4000 || len(order.Tickets) != 1 {
		t.Fatalf("winner's order %+v", order)
	}
	_, newStatic := e.codes(order.Tickets[0].ID, winner.token)
	if r := e.checkIn(sc.token, event, newStatic); r.status != 200 {
		t.Errorf("the buyer's code: %d %s", r.status, r.body)
	}

	var gross, fee, net int64
	var seller, status string
	if err := e.db().QueryRow(ctx, `SELECT seller_account_id::text, gross_cents, fee_cents, net_cents, status FROM payouts WHERE listing_id = $1`, l.ID).
		Scan(&seller, &gross, &fee, &net, &status); err != nil {
		t.Fatalf("payout row: %v", err)
	}
	if seller != alice.id || gross != 4000 || fee != 400 || net != 3600 || status != "pending" {
		t.Errorf("payout: seller %s gross %d fee %d net %d %s", seller, gross, fee, net, status)
	}
	if st := e.proc.Stats(); st.CapturedCents != 4200+4000 {
		t.Errorf("captured %d cents, want %d", st.CapturedCents, 4200+4000)
	}

	e.drainJobs()
	if got := mailSubjects(t, mailAPI, winner.email); !hasSubject(got, "Your tickets for") {
		t.Errorf("buyer's emails %q", got)
	}
	if got := mailSubjects(t, mailAPI, alice.email); !hasSubject(got, "was sold") || !hasSubject(got, "Your tickets for") {
		t.Errorf("seller's emails %q", got)
	}
}

// TestResaleWithdrawAndExpiry: the cap follows the event's
// resale_cap_percent; a withdrawn listing is gone (the seat is s
// again, the ticket valid and scannable); a resale hold that expires puts
// the seat back on resale for the seller (x), the listing can be held
// again, and the counters and invariants hold throughout (checked at
// cleanup).
func TestResaleWithdrawAndExpiry(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	event, seats := e.event(1, 1, 4)
	e.printAtHome(event, true) // these tests scan the PDF's static code too
	alice, bob := e.fan("alice"), e.fan("bob")
	ticket := e.buy(event, seats[0], alice.token)
	// The cap is per event: at 150% of 42.00, 63.01 is too much, 63.00 not.
	if _, err := e.db().Exec(ctx, `UPDATE events SET resale_cap_percent = 150 WHERE id = $1`, event); err != nil {
		t.Fatal(err)
	}
	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/listing", alice.token, map[string]int64{"price_cents": 6301}), 422, "price_above_cap", "above a 150% cap")
	l := e.list(ticket, alice.token, 6300)
	if r := e.do("DELETE", "/api/tickets/"+ticket+"/listing", alice.token, nil); r.status != 204 {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	if av := e.freshAvailability(event); av[0] != 's' {
		t.Errorf("seat shows %q after withdrawing, want s", av[0])
	}
	e.wantErr(e.do("POST", "/api/listings/"+l.ID+"/holds", bob.token, nil), 409, "listing_unavailable", "holding a withdrawn listing")
	e.wantErr(e.do("DELETE", "/api/tickets/"+ticket+"/listing", alice.token, nil), 409, "illegal_ticket_move", "withdrawing twice")

	l = e.list(ticket, alice.token, 1000)
	r := e.do("POST", "/api/listings/"+l.ID+"/holds", bob.token, nil)
	var hold struct{ ID string }
	r.json(t, &hold)
	if r.status != 201 {
		t.Fatalf("hold listing: %d %s", r.status, r.body)
	}
	if _, err := e.db().Exec(ctx, `UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1`, hold.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.seats.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if av := e.freshAvailability(event); av[0] != 'x' {
		t.Errorf("seat shows %q after the resale hold expired, want x", av[0])
	}
	if ls := e.listings(event); len(ls) != 1 || ls[0].ID != l.ID {
		t.Errorf("listings after expiry %+v", ls)
	}
	// Released by the buyer: back to x again.
	r = e.do("POST", "/api/listings/"+l.ID+"/holds", bob.token, nil)
	r.json(t, &hold)
	if r.status != 201 {
		t.Fatalf("hold listing again: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/holds/"+hold.ID, bob.token, nil); r.status != 204 {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if av := e.freshAvailability(event); av[0] != 'x' {
		t.Errorf("seat shows %q after the resale hold was released, want x", av[0])
	}
	if r := e.do("DELETE", "/api/tickets/"+ticket+"/listing", alice.token, nil); r.status != 204 {
		t.Errorf("withdraw after the hold ended: %d %s", r.status, r.body)
	}
	if _, static := e.codes(ticket, alice.token); e.checkIn(e.scanner().token, event, static).status != 200 {
		t.Error("the withdrawn ticket does not admit")
	}
}

// TestListingHoldNeedsAdmission: while the event's waiting room is on, a
// listing is held like any seat: by a verified account if the room asks
// for one (403 email_not_verified), and only with an admission token for
// that event and account (403 not_admitted without one).
func TestListingHoldNeedsAdmission(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 4)
	alice, bob := e.fan("alice"), e.fan("bob")
	l := e.list(e.buy(event, seats[0], alice.token), alice.token, 1000)
	if err := e.queue.Configure(context.Background(), eventID(t, event), waitingroom.Settings{Enabled: true, PowDifficulty: 6}); err != nil {
		t.Fatal(err)
	}
	e.wantErr(e.do("POST", "/api/listings/"+l.ID+"/holds", bob.token, nil), 403, "email_not_verified",
		"an unverified account's listing hold where the room asks for a verified address")
	if err := e.queue.Configure(context.Background(), eventID(t, event), waitingroom.Settings{Enabled: true, PowDifficulty: 6,
		RequireVerifiedEmail: new(false)}); err != nil {
		t.Fatal(err)
	}
	e.wantErr(e.do("POST", "/api/listings/"+l.ID+"/holds", bob.token, nil), 403, "not_admitted", "a listing hold without admission")
	bobID := eventID(t, bob.id)
	token := mint(t, e.queue, bobID, eventID(t, event), time.Now().Add(time.Minute))
	if r := e.do("POST", "/api/listings/"+l.ID+"/holds", bob.token, nil, "X-Admission-Token", token); r.status != 201 {
		t.Errorf("admitted listing hold: %d %s", r.status, r.body)
	}
}
