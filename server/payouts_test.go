package server_test

import (
	"bytes"
	"strconv"
	"testing"
)

// TestPayoutsAndReceiptsHTTP: with the test processor a fan's payout
// account starts as none, connecting makes a simulated one (active, the
// url is the app's page), and after a resale the seller sees the payout
// pending. The buyer's receipt is a PDF naming the organizer an admin set
// up and gave the event; another fan's request for it is 404, as is an
// order that does not exist, and it needs a session. Organizer changes are
// admin-only and validated.
func TestPayoutsAndReceiptsHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 2)
	alice, bob := e.fan("alice"), e.fan("bob")
	admin := e.admin()

	var before struct {
		Account struct{ Status string }
		Payouts []any
	}
	e.do("GET", "/api/account/payouts", alice.token, nil).json(t, &before)
	if before.Account.Status != "none" || len(before.Payouts) != 0 {
		t.Errorf("payouts before connecting = %+v", before)
	}
	var conn struct {
		URL     string
		Account struct{ Status, Provider string }
	}
	r := e.do("POST", "/api/account/payouts/connect", alice.token, nil)
	r.json(t, &conn)
	if r.status != 200 || conn.Account.Status != "active" || conn.Account.Provider != "test" || conn.URL == "" {
		t.Errorf("connect: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/account/payouts/connect", "", nil); r.status != 401 {
		t.Errorf("connect without a session: %d", r.status)
	}

	// Organizers: admin-only, validated.
	e.wantErr(e.do("POST", "/api/admin/organizers", alice.token, map[string]string{"name": "x"}), 403, "forbidden", "a fan creating an organizer")
	e.wantErr(e.do("POST", "/api/admin/organizers", admin, map[string]string{"name": ""}), 422, "validation_failed", "an organizer without a name")
	if r := e.do("POST", "/api/admin/organizers", admin, map[string]string{"name": "x", "vat": "1"}); r.status != 400 {
		t.Errorf("an unknown field: %d %s", r.status, r.body)
	}
	var org struct {
		ID   int64
		Name string
	}
	r = e.do("POST", "/api/admin/organizers", admin, map[string]string{"name": "Harbour Hall", "address": "2 Quay Road", "tax_id": "GB123"})
	r.json(t, &org)
	if r.status != 201 || org.ID == 0 {
		t.Fatalf("create organizer: %d %s", r.status, r.body)
	}
	id := strconv.FormatInt(org.ID, 10)
	if r := e.do("PUT", "/api/admin/organizers/"+id, admin, map[string]string{"name": "Harbour Hall Ltd", "address": "2 Quay Road", "tax_id": "GB123"}); r.status != 200 {
		t.Errorf("update organizer: %d %s", r.status, r.body)
	}
	e.wantErr(e.do("PUT", "/api/admin/organizers/999999999", admin, map[string]string{"name": "y"}), 404, "organizer_not_found", "an unknown organizer")
	e.wantErr(e.do("PUT", "/api/admin/events/"+event+"/organizer", admin, map[string]int64{"organizer": 999999999}), 404, "organizer_not_found", "giving an unknown organizer")
	if r := e.do("PUT", "/api/admin/events/"+event+"/organizer", admin, map[string]int64{"organizer": org.ID}); r.status != 200 {
		t.Fatalf("set the event's organizer: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/admin/organizers", admin, nil); r.status != 200 || !bytes.Contains(r.body, []byte("Harbour Hall Ltd")) {
		t.Errorf("list organizers: %d %s", r.status, r.body)
	}

	// A resale: alice's payout is pending; bob's receipt is his alone.
	ticket := e.buy(event, seats[0], alice.token)
	l := e.list(ticket, alice.token, 2000)
	var hold struct{ ID string }
	e.do("POST", "/api/listings/"+l.ID+"/holds", bob.token, nil).json(t, &hold)
	bobOrder := e.pay(hold.ID, bob.token)
	var after struct {
		Account struct{ Status string }
		Payouts []struct {
			Status   string
			NetCents int64 `json:"net_cents"`
		}
	}
	e.do("GET", "/api/account/payouts", alice.token, nil).json(t, &after)
	if len(after.Payouts) != 1 || after.Payouts[0].Status != "pending" || after.Payouts[0].NetCents != 1800 {
		t.Errorf("alice's payouts after the resale = %+v", after)
	}
	// The organizer follows it on the event: who sold, for what, and how
	// the transfer goes; fans may not look.
	var org2 struct {
		Payouts []struct {
			SellerEmail string `json:"seller_email"`
			OrderID     string `json:"order_id"`
			Status      string
			NetCents    int64 `json:"net_cents"`
			Attempts    int
		}
	}
	r = e.do("GET", "/api/admin/events/"+event+"/payouts", admin, nil)
	r.json(t, &org2)
	if r.status != 200 || len(org2.Payouts) != 1 || org2.Payouts[0].SellerEmail != alice.email || org2.Payouts[0].OrderID != bobOrder ||
		org2.Payouts[0].Status != "pending" || org2.Payouts[0].NetCents != 1800 || org2.Payouts[0].Attempts != 0 {
		t.Errorf("the event's payouts: %d %+v", r.status, org2)
	}
	e.wantErr(e.do("GET", "/api/admin/events/999999999/payouts", admin, nil), 404, "event_not_found", "payouts of no event")
	if r := e.do("GET", "/api/admin/events/"+event+"/payouts", bob.token, nil); r.status != 403 {
		t.Errorf("a fan reading the event's payouts: %d", r.status)
	}

	r = e.do("GET", "/api/orders/"+bobOrder+"/receipt.pdf", bob.token, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" || !bytes.Contains(r.body, []byte("Harbour Hall Ltd")) ||
		!bytes.Contains(r.body, []byte("Tax ID: GB123")) {
		t.Errorf("bob's receipt: %d %s, %d bytes", r.status, r.header.Get("Content-Type"), len(r.body))
	}
	e.wantErr(e.do("GET", "/api/orders/"+bobOrder+"/receipt.pdf", alice.token, nil), 404, "order_not_found", "another fan's receipt")
	e.wantErr(e.do("GET", "/api/orders/00000000-0000-0000-0000-000000000000/receipt.pdf", bob.token, nil), 404, "order_not_found", "no such order")
	if r := e.do("GET", "/api/orders/"+bobOrder+"/receipt.pdf", "", nil); r.status != 401 {
		t.Errorf("a receipt without a session: %d", r.status)
	}
}
