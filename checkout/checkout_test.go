package checkout_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestCheckoutConfirmCapture: the happy path at the service level: one
// intent per hold (checkout is idempotent), authorization, conversion with
// one order and a ticket per seat, then exactly one capture of the hold's
// amount.
func TestCheckoutConfirmCapture(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	fan := f.account("fan")
	h := f.hold(fan, 0, 1)
	p := f.checkout(fan, h.ID)
	again := f.checkout(fan, h.ID)
	if again.ID != p.ID || again.ClientSecret != p.ClientSecret {
		t.Errorf("second checkout = %+v, want the same payment %+v", again, p)
	}
	if p.AmountCents != 5000 || p.Status != checkout.StatusRequiresPaymentMethod || p.ClientSecret == "" {
		t.Errorf("payment = %+v", p)
	}
	res := must(f.svc.Confirm(ctx, fan, p.ID, visa()))(t)
	if res.Status != checkout.StatusSucceeded || res.OrderID == "" {
		t.Fatalf("confirm = %+v", res)
	}
	o := must(f.svc.Order(ctx, fan, res.OrderID))(t)
	if len(o.Tickets) != 2 || o.TotalCents != 5000 {
		t.Errorf("order = %+v", o)
	}
	st := f.proc.Stats()
	if st.Creates != 1 || st.Authorizations != 1 || st.Captures != 1 || st.CapturedCents != 5000 {
		t.Errorf("processor stats = %+v", st)
	}
	if got := f.paymentStatus(p.ID); got != checkout.StatusSucceeded {
		t.Errorf("payment status %s", got)
	}
	for _, i := range []int{0, 1} {
		if got := f.seatStatus(i); got != "sold" {
			t.Errorf("seat %d is %s, want sold", i, got)
		}
	}
	// Another account sees none of it.
	other := f.account("other")
	if _, err := f.svc.Order(ctx, other, res.OrderID); !errors.Is(err, checkout.ErrOrderNotFound) {
		t.Errorf("other account's order: %v", err)
	}
	if _, err := f.svc.Ticket(ctx, other, o.Tickets[0].ID); !errors.Is(err, checkout.ErrTicketNotFound) {
		t.Errorf("other account's ticket: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, other, p.ID, visa()); !errors.Is(err, checkout.ErrPaymentNotFound) {
		t.Errorf("other account's confirm: %v", err)
	}
	if _, err := f.svc.Checkout(ctx, other, h.ID, nil); !errors.Is(err, seatmap.ErrHoldNotFound) {
		t.Errorf("other account's checkout: %v", err)
	}
}

// TestDeclineFreesSeatsAtOnce: with no retry window (DeclineRetryWindow
// negative), 0002 and 9995 decline and the seats are available immediately
// (not at the TTL): another fan can hold them. retry_test.go covers the
// default, a window to try another card.
func TestDeclineFreesSeatsAtOnce(t *testing.T) {
	for _, tc := range []struct{ card, code string }{
		{"4000 0000 0000 0002", "generic_decline"},
		{"4000000000009995", "insufficient_funds"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			f := newFixture(t, checkout.Config{DeclineRetryWindow: -1})
			ctx := context.Background()
			fan := f.account("fan")
			h := f.hold(fan, 2, 3)
			p := f.checkout(fan, h.ID)
			res := must(f.svc.Confirm(ctx, fan, p.ID, checkout.Method{CardNumber: tc.card}))(t)
			if res.Status != checkout.StatusDeclined || res.DeclineCode != tc.code || res.OrderID != "" {
				t.Fatalf("confirm = %+v", res)
			}
			for _, i := range []int{2, 3} {
				if got := f.seatStatus(i); got != "available" {
					t.Errorf("seat %d is %s right after the decline, want available", i, got)
				}
			}
			f.hold(f.account("next"), 2, 3)
			if st := f.proc.Stats(); st.Captures != 0 || st.Declines != 1 {
				t.Errorf("stats = %+v", st)
			}
			if _, err := f.svc.Confirm(ctx, fan, p.ID, visa()); !errors.Is(err, checkout.ErrPaymentDeclined) {
				t.Errorf("confirm after decline: %v", err)
			}
		})
	}
}

