package server_test

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

// The secret the env's checkout signs barcodes with (newEnv).
var envKey = []byte("server-test-secret-key-of-32-bytes")

// fan is a signed-up account.
type fan struct{ id, token, email string }

func (e *env) fan(name string) fan {
	e.t.Helper()
	email := name + "-" + testkit.RandomHex(4) + "@example.test"
	r := e.do("POST", "/api/accounts", "", map[string]string{"email": email, "password": "correct horse", "name": name})
	if r.status != 201 {
		e.t.Fatalf("sign up: %d %s", r.status, r.body)
	}
	var out struct{ ID, Token string }
	r.json(e.t, &out)
	return fan{out.ID, out.Token, email}
}

// scanner signs up an account with the scanner role.
func (e *env) scanner() fan {
	e.t.Helper()
	f := e.fan("scanner")
	if err := e.accts.Grant(context.Background(), f.email, account.RoleScanner); err != nil {
		e.t.Fatal(err)
	}
	return f
}

// pay checks a hold out and pays it with 4242; it returns the order id.
func (e *env) pay(holdID, token string) string {
	e.t.Helper()
	p := e.startCheckout(holdID, token)
	r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, map[string]string{"card_number": "4242424242424242"})
	var res struct {
		Status  string
		OrderID string `json:"order_id"`
	}
	r.json(e.t, &res)
	if r.status != 200 || res.Status != "succeeded" {
		e.t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	return res.OrderID
}

// buy buys one seat and returns the ticket id.
func (e *env) buy(event, seat, token string) string {
	e.t.Helper()
	orderID := e.pay(e.holdSeats(event, token, seat), token)
	var o struct{ Tickets []struct{ ID string } }
	e.do("GET", "/api/orders/"+orderID, token, nil).json(e.t, &o)
	if len(o.Tickets) != 1 {
		e.t.Fatalf("order %s has %d tickets", orderID, len(o.Tickets))
	}
	return o.Tickets[0].ID
}

// codes returns a ticket's current rotating code and its static barcode
// (as the PDF carries it).
func (e *env) codes(ticket, token string) (rotating, static string) {
	e.t.Helper()
	r := e.do("GET", "/api/tickets/"+ticket+"/code", token, nil)
	var c struct {
		Code      string `json:"code"`
		ExpiresAt string `json:"expires_at"`
		QRPNG     string `json:"qr_png"`
	}
	r.json(e.t, &c)
	if r.status != 200 || c.Code == "" || c.ExpiresAt == "" || !strings.HasPrefix(c.QRPNG, "data:image/png;base64,") {
		e.t.Fatalf("code of %s: %d %.200s", ticket, r.status, r.body)
	}
	return c.Code, checkout.Barcode(envKey, ticket, e.ticketVersion(ticket))
}

