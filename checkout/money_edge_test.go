package checkout_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/checkout"
)

// The money edge cases of a cancellation: each ends with every party even
// (what a fan paid minus what they got back and were paid out) and the
// event's ledger at a zero residual.

// partyNet is what one account has paid in net of what it got back
// (refunds) and was paid out (payouts paid), from the tables.
func (f *fixture) partyNet(acct int64) int64 {
	f.t.Helper()
	var n int64
	err := f.db.QueryRow(context.Background(), `
		SELECT coalesce((SELECT sum(amount_cents) FROM payments WHERE account_id = $1 AND event_id = $2
		                   AND status IN ('capturing', 'succeeded', 'refunded')), 0)
		     - coalesce((SELECT sum(amount_cents) FROM refunds WHERE account_id = $1 AND event_id = $2 AND status = 'succeeded'), 0)
		     - coalesce((SELECT sum(net_cents) FROM payouts WHERE seller_account_id = $1 AND event_id = $2 AND status = 'paid'), 0)`,
		acct, f.event).Scan(&n)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// refundOf returns the amount, withheld and owed cents and the status of an
// order's refund row.
func (f *fixture) refundOf(orderID string) (amount, withheld, owed int64, status string) {
	f.t.Helper()
	err := f.db.QueryRow(context.Background(), `SELECT amount_cents, withheld_cents, owed_cents, status FROM refunds WHERE order_id = $1`, orderID).
		Scan(&amount, &withheld, &owed, &status)
	if err != nil {
		f.t.Fatalf("refund of %s: %v", orderID, err)
	}
	return
}

// wantLedger checks the event's ledger: residual 0, and open holds exactly
// the lines containing each of wantOpen.
func (f *fixture) wantLedger(wantOpen ...string) checkout.Ledger {
	f.t.Helper()
	l, err := f.svc.Ledger(context.Background(), f.event)
	if err != nil {
		f.t.Fatal(err)
	}
	if l.ResidualCents != 0 || l.ExpectedNetCents != 0 {
		f.t.Errorf("ledger residual %d (expected net %d, totals %+v), want 0; open %q", l.ResidualCents, l.ExpectedNetCents, l.Totals, l.Open)
	}
	if len(l.Open) != len(wantOpen) {
		f.t.Errorf("ledger open %q, want %d lines like %q", l.Open, len(wantOpen), wantOpen)
	}
	for i, w := range wantOpen {
		if i < len(l.Open) && !strings.Contains(l.Open[i], w) {
			f.t.Errorf("ledger open[%d] = %q, want it to mention %q", i, l.Open[i], w)
		}
	}
	if l.Balanced != (len(wantOpen) == 0) {
		f.t.Errorf("ledger balanced = %v with open %q", l.Balanced, l.Open)
	}
	return l
}

// TestCancelPaidPayoutBuyerCaptureOutstanding: alice buys at 25.00 and
// resells to bob at 20.00; bob's capture fails after his order was written
// (capture outstanding) and alice's payout of 18.00 is already paid when
// the event is cancelled. Bob's authorization is cancelled (he is never
// charged), alice gets 7.00 back (25.00 minus the 18.00 paid out), the
// processor keeps exactly the 18.00 paid out, and the ledger balances.
func TestCancelPaidPayoutBuyerCaptureOutstanding(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	alice, bob := f.account("alice"), f.account("bob")
	aliceOrder := f.buy(alice, 0)
	l, p := f.resell(alice, bob, aliceOrder, 2000)
	f.proc.Inject("capture", checkout.FaultTimeout)
	bobOrder := must(f.svc.Confirm(ctx, bob, p.ID, visa()))(t).OrderID
	if bobOrder == "" {
		t.Fatal("the resale did not convert")
	}
	if got := f.paymentStatus(p.ID); got != checkout.StatusCapturing {
		t.Fatalf("bob's payment is %s, want capturing (capture outstanding)", got)
	}
	if _, err := f.db.Exec(ctx, `UPDATE payouts SET status = 'paid' WHERE listing_id = $1`, l.ID); err != nil {
		t.Fatal(err)
	}
	must(f.svc.CancelEvent(ctx, f.event, checkout.CancelOptions{}))(t)
	// Bob's refund runs before his capture job: the capture is still
	// outstanding at the provider.
	if err := f.svc.RefundOrder(ctx, bobOrder); err != nil {
		t.Fatal(err)
	}
	f.drainJobs(f.svc.RegisterJobs)

	if got := f.paymentStatus(p.ID); got != checkout.StatusCanceled {
		t.Errorf("bob's payment is %s, want canceled (never captured)", got)
	}
	if in := f.intentOf(p.ID); in.AmountCaptured != 0 {
		t.Errorf("bob was charged %d", in.AmountCaptured)
	}
	if amount, withheld, owed, status := f.refundOf(aliceOrder); amount != 700 || withheld != 1800 || owed != 0 || status != "succeeded" {
		t.Errorf("alice's refund %d withheld %d owed %d %s, want 700 withheld 1800 owed 0 succeeded", amount, withheld, owed, status)
	}
	if got := f.proc.Stats().CapturedCents; got != 1800 {
		t.Errorf("money captured net of refunds = %d, want 1800 (the payout paid)", got)
	}
	for _, who := range []struct {
		name string
		acct int64
	}{{"alice", alice}, {"bob", bob}} {
		if n := f.partyNet(who.acct); n != 0 {
			t.Errorf("%s is out %d cents, want even", who.name, n)
		}
	}
	f.wantLedger()
}

// TestCancelResaleAboveFace: with the resale cap at 150%, alice buys at
// 25.00 and resells to bob at the cap, 37.50 (payout 33.75 after the 10%
// fee), and the payout is paid before the event is cancelled. Bob gets his
// 37.50 back; alice's refund is 0, withholding her whole 25.00, and the
// 8.75 she was paid beyond what she paid is recorded as owed by her (it
// cannot be refunded away): the ledger's residual is 0 with the debt
// counted, and the debt is open until someone collects it. The platform is
// out exactly that 8.75, to the cent.
func TestCancelResaleAboveFace(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	if _, err := f.db.Exec(ctx, `UPDATE events SET resale_cap_percent = 150 WHERE id = $1`, f.event); err != nil {
		t.Fatal(err)
	}
	alice, bob := f.account("alice"), f.account("bob")
	aliceOrder := f.buy(alice, 0)
	l, p := f.resell(alice, bob, aliceOrder, 3750)
	bobOrder := must(f.svc.Confirm(ctx, bob, p.ID, visa()))(t).OrderID
	var net, fee int64
	if err := f.db.QueryRow(ctx, `UPDATE payouts SET status = 'paid' WHERE listing_id = $1 RETURNING net_cents, fee_cents`, l.ID).Scan(&net, &fee); err != nil {
		t.Fatal(err)
	}
	if net != 3375 || fee != 375 {
		t.Fatalf("payout %d fee %d, want 3375 and 375", net, fee)
	}
	must(f.svc.CancelEvent(ctx, f.event, checkout.CancelOptions{}))(t)
	f.drainJobs(f.svc.RegisterJobs)

	if amount, withheld, owed, status := f.refundOf(aliceOrder); amount != 0 || withheld != 2500 || owed != 875 || status != "succeeded" {
		t.Errorf("alice's refund %d withheld %d owed %d %s, want 0 withheld 2500 owed 875 succeeded", amount, withheld, owed, status)
	}
	if amount, withheld, owed, _ := f.refundOf(bobOrder); amount != 3750 || withheld != 0 || owed != 0 {
		t.Errorf("bob's refund %d withheld %d owed %d, want 3750", amount, withheld, owed)
	}
	if n := f.partyNet(bob); n != 0 {
		t.Errorf("bob is out %d cents, want even", n)
	}
	if n := f.partyNet(alice); n != -875 {
		t.Errorf("alice's net is %d cents, want -875 (paid 2500, paid out 3375: she owes 875)", n)
	}
	if got := f.proc.Stats().CapturedCents; got != 2500 {
		t.Errorf("money captured net of refunds = %d, want 2500", got)
	}
	led := f.wantLedger("owes 875")
	if led.Totals.OwedCents != 875 || led.Totals.NetCents != 0 {
		t.Errorf("ledger totals %+v, want owed 875 and net 0", led.Totals)
	}
}

// TestRefundFailsThenSucceeds: a refund the provider answers with a failure
// and then, on the job's retry, with success is given once: one refund at
// the provider, one refunds row, the money back once. Three failures: a
// timeout (nothing happened: the retry repeats the key), a lost reply (it
// happened: the retry replays it) and a refusal (the provider said no; it
// keeps that answer under the key, as Stripe does, so the retry needs a new
// key).
func TestRefundFailsThenSucceeds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault checkout.Fault
	}{{"timeout", checkout.FaultTimeout}, {"lost reply", checkout.FaultLostReply}, {"refused", checkout.FaultRefused}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, checkout.Config{})
			ctx := context.Background()
			alice := f.account("alice")
			order := f.buy(alice, 0, 1)
			f.proc.Inject("refund", tc.fault)
			must(f.svc.CancelEvent(ctx, f.event, checkout.CancelOptions{}))(t)
			f.drainJobs(f.svc.RegisterJobs)
			if n := f.count(`SELECT count(*) FROM jobs WHERE kind = 'checkout.refund' AND done_at IS NULL AND last_error IS NOT NULL`); n != 1 {
				t.Fatalf("%d failing refund jobs after the failure, want 1", n)
			}
			if _, err := f.db.Exec(ctx, `UPDATE jobs SET run_at = now() WHERE kind = 'checkout.refund' AND done_at IS NULL`); err != nil {
				t.Fatal(err)
			}
			f.drainJobs(f.svc.RegisterJobs)
			if n := f.count(`SELECT count(*) FROM jobs WHERE kind = 'checkout.refund' AND done_at IS NULL`); n != 0 {
				t.Errorf("%d refund jobs not done after the retry", n)
			}
			if st := f.proc.Stats(); st.Refunds != 1 || st.CapturedCents != 0 {
				t.Errorf("processor: %d refunds, %d cents kept, want 1 refund and 0", st.Refunds, st.CapturedCents)
			}
			if n := f.count(`SELECT count(*) FROM refunds WHERE order_id = $1`, order); n != 1 {
				t.Errorf("%d refund rows", n)
			}
			if amount, _, _, status := f.refundOf(order); amount != 5000 || status != "succeeded" {
				t.Errorf("refund %d %s, want 5000 succeeded", amount, status)
			}
			if n := f.partyNet(alice); n != 0 {
				t.Errorf("alice is out %d cents", n)
			}
			f.wantLedger()
		})
	}
}