// TestConcurrentConfirms: 20 confirmations of one payment at once settle it
// once: one authorization, one order, one capture, and all 20 callers learn
// the same order.
func TestConcurrentConfirms(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	fan := f.account("fan")
	h := f.hold(fan, 4, 5, 6)
	p := f.checkout(fan, h.ID)
	var wg sync.WaitGroup
	results := make([]checkout.ConfirmResult, 20)
	errs := make([]error, 20)
	start := make(chan struct{})
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = f.svc.Confirm(ctx, fan, p.ID, visa())
		}()
	}
	close(start)
	wg.Wait()
	for i := range 20 {
		if errs[i] != nil || results[i].Status != checkout.StatusSucceeded || results[i].OrderID != results[0].OrderID {
			t.Errorf("confirm %d = %+v, %v; want succeeded with order %s", i, results[i], errs[i], results[0].OrderID)
		}
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE hold_id = $1`, h.ID); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM tickets t JOIN orders o ON o.id = t.order_id WHERE o.hold_id = $1`, h.ID); n != 3 {
		t.Errorf("%d tickets, want 3", n)
	}
	if st := f.proc.Stats(); st.Authorizations != 1 || st.Captures != 1 || st.CapturedCents != 7500 {
		t.Errorf("processor stats = %+v, want one authorization and one capture of 7500", st)
	}
}

// TestIdempotencyKeyOtherAmount: the processor replays a key's first result
// and refuses the same key with another amount, charging nothing more.
func TestIdempotencyKeyOtherAmount(t *testing.T) {
	proc := checkout.NewTestProcessor()
	ctx := context.Background()
	params := checkout.CreateParams{AmountCents: 5000, Currency: "usd", HoldID: "h1", IdempotencyKey: "ticket_purchase:h1"}
	first := must(proc.Create(ctx, params))(t)
	replay := must(proc.Create(ctx, params))(t)
	if replay.ID != first.ID {
		t.Errorf("replay created intent %s, want %s", replay.ID, first.ID)
	}
	params.AmountCents = 1
	if _, err := proc.Create(ctx, params); !errors.Is(err, checkout.ErrIdempotencyMismatch) {
		t.Fatalf("same key, other amount: %v, want idempotency_mismatch", err)
	}
	must(proc.Confirm(ctx, first.ID, checkout.Method{PaymentMethod: "pm_card_visa"}, "confirm:1"))(t)
	must(proc.Capture(ctx, first.ID, "capture:1"))(t)
	if _, err := proc.Capture(ctx, first.ID, "capture:1"); err != nil {
		t.Errorf("replayed capture: %v", err)
	}
	if _, err := proc.Confirm(ctx, first.ID, checkout.Method{CardNumber: "4000000000000002"}, "confirm:1"); !errors.Is(err, checkout.ErrIdempotencyMismatch) {
		t.Errorf("same confirm key, other card: %v", err)
	}
	if st := proc.Stats(); st.Creates != 1 || st.Captures != 1 || st.CapturedCents != 5000 {
		t.Errorf("stats = %+v, want one intent and one capture of 5000", st)
	}
}

