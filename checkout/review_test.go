package checkout_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
)

// flagAll is a screen that flags every purchase of the accounts listed,
// recording what it was asked. The real screen (waitingroom's signals) has
// its own tests and runs behind the server's review test; here it only
// decides which purchases go to review.
type flagAll struct {
	mu      sync.Mutex
	flagged map[int64]bool
	asked   int
	err     error
}

func (s *flagAll) Review(_ context.Context, _, accountID int64, holdCreated, paidAt time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if s.err != nil {
		return nil, s.err
	}
	if holdCreated.IsZero() || paidAt.Before(holdCreated) {
		return nil, errors.New("hold and payment times out of order")
	}
	if s.flagged[accountID] {
		return []string{"hold_to_pay_too_fast"}, nil
	}
	return nil, nil
}

// flaggedPurchase holds seats idx for a flagged account and pays.
func flaggedPurchase(t *testing.T, f *fixture, screen *flagAll, idx ...int) (acct int64, p checkout.Payment, res checkout.ConfirmResult) {
	t.Helper()
	acct = f.account("Flagged")
	screen.mu.Lock()
	screen.flagged[acct] = true
	screen.mu.Unlock()
	h := f.hold(acct, idx...)
	p = f.checkout(acct, h.ID)
	res, err := f.svc.Confirm(context.Background(), acct, p.ID, visa())
	if err != nil {
		t.Fatal(err)
	}
	return acct, p, res
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if e := apperr.As(err); e == nil || e.Code != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// TestReviewApprove: a flagged purchase is written under review (seats
// sold, payment authorized and not captured, tickets unusable, no
// confirmation email) and listed in the queue with its reasons; approving
// it captures once, makes the tickets valid and sends the email, and
// approving again changes nothing.
func TestReviewApprove(t *testing.T) {
	screen := &flagAll{flagged: map[int64]bool{}}
	f := newFixture(t, checkout.Config{Screen: screen})
	ctx := context.Background()

	// An unflagged purchase is confirmed as before.
	fan := f.account("Human")
	hp := f.checkout(fan, f.hold(fan, 0).ID)
	human, err := f.svc.Confirm(ctx, fan, hp.ID, visa())
	if err != nil || human.Status != checkout.StatusSucceeded {
		t.Fatalf("unflagged purchase: %+v %v", human, err)
	}

	acct, p, res := flaggedPurchase(t, f, screen, 1, 2)
	if res.Status != checkout.StatusReview || res.OrderID == "" {
		t.Fatalf("flagged purchase: %+v, want review with an order", res)
	}
	if s := f.paymentStatus(p.ID); s != checkout.StatusReview {
		t.Errorf("payment %s, want review", s)
	}
	if in := f.intentOf(p.ID); in.Status != checkout.IntentRequiresCapture {
		t.Errorf("intent %s, want requires_capture (authorized, not captured)", in.Status)
	}
	if f.seatStatus(1) != "sold" || f.seatStatus(2) != "sold" {
		t.Errorf("seats %s %s, want sold while under review", f.seatStatus(1), f.seatStatus(2))
	}
	// A repeat confirm answers the same, without a second order.
	if again, err := f.svc.Confirm(ctx, acct, p.ID, visa()); err != nil || again != res {
		t.Errorf("confirm again: %+v %v, want %+v", again, err, res)
	}
	order := must(f.svc.Order(ctx, acct, res.OrderID))(t)
	if order.Status != checkout.OrderReview || len(order.Tickets) != 2 {
		t.Fatalf("order %+v, want review with 2 tickets", order)
	}
	tk := order.Tickets[0]
	if tk.Status != checkout.TicketReview {
		t.Errorf("ticket %s, want review", tk.Status)
	}
	_, err = f.svc.TicketCode(ctx, acct, tk.ID)
	wantCode(t, "code of a ticket under review", err, "order_in_review")
	_, err = f.svc.TicketPDF(ctx, acct, tk.ID)
	wantCode(t, "PDF of a ticket under review", err, "order_in_review")
	_, err = f.svc.OrderPDF(ctx, acct, res.OrderID)
	wantCode(t, "PDF of an order under review", err, "order_in_review")
	var friend string
	if err := f.db.QueryRow(ctx, `SELECT email FROM accounts WHERE id = $1`, f.account("Friend")).Scan(&friend); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.OfferTransfer(ctx, acct, tk.ID, friend)
	wantCode(t, "transfer of a ticket under review", err, "order_in_review")
	_, err = f.svc.ListTicket(ctx, acct, tk.ID, 2000)
	wantCode(t, "listing a ticket under review", err, "order_in_review")
	if n := f.count(`SELECT count(*) FROM jobs WHERE kind = $1 AND dedupe_key = $2`, checkout.JobConfirmation, "confirmation:"+res.OrderID); n != 0 {
		t.Errorf("%d confirmation jobs before approval, want 0", n)
	}
	if n := f.count(`SELECT count(*) FROM jobs WHERE kind = $1 AND dedupe_key = $2`, checkout.JobNotice, "notice:review:"+res.OrderID); n != 1 {
		t.Errorf("%d review notices, want 1", n)
	}

	queue := must(f.svc.ReviewQueue(ctx, f.event))(t)
	if len(queue) != 1 || queue[0].ID != res.OrderID || !slices.Equal(queue[0].Reasons, []string{"hold_to_pay_too_fast"}) ||
		len(queue[0].Seats) != 2 || queue[0].Tickets != 2 || queue[0].TotalCents != p.AmountCents {
		t.Fatalf("review queue %+v", queue)
	}

	admin := f.account("Admin")
	captures := f.proc.Stats().Captures
	if err := f.svc.ApproveOrder(ctx, res.OrderID, admin); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ApproveOrder(ctx, res.OrderID, admin); err != nil {
		t.Errorf("approve again: %v, want nil (done)", err)
	}
	if got := f.proc.Stats().Captures - captures; got != 1 {
		t.Errorf("%d captures after approving twice, want 1", got)
	}
	if s := f.paymentStatus(p.ID); s != checkout.StatusSucceeded {
		t.Errorf("payment %s after approval, want succeeded", s)
	}
	order = must(f.svc.Order(ctx, acct, res.OrderID))(t)
	if order.Status != checkout.OrderPaid || order.Tickets[0].Status != checkout.TicketValid {
		t.Errorf("after approval: order %s ticket %s, want paid and valid", order.Status, order.Tickets[0].Status)
	}
	if _, err := f.svc.TicketCode(ctx, acct, tk.ID); err != nil {
		t.Errorf("code after approval: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM jobs WHERE kind = $1 AND dedupe_key = $2`, checkout.JobConfirmation, "confirmation:"+res.OrderID); n != 1 {
		t.Errorf("%d confirmation jobs after approval, want 1", n)
	}
	if len(must(f.svc.ReviewQueue(ctx, 0))(t)) != 0 {
		t.Error("the approved order is still in the queue")
	}
	wantCode(t, "reject after approval", f.svc.RejectOrder(ctx, res.OrderID, admin), "order_not_in_review")
	wantCode(t, "approve an order never reviewed", f.svc.ApproveOrder(ctx, human.OrderID, admin), "order_not_in_review")
	if err := f.svc.ApproveOrder(ctx, "not-a-uuid", admin); !errors.Is(err, checkout.ErrOrderNotFound) {
		t.Errorf("approve a bad id: %v", err)
	}
}

// TestReviewReject: rejecting cancels the authorization (nobody charged),
// voids the tickets, puts the seats back on sale (another fan can hold
// them at once, through the gate) and tells the buyer; a second reject
// changes nothing and an approval after it is refused.
func TestReviewReject(t *testing.T) {
	screen := &flagAll{flagged: map[int64]bool{}}
	f := newFixture(t, checkout.Config{Screen: screen})
	ctx := context.Background()
	acct, p, res := flaggedPurchase(t, f, screen, 3, 4)
	admin := f.account("Admin")
	if err := f.svc.RejectOrder(ctx, res.OrderID, admin); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RejectOrder(ctx, res.OrderID, admin); err != nil {
		t.Errorf("reject again: %v, want nil (done)", err)
	}
	wantCode(t, "approve after reject", f.svc.ApproveOrder(ctx, res.OrderID, admin), "order_not_in_review")
	if in := f.intentOf(p.ID); in.Status != checkout.IntentCanceled {
		t.Errorf("intent %s, want canceled", in.Status)
	}
	if s := f.paymentStatus(p.ID); s != checkout.StatusCanceled {
		t.Errorf("payment %s, want canceled", s)
	}
	if st := f.proc.Stats(); st.Captures != 0 || st.CapturedCents != 0 {
		t.Errorf("money taken: %+v", st)
	}
	order := must(f.svc.Order(ctx, acct, res.OrderID))(t)
	if order.Status != checkout.OrderRejected || order.Tickets[0].Status != checkout.TicketVoid {
		t.Errorf("order %s ticket %s, want rejected and void", order.Status, order.Tickets[0].Status)
	}
	if f.seatStatus(3) != "available" || f.seatStatus(4) != "available" {
		t.Errorf("seats %s %s, want available", f.seatStatus(3), f.seatStatus(4))
	}
	if n := f.count(`SELECT count(*) FROM jobs WHERE kind = $1 AND dedupe_key = $2`, checkout.JobNotice, "notice:rejected:"+res.OrderID); n != 1 {
		t.Errorf("%d rejection notices, want 1", n)
	}
	// The seats are back on sale: another fan holds and buys them. The
	// buyer's allowance came back too: they may buy again.
	other := f.account("Next")
	h := f.hold(other, 3, 4)
	if r, err := f.svc.Confirm(ctx, other, f.checkout(other, h.ID).ID, visa()); err != nil || r.Status != checkout.StatusSucceeded {
		t.Errorf("buying the rejected seats: %+v %v", r, err)
	}
	f.hold(acct, 5, 6, 7, 8, 9, 0, 1, 2)
}

// TestReviewRace: approvals and rejections of one order race from many
// goroutines; exactly one decision takes effect, and the money matches it.
func TestReviewRace(t *testing.T) {
	screen := &flagAll{flagged: map[int64]bool{}}
	f := newFixture(t, checkout.Config{Screen: screen})
	ctx := context.Background()
	for round := range 4 {
		_, p, res := flaggedPurchase(t, f, screen, 2*round, 2*round+1)
		admin := f.account("Admin")
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := map[string]int{}
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				decide, name := f.svc.ApproveOrder, "approve"
				if i%2 == 1 {
					decide, name = f.svc.RejectOrder, "reject"
				}
				err := decide(ctx, res.OrderID, admin)
				if err != nil && apperr.KindOf(err) != apperr.Conflict {
					t.Errorf("%s: %v", name, err)
				}
				if err == nil {
					mu.Lock()
					won[name]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if (won["approve"] > 0) == (won["reject"] > 0) {
			t.Fatalf("round %d: decisions that succeeded: %v; want exactly one kind", round, won)
		}
		in := f.intentOf(p.ID)
		if won["approve"] > 0 && in.Status != checkout.IntentSucceeded || won["reject"] > 0 && in.Status != checkout.IntentCanceled {
			t.Errorf("round %d: %v won but the intent is %s", round, won, in.Status)
		}
	}
}

// TestReviewLapsedAuthorization: an authorization that lapsed at the
// provider cannot be approved (nothing changes); rejecting still works.
func TestReviewLapsedAuthorization(t *testing.T) {
	screen := &flagAll{flagged: map[int64]bool{}}
	f := newFixture(t, checkout.Config{Screen: screen})
	ctx := context.Background()
	_, p, res := flaggedPurchase(t, f, screen, 0)
	in := f.intentOf(p.ID)
	if _, err := f.proc.Cancel(ctx, in.ID, "lapse"); err != nil {
		t.Fatal(err)
	}
	admin := f.account("Admin")
	wantCode(t, "approve a lapsed authorization", f.svc.ApproveOrder(ctx, res.OrderID, admin), "authorization_lapsed")
	if s := f.paymentStatus(p.ID); s != checkout.StatusReview {
		t.Errorf("payment %s after the refused approval, want review", s)
	}
	if err := f.svc.RejectOrder(ctx, res.OrderID, admin); err != nil {
		t.Fatal(err)
	}
	if s := f.paymentStatus(p.ID); s != checkout.StatusCanceled {
		t.Errorf("payment %s after reject, want canceled", s)
	}
}

// TestReviewScreenFailsOpen: a screen that errors confirms the purchase.
func TestReviewScreenFailsOpen(t *testing.T) {
	screen := &flagAll{flagged: map[int64]bool{}, err: errors.New("redis down")}
	f := newFixture(t, checkout.Config{Screen: screen})
	_, _, res := flaggedPurchase(t, f, screen, 0)
	if res.Status != checkout.StatusSucceeded {
		t.Errorf("with a failing screen: %+v, want succeeded", res)
	}
}

// TestReviewEventCancelled: cancelling the event cancels the authorization
// of an order still under review, once, and voids its tickets.
func TestReviewEventCancelled(t *testing.T) {
	screen := &flagAll{flagged: map[int64]bool{}}
	f := newFixture(t, checkout.Config{Screen: screen})
	ctx := context.Background()
	acct, p, res := flaggedPurchase(t, f, screen, 0, 1)
	if _, err := f.svc.CancelEvent(ctx, f.event, checkout.CancelOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		f.drainJobs(func(r *jobs.Runner) { f.svc.RegisterJobs(r) })
	}
	if in := f.intentOf(p.ID); in.Status != checkout.IntentCanceled {
		t.Errorf("intent %s, want canceled", in.Status)
	}
	order := must(f.svc.Order(ctx, acct, res.OrderID))(t)
	if order.Status != checkout.OrderRefunded || order.Tickets[0].Status != checkout.TicketVoid {
		t.Errorf("order %s ticket %s, want refunded and void", order.Status, order.Tickets[0].Status)
	}
	if st := f.proc.Stats(); st.Captures != 0 || st.Cancels != 1 {
		t.Errorf("processor %+v, want 0 captures and 1 cancel", st)
	}
}
