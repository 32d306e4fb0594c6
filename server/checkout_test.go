package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

// availability returns the event's status letters by idx.
func (e *env) availability(event string) string {
	e.t.Helper()
	var a struct {
		Statuses string `json:"statuses"`
	}
	e.do("GET", "/api/events/"+event+"/availability", "", nil).json(e.t, &a)
	return a.Statuses
}

// holdSeats holds seats over HTTP and returns the hold id.
func (e *env) holdSeats(event, token string, seats ...string) string {
	e.t.Helper()
	r := e.do("POST", "/api/events/"+event+"/holds", token, map[string]any{"seat_ids": seats})
	if r.status != 201 {
		e.t.Fatalf("hold: %d %s", r.status, r.body)
	}
	var h struct{ ID string }
	r.json(e.t, &h)
	return h.ID
}

type paymentBody struct {
	Payment struct {
		ID           string `json:"id"`
		Provider     string `json:"provider"`
		Status       string `json:"status"`
		AmountCents  int64  `json:"amount_cents"`
		Currency     string `json:"currency"`
		ClientSecret string `json:"client_secret"`
	} `json:"payment"`
}

func (e *env) startCheckout(holdID, token string) paymentBody {
	e.t.Helper()
	r := e.do("POST", "/api/holds/"+holdID+"/checkout", token, nil)
	if r.status != 201 {
		e.t.Fatalf("checkout: %d %s", r.status, r.body)
	}
	var p paymentBody
	r.json(e.t, &p)
	return p
}