// TestNothingToPay: a hold whose tickets cost nothing (a 0 % price type)
// is refused at checkout with nothing_to_pay and no payment is started, so
// the hold stays the fan's and checks out at a paying type. A payment that
// must be voided but never got an intent (the provider refused to create
// it) ends canceled at once instead of being retried for ever.
func TestNothingToPay(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	if _, err := f.db.Exec(ctx, `UPDATE events SET price_types = $2 WHERE id = $1`, f.event,
		`[{"key":"adult","name":"Adult","percent":100},{"key":"comp","name":"Companion","percent":0}]`); err != nil {
		t.Fatal(err)
	}
	acct := f.account("fan")
	h := f.hold(acct, 0)
	_, err := f.svc.Checkout(ctx, acct, h.ID, map[int64]string{f.ids[0]: "comp"})
	if !errors.Is(err, checkout.ErrNothingToPay) {
		t.Fatalf("checkout of a free ticket: %v, want ErrNothingToPay", err)
	}
	if n := f.count(`SELECT count(*) FROM payments WHERE hold_id = $1`, h.ID); n != 0 {
		t.Fatalf("%d payments started for a free ticket, want 0", n)
	}
	p := must(f.svc.Checkout(ctx, acct, h.ID, map[int64]string{f.ids[0]: "adult"}))(t)
	if p.AmountCents != 2500 {
		t.Fatalf("paying type charges %d, want 2500", p.AmountCents)
	}

	// Two payments whose create never reached the provider (a timeout),
	// at an amount the provider then refuses (below its minimum, say):
	// the reconciler ends one, the event's cancellation the other, each
	// canceled with its hold released, instead of retrying for ever.
	var unpayable []string
	for _, idx := range []int{1, 2} {
		acct := f.account("fan")
		h := f.hold(acct, idx)
		f.proc.Inject("create", checkout.FaultTimeout)
		if _, err := f.svc.Checkout(ctx, acct, h.ID, nil); !errors.Is(err, checkout.ErrUnknownOutcome) {
			t.Fatalf("checkout with the create timing out: %v", err)
		}
		var id string
		if err := f.db.QueryRow(ctx, `UPDATE payments SET amount_cents = 0, updated_at = now() - interval '1 hour'
			WHERE hold_id = $1 RETURNING id`, h.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		unpayable = append(unpayable, id)
		if idx == 1 {
			must(f.svc.Reconcile(ctx))(t)
			if got := f.paymentStatus(id); got != checkout.StatusCanceled || f.seatStatus(idx) != "available" {
				t.Errorf("after a reconcile, the unpayable payment is %s and its seat %s; want canceled, available", got, f.seatStatus(idx))
			}
		}
	}
	must(f.svc.CancelEvent(ctx, f.event, checkout.CancelOptions{}))(t)
	must(f.svc.Reconcile(ctx))(t)
	for id, want := range map[string]string{p.ID: checkout.StatusCanceled, unpayable[0]: checkout.StatusCanceled,
		unpayable[1]: checkout.StatusCanceled} {
		if got := f.paymentStatus(id); got != want {
			t.Errorf("payment %s is %s after the cancel, want %s", id, got, want)
		}
	}
	f.wantLedger()
}
