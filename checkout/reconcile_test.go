package checkout_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/boxoffice/boxoffice/checkout"
)

// TestReconcilerPoisonPayments: more payments than a pass takes fail on
// every pass (their intents are unknown to the provider). A good payment,
// authorized at the provider with the reply lost, must still settle within
// a few passes; the failing ones back off each at its own pace and, after
// ReconcilePoisonAfter failures in a row, are set aside as stuck; one that
// then succeeds is cleared.
func TestReconcilerPoisonPayments(t *testing.T) {
	const poison = 101 // one more than a pass takes
	f := newFixtureSeats(t, checkout.Config{ReconcilePoisonAfter: 3}, poison+1)
	ctx := context.Background()
	pay := func(idx int) checkout.Payment {
		acct := f.account("fan")
		return f.checkout(acct, f.hold(acct, idx).ID)
	}
	var bad []string
	var firstIntent string
	for i := range poison {
		p := pay(i)
		bad = append(bad, p.ID)
		if i == 0 {
			firstIntent = f.intentOf(p.ID).ID
		}
		// The oldest open payments, with intents the provider never heard of.
		if _, err := f.db.Exec(ctx, `UPDATE payments SET intent_id = 'pi_gone_' || id, updated_at = now() - interval '1 hour'
			WHERE id = $1`, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	good := pay(poison)
	in := f.intentOf(good.ID)
	if _, err := f.proc.Confirm(ctx, in.ID, visa(), "confirm-lost-reply"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE payments SET updated_at = now() - interval '1 minute' WHERE id = $1`, good.ID); err != nil {
		t.Fatal(err)
	}
	for pass := range 3 {
		st := must(f.svc.Reconcile(ctx))(t)
		t.Logf("pass %d: %+v", pass, st)
	}
	if got := f.paymentStatus(good.ID); got != checkout.StatusSucceeded {
		t.Fatalf("good payment is %s after 3 passes behind %d failing ones, want succeeded", got, poison)
	}
	if n := f.count(`SELECT count(*) FROM payments WHERE id = ANY($1) AND reconcile_failures = 1 AND reconcile_at > now()`, bad); n != poison {
		t.Errorf("%d failing payments backed off after one failure each, want %d", n, poison)
	}

	// Time passes (each backoff ends) until the poison threshold.
	for range 2 {
		if _, err := f.db.Exec(ctx, `UPDATE payments SET reconcile_at = now() WHERE id = ANY($1)`, bad); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			must(f.svc.Reconcile(ctx))(t)
		}
	}
	if n := f.count(`SELECT count(*) FROM payments WHERE id = ANY($1) AND stuck_at IS NOT NULL
		AND reconcile_failures = 3 AND reconcile_at > now() + interval '50 minutes' AND reconcile_error <> ''`, bad); n != poison {
		t.Errorf("%d payments stuck after 3 failures (retried in an hour, error kept), want %d", n, poison)
	}
	// The count is of the whole database, which other tests share.
	if n := must(f.svc.StuckPayments(ctx))(t); n < poison {
		t.Errorf("StuckPayments = %d, want at least these %d", n, poison)
	}
	// Stuck payments wait their hour: a pass now looks at none of them.
	must(f.svc.Reconcile(ctx))(t)
	if n := f.count(`SELECT count(*) FROM payments WHERE id = ANY($1) AND reconcile_failures <> 3`, bad); n != 0 {
		t.Errorf("a pass right after looked at %d of the stuck payments, want 0", n)
	}

	// The provider finds the first one again: it settles and is cleared.
	if _, err := f.db.Exec(ctx, `UPDATE payments SET intent_id = $2, reconcile_at = now() WHERE id = $1`, bad[0], firstIntent); err != nil {
		t.Fatal(err)
	}
	must(f.svc.Reconcile(ctx))(t)
	if n := f.count(`SELECT count(*) FROM payments WHERE id = $1 AND stuck_at IS NULL AND reconcile_failures = 0
		AND reconcile_at IS NULL AND reconcile_error IS NULL`, bad[0]); n != 1 {
		t.Errorf("a stuck payment that reconciled is not cleared")
	}
}

// TestRetryStuckPayment: a stuck payment waits its hour; an admin's retry
// puts it back in the queue with its backoff reset, so the next pass looks
// at it (and settles it, the provider knowing it again). A settled payment
// cannot be retried.
func TestRetryStuckPayment(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	acct := f.account("fan")
	p := f.checkout(acct, f.hold(acct, 0).ID)
	if _, err := f.db.Exec(ctx, `UPDATE payments SET reconcile_failures = 10, stuck_at = now(), reconcile_error = 'boom',
		reconcile_at = now() + interval '1 hour', updated_at = now() - interval '1 hour' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	// Other tests of the package leave stuck payments: page until found.
	var found *checkout.TroublePayment
	for after, pages := "", 0; found == nil && pages < 100; pages++ {
		list, next := must2(f.svc.TroublePayments(ctx, checkout.TroubleStuck, after, 2))(t)
		for i := range list {
			if list[i].ID == p.ID {
				found = &list[i]
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if found == nil || !found.Stuck || found.LastError != "boom" || found.Failures != 10 {
		t.Fatalf("the stuck payment is listed as %+v", found)
	}
	looked := func() bool {
		t.Helper()
		return f.count(`SELECT count(*) FROM payments WHERE id = $1 AND updated_at > now() - interval '1 minute'`, p.ID) == 1
	}
	must(f.svc.Reconcile(ctx))(t)
	if looked() {
		t.Fatal("a pass looked at the stuck payment before its hour")
	}
	// boxoffice_payments_stuck counts it until the retry.
	before := testutil.ToFloat64(f.svc.Collector())
	got := must(f.svc.RetryPayment(ctx, p.ID))(t)
	if after := testutil.ToFloat64(f.svc.Collector()); before < 1 || after != before-1 {
		t.Errorf("boxoffice_payments_stuck %v before the retry and %v after, want one less", before, after)
	}
	if got.Stuck || got.Failures != 0 || got.NextTry != nil || got.LastError != "boom" {
		t.Errorf("after retry %+v", got)
	}
	must(f.svc.Reconcile(ctx))(t)
	if !looked() {
		t.Error("the pass after the retry did not look at the payment")
	}
	if n := f.count(`SELECT count(*) FROM payments WHERE id = $1 AND stuck_at IS NULL AND reconcile_failures = 0`, p.ID); n != 1 {
		t.Error("the payment is stuck again after a good pass")
	}
	if _, err := f.db.Exec(ctx, `UPDATE payments SET status = 'canceled' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RetryPayment(ctx, p.ID); errCode(err) != "payment_settled" {
		t.Errorf("retry of a settled payment: %v", err)
	}
	if _, err := f.svc.RetryPayment(ctx, "3f1c1f57-8c5b-4c3e-9d59-000000000000"); errCode(err) != "payment_not_found" {
		t.Errorf("retry of no payment: %v", err)
	}
}

// must2 is must for two results.
func must2[A, B any](a A, b B, err error) func(t *testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}