// TestCheckoutEndToEnd: sign up → hold 2 seats → checkout → confirm with
// 4242 → an order with 2 tickets, the seats sold on the map, the ticket PDF,
// and the confirmation email with the PDF attached received by mailpit (a
// real SMTP server, read back through its HTTP API). Along the way: client
// amounts and statuses are refused, another account sees 404 for the order,
// ticket and PDF, and no card number reaches the logs.
func TestCheckoutEndToEnd(t *testing.T) {
	mailAPI, smtpURL := testkit.Mailpit(t)
	mailer, err := checkout.NewSMTPMailer(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{mailer: mailer})
	event, seats := e.event(1, 2, 10)
	_, token := e.signUp("alice")
	var me struct{ Email string }
	e.do("GET", "/api/me", token, nil).json(t, &me)
	holdID := e.holdSeats(event, token, seats[0], seats[1])

	// Amount, price or status in a body are refused, not trusted.
	for _, body := range []string{`{"amount_cents":1}`, `{"price_cents":1}`, `{"status":"succeeded"}`} {
		if r := e.do("POST", "/api/holds/"+holdID+"/checkout", token, body); r.status != 400 {
			t.Errorf("checkout with %s: %d %s, want 400", body, r.status, r.body)
		}
	}
	p := e.startCheckout(holdID, token)
	if p.Payment.AmountCents != 8400 || p.Payment.Provider != "test" || p.Payment.ClientSecret == "" || p.Payment.Status != "requires_payment_method" {
		t.Errorf("payment = %+v", p.Payment)
	}
	if again := e.startCheckout(holdID, token); again.Payment.ID != p.Payment.ID {
		t.Errorf("second checkout made payment %s, want %s", again.Payment.ID, p.Payment.ID)
	}
	var hold struct{ Status string }
	e.do("GET", "/api/holds/"+holdID, token, nil).json(t, &hold)
	if hold.Status != "payment_pending" {
		t.Errorf("hold status %s, want payment_pending", hold.Status)
	}
	for _, body := range []string{`{"card_number":"4242424242424242","amount_cents":1}`, `{"card_number":"4242424242424242","status":"succeeded"}`, `{}`} {
		if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, body); r.status != 400 && r.status != 422 {
			t.Errorf("confirm with %s: %d %s, want 400/422", body, r.status, r.body)
		}
	}
	r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, map[string]string{"card_number": "4242 4242 4242 4242"})
	if r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	var res struct {
		Status  string
		OrderID string `json:"order_id"`
	}
	r.json(t, &res)
	if res.Status != "succeeded" || res.OrderID == "" {
		t.Fatalf("confirm = %s", r.body)
	}
	var order struct {
		ID, Status, Event string
		TotalCents        int64 `json:"total_cents"`
		Tickets           []struct {
			ID, Status string
			OrderID    string `json:"order_id"`
			Seat       struct{ ID string }
		}
	}
	e.do("GET", "/api/orders/"+res.OrderID, token, nil).json(t, &order)
	if order.Status != "paid" || order.Event != event || order.TotalCents != 8400 || len(order.Tickets) != 2 {
		t.Fatalf("order = %+v", order)
	}
	var orders []struct{ ID string }
	e.do("GET", "/api/orders", token, nil).json(t, &orders)
	if len(orders) != 1 || orders[0].ID != res.OrderID {
		t.Errorf("orders = %+v", orders)
	}
	var tickets []struct{ ID, Status string }
	e.do("GET", "/api/tickets", token, nil).json(t, &tickets)
	if len(tickets) != 2 || tickets[0].Status != "valid" {
		t.Errorf("tickets = %+v", tickets)
	}
	if av := e.availability(event); av[:3] != "ssa" {
		t.Errorf("availability starts %q, want ssa", av[:3])
	}
	ticket := order.Tickets[0].ID
	pdf := e.do("GET", "/api/tickets/"+ticket+"/pdf", token, nil)
	if pdf.status != 200 || pdf.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(pdf.body), "%PDF-") {
		t.Errorf("pdf: %d %s %.8q", pdf.status, pdf.header.Get("Content-Type"), pdf.body)
	}

	if op := e.do("GET", "/api/orders/"+res.OrderID+"/pdf", token, nil); op.status != 200 || !strings.HasPrefix(string(op.body), "%PDF-") {
		t.Errorf("order pdf: %d %.8q", op.status, op.body)
	}

	// Another account gets 404 for all of it.
	_, mallory := e.signUp("mallory")
	for _, path := range []string{"/api/orders/" + res.OrderID, "/api/orders/" + res.OrderID + "/pdf", "/api/tickets/" + ticket, "/api/tickets/" + ticket + "/pdf"} {
		if r := e.do("GET", path, mallory, nil); r.status != 404 {
			t.Errorf("mallory GET %s: %d, want 404", path, r.status)
		}
	}
	if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", mallory, map[string]string{"card_number": "4242424242424242"}); r.status != 404 {
		t.Errorf("mallory confirm: %d, want 404", r.status)
	}
	if r := e.do("POST", "/api/holds/"+holdID+"/checkout", mallory, nil); r.status != 404 {
		t.Errorf("mallory checkout: %d, want 404", r.status)
	}
	var none []any
	e.do("GET", "/api/tickets", mallory, nil).json(t, &none)
	if len(none) != 0 {
		t.Errorf("mallory sees %d tickets", len(none))
	}

	// The confirmation job sends the email with the PDF through mailpit.
	runner := jobs.NewRunner(e.db(), nil, jobs.Config{})
	e.checkout.RegisterJobs(runner)
	if _, err := runner.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	msg := mailpitMessage(t, mailAPI, me.Email)
	var pdfPart string
	for _, a := range msg.Attachments {
		if a.ContentType == "application/pdf" {
			pdfPart = a.PartID
		}
	}
	if pdfPart == "" {
		t.Fatalf("email has no PDF attachment: %+v", msg.Attachments)
	}
	att := httpGet(t, mailAPI+"/api/v1/message/"+msg.ID+"/part/"+pdfPart)
	if !strings.HasPrefix(string(att), "%PDF-") {
		t.Errorf("attachment starts %.8q, want a PDF", att)
	}
	if !strings.Contains(msg.Subject, "Your tickets for") {
		t.Errorf("subject %q", msg.Subject)
	}
	if st := e.proc.Stats(); st.Captures != 1 || st.CapturedCents != 8400 {
		t.Errorf("processor stats %+v", st)
	}
	assertNoCardNumbers(t, e.logs.String())
}