// TestLostRepliesAreReconciledNotRecreated: a create whose reply was lost
// is replayed under its key (one intent), and a confirm whose reply was lost
// leaves the payment unknown until the reconciler settles it: one order,
// one capture.
func TestLostRepliesAreReconciledNotRecreated(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	fan := f.account("fan")
	h := f.hold(fan, 7)
	f.proc.Inject("create", checkout.FaultLostReply)
	if _, err := f.svc.Checkout(ctx, fan, h.ID, nil); !errors.Is(err, checkout.ErrUnknownOutcome) {
		t.Fatalf("checkout with a lost reply: %v", err)
	}
	p := f.checkout(fan, h.ID)
	f.proc.Inject("confirm", checkout.FaultLostReply)
	res := must(f.svc.Confirm(ctx, fan, p.ID, visa()))(t)
	if res.Status != "processing" {
		t.Fatalf("confirm with a lost reply = %+v, want processing", res)
	}
	if got := f.paymentStatus(p.ID); got != checkout.StatusUnknown {
		t.Fatalf("payment status %s, want unknown", got)
	}
	time.Sleep(5 * time.Millisecond)
	st := must(f.svc.Reconcile(ctx))(t)
	if st.Resolved != 1 || st.Failed != 0 {
		t.Errorf("reconcile = %+v", st)
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE payment_id = $1`, p.ID); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
	if ps := f.proc.Stats(); ps.Creates != 1 || ps.Authorizations != 1 || ps.Captures != 1 {
		t.Errorf("processor stats = %+v, want 1 create, 1 authorization, 1 capture", ps)
	}
	if got := f.paymentStatus(p.ID); got != checkout.StatusSucceeded {
		t.Errorf("payment status %s, want succeeded", got)
	}
}

// TestCrashBetweenAuthorizationAndConversion: the process dies after the
// provider authorized (before anything is recorded, or inside the
// conversion transaction before its commit); a restarted process's
// reconciler ends with exactly one order (captured) or exactly one
// cancellation (no capture), never both and never neither.
func TestCrashBetweenAuthorizationAndConversion(t *testing.T) {
	for _, tc := range []struct {
		name          string
		afterAuth     bool // crash right after authorization (else before the conversion commit)
		pastDeadline  bool // the restart comes after the hold's payment deadline
		wantOrder     bool
		wantSeatState string
	}{
		{"after authorization, quick restart", true, false, true, "sold"},
		{"after authorization, restart past the deadline", true, true, false, "available"},
		{"before conversion commit, quick restart", false, false, true, "sold"},
		{"before conversion commit, restart past the deadline", false, true, true, "sold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hooks := &checkout.Hooks{}
			if tc.afterAuth {
				hooks.AfterAuthorized = func(string) error { return errCrash }
			} else {
				hooks.BeforeConvertCommit = func(string) error { return errCrash }
			}
			f := newFixture(t, checkout.Config{Hooks: hooks})
			ctx := context.Background()
			fan := f.account("fan")
			h := f.hold(fan, 8, 9)
			p := f.checkout(fan, h.ID)
			if _, err := f.svc.Confirm(ctx, fan, p.ID, visa()); !errors.Is(err, errCrash) {
				t.Fatalf("confirm = %v, want the injected crash", err)
			}
			if n := f.count(`SELECT count(*) FROM orders WHERE hold_id = $1`, h.ID); n != 0 {
				t.Fatalf("%d orders after the crash, want 0 (nothing committed)", n)
			}
			if tc.pastDeadline {
				_, err := f.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '6 minutes',
					payment_deadline = now() - interval '1 minute' WHERE id = $1`, h.ID)
				if err != nil {
					t.Fatal(err)
				}
			}
			restarted := f.restart(checkout.Config{})
			time.Sleep(5 * time.Millisecond)
			must(restarted.Reconcile(ctx))(t)
			must(restarted.Reconcile(ctx))(t) // a second pass changes nothing
			orders := f.count(`SELECT count(*) FROM orders WHERE hold_id = $1`, h.ID)
			canceled := f.count(`SELECT count(*) FROM payments WHERE id = $1 AND status = 'canceled'`, p.ID)
			if orders+canceled != 1 {
				t.Fatalf("%d orders and %d cancellations, want exactly one of them", orders, canceled)
			}
			if (orders == 1) != tc.wantOrder {
				t.Errorf("order written = %v, want %v", orders == 1, tc.wantOrder)
			}
			st := f.proc.Stats()
			in := f.intentOf(p.ID)
			if tc.wantOrder {
				if st.Captures != 1 || in.Status != checkout.IntentSucceeded || f.paymentStatus(p.ID) != checkout.StatusSucceeded {
					t.Errorf("captures %d intent %s payment %s; want 1 succeeded succeeded", st.Captures, in.Status, f.paymentStatus(p.ID))
				}
			} else if st.Captures != 0 || st.Cancels != 1 || in.Status != checkout.IntentCanceled {
				t.Errorf("captures %d cancels %d intent %s; want 0 1 canceled", st.Captures, st.Cancels, in.Status)
			}
			for _, i := range []int{8, 9} {
				if got := f.seatStatus(i); got != tc.wantSeatState {
					t.Errorf("seat %d is %s, want %s", i, got, tc.wantSeatState)
				}
			}
		})
	}
}

