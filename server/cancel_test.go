package server_test

import (
	"context"
	"testing"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
)

// TestCancelOverAPI: PATCH {status: cancel} voids the tickets at once and
// the refund jobs refund the order; the admin's order search finds it by
// the buyer's email and shows it refunded.
func TestCancelOverAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 4)
	admin := e.admin()
	_, fan := e.signUp("buyer")
	p := e.startCheckout(e.holdSeats(event, fan, seats[0], seats[1]), fan)
	if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", fan, map[string]string{"card_number": "4242424242424242"}); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	var me struct{ Email string }
	e.do("GET", "/api/me", fan, nil).json(t, &me)

	var found []struct {
		ID, Status, Email string
		Tickets           int
	}
	e.do("GET", "/api/admin/events/"+event+"/orders?q="+me.Email[:8], admin, nil).json(t, &found)
	if len(found) != 1 || found[0].Status != "paid" || found[0].Tickets != 2 {
		t.Fatalf("search before cancel: %+v", found)
	}
	if r := e.do("GET", "/api/admin/events/"+event+"/orders?q=nobody-matches", admin, nil); string(r.body) != "[]" {
		t.Errorf("search with no match: %d %s", r.status, r.body)
	}

	r := e.do("PATCH", "/api/admin/events/"+event, admin, map[string]string{"status": "cancel"})
	if r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM tickets WHERE order_id = $1 AND status = 'void'`, found[0].ID).Scan(&n); err != nil || n != 2 {
		t.Errorf("void tickets after cancel = %d, %v; want 2", n, err)
	}
	runner := jobs.NewRunner(e.pool, nil, jobs.Config{})
	e.checkout.RegisterJobs(runner)
	if _, err := runner.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/api/admin/events/"+event+"/orders", admin, nil).json(t, &found)
	if len(found) != 1 || found[0].Status != "refunded" {
		t.Errorf("after the refund job: %+v", found)
	}
	if got := e.proc.Stats().Refunds; got != 1 {
		t.Errorf("provider refunds = %d, want 1", got)
	}
	if r := e.do("PATCH", "/api/admin/events/"+event, admin, map[string]string{"status": "cancel"}); r.status != 409 {
		t.Errorf("second cancel: %d %s, want 409", r.status, r.body)
	}
}

// TestCancelEndsLiveSalesOverAPI is the live attack replayed: a hold taken
// before the event is cancelled is checked out after the cancel, and a
// checkout started before it is paid after it. Both answer 409
// event_cancelled, nothing is charged (the authorization is cancelled at
// the provider), no ticket is written; the event's listings are gone and
// cannot be held, the seller cannot transfer the ticket, and the scanner
// refuses it.
func TestCancelEndsLiveSalesOverAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	event, seats := e.event(1, 1, 6)
	admin := e.admin()
	attacker, payer, seller := e.fan("attacker"), e.fan("payer"), e.fan("seller")
	held := e.holdSeats(event, attacker.token, seats[0])
	pay := e.startCheckout(e.holdSeats(event, payer.token, seats[1]), payer.token)
	ticket := e.buy(event, seats[2], seller.token)
	rotating, _ := e.codes(ticket, seller.token)
	listing := e.list(ticket, seller.token, 2000)

	if r := e.do("PATCH", "/api/admin/events/"+event, admin, map[string]string{"status": "cancel"}); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	e.wantErr(e.do("POST", "/api/holds/"+held+"/checkout", attacker.token, nil), 409, "event_cancelled", "checkout of a hold taken before the cancel")
	e.wantErr(e.do("POST", "/api/payments/"+pay.Payment.ID+"/confirm", payer.token, map[string]string{"card_number": "4242424242424242"}),
		409, "event_cancelled", "confirm of a checkout started before the cancel")
	var intentID string
	if err := e.db().QueryRow(ctx, `SELECT intent_id FROM payments WHERE id = $1`, pay.Payment.ID).Scan(&intentID); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.proc.Intent(intentID); in.Status != checkout.IntentCanceled {
		t.Errorf("intent of the payment in flight is %s, want canceled", in.Status)
	}
	if got := e.proc.Stats(); got.Authorizations != 1 {
		t.Errorf("authorizations = %d, want 1 (the seller's purchase only)", got.Authorizations)
	}
	if ls := e.listings(event); len(ls) != 0 {
		t.Errorf("listings of the cancelled event: %+v", ls)
	}
	if r := e.do("POST", "/api/listings/"+listing.ID+"/holds", attacker.token, nil); r.status < 400 || r.status >= 500 {
		t.Errorf("hold of a listing of the cancelled event: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/tickets/"+ticket+"/transfers", seller.token, map[string]string{"to_email": attacker.email}); r.status != 409 {
		t.Errorf("transfer of a ticket of the cancelled event: %d %s, want 409", r.status, r.body)
	}
	e.wantErr(e.checkIn(e.scanner().token, event, rotating), 409, "event_cancelled", "a ticket of the cancelled event at the door")
	var live int
	if err := e.db().QueryRow(ctx, `SELECT count(*) FROM tickets t JOIN seats s ON s.id = t.seat_id
		WHERE s.event_id = $1::bigint AND t.status <> 'void'`, event).Scan(&live); err != nil || live != 0 {
		t.Errorf("%d live tickets of the cancelled event (%v)", live, err)
	}
}
