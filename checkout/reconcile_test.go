package checkout_test

import (
	"context"
	"testing"

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
	if n := must(f.svc.StuckPayments(ctx))(t); n != poison {
		t.Errorf("StuckPayments = %d, want %d", n, poison)
	}
	// Stuck payments wait their hour: a pass now looks at none of them.
	if st := must(f.svc.Reconcile(ctx))(t); st.Resolved != 0 {
		t.Errorf("a pass right after looked at %d payments, want 0", st.Resolved)
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
