package server_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

type adminOrderBody struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Buyer   struct{ Email string }
	Tickets []struct {
		ID             string
		Status         string
		PriceBreakdown struct {
			TotalCents int64 `json:"total_cents"`
		} `json:"price_breakdown"`
		Seat struct{ ID string }
	}
	Refunds []struct {
		ID          string
		Status      string
		AmountCents int64 `json:"amount_cents"`
	}
	Notes           []struct{ Body string }
	RefundableCents int64 `json:"refundable_cents"`
	TotalCents      int64 `json:"total_cents"`
}

func (e *env) adminOrder(token, order string) adminOrderBody {
	e.t.Helper()
	var o adminOrderBody
	r := e.do("GET", "/api/admin/orders/"+order, token, nil)
	if r.status != 200 {
		e.t.Fatalf("admin order: %d %s", r.status, r.body)
	}
	r.json(e.t, &o)
	return o
}

type ledgerBody struct {
	Balanced bool
	Residual int64 `json:"residual_cents"`
	Totals   struct {
		Gross  int64 `json:"gross_cents"`
		Refund int64 `json:"refund_cents"`
	}
}

func (e *env) ledger(token, event string) ledgerBody {
	e.t.Helper()
	var l ledgerBody
	e.do("GET", "/api/admin/events/"+event+"/ledger", token, nil).json(e.t, &l)
	return l
}

