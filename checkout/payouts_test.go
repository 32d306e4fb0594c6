package checkout_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/checkout"
)

// soldResale has alice buy seat 0 at 25.00 and resell it to bob at 20.00,
// bob paying at once; it returns alice's order and the payout's id (net
// 18.00 after the 10% fee).
func (f *fixture) soldResale() (aliceOrder, payoutID string, alice int64) {
	f.t.Helper()
	ctx := context.Background()
	alice, bob := f.account("alice"), f.account("bob")
	aliceOrder = f.buy(alice, 0)
	l, p := f.resell(alice, bob, aliceOrder, 2000)
	if res := must(f.svc.Confirm(ctx, bob, p.ID, visa()))(f.t); res.OrderID == "" {
		f.t.Fatalf("the resale did not convert: %+v", res)
	}
	if err := f.db.QueryRow(ctx, `SELECT id FROM payouts WHERE listing_id = $1`, l.ID).Scan(&payoutID); err != nil {
		f.t.Fatal(err)
	}
	return aliceOrder, payoutID, alice
}

func (f *fixture) payout(id string) (status string, attempts int, transfer string) {
	f.t.Helper()
	err := f.db.QueryRow(context.Background(), `SELECT status, attempts, coalesce(transfer_id, '') FROM payouts WHERE id = $1`, id).
		Scan(&status, &attempts, &transfer)
	if err != nil {
		f.t.Fatal(err)
	}
	return status, attempts, transfer
}

// TestPayoutTransferredOnce: a resale seller's payout (18.00 of a 20.00
// resale) is transferred exactly once, whatever happens to the job: it
// runs twice at once and then again through the outbox; the first
// transfer's reply is lost (it happened, the job saw an unknown outcome);
// the first call timed out (it did not happen); the provider refused the
// first call outright (retried under a new key). Each time the processor
// made one transfer of 1800 cents, the payout ends paid, the seller sees
// it, and the event's ledger balances.
func TestPayoutTransferredOnce(t *testing.T) {
	for _, tc := range []struct {
		name         string
		fault        checkout.Fault
		wantFirst    string // the payout's status after the first, faulty run
		wantAttempts int
	}{
		{"clean", 0, checkout.PayoutPaid, 0},
		{"lost reply", checkout.FaultLostReply, checkout.PayoutTransferring, 0},
		{"timeout", checkout.FaultTimeout, checkout.PayoutTransferring, 0},
		{"refused", checkout.FaultRefused, checkout.PayoutFailed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, checkout.Config{PayoutDelay: time.Millisecond})
			ctx := context.Background()
			_, payoutID, alice := f.soldResale()
			if st, _, _ := f.payout(payoutID); st != checkout.PayoutPending {
				t.Fatalf("payout is %s after the sale, want pending", st)
			}
			if tc.fault != 0 {
				f.proc.Inject("transfer", tc.fault)
				if err := f.svc.PayOut(ctx, payoutID); err == nil {
					t.Fatal("the faulty transfer reported success")
				}
				if st, _, _ := f.payout(payoutID); st != tc.wantFirst {
					t.Fatalf("payout is %s after the faulty run, want %s", st, tc.wantFirst)
				}
			}
			// The job twice at once, then the outbox's own run.
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = f.svc.PayOut(ctx, payoutID) }()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("pay out: %v", err)
			}
			time.Sleep(2 * time.Millisecond) // the job is due a millisecond after the sale
			f.drainJobs(f.svc.RegisterJobs)

			if s := f.proc.Stats(); s.Transfers != 1 || s.TransferredCents != 1800 {
				t.Errorf("processor made %d transfers of %d cents in all, want 1 of 1800", s.Transfers, s.TransferredCents)
			}
			st, attempts, transfer := f.payout(payoutID)
			if st != checkout.PayoutPaid || attempts != tc.wantAttempts || transfer == "" {
				t.Errorf("payout %s, %d refusals, transfer %q; want paid, %d refusals, a transfer", st, attempts, transfer, tc.wantAttempts)
			}
			mine := must(f.svc.Payouts(ctx, alice))(t)
			if mine.Account.Status != checkout.PayoutAccountActive || len(mine.Payouts) != 1 ||
				mine.Payouts[0].Status != checkout.PayoutPaid || mine.Payouts[0].NetCents != 1800 || mine.Payouts[0].PaidAt == nil {
				t.Errorf("alice's payouts = %+v", mine)
			}
			l := must(f.svc.Ledger(ctx, f.event))(t)
			if !l.Balanced || l.Totals.PayoutCents != 1800 || l.Totals.FeeCents != 200 {
				t.Errorf("ledger balanced=%v residual=%d payouts %d fee %d, want balanced with 1800 paid out and 200 fee",
					l.Balanced, l.ResidualCents, l.Totals.PayoutCents, l.Totals.FeeCents)
			}
		})
	}
}

// TestPayoutNotDueBeforeTheEvent: by default a payout is due a day after
// the event's date, so the outbox does not pay it yet.
func TestPayoutNotDueBeforeTheEvent(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	_, payoutID, _ := f.soldResale()
	f.drainJobs(f.svc.RegisterJobs)
	var due, event time.Time
	if err := f.db.QueryRow(context.Background(), `SELECT po.due_at, e.event_date FROM payouts po JOIN events e ON e.id = po.event_id
		WHERE po.id = $1`, payoutID).Scan(&due, &event); err != nil {
		t.Fatal(err)
	}
	if !due.Equal(event.Add(24 * time.Hour)) {
		t.Errorf("payout due %v, want a day after the event (%v)", due, event)
	}
	if st, _, _ := f.payout(payoutID); st != checkout.PayoutPending || f.proc.Stats().Transfers != 0 {
		t.Errorf("payout %s with %d transfers before it is due", st, f.proc.Stats().Transfers)
	}
}