func (e *env) ticketVersion(ticket string) int64 {
	e.t.Helper()
	var v int64
	if err := e.db().QueryRow(context.Background(), `SELECT version FROM tickets WHERE id = $1`, ticket).Scan(&v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// checkIn scans code at the door of event.
func (e *env) checkIn(scanner, event, code string) resp {
	e.t.Helper()
	return e.do("POST", "/api/checkins", scanner, map[string]string{"code": code, "event": event})
}

// printAtHome sets the event's entry rule over the admin API: on, the
// static code of the PDF admits too.
func (e *env) printAtHome(event string, on bool) {
	e.t.Helper()
	r := e.do("PATCH", "/api/admin/events/"+event, e.admin(), map[string]bool{"print_at_home": on})
	var ev struct {
		PrintAtHome bool `json:"print_at_home"`
	}
	r.json(e.t, &ev)
	if r.status != 200 || ev.PrintAtHome != on {
		e.t.Fatalf("print_at_home %v: %d %s", on, r.status, r.body)
	}
}

func (e *env) wantErr(r resp, status int, code, what string) {
	e.t.Helper()
	if r.status != status || r.errCode(e.t) != code {
		e.t.Errorf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
}

func (e *env) drainJobs() {
	e.t.Helper()
	runner := jobs.NewRunner(e.db(), nil, jobs.Config{})
	e.checkout.RegisterJobs(runner)
	if _, err := runner.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	var dead int
	if err := e.db().QueryRow(context.Background(), `SELECT count(*) FROM jobs WHERE done_at IS NULL`).Scan(&dead); err != nil {
		e.t.Fatal(err)
	}
}

// mailSubjects returns the subjects of every message mailpit holds for addr.
func mailSubjects(t *testing.T, api, addr string) []string {
	t.Helper()
	var list struct {
		Messages []struct{ Subject string }
	}
	raw := httpGet(t, api+"/api/v1/search?query="+url.QueryEscape(`to:"`+addr+`"`))
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("mailpit search: %v: %s", err, raw)
	}
	var out []string
	for _, m := range list.Messages {
		out = append(out, m.Subject)
	}
	sort.Strings(out)
	return out
}

func hasSubject(subjects []string, part string) bool {
	for _, s := range subjects {
		if strings.Contains(s, part) {
			return true
		}
	}
	return false
}

// TestCheckInExactlyOnce: 50 concurrent scans of one rotating code admit
// exactly once (one 200 naming seat and holder, 49 409
// already_checked_in); the static barcode of the same ticket is then 409
// too; a forged or unknown code is 404 invalid_code; a fan without the
// scanner role gets 403, an admin may scan.
func TestCheckInExactlyOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 4)
	e.printAtHome(event, true) // these tests scan the PDF's static code too
	alice := e.fan("alice")
	ticket := e.buy(event, seats[0], alice.token)
	rotating, static := e.codes(ticket, alice.token)
	sc := e.scanner()

	e.wantErr(e.checkIn(alice.token, event, rotating), 403, "forbidden", "a fan scanning")
	e.wantErr(e.checkIn(sc.token, event, rotating[:len(rotating)-2]+"xx"), 404, "invalid_code", "a forged code")
	e.wantErr(e.checkIn(sc.token, event, checkout.Barcode(envKey, "3f1c1f57-8c5b-4c3e-9d59-000000000000", 1)), 404, "invalid_code", "an unknown ticket")
	e.wantErr(e.checkIn(sc.token, event, "hello"), 404, "invalid_code", "junk")

	const scans = 50
	var wg sync.WaitGroup
	results := make([]resp, scans)
	for i := range scans {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = e.checkIn(sc.token, event, rotating) }()
	}
	wg.Wait()
	ok, again := 0, 0
	for _, r := range results {
		switch {
		case r.status == 200:
			ok++
			var a struct {
				Ticket string
				Holder string
				Seat   struct{ ID string }
			}
			r.json(t, &a)
			if a.Ticket != ticket || a.Holder != "alice" || a.Seat.ID != seats[0] {
				t.Errorf("admission %s", r.body)
			}
		case r.status == 409 && r.errCode(t) == "already_checked_in":
			again++
		default:
			t.Errorf("scan: %d %s", r.status, r.body)
		}
	}
	if ok != 1 || again != scans-1 {
		t.Errorf("%d admitted and %d already checked in of %d scans, want 1 and %d", ok, again, scans, scans-1)
	}
	e.wantErr(e.checkIn(e.admin(), event, static), 409, "already_checked_in", "the static barcode after check-in (admin)")
	e.wantErr(e.do("GET", "/api/tickets/"+ticket+"/code", alice.token, nil), 409, "already_checked_in", "code of a checked-in ticket")
}