func assertNoCardNumbers(t *testing.T, logs string) {
	t.Helper()
	if logs == "" {
		t.Error("nothing was logged; the log check would prove nothing")
	}
	for _, card := range []string{"4242424242424242", "4242 4242 4242 4242", "4000000000000002", "4000 0000 0000 0002", "4000000000009995"} {
		if strings.Contains(logs, card) {
			t.Errorf("a card number (%s) is in the logs", card)
		}
	}
}

type mailpitMsg struct {
	ID          string
	Subject     string
	Attachments []struct {
		PartID      string
		FileName    string
		ContentType string
	}
}

// mailpitMessage waits for mailpit to hold a message to addr and returns it.
func mailpitMessage(t *testing.T, api, addr string) mailpitMsg {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct {
			Messages []struct{ ID string }
		}
		raw := httpGet(t, api+"/api/v1/search?query="+url.QueryEscape(`to:"`+addr+`"`))
		if err := json.Unmarshal(raw, &list); err != nil {
			t.Fatalf("mailpit search: %v: %s", err, raw)
		}
		if len(list.Messages) > 0 {
			if len(list.Messages) != 1 {
				t.Errorf("%d messages to %s, want 1", len(list.Messages), addr)
			}
			var m mailpitMsg
			if err := json.Unmarshal(httpGet(t, api+"/api/v1/message/"+list.Messages[0].ID), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s reached mailpit", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpGet(t *testing.T, u string) []byte {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v %s", u, res.StatusCode, err, b)
	}
	return b
}

// TestDeclineOverHTTP: a declined card keeps the hold for the retry
// window (the answer and GET /api/payments/:payment say until when) and
// nobody else can take the seats; the fan gives up (abandon): the seats are
// free at once, another fan holds them, and the payment cannot be
// confirmed any more.
func TestDeclineOverHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 6)
	_, token := e.signUp("dave")
	holdID := e.holdSeats(event, token, seats[2], seats[3])
	p := e.startCheckout(holdID, token)
	r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, map[string]string{"card_number": "4000000000000002"})
	var res struct {
		Status       string
		DeclineCode  string     `json:"decline_code"`
		OrderID      string     `json:"order_id"`
		RetryUntil   *time.Time `json:"retry_until"`
		DeclinesLeft int        `json:"declines_left"`
	}
	r.json(t, &res)
	if r.status != 200 || res.Status != "declined" || res.DeclineCode != "generic_decline" || res.OrderID != "" ||
		res.RetryUntil == nil || res.DeclinesLeft != 2 {
		t.Fatalf("confirm 0002: %d %s", r.status, r.body)
	}
	var hold struct{ Status string }
	e.do("GET", "/api/holds/"+holdID, token, nil).json(t, &hold)
	if hold.Status != "payment_pending" {
		t.Errorf("hold status %s during the retry window, want payment_pending", hold.Status)
	}
	var got struct {
		Payment struct {
			Status     string
			Declines   int
			RetryUntil *time.Time `json:"retry_until"`
		}
	}
	e.do("GET", "/api/payments/"+p.Payment.ID, token, nil).json(t, &got)
	if got.Payment.Status != "requires_payment_method" || got.Payment.Declines != 1 || got.Payment.RetryUntil == nil ||
		!got.Payment.RetryUntil.Equal(*res.RetryUntil) {
		t.Errorf("payment = %+v", got.Payment)
	}
	_, other := e.signUp("erin")
	if r := e.do("GET", "/api/payments/"+p.Payment.ID, other, nil); r.status != 404 {
		t.Errorf("another fan's payment: %d", r.status)
	}
	if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/abandon", other, nil); r.status != 404 {
		t.Errorf("another fan gives up the payment: %d", r.status)
	}
	if r := e.do("POST", "/api/events/"+event+"/holds", other, map[string]any{"seat_ids": []string{seats[2]}}); r.status != 409 {
		t.Errorf("another fan holds a seat during the retry window: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/payments/"+p.Payment.ID+"/abandon", token, nil)
	e.do("GET", "/api/holds/"+holdID, token, nil).json(t, &hold)
	if r.status != 200 || !strings.Contains(string(r.body), `"status":"declined"`) || hold.Status != "released" {
		t.Errorf("abandon: %d %s; hold %s", r.status, r.body, hold.Status)
	}
	if av := e.availability(event); av[2:4] != "aa" {
		t.Errorf("seats show %q after giving up, want aa", av[2:4])
	}
	e.holdSeats(event, other, seats[2], seats[3])
	if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, map[string]string{"card_number": "4242424242424242"}); r.status != 409 {
		t.Errorf("confirm after giving up: %d %s, want 409", r.status, r.body)
	}
	assertNoCardNumbers(t, e.logs.String())
}