// TestPayoutCancelled: a cancelled event voids a payout not yet sent (the
// job then sends nothing, and alice gets her 25.00 back), while a payout
// whose transfer is in flight (its reply lost) finishes first: alice's
// refund waits for it and then keeps back the 18.00 paid out, so she gets
// 7.00. Either way the platform keeps nothing and the ledger balances.
func TestPayoutCancelled(t *testing.T) {
	for _, tc := range []struct {
		name                string
		inFlight            bool
		wantPayout          string
		wantAlice, wantKept int64
	}{
		{"pending", false, checkout.PayoutVoid, 2500, 0},
		{"in flight", true, checkout.PayoutPaid, 700, 1800},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, checkout.Config{PayoutDelay: time.Millisecond})
			ctx := context.Background()
			aliceOrder, payoutID, _ := f.soldResale()
			if tc.inFlight {
				f.proc.Inject("transfer", checkout.FaultLostReply)
				if err := f.svc.PayOut(ctx, payoutID); !errors.Is(err, checkout.ErrUnknownOutcome) {
					t.Fatalf("pay out with a lost reply: %v", err)
				}
			}
			must(f.svc.CancelEvent(ctx, f.event, checkout.CancelOptions{}))(t)
			if tc.inFlight {
				if err := f.svc.RefundOrder(ctx, aliceOrder); err == nil {
					t.Fatal("alice's refund went ahead while her payout was in flight")
				}
			}
			time.Sleep(2 * time.Millisecond)
			for range 3 { // the refund waits a backoff for the payout
				f.drainJobs(f.svc.RegisterJobs)
				if f.count(`SELECT count(*) FROM orders WHERE event_id = $1 AND status <> 'refunded'`, f.event) == 0 {
					break
				}
				time.Sleep(1100 * time.Millisecond)
			}
			if err := f.svc.PayOut(ctx, payoutID); err != nil {
				t.Fatal(err)
			}
			if st, _, _ := f.payout(payoutID); st != tc.wantPayout {
				t.Errorf("payout is %s, want %s", st, tc.wantPayout)
			}
			if got := f.proc.Stats().TransferredCents; got != tc.wantKept {
				t.Errorf("transferred %d cents, want %d", got, tc.wantKept)
			}
			var amount int64
			if err := f.db.QueryRow(ctx, `SELECT amount_cents FROM refunds WHERE order_id = $1 AND status = 'succeeded'`, aliceOrder).
				Scan(&amount); err != nil || amount != tc.wantAlice {
				t.Errorf("alice's refund = %d (%v), want %d", amount, err, tc.wantAlice)
			}
			if got := f.proc.Stats().CapturedCents; got != tc.wantKept {
				t.Errorf("captured net of refunds = %d, want %d (what was paid out)", got, tc.wantKept)
			}
			l := must(f.svc.Ledger(ctx, f.event))(t)
			if !l.Balanced {
				t.Errorf("ledger not balanced: residual %d, open %v", l.ResidualCents, l.Open)
			}
		})
	}
}

// TestPayoutWaitsForCapture: a seller is never paid with money not yet
// taken. The capture of bob's resale payment times out, so the payout
// job sends nothing; once the outbox captures the payment, the payout is
// transferred.
func TestPayoutWaitsForCapture(t *testing.T) {
	f := newFixture(t, checkout.Config{PayoutDelay: time.Millisecond, CaptureRetryDelay: time.Millisecond})
	ctx := context.Background()
	alice, bob := f.account("alice"), f.account("bob")
	l, p := f.resell(alice, bob, f.buy(alice, 0), 2000)
	f.proc.Inject("capture", checkout.FaultTimeout)
	if res, err := f.svc.Confirm(ctx, bob, p.ID, visa()); err != nil || res.OrderID == "" {
		t.Fatalf("confirm: %+v %v", res, err)
	}
	if st := f.paymentStatus(p.ID); st == checkout.StatusSucceeded {
		t.Fatalf("bob's payment is %s although its capture timed out", st)
	}
	var payoutID string
	if err := f.db.QueryRow(ctx, `SELECT id FROM payouts WHERE listing_id = $1`, l.ID).Scan(&payoutID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PayOut(ctx, payoutID); err == nil {
		t.Fatal("the payout went ahead before the buyer's payment was captured")
	}
	if n := f.proc.Stats().Transfers; n != 0 {
		t.Fatalf("%d transfers before the capture", n)
	}
	time.Sleep(2 * time.Millisecond)
	f.drainJobs(f.svc.RegisterJobs) // the capture job, then (if due after it) the payout
	if err := f.svc.PayOut(ctx, payoutID); err != nil {
		t.Fatal(err)
	}
	if st := f.paymentStatus(p.ID); st != checkout.StatusSucceeded {
		t.Errorf("bob's payment is %s, want succeeded", st)
	}
	if st, _, _ := f.payout(payoutID); st != checkout.PayoutPaid || f.proc.Stats().Transfers != 1 {
		t.Errorf("payout %s with %d transfers, want paid with 1", st, f.proc.Stats().Transfers)
	}
}
