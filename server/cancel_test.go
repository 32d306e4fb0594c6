package server_test

import (
	"context"
	"testing"

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