// TestThreeDSecureOverHTTP: the authentication-required test card answers
// requires_action with the client secret and the app's challenge page; the
// page's answer (test-challenge) completes the purchase or fails it into a
// decline with a retry window, after which another card pays. A bad answer
// is 422, another fan's payment 404, and complete reads the outcome again.
func TestThreeDSecureOverHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 6)
	_, token := e.signUp("dana")
	_, other := e.signUp("eve")
	for i, answer := range []string{"complete", "fail"} {
		p := e.startCheckout(e.holdSeats(event, token, seats[i]), token)
		r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, map[string]string{"card_number": "4000 0027 6000 3184"})
		var res struct {
			Status       string
			ClientSecret string `json:"client_secret"`
			NextAction   struct {
				Type        string
				RedirectURL string `json:"redirect_url"`
			} `json:"next_action"`
		}
		r.json(t, &res)
		if r.status != 200 || res.Status != "requires_action" || res.ClientSecret == "" || res.NextAction.Type != "redirect_to_url" ||
			res.NextAction.RedirectURL != "/payments/"+p.Payment.ID+"/challenge" {
			t.Fatalf("confirm 3184: %d %s", r.status, r.body)
		}
		challenge := "/api/payments/" + p.Payment.ID + "/test-challenge"
		if r := e.do("POST", challenge, token, map[string]string{"result": "maybe"}); r.status != 422 {
			t.Errorf("answer maybe: %d %s", r.status, r.body)
		}
		if r := e.do("POST", challenge, other, map[string]string{"result": answer}); r.status != 404 {
			t.Errorf("another fan's challenge: %d", r.status)
		}
		r = e.do("POST", challenge, token, map[string]string{"result": answer})
		want := map[string]string{"complete": `"status":"succeeded"`, "fail": `"decline_code":"payment_intent_authentication_failure"`}[answer]
		if r.status != 200 || !strings.Contains(string(r.body), want) {
			t.Fatalf("challenge %s: %d %s", answer, r.status, r.body)
		}
		if answer == "fail" {
			if !strings.Contains(string(r.body), `"retry_until"`) {
				t.Errorf("failed authentication keeps no retry window: %s", r.body)
			}
			r = e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, map[string]string{"card_number": "4242424242424242"})
			if r.status != 200 || !strings.Contains(string(r.body), `"status":"succeeded"`) {
				t.Fatalf("another card: %d %s", r.status, r.body)
			}
		}
		if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/complete", token, nil); r.status != 200 ||
			!strings.Contains(string(r.body), `"status":"succeeded"`) {
			t.Errorf("complete: %d %s", r.status, r.body)
		}
	}
	assertNoCardNumbers(t, e.logs.String())
}

// TestPaymentsConfig: the checkout page learns the provider without signing
// in; the test processor has no publishable key to give.
func TestPaymentsConfig(t *testing.T) {
	e := newEnv(t, envOpts{})
	r := e.do("GET", "/api/payments/config", "", nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"provider":"test"}` {
		t.Errorf("config: %d %s", r.status, r.body)
	}
}

// TestCheckoutExpiredHoldIs410: checking out a hold past its expiry is 410.
func TestCheckoutExpiredHoldIs410(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 4)
	_, token := e.signUp("fred")
	holdID := e.holdSeats(event, token, seats[0])
	if _, err := e.db().Exec(context.Background(), `UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1`, holdID); err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/api/holds/"+holdID+"/checkout", token, nil); r.status != 410 || r.errCode(t) != "hold_expired" {
		t.Errorf("checkout of an expired hold: %d %s, want 410 hold_expired", r.status, r.body)
	}
	if _, err := e.seats.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
}

const whSecret = "whsec_test_secret"

// signedEvent builds a Stripe event about an intent, signed at ts.
func signedEvent(id, typ, intentID, status string, ts time.Time) (body []byte, header string) {
	body = []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","type":%q,"created":%d,
		"data":{"object":{"id":%q,"object":"payment_intent","status":%q}}}`, id, typ, ts.Unix(), intentID, status))
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: whSecret, Timestamp: ts})
	return body, sp.Header
}