// TestTransferKillsOldCodes: alice offers her ticket to bob (he is
// emailed and sees it incoming); while pending it cannot be listed or
// scanned; bob accepts: the ticket is his, alice's rotating and static codes
// are 404 invalid_code, bob's work; both are emailed. A second transfer is
// declined (the sender keeps it) and a third cancelled by the sender
// (DELETE), and the other side cannot do what is not theirs.
func TestTransferKillsOldCodes(t *testing.T) {
	mailAPI, smtpURL := testkit.Mailpit(t)
	mailer, err := checkout.NewSMTPMailer(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{mailer: mailer})
	event, seats := e.event(1, 1, 4)
	e.printAtHome(event, true) // these tests scan the PDF's static code too
	alice, bob := e.fan("alice"), e.fan("bob")
	sc := e.scanner()
	ticket := e.buy(event, seats[0], alice.token)
	oldRotating, oldStatic := e.codes(ticket, alice.token)

	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/transfers", alice.token, map[string]string{"to_email": alice.email}), 422, "self_transfer", "transfer to oneself")
	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/transfers", bob.token, map[string]string{"to_email": alice.email}), 404, "ticket_not_found", "bob offering alice's ticket")

	r := e.do("POST", "/api/tickets/"+ticket+"/transfers", alice.token, map[string]string{"to_email": strings.ToUpper(bob.email)})
	var tr struct{ ID, Status string }
	r.json(t, &tr)
	if r.status != 201 || tr.Status != "pending" || tr.ID == "" {
		t.Fatalf("offer: %d %s", r.status, r.body)
	}
	var incoming []struct{ ID, Direction, TicketID string }
	e.do("GET", "/api/transfers", bob.token, nil).json(t, &incoming)
	if len(incoming) != 1 || incoming[0].ID != tr.ID || incoming[0].Direction != "incoming" {
		t.Errorf("bob's transfers %+v", incoming)
	}
	e.wantErr(e.do("POST", "/api/tickets/"+ticket+"/listing", alice.token, map[string]int{"price_cents": 1000}), 409, "transfer_pending", "listing while transfer pending")
	e.wantErr(e.checkIn(sc.token, event, oldStatic), 409, "transfer_pending", "check-in while transfer pending")
	e.wantErr(e.do("POST", "/api/transfers/"+tr.ID+"/accept", alice.token, nil), 403, "forbidden", "the sender accepting")
	e.wantErr(e.do("DELETE", "/api/transfers/"+tr.ID, bob.token, nil), 403, "forbidden", "the recipient cancelling")

	r = e.do("POST", "/api/transfers/"+tr.ID+"/accept", bob.token, nil)
	if r.status != 200 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	e.wantErr(e.do("POST", "/api/transfers/"+tr.ID+"/accept", bob.token, nil), 409, "transfer_not_pending", "accepting twice")
	e.wantErr(e.do("GET", "/api/tickets/"+ticket, alice.token, nil), 404, "ticket_not_found", "alice reading bob's ticket")
	e.wantErr(e.checkIn(sc.token, event, oldRotating), 404, "invalid_code", "alice's old rotating code")
	e.wantErr(e.checkIn(sc.token, event, oldStatic), 404, "invalid_code", "alice's old static code")
	var bobs struct {
		OrderID string `json:"order_id"`
	}
	e.do("GET", "/api/tickets/"+ticket, bob.token, nil).json(t, &bobs)
	e.wantErr(e.do("GET", "/api/orders/"+bobs.OrderID+"/pdf", alice.token, nil), 404, "ticket_not_found", "alice's order PDF after giving its only ticket away")
	newRotating, newStatic := e.codes(ticket, bob.token)
	if newStatic == oldStatic {
		t.Error("the static code did not change")
	}

	// Bob gives it back; alice declines; bob keeps it. Then bob offers it
	// again and cancels.
	r = e.do("POST", "/api/tickets/"+ticket+"/transfers", bob.token, map[string]string{"to_email": alice.email})
	r.json(t, &tr)
	if r := e.do("POST", "/api/transfers/"+tr.ID+"/decline", alice.token, nil); r.status != 200 {
		t.Errorf("decline: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/tickets/"+ticket+"/transfers", bob.token, map[string]string{"to_email": alice.email})
	r.json(t, &tr)
	if r := e.do("DELETE", "/api/transfers/"+tr.ID, bob.token, nil); r.status != 204 {
		t.Errorf("cancel: %d %s", r.status, r.body)
	}
	e.wantErr(e.do("POST", "/api/transfers/"+tr.ID+"/accept", alice.token, nil), 409, "transfer_not_pending", "accepting a cancelled transfer")
	if r := e.checkIn(sc.token, event, newRotating); r.status != 200 {
		t.Errorf("bob's rotating code: %d %s", r.status, r.body)
	}
	_ = newStatic

	e.drainJobs()
	aliceMail, bobMail := mailSubjects(t, mailAPI, alice.email), mailSubjects(t, mailAPI, bob.email)
	if !hasSubject(bobMail, "is waiting for you") || !hasSubject(bobMail, "Your ticket for") || !hasSubject(bobMail, "declined") {
		t.Errorf("bob's emails %q", bobMail)
	}
	if !hasSubject(aliceMail, "transfer was accepted") || !hasSubject(aliceMail, "Your tickets for") {
		t.Errorf("alice's emails %q", aliceMail)
	}
}

// TestTransferToEmailWithoutAccount: an offer to an address with no
// account answers exactly as one to an account (201, the same fields), so
// an offer never tells the sender whether an address is signed up. The
// address gets an invitation email (through mailpit); whoever then signs up
// with it (in another case: account.NormalizeEmail) sees
// the offer incoming and can accept it, and the ticket is theirs. A second
// offer to another new address is cancelled by the sender: its invitee
// signs up to nothing, and the sender keeps the ticket.
func TestTransferToEmailWithoutAccount(t *testing.T) {
	mailAPI, smtpURL := testkit.Mailpit(t)
	mailer, err := checkout.NewSMTPMailer(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{mailer: mailer})
	event, seats := e.event(1, 1, 4)
	alice, bob := e.fan("alice"), e.fan("bob")
	toBob := e.buy(event, seats[0], alice.token)
	toNew := e.buy(event, seats[1], alice.token)
	toCancel := e.buy(event, seats[2], alice.token)

	keys := func(r resp) []string {
		t.Helper()
		var m map[string]any
		r.json(t, &m)
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	known := e.do("POST", "/api/tickets/"+toBob+"/transfers", alice.token, map[string]string{"to_email": bob.email})
	newcomer := "carol-" + testkit.RandomHex(4) + "@example.test"
	unknown := e.do("POST", "/api/tickets/"+toNew+"/transfers", alice.token, map[string]string{"to_email": newcomer})
	if known.status != 201 || unknown.status != 201 {
		t.Fatalf("offers: to an account %d %s; to an address without one %d %s", known.status, known.body, unknown.status, unknown.body)
	}
	if k, u := keys(known), keys(unknown); strings.Join(k, ",") != strings.Join(u, ",") {
		t.Errorf("the answers differ in shape: to an account %v, to an address without one %v", k, u)
	}
	var offer struct{ ID, Status string }
	unknown.json(t, &offer)
	gone := "dave-" + testkit.RandomHex(4) + "@example.test"
	r := e.do("POST", "/api/tickets/"+toCancel+"/transfers", alice.token, map[string]string{"to_email": gone})
	var cancelled struct{ ID string }
	r.json(t, &cancelled)
	if r.status != 201 {
		t.Fatalf("offer to %s: %d %s", gone, r.status, r.body)
	}
	var outgoing []struct {
		ID, Direction string
		ToEmail       string `json:"to_email"`
	}
	e.do("GET", "/api/transfers", alice.token, nil).json(t, &outgoing)
	if len(outgoing) != 3 || outgoing[0].ToEmail != gone || outgoing[0].Direction != "outgoing" {
		t.Errorf("alice's outgoing transfers %+v, want 3", outgoing)
	}
	if r := e.do("DELETE", "/api/transfers/"+cancelled.ID, alice.token, nil); r.status != 204 {
		t.Errorf("cancel the offer to %s: %d %s", gone, r.status, r.body)
	}

	e.drainJobs()
	if got := mailSubjects(t, mailAPI, newcomer); !hasSubject(got, "is waiting for you") {
		t.Errorf("the invitation to %s: emails %q", newcomer, got)
	}

	// Carol signs up with the address in capitals.
	spelled := strings.ToUpper(newcomer)
	su := e.do("POST", "/api/accounts", "", map[string]string{"email": spelled, "password": "correct horse", "name": "carol"})
	var carol struct{ ID, Token string }
	su.json(t, &carol)
	if su.status != 201 {
		t.Fatalf("carol signs up: %d %s", su.status, su.body)
	}
	var incoming []struct {
		ID, Direction string
		TicketID      string `json:"ticket_id"`
	}
	e.do("GET", "/api/transfers", carol.Token, nil).json(t, &incoming)
	if len(incoming) != 1 || incoming[0].ID != offer.ID || incoming[0].Direction != "incoming" || incoming[0].TicketID != toNew {
		t.Fatalf("carol's transfers %+v, want the offer %s incoming", incoming, offer.ID)
	}
	e.wantErr(e.do("POST", "/api/transfers/"+offer.ID+"/accept", bob.token, nil), 404, "transfer_not_found", "bob accepting carol's offer")
	if r := e.do("POST", "/api/transfers/"+offer.ID+"/accept", carol.Token, nil); r.status != 200 {
		t.Fatalf("carol accepts: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/tickets/"+toNew, carol.Token, nil); r.status != 200 {
		t.Errorf("carol's new ticket: %d %s", r.status, r.body)
	}
	e.wantErr(e.do("GET", "/api/tickets/"+toNew, alice.token, nil), 404, "ticket_not_found", "alice reading the ticket she gave carol")

	// Dave signs up after the offer to him was cancelled: nothing waits.
	su = e.do("POST", "/api/accounts", "", map[string]string{"email": gone, "password": "correct horse", "name": "dave"})
	var dave struct{ Token string }
	su.json(t, &dave)
	incoming = nil
	e.do("GET", "/api/transfers", dave.Token, nil).json(t, &incoming)
	if len(incoming) != 0 {
		t.Errorf("dave's transfers %+v after the offer was cancelled", incoming)
	}
	var st struct{ Status string }
	e.do("GET", "/api/tickets/"+toCancel, alice.token, nil).json(t, &st)
	if st.Status != "valid" {
		t.Errorf("alice's ticket after cancelling the offer is %q, want valid", st.Status)
	}
}

// TestEntryRulesPerEvent: check-in is tied to the event whose door scans:
// a genuine ticket of another event is 409 wrong_event naming its event.
// Each event has one honest rule: with print_at_home off (the default) the
// PDF's static code is 409 app_code_required and only the rotating code
// admits; with it on, the static code admits once. The ticket says which
// rule applies, and the entrance is recorded with the check-in.
func TestEntryRulesPerEvent(t *testing.T) {
	e := newEnv(t, envOpts{})
	appOnly, seatsA := e.event(1, 1, 4)
	printed, seatsB := e.event(1, 1, 4)
	e.printAtHome(printed, true)
	alice, bob, sc := e.fan("alice"), e.fan("bob"), e.scanner()
	ta := e.buy(appOnly, seatsA[0], alice.token)
	tb := e.buy(printed, seatsB[0], bob.token)
	for _, c := range []struct {
		ticket, token string
		want          bool
	}{{ta, alice.token, false}, {tb, bob.token, true}} {
		var tk struct {
			PrintAtHome bool `json:"print_at_home"`
		}
		e.do("GET", "/api/tickets/"+c.ticket, c.token, nil).json(t, &tk)
		if tk.PrintAtHome != c.want {
			t.Errorf("ticket %s print_at_home = %v, want %v", c.ticket, tk.PrintAtHome, c.want)
		}
	}
	rotA, staticA := e.codes(ta, alice.token)
	_, staticB := e.codes(tb, bob.token)

	r := e.checkIn(sc.token, printed, rotA)
	e.wantErr(r, 409, "wrong_event", "alice's ticket at the other event's door")
	var body struct {
		Error struct {
			EventName string `json:"event_name"`
		}
	}
	r.json(t, &body)
	if body.Error.EventName != "TestEntryRulesPerEvent" {
		t.Errorf("wrong_event names %q, want the ticket's event", body.Error.EventName)
	}
	e.wantErr(e.checkIn(sc.token, printed, staticA), 409, "wrong_event", "alice's static code at the other event's door")
	e.wantErr(e.checkIn(sc.token, appOnly, staticA), 409, "app_code_required", "a static code where only the app admits")
	r = e.do("POST", "/api/checkins", sc.token, map[string]string{"code": rotA, "event": appOnly, "entrance": "North gate"})
	var a struct{ Ticket, Entrance string }
	r.json(t, &a)
	if r.status != 200 || a.Ticket != ta || a.Entrance != "North gate" {
		t.Errorf("rotating code at its door: %d %s", r.status, r.body)
	}
	if r := e.checkIn(sc.token, printed, staticB); r.status != 200 {
		t.Errorf("static code where print_at_home is on: %d %s", r.status, r.body)
	}
	e.wantErr(e.checkIn(sc.token, printed, staticB), 409, "already_checked_in", "the static code again")
	e.wantErr(e.do("POST", "/api/checkins", sc.token, map[string]string{"code": staticB}), 422, "validation_failed", "a scan without its event")
	e.wantErr(e.do("PATCH", "/api/admin/events/"+printed, e.admin(), map[string]string{}), 422, "invalid_change", "an empty change")
}
