package checkout_test

import (
	"context"
	"testing"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

// offerOf returns the hold offered to a fan on the waiting list, failing
// unless there is an open offer of n seats.
func (f *fixture) offerOf(acct int64, n int) string {
	f.t.Helper()
	e, err := f.seats.Waitlist(context.Background(), f.event, acct)
	if err != nil || e.Status != seatmap.WaitOffered || e.Offer == nil || e.Offer.Seats != n {
		f.t.Fatalf("waiting fan: %+v, %v; want an offer of %d", e, err, n)
	}
	return e.Offer.HoldID
}

func (f *fixture) joinWaitlist(acct int64, n int) {
	f.t.Helper()
	if _, err := f.seats.JoinWaitlist(context.Background(), seatmap.WaitlistRequest{EventID: f.event, AccountID: acct, Quantity: n}); err != nil {
		f.t.Fatal(err)
	}
}

// TestWaitlistRejectedOrder: the seats of an order rejected on review go
// to the fan waiting for them, who buys them like any hold; the money
// adds up (the invariants and the ledger are checked at cleanup).
func TestWaitlistRejectedOrder(t *testing.T) {
	screen := &flagAll{flagged: map[int64]bool{}}
	f := newFixture(t, checkout.Config{Screen: screen})
	ctx := context.Background()
	_, _, res := flaggedPurchase(t, f, screen, 3, 4)
	f.hold(f.account("Filler"), 0, 1, 2, 5, 6, 7, 8, 9)
	fan := f.account("Waiting")
	f.joinWaitlist(fan, 2)
	if err := f.svc.RejectOrder(ctx, res.OrderID, f.account("Admin")); err != nil {
		t.Fatal(err)
	}
	offer := f.offerOf(fan, 2)
	if f.seatStatus(3) != "held" || f.seatStatus(4) != "held" {
		t.Errorf("rejected seats %s %s, want held for the waiting fan", f.seatStatus(3), f.seatStatus(4))
	}
	if r, err := f.svc.Confirm(ctx, fan, f.checkout(fan, offer).ID, visa()); err != nil || r.Status != checkout.StatusSucceeded {
		t.Fatalf("buying the offer: %+v %v", r, err)
	}
	if e, _ := f.seats.Waitlist(ctx, f.event, fan); e.Status != seatmap.WaitFulfilled {
		t.Errorf("entry after buying: %+v, want fulfilled", e)
	}
}

// TestWaitlistDeclinedPayment: a declined payment keeps its seats for the
// retry window; when the fan gives up, they go straight into the offer of
// the fan waiting, never back on the public map.
func TestWaitlistDeclinedPayment(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	buyer := f.account("Declined")
	h := f.hold(buyer, 0, 1)
	f.hold(f.account("Filler"), 2, 3, 4, 5, 6, 7, 8, 9)
	fan := f.account("Waiting")
	f.joinWaitlist(fan, 1)
	p := f.checkout(buyer, h.ID)
	r, err := f.svc.Confirm(ctx, buyer, p.ID, checkout.Method{CardNumber: "4000 0000 0000 0002"})
	if err != nil || r.Status != checkout.StatusDeclined {
		t.Fatalf("declining payment: %+v %v", r, err)
	}
	if e, _ := f.seats.Waitlist(ctx, f.event, fan); e.Status != seatmap.WaitWaiting || f.seatStatus(0) != "held" {
		t.Fatalf("during the retry window: waiting fan %+v, seat %s; want still waiting, seat held by the buyer", e, f.seatStatus(0))
	}
	if _, err := f.svc.GiveUp(ctx, buyer, p.ID); err != nil {
		t.Fatal(err)
	}
	f.offerOf(fan, 1)
	if f.seatStatus(0) != "held" || f.seatStatus(1) != "available" {
		t.Errorf("seats %s %s, want the first held for the waiting fan and the other on sale", f.seatStatus(0), f.seatStatus(1))
	}
}