func (e *env) webhook(body []byte, header string) resp {
	e.t.Helper()
	return e.do("POST", "/api/webhooks/stripe", "", string(body), "Stripe-Signature", header)
}

// TestStripeWebhook: a valid event settles the payment (order, one
// capture); the same event again is a no-op; a tampered body, a signature
// older than 300 s or none at all is 400 and changes nothing. The event's
// own claims are not trusted: the intent is fetched again, so a stale
// "payment_failed" for an intent that is now authorized still converts.
func TestStripeWebhook(t *testing.T) {
	e := newEnv(t, envOpts{webhookSecret: whSecret})
	ctx := context.Background()
	event, seats := e.event(1, 1, 8)
	_, token := e.signUp("gina")
	authorized := func(seat string) (paymentID, intentID string) {
		holdID := e.holdSeats(event, token, seat)
		p := e.startCheckout(holdID, token)
		if err := e.db().QueryRow(ctx, `SELECT intent_id FROM payments WHERE id = $1`, p.Payment.ID).Scan(&intentID); err != nil {
			t.Fatal(err)
		}
		// The fan's browser confirms with Stripe.js: the server hears of it
		// only through the webhook.
		if _, err := e.proc.Confirm(ctx, intentID, checkout.Method{PaymentMethod: "pm_card_visa"}, "client:"+intentID); err != nil {
			t.Fatal(err)
		}
		return p.Payment.ID, intentID
	}
	orders := func(paymentID string) int {
		var n int
		if err := e.db().QueryRow(ctx, `SELECT count(*) FROM orders WHERE payment_id = $1`, paymentID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	payA, intentA := authorized(seats[0])
	// Event ids unique per run: the test database outlives -count.
	run := testkit.RandomHex(4)
	evt := func(name string) string { return name + "_" + run }

	// Tampered, too old, unsigned: 400, nothing happens.
	body, hdr := signedEvent(evt("evt_A1"), "payment_intent.amount_capturable_updated", intentA, "requires_capture", time.Now())
	tampered := []byte(strings.Replace(string(body), "evt_A1_", "evt_A9_", 1))
	if r := e.webhook(tampered, hdr); r.status != 400 || r.errCode(t) != "invalid_signature" {
		t.Errorf("tampered: %d %s", r.status, r.body)
	}
	oldBody, oldHdr := signedEvent(evt("evt_A2"), "payment_intent.amount_capturable_updated", intentA, "requires_capture", time.Now().Add(-301*time.Second))
	if r := e.webhook(oldBody, oldHdr); r.status != 400 || r.errCode(t) != "invalid_signature" {
		t.Errorf("too old: %d %s", r.status, r.body)
	}
	if r := e.webhook(body, ""); r.status != 400 {
		t.Errorf("unsigned: %d %s", r.status, r.body)
	}
	if n := orders(payA); n != 0 {
		t.Fatalf("%d orders after refused webhooks", n)
	}

	// Valid: converted and captured.
	r := e.webhook(body, hdr)
	var wr struct {
		Received, Duplicate bool
		Status              string
	}
	r.json(t, &wr)
	if r.status != 200 || !wr.Received || wr.Duplicate || wr.Status != "succeeded" {
		t.Fatalf("valid webhook: %d %s", r.status, r.body)
	}
	// Duplicate delivery (re-signed, same event id): nothing more.
	body2, hdr2 := signedEvent(evt("evt_A1"), "payment_intent.amount_capturable_updated", intentA, "requires_capture", time.Now())
	r = e.webhook(body2, hdr2)
	r.json(t, &wr)
	if r.status != 200 || !wr.Duplicate {
		t.Errorf("duplicate webhook: %d %s", r.status, r.body)
	}
	if n := orders(payA); n != 1 {
		t.Errorf("%d orders for A, want 1", n)
	}
	if st := e.proc.Stats(); st.Captures != 1 {
		t.Errorf("%d captures, want 1", st.Captures)
	}

	// A stale event that claims failure: the intent is re-fetched and is
	// authorized, so the payment converts.
	payB, intentB := authorized(seats[1])
	body, hdr = signedEvent(evt("evt_B1"), "payment_intent.payment_failed", intentB, "requires_payment_method", time.Now())
	if r := e.webhook(body, hdr); r.status != 200 {
		t.Fatalf("stale event: %d %s", r.status, r.body)
	}
	if n := orders(payB); n != 1 {
		t.Errorf("%d orders for B, want 1 (the intent is authorized whatever the event says)", n)
	}
	// An event about someone else's intent is acknowledged and ignored.
	body, hdr = signedEvent(evt("evt_X"), "payment_intent.succeeded", "pi_unknown", "succeeded", time.Now())
	if r := e.webhook(body, hdr); r.status != 200 {
		t.Errorf("unknown intent: %d %s", r.status, r.body)
	}
	if st := e.proc.Stats(); st.Captures != 2 || st.Authorizations != 2 {
		t.Errorf("stats %+v, want 2 authorizations and 2 captures", st)
	}
}

// TestWebhookAuthorizationOfEndedPayment: a payment already ended as
// declined (its intent left open, as before declines cancelled intents)
// is authorized from the page that kept the client secret; the webhook
// that reports it voids the authorization instead of leaving it to lapse,
// and the payment stays declined with no order.
func TestWebhookAuthorizationOfEndedPayment(t *testing.T) {
	e := newEnv(t, envOpts{webhookSecret: whSecret})
	ctx := context.Background()
	event, seats := e.event(1, 1, 4)
	_, token := e.signUp("hana")
	p := e.startCheckout(e.holdSeats(event, token, seats[0]), token)
	// The decline leaves the intent open for the retry window.
	if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, map[string]string{"card_number": "4000000000000002"}); r.status != 200 {
		t.Fatalf("declined confirm: %d %s", r.status, r.body)
	}
	// As rows written before declines cancelled intents: declined, intent
	// still open.
	if _, err := e.db().Exec(ctx, `UPDATE payments SET status = 'declined' WHERE id = $1`, p.Payment.ID); err != nil {
		t.Fatal(err)
	}
	var intentID string
	if err := e.db().QueryRow(ctx, `SELECT intent_id FROM payments WHERE id = $1`, p.Payment.ID).Scan(&intentID); err != nil {
		t.Fatal(err)
	}
	if in, err := e.proc.Confirm(ctx, intentID, checkout.Method{PaymentMethod: "pm_card_visa"}, "client:"+intentID); err != nil || in.Status != checkout.IntentRequiresCapture {
		t.Fatalf("browser confirm: %+v %v", in, err)
	}
	body, hdr := signedEvent("evt_ended_"+testkit.RandomHex(4), "payment_intent.amount_capturable_updated", intentID, "requires_capture", time.Now())
	if r := e.webhook(body, hdr); r.status != 200 {
		t.Fatalf("webhook: %d %s", r.status, r.body)
	}
	if in, _ := e.proc.Intent(intentID); in.Status != checkout.IntentCanceled {
		t.Errorf("intent is %s after the webhook, want canceled", in.Status)
	}
	var status string
	var orders int
	if err := e.db().QueryRow(ctx, `SELECT status, (SELECT count(*) FROM orders WHERE payment_id = $1) FROM payments WHERE id = $1`,
		p.Payment.ID).Scan(&status, &orders); err != nil {
		t.Fatal(err)
	}
	if status != checkout.StatusDeclined || orders != 0 {
		t.Errorf("payment is %s with %d orders, want declined with none", status, orders)
	}
}