// TestAdminOrderRefunds: an admin finds a fan's order by email, name and
// seat, refunds one ticket (its seat back on sale), then an amount, then
// the rest; each refund goes out through its job, the provider's refunded
// amount equals the refunds', the order ends refunded and the ledger stays
// balanced throughout. A refund above what is left is refused, and the
// notes record every step.
func TestAdminOrderRefunds(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	admin := e.admin()
	event, seats := e.event(1, 1, 6)
	name := "Refund " + testkit.RandomHex(4)
	r := e.do("POST", "/api/accounts", "", map[string]string{"email": strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@example.test",
		"password": "correct horse", "name": name})
	var fan struct{ Token string }
	r.json(t, &fan)
	order := e.pay(e.holdSeats(event, fan.Token, seats[0], seats[1], seats[2]), fan.Token)

	for _, q := range []string{name[7:], strings.ToLower(name[7:]) + "@example", order[:8], "S1 1 2", "s1-1-2"} {
		var page struct {
			Orders []struct{ ID string }
			More   bool
		}
		e.do("GET", "/api/admin/orders?q="+strings.ReplaceAll(q, " ", "%20")+"&event="+event, admin, nil).json(t, &page)
		if len(page.Orders) != 1 || page.Orders[0].ID != order {
			t.Errorf("search %q: %+v, want order %s", q, page.Orders, order)
		}
	}
	if r := e.do("GET", "/api/admin/orders?page=0", admin, nil); r.status != 422 {
		t.Errorf("page 0: %d %s", r.status, r.body)
	}

	o := e.adminOrder(admin, order)
	first := o.Tickets[0]
	r = e.do("POST", "/api/admin/orders/"+order+"/refund", admin, map[string]any{"ticket_ids": []string{first.ID},
		"reason": `asked on the phone, "sick"`, "release_seats": true})
	var refund struct {
		ID          string
		Status      string
		AmountCents int64 `json:"amount_cents"`
	}
	r.json(t, &refund)
	if r.status != 202 || refund.Status != "pending" || refund.AmountCents != first.PriceBreakdown.TotalCents {
		t.Fatalf("ticket refund: %d %s, want 202 of %d", r.status, r.body, first.PriceBreakdown.TotalCents)
	}
	if err := e.checkout.RunAdminRefund(ctx, refund.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.availability(event); got[0] != 'a' {
		t.Errorf("the refunded seat is %q, want back on sale", got[0])
	}
	if r := e.do("POST", "/api/admin/orders/"+order+"/refund", admin, map[string]any{"amount_cents": o.TotalCents, "reason": "too much"}); r.status != 409 || r.errCode(t) != "refund_too_large" {
		t.Errorf("refund above what is left: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/admin/orders/"+order+"/refund", admin, map[string]any{"amount_cents": 150, "reason": "late doors"})
	r.json(t, &refund)
	if r.status != 202 || refund.AmountCents != 150 {
		t.Fatalf("amount refund: %d %s", r.status, r.body)
	}
	if err := e.checkout.RunAdminRefund(ctx, refund.ID); err != nil {
		t.Fatal(err)
	}
	if l := e.ledger(admin, event); !l.Balanced || l.Totals.Refund != first.PriceBreakdown.TotalCents+150 {
		t.Errorf("ledger after two refunds: %+v", l)
	}
	// The rest: both tickets left, capped at what is left of the payment.
	r = e.do("POST", "/api/admin/orders/"+order+"/refund", admin, map[string]any{"reason": "event moved"})
	r.json(t, &refund)
	if want := o.TotalCents - first.PriceBreakdown.TotalCents - 150; r.status != 202 || refund.AmountCents != want {
		t.Fatalf("full refund: %d %s, want %d", r.status, r.body, want)
	}
	if err := e.checkout.RunAdminRefund(ctx, refund.ID); err != nil {
		t.Fatal(err)
	}
	o = e.adminOrder(admin, order)
	if o.Status != "refunded" || o.RefundableCents != 0 || len(o.Refunds) != 3 {
		t.Errorf("after the full refund: status %s, left %d, refunds %+v", o.Status, o.RefundableCents, o.Refunds)
	}
	var intentID string
	if err := e.db().QueryRow(ctx, `SELECT p.intent_id FROM payments p JOIN orders o ON o.payment_id = p.id WHERE o.id = $1`,
		order).Scan(&intentID); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.proc.Intent(intentID); in.AmountRefunded != o.TotalCents {
		t.Errorf("the provider refunded %d of %d", in.AmountRefunded, o.TotalCents)
	}
	if l := e.ledger(admin, event); !l.Balanced || l.Residual != 0 || l.Totals.Refund != l.Totals.Gross {
		t.Errorf("ledger after the full refund: %+v", l)
	}
	if r := e.do("POST", "/api/admin/orders/"+order+"/refund", admin, map[string]any{"reason": "again"}); r.status != 409 {
		t.Errorf("refund of a refunded order: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/admin/orders/"+order+"/notes", admin, map[string]any{"body": "called back, all good"})
	if r.status != 201 {
		t.Fatalf("note: %d %s", r.status, r.body)
	}
	o = e.adminOrder(admin, order)
	if len(o.Notes) != 4 || !strings.Contains(o.Notes[0].Body, `"sick"`) || o.Notes[3].Body != "called back, all good" {
		t.Errorf("notes: %+v", o.Notes)
	}
}

// TestAdminVoidAndResend: a voided ticket no longer counts as an
// attendee, cannot be voided twice, and the confirmation can be sent again.
func TestAdminVoidAndResend(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	event, seats := e.event(1, 1, 4)
	_, fan := e.signUp("voided")
	order := e.pay(e.holdSeats(event, fan, seats[0], seats[1]), fan)
	o := e.adminOrder(admin, order)
	r := e.do("POST", "/api/admin/tickets/"+o.Tickets[0].ID+"/void", admin, map[string]any{"reason": "reported stolen"})
	if r.status != 200 {
		t.Fatalf("void: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/admin/tickets/"+o.Tickets[0].ID+"/void", admin, map[string]any{}); r.status != 409 {
		t.Errorf("second void: %d %s", r.status, r.body)
	}
	var page struct {
		Attendees []struct {
			TicketID string `json:"ticket_id"`
		} `json:"attendees"`
	}
	e.do("GET", "/api/admin/events/"+event+"/attendees", admin, nil).json(t, &page)
	if len(page.Attendees) != 1 || page.Attendees[0].TicketID != o.Tickets[1].ID {
		t.Errorf("attendees: %+v", page.Attendees)
	}
	if r := e.do("POST", "/api/admin/orders/"+order+"/confirmation", admin, nil); r.status != 202 {
		t.Errorf("resend: %d %s", r.status, r.body)
	}
	var n int
	if err := e.db().QueryRow(context.Background(), `SELECT count(*) FROM jobs WHERE kind = 'checkout.confirmation' AND payload->>'order_id' = $1`,
		order).Scan(&n); err != nil || n != 2 {
		t.Errorf("confirmation jobs: %d %v, want 2", n, err)
	}
}

// TestCounterSaleAndStreamedExport: a box office operator sells 1,500
// seats at the counter, 100 at a time, cash and card alike, under names
// with commas and quotes; the ledger counts the money and balances. The
// attendee export then arrives chunked (no Content-Length: the server
// wrote it as it read the rows, in many pieces) and is well-formed CSV
// with every name intact; the orders export names the payment methods.
func TestCounterSaleAndStreamedExport(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	event, seats := e.event(3, 10, 50)
	operator := e.boxOffice()
	names := map[string]bool{}
	for i := 0; i < len(seats); i += 100 {
		name := fmt.Sprintf(`O'Neil, "Group %d"`, i/100)
		names[name] = true
		method := []string{"cash", "card_present"}[i/100%2]
		r := e.do("POST", "/api/admin/events/"+event+"/counter-sales", operator, map[string]any{"seat_ids": seats[i : i+100],
			"method": method, "holder_name": name})
		if r.status != 201 {
			t.Fatalf("counter sale %d: %d %.300s", i/100, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/admin/events/"+event+"/counter-sales", operator, map[string]any{"seat_ids": seats[:1], "method": "cash"}); r.status != 409 {
		t.Errorf("selling a sold seat: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/admin/events/"+event+"/counter-sales", operator, map[string]any{"seat_ids": seats[:1], "method": "cheque"}); r.status != 422 {
		t.Errorf("a cheque: %d %s", r.status, r.body)
	}
	if l := e.ledger(admin, event); !l.Balanced || l.Totals.Gross != int64(len(seats))*4200 {
		t.Errorf("ledger of the counter sales: %+v", l)
	}

	status, header, chunks, body := rawGet(t, e.base, "/api/admin/events/"+event+"/exports/attendees.csv", admin)
	if status != 200 || header.Get("Content-Length") != "" || !strings.Contains(header.Get("Transfer-Encoding"), "chunked") || chunks < 3 {
		t.Fatalf("attendees export: %d, headers %v, %d chunks: not streamed", status, header, chunks)
	}
	cr := csv.NewReader(strings.NewReader(body))
	cr.FieldsPerRecord = 10
	records, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("attendees export is not well-formed CSV: %v", err)
	}
	if len(records) != len(seats)+1 || records[0][2] != "holder_name" {
		t.Fatalf("attendees export: %d records, header %v", len(records), records[0])
	}
	for _, rec := range records[1:] {
		if !names[rec[2]] {
			t.Fatalf("attendee name %q came back changed", rec[2])
		}
	}
	r := e.do("GET", "/api/admin/events/"+event+"/exports/orders.csv", admin, nil)
	orders, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil || r.status != 200 || len(orders) != len(seats)/100+1 {
		t.Fatalf("orders export: %d, %d records, %v", r.status, len(orders), err)
	}
	methods := map[string]int{}
	for _, rec := range orders[1:] {
		methods[rec[10]]++
	}
	if methods["cash"] != 8 || methods["card_present"] != 7 {
		t.Errorf("payment methods in the orders export: %v", methods)
	}
	for _, kind := range []string{"checkins", "refunds", "payouts", "ledger"} {
		r := e.do("GET", "/api/admin/events/"+event+"/exports/"+kind+".csv", admin, nil)
		if _, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll(); r.status != 200 || err != nil {
			t.Errorf("%s export: %d %v", kind, r.status, err)
		}
	}
	if r := e.do("GET", "/api/admin/events/"+event+"/exports/secrets.csv", admin, nil); r.status != 404 {
		t.Errorf("unknown export: %d", r.status)
	}
}

// rawGet sends a GET over a bare connection and reads the answer's
// chunked encoding itself, counting the chunks: more than one shows the
// body was written as it was produced, not buffered whole.
func rawGet(t *testing.T, base, path, token string) (int, http.Header, int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: app.test\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", path, token)
	tp := textproto.NewReader(bufio.NewReader(conn))
	line, err := tp.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	status, _ := strconv.Atoi(strings.Fields(line + " 0 0")[1])
	mime, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header(mime)
	if !strings.Contains(header.Get("Transfer-Encoding"), "chunked") {
		raw, _ := io.ReadAll(tp.R)
		return status, header, 1, string(raw)
	}
	var body strings.Builder
	chunks := 0
	for {
		size, err := tp.ReadLine()
		if err != nil {
			t.Fatalf("chunk size: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(size, ";", 2)[0]), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", size, err)
		}
		if n == 0 {
			return status, header, chunks, body.String()
		}
		chunks++
		if _, err := io.CopyN(&body, tp.R, n); err != nil {
			t.Fatalf("chunk: %v", err)
		}
		if _, err := tp.ReadLine(); err != nil { // the CRLF after the chunk
			t.Fatal(err)
		}
	}
}

// TestRolesGrantedByAdmin: an admin finds an account and makes it a
// finance clerk (who may then read the ledger and nothing else), then a
// scanner kept to one event (refused at another event's door); an admin
// cannot change their own role, and event_id goes only with scanner.
func TestRolesGrantedByAdmin(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	event, _ := e.event(1, 1, 2)
	other, _ := e.event(1, 1, 2)
	id, token := e.signUp("clerk")
	var found []struct{ ID, Email, Role string }
	e.do("GET", "/api/admin/accounts?q=clerk-", admin, nil).json(t, &found)
	if len(found) == 0 {
		t.Fatalf("account search found nothing")
	}
	r := e.do("PUT", "/api/admin/accounts/"+id+"/role", admin, map[string]any{"role": "finance"})
	if r.status != 200 {
		t.Fatalf("grant finance: %d %s", r.status, r.body)
	}
	// Finance is staff: nothing but the two-factor enrolment until it is done.
	if r := e.do("GET", "/api/admin/events/"+event+"/ledger", token, nil); r.status != 403 || r.errCode(t) != "totp_enrolment_required" {
		t.Errorf("finance without two-factor reads the ledger: %d %s", r.status, r.body)
	}
	e.enrolTOTP(token)
	if r := e.do("GET", "/api/admin/events/"+event+"/ledger", token, nil); r.status != 200 {
		t.Errorf("finance reads the ledger: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/admin/orders", token, nil); r.status != 403 {
		t.Errorf("finance searches orders: %d, want 403", r.status)
	}
	if r := e.do("PUT", "/api/admin/accounts/"+id+"/role", admin, map[string]any{"role": "finance", "event_id": event}); r.status != 422 {
		t.Errorf("event_id with finance: %d %s", r.status, r.body)
	}
	r = e.do("PUT", "/api/admin/accounts/"+id+"/role", admin, map[string]any{"role": "scanner", "event_id": event})
	var acct struct {
		Role        string `json:"role"`
		RoleEventID string `json:"role_event_id"`
	}
	r.json(t, &acct)
	if r.status != 200 || acct.Role != "scanner" || acct.RoleEventID != event {
		t.Fatalf("grant scanner of %s: %d %s", event, r.status, r.body)
	}
	if r := e.do("POST", "/api/checkins", token, map[string]any{"code": "nope", "event": other}); r.status != 403 || r.errCode(t) != "scanner_scope" {
		t.Errorf("scan at another event's door: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/checkins", token, map[string]any{"code": "nope", "event": event}); r.status == 403 {
		t.Errorf("scan at its own door: %d %s", r.status, r.body)
	}
	var me struct{ ID string }
	e.do("GET", "/api/me", admin, nil).json(t, &me)
	if r := e.do("PUT", "/api/admin/accounts/"+me.ID+"/role", admin, map[string]any{"role": "fan"}); r.status != 409 || r.errCode(t) != "own_role" {
		t.Errorf("an admin demoting themself: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/admin/accounts/999999999/role", admin, map[string]any{"role": "fan"}); r.status != 404 {
		t.Errorf("no such account: %d %s", r.status, r.body)
	}
}

// boxOffice signs up a box office operator, second factor enrolled, and
// returns their session.
func (e *env) boxOffice() string {
	e.t.Helper()
	email := "box-" + testkit.RandomHex(4) + "@example.test"
	r := e.do("POST", "/api/accounts", "", map[string]string{"email": email, "password": "correct horse", "name": "Door"})
	var out struct{ Token string }
	r.json(e.t, &out)
	if err := e.accts.Grant(context.Background(), email, account.RoleBoxOffice); err != nil {
		e.t.Fatal(err)
	}
	e.enrolTOTP(out.Token)
	return out.Token
}

// TestCounterSaleBestAndStanding: at the counter an operator sells the
// best 12 seats (more than a fan's cap of 8) and 5 standing places without
// naming any, at the first price type; a shape that names two kinds, or
// price types without named seats, is refused; the ledger balances.
func TestCounterSaleBestAndStanding(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	operator := e.boxOffice()
	event, _ := e.event(1, 4, 10)
	var o struct {
		TotalCents int64 `json:"total_cents"`
		Tickets    []struct {
			Row    string `json:"row"`
			Number int    `json:"number"`
		} `json:"tickets"`
	}
	r := e.do("POST", "/api/admin/events/"+event+"/counter-sales", operator, map[string]any{
		"best_available": map[string]any{"quantity": 12}, "method": "cash", "holder_name": "School trip"})
	if r.status != 201 {
		t.Fatalf("best 12 at the counter: %d %.300s", r.status, r.body)
	}
	r.json(t, &o)
	if len(o.Tickets) != 12 || o.TotalCents != 12*4200 {
		t.Fatalf("best 12: %d tickets, %d cents", len(o.Tickets), o.TotalCents)
	}
	floor := e.gaEvent(50)
	r = e.do("POST", "/api/admin/events/"+floor+"/counter-sales", operator, map[string]any{
		"ga": map[string]any{"section": "FLOOR", "quantity": 5}, "method": "card_present"})
	r.json(t, &o)
	if r.status != 201 || len(o.Tickets) != 5 || o.TotalCents != 5*3000 {
		t.Fatalf("5 standing at the counter: %d, %d tickets, %d cents: %.300s", r.status, len(o.Tickets), o.TotalCents, r.body)
	}
	if left := e.freshGA(floor); len(left) != 1 || left[0].Available != 45 {
		t.Errorf("floor after the counter sale: %+v, want 45 left", left)
	}
	for _, bad := range []map[string]any{
		{"best_available": map[string]any{"quantity": 2}, "ga": map[string]any{"section": "FLOOR", "quantity": 1}, "method": "cash"},
		{"method": "cash"},
		{"best_available": map[string]any{"quantity": 2}, "tickets": []map[string]any{{"seat_id": "1", "price_type": "adult"}}, "method": "cash"},
	} {
		if r := e.do("POST", "/api/admin/events/"+event+"/counter-sales", operator, bad); r.status != 422 && r.status != 400 {
			t.Errorf("counter sale %v: %d %s, want refused", bad, r.status, r.body)
		}
	}
	for _, ev := range []string{event, floor} {
		if l := e.ledger(admin, ev); !l.Balanced || l.Residual != 0 {
			t.Errorf("ledger of %s: %+v", ev, l)
		}
	}
}
