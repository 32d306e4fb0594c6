package checkout_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

var (
	declineCard = checkout.Method{CardNumber: "4000 0000 0000 0002"}
	threeDSCard = checkout.Method{CardNumber: "4000 0027 6000 3184"}
)

// expect checks a confirmation's outcome.
func expect(t *testing.T, what string, res checkout.ConfirmResult, err error, status, code string, retry bool) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if res.Status != status || res.DeclineCode != code || (res.RetryUntil != nil) != retry {
		t.Fatalf("%s = %+v, want status %s, decline code %q, retry window %v", what, res, status, code, retry)
	}
}

// oneCharge checks the processor took exactly the payment's amount once.
func oneCharge(t *testing.T, f *fixture, p checkout.Payment) {
	t.Helper()
	st := f.proc.Stats()
	if st.Captures != 1 || st.CapturedCents != p.AmountCents || st.Authorizations != 1 {
		t.Errorf("stats = %+v, want one authorization and one capture of %d", st, p.AmountCents)
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE payment_id = $1`, p.ID); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
}

// TestDeclineKeepsHoldForRetry: a decline keeps the seats held for the
// retry window, which ends no later than the hold's expiry, and the intent
// stays unauthorized; the same card again is a second attempt, declined
// again; another card pays: one authorization, one
// capture of the amount, one order, and the decline is forgotten.
func TestDeclineKeepsHoldForRetry(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	fan := f.account("fan")
	h := f.hold(fan, 1, 2)
	p := f.checkout(fan, h.ID)
	res, err := f.svc.Confirm(ctx, fan, p.ID, declineCard)
	expect(t, "decline", res, err, checkout.StatusDeclined, "generic_decline", true)
	if res.DeclinesLeft != checkout.MaxDeclines-1 {
		t.Errorf("declines left = %d", res.DeclinesLeft)
	}
	if left := time.Until(*res.RetryUntil); left <= 0 || left > 2*time.Minute+time.Second || res.RetryUntil.After(h.ExpiresAt) {
		t.Errorf("retry until %v (hold expires %v)", res.RetryUntil, h.ExpiresAt)
	}
	for _, i := range []int{1, 2} {
		if got := f.seatStatus(i); got != "held" {
			t.Errorf("seat %d is %s during the retry window, want held", i, got)
		}
	}
	if in := f.intentOf(p.ID); in.Status != checkout.IntentRequiresPaymentMethod {
		t.Errorf("intent is %s after the decline, want requires_payment_method (no authorization)", in.Status)
	}
	got := must(f.svc.GetPayment(ctx, fan, p.ID))(t)
	if got.Status != checkout.StatusRequiresPaymentMethod || got.Declines != 1 || got.RetryUntil == nil || got.DeclineCode != "generic_decline" {
		t.Errorf("payment = %+v", got)
	}
	// The same card again is a new attempt (the fan may have topped the
	// account up), declined again: the second of three.
	res, err = f.svc.Confirm(ctx, fan, p.ID, declineCard)
	expect(t, "same card again", res, err, checkout.StatusDeclined, "generic_decline", true)
	if st := f.proc.Stats(); st.Declines != 2 || res.DeclinesLeft != 1 {
		t.Errorf("declines at the processor = %d, declines left %d; want 2 and 1", st.Declines, res.DeclinesLeft)
	}
	res, err = f.svc.Confirm(ctx, fan, p.ID, visa())
	expect(t, "retry", res, err, checkout.StatusSucceeded, "", false)
	oneCharge(t, f, p)
	got = must(f.svc.GetPayment(ctx, fan, p.ID))(t)
	if got.Status != checkout.StatusSucceeded || got.DeclineCode != "" || got.RetryUntil != nil {
		t.Errorf("payment after the retry = %+v", got)
	}
	// Settled: nothing charges twice.
	res, err = f.svc.Confirm(ctx, fan, p.ID, visa())
	expect(t, "confirm again", res, err, checkout.StatusSucceeded, "", false)
	oneCharge(t, f, p)
}

// TestRetryWindowNeverPastHoldExpiry: a decline with less of the hold left
// than the window keeps the seats only until the hold's expiry.
func TestRetryWindowNeverPastHoldExpiry(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	fan := f.account("fan")
	h := f.hold(fan, 0)
	p := f.checkout(fan, h.ID)
	var expires time.Time
	if err := f.db.QueryRow(ctx, `UPDATE holds SET expires_at = now() + interval '20 seconds' WHERE id = $1 RETURNING expires_at`,
		h.ID).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Confirm(ctx, fan, p.ID, declineCard)
	expect(t, "decline", res, err, checkout.StatusDeclined, "generic_decline", true)
	if !res.RetryUntil.Equal(expires) {
		t.Errorf("retry until %v, want the hold's expiry %v", res.RetryUntil, expires)
	}
}

// TestDeclineReleases: the seats go at once, the intent is cancelled and
// the payment ends declined when the fan gives up, on the third decline, or
// when the window ends (the reconciler, or a late confirmation).
func TestDeclineReleases(t *testing.T) {
	ctx := context.Background()
	released := func(t *testing.T, f *fixture, p checkout.Payment, seat int) {
		t.Helper()
		if got := f.seatStatus(seat); got != "available" {
			t.Errorf("seat is %s, want available", got)
		}
		if in := f.intentOf(p.ID); in.Status != checkout.IntentCanceled {
			t.Errorf("intent is %s, want canceled", in.Status)
		}
		if st := f.paymentStatus(p.ID); st != checkout.StatusDeclined {
			t.Errorf("payment is %s, want declined", st)
		}
		if st := f.proc.Stats(); st.Authorizations != 0 || st.Captures != 0 {
			t.Errorf("stats = %+v", st)
		}
	}
	t.Run("give up", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := f.checkout(fan, f.hold(fan, 0).ID)
		res, err := f.svc.Confirm(ctx, fan, p.ID, declineCard)
		expect(t, "decline", res, err, checkout.StatusDeclined, "generic_decline", true)
		if _, err := f.svc.GiveUp(ctx, f.account("other"), p.ID); !errors.Is(err, checkout.ErrPaymentNotFound) {
			t.Errorf("another fan gives up: %v", err)
		}
		got := must(f.svc.GiveUp(ctx, fan, p.ID))(t)
		if got.Status != checkout.StatusDeclined || got.RetryUntil != nil {
			t.Errorf("payment after giving up = %+v", got)
		}
		released(t, f, p, 0)
		if _, err := f.svc.Confirm(ctx, fan, p.ID, visa()); !errors.Is(err, checkout.ErrPaymentDeclined) {
			t.Errorf("confirm after giving up: %v", err)
		}
		f.hold(f.account("next"), 0)
	})
	t.Run("third decline", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := f.checkout(fan, f.hold(fan, 0).ID)
		for i, m := range []checkout.Method{declineCard, {CardNumber: "4000000000009995"}} {
			res, err := f.svc.Confirm(ctx, fan, p.ID, m)
			expect(t, "decline", res, err, checkout.StatusDeclined, res.DeclineCode, true)
			if res.DeclinesLeft != checkout.MaxDeclines-1-i {
				t.Errorf("declines left = %d", res.DeclinesLeft)
			}
		}
		res, err := f.svc.Confirm(ctx, fan, p.ID, declineCard)
		expect(t, "third decline", res, err, checkout.StatusDeclined, "generic_decline", false)
		released(t, f, p, 0)
		if st := f.proc.Stats(); st.Declines != 3 {
			t.Errorf("declines = %d", st.Declines)
		}
	})
	t.Run("window ends: reconciler", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := f.checkout(fan, f.hold(fan, 0).ID)
		res, err := f.svc.Confirm(ctx, fan, p.ID, declineCard)
		expect(t, "decline", res, err, checkout.StatusDeclined, "generic_decline", true)
		must(f.svc.Reconcile(ctx))(t)
		if got := f.seatStatus(0); got != "held" {
			t.Fatalf("seat is %s inside the window, want held", got)
		}
		if _, err := f.db.Exec(ctx, `UPDATE payments SET retry_until = now() - interval '1 second' WHERE id = $1`, p.ID); err != nil {
			t.Fatal(err)
		}
		st := must(f.svc.Reconcile(ctx))(t)
		if st.Released != 1 {
			t.Errorf("reconcile = %+v, want one release", st)
		}
		released(t, f, p, 0)
		if _, err := f.svc.Confirm(ctx, fan, p.ID, visa()); !errors.Is(err, checkout.ErrPaymentDeclined) {
			t.Errorf("confirm after the window: %v", err)
		}
	})
	t.Run("window ends: late confirmation", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := f.checkout(fan, f.hold(fan, 0).ID)
		res, err := f.svc.Confirm(ctx, fan, p.ID, declineCard)
		expect(t, "decline", res, err, checkout.StatusDeclined, "generic_decline", true)
		if _, err := f.db.Exec(ctx, `UPDATE payments SET retry_until = now() - interval '1 second' WHERE id = $1`, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Confirm(ctx, fan, p.ID, visa()); !errors.Is(err, checkout.ErrPaymentDeclined) {
			t.Errorf("confirm after the window: %v, want ErrPaymentDeclined", err)
		}
		released(t, f, p, 0)
	})
}

// TestThreeDSecure runs the authentication-required test card through the
// test processor's challenge: authenticated (one charge), failed (a decline
// that keeps the hold for another card, which pays) and abandoned (the
// hold's payment deadline releases the seats and voids the intent).
func TestThreeDSecure(t *testing.T) {
	ctx := context.Background()
	start := func(t *testing.T, f *fixture, fan int64) checkout.Payment {
		t.Helper()
		p := f.checkout(fan, f.hold(fan, 0).ID)
		res, err := f.svc.Confirm(ctx, fan, p.ID, threeDSCard)
		expect(t, "3-D Secure card", res, err, checkout.StatusRequiresAction, "", false)
		if res.ClientSecret != p.ClientSecret || res.NextAction == nil || res.NextAction.Type != "redirect_to_url" ||
			res.NextAction.RedirectURL != checkout.TestChallengePath(p.ID) {
			t.Errorf("requires_action = %+v", res)
		}
		if got := f.seatStatus(0); got != "held" {
			t.Errorf("seat is %s while authenticating, want held", got)
		}
		if st := f.paymentStatus(p.ID); st != checkout.StatusRequiresAction {
			t.Errorf("payment is %s", st)
		}
		// The page asks before the fan answered: still waiting.
		res, err = f.svc.Complete(ctx, fan, p.ID)
		expect(t, "complete before the challenge", res, err, checkout.StatusRequiresAction, "", false)
		return p
	}
	t.Run("authenticated", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := start(t, f, fan)
		if _, err := f.svc.TestChallenge(ctx, f.account("other"), p.ID, true); !errors.Is(err, checkout.ErrPaymentNotFound) {
			t.Errorf("another fan's challenge: %v", err)
		}
		res, err := f.svc.TestChallenge(ctx, fan, p.ID, true)
		expect(t, "challenge completed", res, err, checkout.StatusSucceeded, "", false)
		oneCharge(t, f, p)
		if got := f.seatStatus(0); got != "sold" {
			t.Errorf("seat is %s", got)
		}
		res, err = f.svc.Complete(ctx, fan, p.ID)
		expect(t, "complete after", res, err, checkout.StatusSucceeded, "", false)
		if _, err := f.svc.TestChallenge(ctx, fan, p.ID, true); err != nil {
			t.Errorf("challenge of a paid payment: %v, want its result", err)
		}
		oneCharge(t, f, p)
	})
	t.Run("failed, then another card", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := start(t, f, fan)
		res, err := f.svc.TestChallenge(ctx, fan, p.ID, false)
		expect(t, "challenge failed", res, err, checkout.StatusDeclined, checkout.DeclineAuthenticationFailed, true)
		if got := f.seatStatus(0); got != "held" {
			t.Errorf("seat is %s after a failed authentication, want held", got)
		}
		if _, err := f.svc.TestChallenge(ctx, fan, p.ID, true); !errors.Is(err, checkout.ErrNoChallenge) {
			t.Errorf("a second answer: %v, want ErrNoChallenge", err)
		}
		// The webhook's or the reconciler's look at the same failure does
		// not count it again.
		must(f.svc.Reconcile(ctx))(t)
		if got := must(f.svc.GetPayment(ctx, fan, p.ID))(t); got.Declines != 1 {
			t.Errorf("declines = %d, want 1", got.Declines)
		}
		res, err = f.svc.Confirm(ctx, fan, p.ID, visa())
		expect(t, "another card", res, err, checkout.StatusSucceeded, "", false)
		oneCharge(t, f, p)
	})
	t.Run("abandoned", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := start(t, f, fan)
		must(f.svc.Reconcile(ctx))(t)
		if st := f.paymentStatus(p.ID); st != checkout.StatusRequiresAction {
			t.Fatalf("payment is %s before its deadline, want requires_action", st)
		}
		if _, err := f.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '10 minutes',
			payment_deadline = now() - interval '1 second' WHERE id = $1`, p.HoldID); err != nil {
			t.Fatal(err)
		}
		st := must(f.svc.Reconcile(ctx))(t)
		if st.Released != 1 {
			t.Errorf("reconcile = %+v, want one release", st)
		}
		if got := f.seatStatus(0); got != "available" {
			t.Errorf("seat is %s, want available", got)
		}
		if in := f.intentOf(p.ID); in.Status != checkout.IntentCanceled {
			t.Errorf("intent is %s, want canceled (the authorization voided)", in.Status)
		}
		if st := f.paymentStatus(p.ID); st != checkout.StatusCanceled {
			t.Errorf("payment is %s, want canceled", st)
		}
		// Released: the page is told the hold is gone and nothing charged.
		if _, err := f.svc.Complete(ctx, fan, p.ID); !errors.Is(err, seatmap.ErrHoldLost) {
			t.Errorf("complete after the deadline: %v, want ErrHoldLost", err)
		}
		if _, err := f.svc.TestChallenge(ctx, fan, p.ID, true); !errors.Is(err, seatmap.ErrHoldLost) {
			t.Errorf("challenge after the deadline: %v, want ErrHoldLost", err)
		}
		if st := f.proc.Stats(); st.Authorizations != 0 || st.Captures != 0 {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("deadline passes, page asks first", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := start(t, f, fan)
		if _, err := f.db.Exec(ctx, `UPDATE holds SET payment_deadline = now() - interval '1 second' WHERE id = $1`, p.HoldID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Complete(ctx, fan, p.ID); !errors.Is(err, checkout.ErrPaymentExpired) {
			t.Errorf("complete after the deadline: %v, want ErrPaymentExpired", err)
		}
		if in := f.intentOf(p.ID); in.Status != checkout.IntentCanceled {
			t.Errorf("intent is %s, want canceled", in.Status)
		}
		if got := f.seatStatus(0); got != "available" {
			t.Errorf("seat is %s", got)
		}
	})
	t.Run("abandoned, authenticated late", func(t *testing.T) {
		// The fan finishes the challenge after the deadline released the
		// seats: the late authorization is voided, nobody is charged.
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := start(t, f, fan)
		f.proc.Inject("cancel", checkout.FaultTimeout)
		if _, err := f.db.Exec(ctx, `UPDATE holds SET payment_deadline = now() - interval '1 second' WHERE id = $1`, p.HoldID); err != nil {
			t.Fatal(err)
		}
		must(f.svc.Reconcile(ctx))(t)
		if _, err := f.proc.Authenticate(ctx, f.intentOf(p.ID).ID, true); err != nil {
			t.Fatal(err)
		}
		must(f.svc.RetryPayment(ctx, p.ID))(t) // skip the failed cancel's backoff
		must(f.svc.Reconcile(ctx))(t)
		if in := f.intentOf(p.ID); in.Status != checkout.IntentCanceled {
			t.Errorf("intent is %s, want canceled", in.Status)
		}
		if st := f.proc.Stats(); st.Captures != 0 {
			t.Errorf("stats = %+v", st)
		}
		if got := f.seatStatus(0); got != "available" {
			t.Errorf("seat is %s", got)
		}
	})
	t.Run("no challenge", func(t *testing.T) {
		f := newFixture(t, checkout.Config{})
		fan := f.account("fan")
		p := f.checkout(fan, f.hold(fan, 0).ID)
		if _, err := f.svc.TestChallenge(ctx, fan, p.ID, true); !errors.Is(err, checkout.ErrNoChallenge) {
			t.Errorf("challenge of a payment not waiting for one: %v", err)
		}
	})
}

// declineCounter is a screen that confirms everything and counts the
// declines checkout reports.
type declineCounter struct {
	mu       sync.Mutex
	declines map[int64]int
}

func (*declineCounter) Review(context.Context, int64, int64, time.Time, time.Time) ([]string, error) {
	return nil, nil
}

func (d *declineCounter) RecordDecline(_ context.Context, _, accountID int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.declines[accountID]++
	return nil
}

// TestDeclinesReachTheScreen: each declined attempt is reported to the
// screen once (the review signals count them), including a failed
// authentication, and not again when the reconciler looks at the payment.
func TestDeclinesReachTheScreen(t *testing.T) {
	screen := &declineCounter{declines: map[int64]int{}}
	f := newFixture(t, checkout.Config{Screen: screen})
	ctx := context.Background()
	fan := f.account("fan")
	p := f.checkout(fan, f.hold(fan, 0).ID)
	must(f.svc.Confirm(ctx, fan, p.ID, declineCard))(t)
	must(f.svc.Confirm(ctx, fan, p.ID, threeDSCard))(t)
	must(f.svc.TestChallenge(ctx, fan, p.ID, false))(t)
	must(f.svc.Reconcile(ctx))(t)
	must(f.svc.Complete(ctx, fan, p.ID))(t)
	if res := must(f.svc.Confirm(ctx, fan, p.ID, visa()))(t); res.Status != checkout.StatusSucceeded {
		t.Fatalf("confirm = %+v", res)
	}
	if got := screen.declines[fan]; got != 2 {
		t.Errorf("declines reported = %d, want 2", got)
	}
}