// TestHoldLostBeforePaymentSucceeds: while the payment is in flight the
// hold passes its deadline, is released, and another fan takes the seat;
// the authorization that then arrives is cancelled: no order, no capture,
// and the other fan keeps the seat.
func TestHoldLostBeforePaymentSucceeds(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	fan, rival := f.account("fan"), f.account("rival")
	h := f.hold(fan, 0)
	p := f.checkout(fan, h.ID)
	var rivalHold seatmap.Hold
	f.proc.AfterConfirm = func(string) {
		if _, err := f.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '6 minutes',
			payment_deadline = now() - interval '1 second' WHERE id = $1`, h.ID); err != nil {
			t.Error(err)
		}
		if n, err := f.svc.ReleaseOverdue(ctx); err != nil || n != 1 {
			t.Errorf("ReleaseOverdue = %d, %v; want 1", n, err)
		}
		rivalHold = f.hold(rival, 0)
	}
	_, err := f.svc.Confirm(ctx, fan, p.ID, visa())
	if !errors.Is(err, seatmap.ErrHoldLost) {
		t.Fatalf("confirm = %v, want hold_lost", err)
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE hold_id = $1`, h.ID); n != 0 {
		t.Errorf("%d orders, want 0", n)
	}
	st := f.proc.Stats()
	if st.Authorizations != 1 || st.Captures != 0 || st.Cancels != 1 || st.CapturedCents != 0 {
		t.Errorf("stats = %+v, want the authorization cancelled and nothing captured", st)
	}
	if in := f.intentOf(p.ID); in.Status != checkout.IntentCanceled {
		t.Errorf("intent %s, want canceled", in.Status)
	}
	if got := f.paymentStatus(p.ID); got != checkout.StatusCanceled {
		t.Errorf("payment %s, want canceled", got)
	}
	got := must(f.seats.GetHold(ctx, rival, rivalHold.ID))(t)
	if got.Status != seatmap.HoldActive {
		t.Errorf("rival's hold is %s, want active", got.Status)
	}
}

