package checkout_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestCancelEventRefundsEachOrderOnce: an event with 100 paid orders is
// cancelled; every ticket is void at once, and the refund jobs refund each
// order exactly once through the provider even when every job runs twice.
func TestCancelEventRefundsEachOrderOnce(t *testing.T) {
	const orders = 100
	f := newFixtureSeats(t, checkout.Config{}, orders)
	ctx := context.Background()
	var orderIDs []string
	for i := range orders {
		acct := f.account("fan")
		h := f.hold(acct, i)
		p := f.checkout(acct, h.ID)
		res := must(f.svc.Confirm(ctx, acct, p.ID, visa()))(t)
		if res.OrderID == "" {
			t.Fatalf("order %d: confirm gave %+v", i, res)
		}
		orderIDs = append(orderIDs, res.OrderID)
	}
	before := f.proc.Stats()
	if before.Captures != orders || before.Refunds != 0 {
		t.Fatalf("before cancel: %+v", before)
	}

	ev := must(f.svc.CancelEvent(ctx, f.event))(t)
	if ev.Status != "cancelled" {
		t.Fatalf("status after cancel = %q", ev.Status)
	}
	// Voided in the cancel's own transaction, before any job ran.
	if n := f.count(`SELECT count(*) FROM tickets WHERE event_id = $1 AND status <> 'void'`, f.event); n != 0 {
		t.Errorf("%d tickets not void after cancel", n)
	}
	if n := f.count(`SELECT count(*) FROM jobs WHERE kind = $1 AND payload->>'order_id' = ANY($2)`, checkout.JobRefund, orderIDs); n != orders {
		t.Errorf("refund jobs = %d, want %d", n, orders)
	}
	// A second cancel is refused and adds no jobs.
	if _, err := f.svc.CancelEvent(ctx, f.event); !errors.Is(err, seatmap.ErrIllegalStatus) {
		t.Errorf("second cancel: err = %v, want ErrIllegalStatus", err)
	}

	f.drainJobs(f.svc.RegisterJobs)
	// Every job runs again, as after a crash between the provider's answer
	// and the job's completion being recorded.
	if _, err := f.db.Exec(ctx, `UPDATE jobs SET done_at = NULL WHERE kind = $1 AND payload->>'order_id' = ANY($2)`,
		checkout.JobRefund, orderIDs); err != nil {
		t.Fatal(err)
	}
	f.drainJobs(f.svc.RegisterJobs)
	// And one order's refund state is lost in our database: the provider's
	// idempotency key still makes the repeat a replay.
	if _, err := f.db.Exec(ctx, `UPDATE orders SET status = 'paid' WHERE id = $1`, orderIDs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE payments SET status = 'succeeded' WHERE id = (SELECT payment_id FROM orders WHERE id = $1)`, orderIDs[0]); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RefundOrder(ctx, orderIDs[0]); err != nil {
		t.Fatal(err)
	}

	got := f.proc.Stats()
	if got.Refunds != orders {
		t.Errorf("provider refunds = %d, want %d (one per order)", got.Refunds, orders)
	}
	if got.CapturedCents != 0 {
		t.Errorf("money kept after refunds = %d cents, want 0", got.CapturedCents)
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE event_id = $1 AND status = 'refunded'`, f.event); n != orders {
		t.Errorf("refunded orders = %d, want %d", n, orders)
	}
	if n := f.count(`SELECT count(*) FROM payments p JOIN orders o ON o.payment_id = p.id
		WHERE o.event_id = $1 AND p.status = 'refunded'`, f.event); n != orders {
		t.Errorf("refunded payments = %d, want %d", n, orders)
	}
	if n := f.count(`SELECT count(*) FROM tickets WHERE event_id = $1 AND status = 'void'`, f.event); n != orders {
		t.Errorf("void tickets = %d, want %d", n, orders)
	}
}

// TestCancelSweepRefundsLateConversions: a payment in flight when the event
// is cancelled still converts its hold (the sale path reads no event row);
// the sweep that runs once such payments settled voids its tickets and
// refunds it like the others.
func TestCancelSweepRefundsLateConversions(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	acct := f.account("late")
	p := f.checkout(acct, f.hold(acct, 0, 1).ID)
	must(f.svc.CancelEvent(ctx, f.event))(t)
	res := must(f.svc.Confirm(ctx, acct, p.ID, visa()))(t)
	if res.OrderID == "" {
		t.Skipf("the conversion after cancel was refused (%+v): nothing to sweep", res)
	}
	if n := f.count(`SELECT count(*) FROM jobs WHERE kind = $1 AND payload->>'order_id' = $2`, checkout.JobRefund, res.OrderID); n != 0 {
		t.Fatalf("a refund job exists before the sweep: %d", n)
	}
	// The sweep job is due later; run it now.
	if _, err := f.db.Exec(ctx, `UPDATE jobs SET run_at = now() WHERE kind = $1 AND dedupe_key = $2`,
		checkout.JobCancelSweep, fmt.Sprintf("cancel-sweep:%d", f.event)); err != nil {
		t.Fatal(err)
	}
	f.drainJobs(f.svc.RegisterJobs)
	f.drainJobs(f.svc.RegisterJobs) // the refund job the sweep enqueued, if not run already
	if got := f.proc.Stats().Refunds; got != 1 {
		t.Errorf("refunds = %d, want 1", got)
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE id = $1 AND status = 'refunded'`, res.OrderID); n != 1 {
		t.Error("the late order is not refunded")
	}
	if n := f.count(`SELECT count(*) FROM tickets WHERE order_id = $1 AND status <> 'void'`, res.OrderID); n != 0 {
		t.Errorf("%d live tickets of the late order", n)
	}
}
