package checkout_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// recorded is one request that went through the recording proxy.
type recorded struct {
	method, path, idemKey string
	form                  url.Values
	status                int
}

// recorder is a reverse proxy in front of stripe-mock that keeps every
// request, so tests can check what the client actually sent.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) handler(target string) http.Handler {
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(res *http.Response) error {
		r.mu.Lock()
		r.reqs[len(r.reqs)-1].status = res.StatusCode
		r.mu.Unlock()
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{method: req.Method, path: req.URL.Path, idemKey: req.Header.Get("Idempotency-Key"), form: form})
		r.mu.Unlock()
		proxy.ServeHTTP(w, req)
	})
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request reached stripe-mock")
	}
	return r.reqs[len(r.reqs)-1]
}

// TestStripeAgainstStripeMock runs StripePayments against stripe-mock, which
// validates every request against Stripe's OpenAPI spec, and checks the
// shapes sent: manual capture, the server's amount, the hold id in metadata,
// and an Idempotency-Key on every state change (ticket_purchase:{hold} for
// the intent).
func TestStripeAgainstStripeMock(t *testing.T) {
	mock := testkit.StripeMock(t)
	rec := &recorder{}
	srv := httptest.NewServer(rec.handler(mock))
	t.Cleanup(srv.Close)
	sp := checkout.NewStripePayments(checkout.StripeConfig{SecretKey: "sk_test_123", APIBase: srv.URL})
	ctx := context.Background()

	in, err := sp.Create(ctx, checkout.CreateParams{AmountCents: 8400, Currency: "usd", HoldID: "hold-1", PaymentID: "pay-1",
		IdempotencyKey: "ticket_purchase:hold-1"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if in.ID == "" || in.ClientSecret == "" || !in.CaptureManual || in.AmountCents != 8400 {
		t.Errorf("intent = %+v", in)
	}
	r := rec.last(t)
	if r.method != "POST" || r.path != "/v1/payment_intents" || r.status != 200 {
		t.Errorf("create went to %s %s (%d)", r.method, r.path, r.status)
	}
	want := map[string]string{"amount": "8400", "currency": "usd", "capture_method": "manual",
		"metadata[hold_id]": "hold-1", "metadata[payment_id]": "pay-1", "payment_method_types[0]": "card"}
	for k, v := range want {
		if got := r.form.Get(k); got != v {
			t.Errorf("create form %s = %q, want %q", k, got, v)
		}
	}
	if r.idemKey != "ticket_purchase:hold-1" {
		t.Errorf("create Idempotency-Key = %q", r.idemKey)
	}

	steps := []struct {
		name, path, key string
		form            map[string]string
		call            func() error
	}{
		{"confirm", "/v1/payment_intents/" + in.ID + "/confirm", "confirm:pay-1", map[string]string{"payment_method": "pm_card_visa"},
			func() error {
				_, err := sp.Confirm(ctx, in.ID, checkout.Method{PaymentMethod: "pm_card_visa"}, "confirm:pay-1")
				return err
			}},
		{"capture", "/v1/payment_intents/" + in.ID + "/capture", "capture:pay-1", nil,
			func() error { _, err := sp.Capture(ctx, in.ID, "capture:pay-1"); return err }},
		{"cancel", "/v1/payment_intents/" + in.ID + "/cancel", "cancel:pay-1", map[string]string{"cancellation_reason": "abandoned"},
			func() error { _, err := sp.Cancel(ctx, in.ID, "cancel:pay-1"); return err }},
		{"refund", "/v1/refunds", "refund:pay-1", map[string]string{"payment_intent": in.ID, "amount": "8400"},
			func() error { return sp.Refund(ctx, in.ID, 8400, "refund:pay-1") }},
		{"get", "/v1/payment_intents/" + in.ID, "", nil,
			func() error { _, err := sp.Get(ctx, in.ID); return err }},
	}
	for _, s := range steps {
		if err := s.call(); err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		r := rec.last(t)
		if !strings.HasSuffix(r.path, s.path) || r.status != 200 {
			t.Errorf("%s went to %s (%d), want %s", s.name, r.path, r.status, s.path)
		}
		if r.idemKey != s.key {
			t.Errorf("%s Idempotency-Key = %q, want %q", s.name, r.idemKey, s.key)
		}
		for k, v := range s.form {
			if got := r.form.Get(k); got != v {
				t.Errorf("%s form %s = %q, want %q", s.name, k, got, v)
			}
		}
	}
	// Raw card numbers never go to Stripe from the server.
	n := len(rec.reqs)
	if _, err := sp.Confirm(ctx, in.ID, checkout.Method{CardNumber: "4242424242424242"}, "confirm:x"); err == nil {
		t.Error("confirm with a card number was accepted")
	}
	if len(rec.reqs) != n {
		t.Error("a card number was sent to Stripe")
	}
}

// TestStripeErrorMapping: Stripe's error replies become our outcomes: a
// card error is a decline on the intent, a 5xx an unknown outcome (to
// reconcile, not retry blindly), an idempotency error a mismatch.
func TestStripeErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		check  func(checkout.Intent, error) bool
	}{
		{"card declined", 402, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",
			"message":"Your card has insufficient funds.","payment_intent":{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","amount":100}}}`,
			func(in checkout.Intent, err error) bool {
				return err == nil && in.Status == checkout.IntentRequiresPaymentMethod && in.DeclineCode == "insufficient_funds"
			}},
		{"server error", 500, `{"error":{"type":"api_error","message":"boom"}}`,
			func(_ checkout.Intent, err error) bool { return errors.Is(err, checkout.ErrUnknownOutcome) }},
		{"idempotency", 400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`,
			func(_ checkout.Intent, err error) bool { return errors.Is(err, checkout.ErrIdempotencyMismatch) }},
		{"unexpected state", 400, `{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state","message":"x"}}`,
			func(_ checkout.Intent, err error) bool { return errors.Is(err, checkout.ErrUnexpectedState) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			sp := checkout.NewStripePayments(checkout.StripeConfig{SecretKey: "sk_test_123", APIBase: srv.URL, NoRetries: true})
			in, err := sp.Confirm(context.Background(), "pi_1", checkout.Method{PaymentMethod: "pm_card_visa"}, "k")
			if !tc.check(in, err) {
				t.Errorf("got %+v, %v", in, err)
			}
		})
	}
}

// TestConfirmStripePaymentMethod runs checkout's Confirm on StripePayments
// with the payment method ids Stripe.js makes in the browser, through
// stripe-mock (which checks each request) behind testkit.StripeTestCards
// (which gives intents Stripe's test-mode outcomes): pm_card_visa buys the
// seats and is captured; a decline releases them at once and cancels the
// intent at Stripe, so the page, which still holds its client secret,
// cannot authorize it afterwards (here with no retry window:
// TestStripeThreeDSecure has the window); a raw card number is refused
// before anything reaches Stripe.
func TestConfirmStripePaymentMethod(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	sp := checkout.NewStripePayments(checkout.StripeConfig{SecretKey: "sk_test_123", APIBase: testkit.StripeTestCards(t), NoRetries: true})
	svc := checkout.New(f.db, f.seats, sp, nil, nil, checkout.Config{SecretKey: testKey, PublishableKey: "pk_test_123",
		DeclineRetryWindow: -1})
	ctx := context.Background()
	if got, want := svc.ClientConfig(), (checkout.ClientConfig{Provider: "stripe", PublishableKey: "pk_test_123"}); got != want {
		t.Errorf("client config = %+v, want %+v", got, want)
	}
	for i, tc := range []struct {
		method, wantStatus, wantCode, wantSeat, wantPayment string
	}{
		{"pm_card_visa", checkout.StatusSucceeded, "", "sold", checkout.StatusSucceeded},
		{"pm_card_chargeDeclined", checkout.StatusDeclined, "generic_decline", "available", checkout.StatusDeclined},
		{"pm_card_chargeDeclinedInsufficientFunds", checkout.StatusDeclined, "insufficient_funds", "available", checkout.StatusDeclined},
	} {
		t.Run(tc.method, func(t *testing.T) {
			fan := f.account("fan")
			h := f.hold(fan, i)
			p, err := svc.Checkout(ctx, fan, h.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Provider != "stripe" || p.ClientSecret == "" || p.AmountCents != 2500 {
				t.Errorf("payment = %+v", p)
			}
			res, err := svc.Confirm(ctx, fan, p.ID, checkout.Method{PaymentMethod: tc.method})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.wantStatus || res.DeclineCode != tc.wantCode || (res.OrderID != "") != (tc.wantSeat == "sold") {
				t.Errorf("confirm = %+v, want status %s, decline code %q", res, tc.wantStatus, tc.wantCode)
			}
			if got := f.seatStatus(i); got != tc.wantSeat {
				t.Errorf("seat is %s, want %s", got, tc.wantSeat)
			}
			if got := f.paymentStatus(p.ID); got != tc.wantPayment {
				t.Errorf("payment is %s, want %s", got, tc.wantPayment)
			}
			var intentID string
			if err := f.db.QueryRow(ctx, `SELECT intent_id FROM payments WHERE id = $1`, p.ID).Scan(&intentID); err != nil {
				t.Fatal(err)
			}
			in, err := sp.Get(ctx, intentID)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"sold": checkout.IntentSucceeded, "available": checkout.IntentCanceled}[tc.wantSeat]
			if in.Status != want {
				t.Errorf("intent at Stripe is %s, want %s", in.Status, want)
			}
			if tc.wantSeat == "available" {
				// What Stripe.js could do with the client secret the page kept.
				if in, err := sp.Confirm(ctx, intentID, checkout.Method{PaymentMethod: "pm_card_visa"}, "browser:"+p.ID); err == nil {
					t.Errorf("the declined intent was authorized afterwards: %s", in.Status)
				}
			}
		})
	}
	t.Run("card number", func(t *testing.T) {
		fan := f.account("fan")
		h := f.hold(fan, 5)
		p, err := svc.Checkout(ctx, fan, h.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Confirm(ctx, fan, p.ID, checkout.Method{CardNumber: "4242424242424242"}); !errors.Is(err, checkout.ErrInvalidMethod) {
			t.Errorf("confirm with a card number: %v, want ErrInvalidMethod", err)
		}
	})
}

// TestStripeThreeDSecure runs the authentication-required test card
// (pm_card_threeDSecure2Required) through StripePayments, against
// stripe-mock behind testkit.StripeTestCards, whose challenge stands in for
// what Stripe.js shows in the browser: the confirm answers requires_action
// with next_action use_stripe_sdk and the client secret, the hold stays;
// authenticated, Complete buys the seat with one capture; failed, it is a
// decline that keeps the hold, and another card pays; abandoned, the
// payment deadline releases the seat and cancels the intent at Stripe.
// Every state change carried an idempotency key.
func TestStripeThreeDSecure(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	base := testkit.StripeTestCards(t)
	rec := &recorder{}
	srv := httptest.NewServer(rec.handler(base))
	t.Cleanup(srv.Close)
	sp := checkout.NewStripePayments(checkout.StripeConfig{SecretKey: "sk_test_123", APIBase: srv.URL, NoRetries: true})
	svc := checkout.New(f.db, f.seats, sp, nil, nil, checkout.Config{SecretKey: testKey, PublishableKey: "pk_test_123"})
	ctx := context.Background()
	threeDS := checkout.Method{PaymentMethod: "pm_card_threeDSecure2Required"}
	intentAtStripe := func(t *testing.T, paymentID string) checkout.Intent {
		t.Helper()
		var id string
		if err := f.db.QueryRow(ctx, `SELECT intent_id FROM payments WHERE id = $1`, paymentID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return must(sp.Get(ctx, id))(t)
	}
	start := func(t *testing.T, seat int) (int64, checkout.Payment, checkout.Intent) {
		t.Helper()
		fan := f.account("fan")
		p := must(svc.Checkout(ctx, fan, f.hold(fan, seat).ID, nil))(t)
		res := must(svc.Confirm(ctx, fan, p.ID, threeDS))(t)
		if res.Status != checkout.StatusRequiresAction || res.ClientSecret != p.ClientSecret || res.NextAction == nil ||
			res.NextAction.Type != "use_stripe_sdk" {
			t.Fatalf("confirm = %+v", res)
		}
		if got := rec.last(t).form.Get("use_stripe_sdk"); got != "true" {
			t.Errorf("confirm use_stripe_sdk = %q", got)
		}
		if got := f.seatStatus(seat); got != "held" {
			t.Errorf("seat is %s while authenticating", got)
		}
		return fan, p, intentAtStripe(t, p.ID)
	}
	t.Run("authenticated", func(t *testing.T) {
		fan, p, in := start(t, 0)
		if err := testkit.StripeAuthenticate(base, in.ID, true); err != nil {
			t.Fatal(err)
		}
		res := must(svc.Complete(ctx, fan, p.ID))(t)
		if res.Status != checkout.StatusSucceeded || res.OrderID == "" {
			t.Fatalf("complete = %+v", res)
		}
		if in := intentAtStripe(t, p.ID); in.Status != checkout.IntentSucceeded || in.AmountCaptured != p.AmountCents {
			t.Errorf("intent at Stripe = %+v", in)
		}
		if got := f.seatStatus(0); got != "sold" {
			t.Errorf("seat is %s", got)
		}
	})
	t.Run("failed, then another card", func(t *testing.T) {
		fan, p, in := start(t, 1)
		if err := testkit.StripeAuthenticate(base, in.ID, false); err != nil {
			t.Fatal(err)
		}
		res := must(svc.Complete(ctx, fan, p.ID))(t)
		if res.Status != checkout.StatusDeclined || res.DeclineCode != checkout.DeclineAuthenticationFailed || res.RetryUntil == nil {
			t.Fatalf("complete = %+v", res)
		}
		if got := f.seatStatus(1); got != "held" {
			t.Errorf("seat is %s after a failed authentication, want held", got)
		}
		res = must(svc.Confirm(ctx, fan, p.ID, checkout.Method{PaymentMethod: "pm_card_visa"}))(t)
		if res.Status != checkout.StatusSucceeded {
			t.Fatalf("another card = %+v", res)
		}
		if in := intentAtStripe(t, p.ID); in.Status != checkout.IntentSucceeded || in.AmountCaptured != p.AmountCents {
			t.Errorf("intent at Stripe = %+v", in)
		}
	})
	t.Run("abandoned", func(t *testing.T) {
		fan, p, _ := start(t, 2)
		if _, err := f.db.Exec(ctx, `UPDATE holds SET payment_deadline = now() - interval '1 second' WHERE id = $1`, p.HoldID); err != nil {
			t.Fatal(err)
		}
		must(svc.Reconcile(ctx))(t)
		if in := intentAtStripe(t, p.ID); in.Status != checkout.IntentCanceled {
			t.Errorf("intent at Stripe is %s, want canceled", in.Status)
		}
		if got := f.seatStatus(2); got != "available" {
			t.Errorf("seat is %s", got)
		}
		if _, err := svc.Complete(ctx, fan, p.ID); !errors.Is(err, seatmap.ErrHoldLost) {
			t.Errorf("complete after the deadline: %v", err)
		}
	})
	for _, r := range rec.reqs {
		if r.method == "POST" && r.idemKey == "" {
			t.Errorf("%s %s without an Idempotency-Key", r.method, r.path)
		}
	}
}