// TestCheckoutOfExpiredHold: a hold past its expiry cannot start paying
// (410), and nothing is created at the provider.
func TestCheckoutOfExpiredHold(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	fan := f.account("fan")
	h := f.hold(fan, 5)
	if _, err := f.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1`, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Checkout(ctx, fan, h.ID, nil); !errors.Is(err, seatmap.ErrHoldExpired) {
		t.Fatalf("checkout of an expired hold: %v, want hold_expired", err)
	}
	if st := f.proc.Stats(); st.Creates != 0 {
		t.Errorf("%d intents created", st.Creates)
	}
	must(f.seats.Sweep(ctx))(t)
}

// TestCaptureTimeoutRetried: a capture that times out leaves the order in
// place and the payment capturing; the next reconcile captures it, once.
func TestCaptureTimeoutRetried(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	fan := f.account("fan")
	h := f.hold(fan, 3)
	p := f.checkout(fan, h.ID)
	f.proc.Inject("capture", checkout.FaultTimeout)
	res := must(f.svc.Confirm(ctx, fan, p.ID, visa()))(t)
	if res.Status != checkout.StatusSucceeded || res.OrderID == "" {
		t.Fatalf("confirm = %+v; the order stands even when the capture times out", res)
	}
	if got := f.paymentStatus(p.ID); got != checkout.StatusCapturing {
		t.Fatalf("payment %s, want capturing", got)
	}
	if st := f.proc.Stats(); st.Captures != 0 {
		t.Fatalf("%d captures after a timed-out capture", st.Captures)
	}
	time.Sleep(5 * time.Millisecond)
	must(f.svc.Reconcile(ctx))(t)
	if got := f.paymentStatus(p.ID); got != checkout.StatusSucceeded {
		t.Errorf("payment %s after reconcile, want succeeded", got)
	}
	if st := f.proc.Stats(); st.Captures != 1 || st.CapturedCents != 2500 {
		t.Errorf("stats %+v, want one capture of 2500", st)
	}
}

// admissions records the waiting-room releases checkout asks for.
type admissions struct {
	mu    sync.Mutex
	calls [][2]int64
}

func (a *admissions) Release(_ context.Context, eventID, accountID int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, [2]int64{eventID, accountID})
	return nil
}

// TestOrderReleasesAdmission: a completed purchase frees the buyer's
// active-shopper place at once; a decline does not (the fan may try again
// within the admission).
func TestOrderReleasesAdmission(t *testing.T) {
	adm := &admissions{}
	f := newFixture(t, checkout.Config{Admissions: adm})
	ctx := context.Background()
	fan, other := f.account("fan"), f.account("other")
	p := f.checkout(other, f.hold(other, 2).ID)
	if res := must(f.svc.Confirm(ctx, other, p.ID, checkout.Method{CardNumber: "4000000000000002"}))(t); res.Status != checkout.StatusDeclined {
		t.Fatalf("decline card: %+v", res)
	}
	p = f.checkout(fan, f.hold(fan, 0, 1).ID)
	must(f.svc.Confirm(ctx, fan, p.ID, visa()))(t)
	must(f.svc.Confirm(ctx, fan, p.ID, visa()))(t) // settled already: no second release
	want := [][2]int64{{f.event, fan}}
	if fmt.Sprint(adm.calls) != fmt.Sprint(want) {
		t.Errorf("releases = %v, want %v", adm.calls, want)
	}
}

// TestDeclinedIntentCannotBeAuthorizedLater: a decline cancels the intent
// at the provider, so the page, which keeps the client secret, cannot
// authorize it afterwards behind a payment settled as declined. When that
// cancel fails, the payment stays voiding with its decline code: the fan
// is told it was declined, and if the intent is authorized meanwhile, the
// reconciler's next pass cancels the authorization. (A decline that ends
// the payment: here with no retry window; retry_test.go has the window's
// end, the third decline and giving up.)
func TestDeclinedIntentCannotBeAuthorizedLater(t *testing.T) {
	declined := checkout.Method{CardNumber: "4000 0000 0000 0002"}
	browserVisa := checkout.Method{PaymentMethod: "pm_card_visa"}
	t.Run("cancelled at once", func(t *testing.T) {
		f := newFixture(t, checkout.Config{DeclineRetryWindow: -1})
		ctx := context.Background()
		fan := f.account("fan")
		p := f.checkout(fan, f.hold(fan, 0).ID)
		res := must(f.svc.Confirm(ctx, fan, p.ID, declined))(t)
		if res.Status != checkout.StatusDeclined || res.DeclineCode != "generic_decline" {
			t.Fatalf("confirm = %+v", res)
		}
		in := f.intentOf(p.ID)
		if in.Status != checkout.IntentCanceled {
			t.Errorf("declined intent is %s, want canceled", in.Status)
		}
		if got, err := f.proc.Confirm(ctx, in.ID, browserVisa, "browser:"+p.ID); err == nil {
			t.Errorf("the declined intent was authorized afterwards: %s", got.Status)
		}
		if st := f.paymentStatus(p.ID); st != checkout.StatusDeclined {
			t.Errorf("payment is %s, want declined", st)
		}
	})
	t.Run("cancel fails, authorization arrives", func(t *testing.T) {
		f := newFixture(t, checkout.Config{DeclineRetryWindow: -1})
		ctx := context.Background()
		fan := f.account("fan")
		p := f.checkout(fan, f.hold(fan, 0).ID)
		f.proc.Inject("cancel", checkout.FaultTimeout)
		res := must(f.svc.Confirm(ctx, fan, p.ID, declined))(t)
		if res.Status != checkout.StatusDeclined || res.DeclineCode != "generic_decline" {
			t.Fatalf("confirm = %+v", res)
		}
		if got := f.seatStatus(0); got != "available" {
			t.Errorf("seat is %s right after the decline, want available", got)
		}
		if _, err := f.svc.Confirm(ctx, fan, p.ID, visa()); !errors.Is(err, checkout.ErrPaymentDeclined) {
			t.Errorf("confirm after the decline: %v, want ErrPaymentDeclined", err)
		}
		in := f.intentOf(p.ID)
		if got, err := f.proc.Confirm(ctx, in.ID, browserVisa, "browser:"+p.ID); err != nil || got.Status != checkout.IntentRequiresCapture {
			t.Fatalf("browser confirm: %+v %v", got, err)
		}
		if _, err := f.svc.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if in := f.intentOf(p.ID); in.Status != checkout.IntentCanceled {
			t.Errorf("intent is %s after the reconciler, want canceled", in.Status)
		}
		if st := f.paymentStatus(p.ID); st != checkout.StatusDeclined {
			t.Errorf("payment is %s, want declined", st)
		}
		if n := f.count(`SELECT count(*) FROM orders WHERE payment_id = $1`, p.ID); n != 0 {
			t.Errorf("%d orders", n)
		}
	})
}
