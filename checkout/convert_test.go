package checkout_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestConversionRoundKeepsPurchasesApart: five purchases convert in one
// round; one of them lost its hold while its payment was in flight. The
// other four are written and captured, the lost one is voided with no
// order, and the money adds up.
func TestConversionRoundKeepsPurchasesApart(t *testing.T) {
	f := newFixtureSeats(t, checkout.Config{}, 12)
	ctx := context.Background()
	rival := f.account("rival")
	var fans []int64
	var holds []seatmap.Hold
	var pays []checkout.Payment
	for i := range 5 {
		fan := f.account("fan")
		h := f.hold(fan, 2*i, 2*i+1)
		fans, holds, pays = append(fans, fan), append(holds, h), append(pays, f.checkout(fan, h.ID))
	}
	const loser = 2
	var rivalHold seatmap.Hold
	loserIntent := f.intentOf(pays[loser].ID).ID
	f.proc.AfterConfirm = func(intentID string) {
		if intentID != loserIntent {
			return
		}
		if _, err := f.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '6 minutes',
			payment_deadline = now() - interval '1 second' WHERE id = $1`, holds[loser].ID); err != nil {
			t.Error(err)
		}
		if n, err := f.svc.ReleaseOverdue(ctx); err != nil || n != 1 {
			t.Errorf("ReleaseOverdue = %d, %v; want 1", n, err)
		}
		rivalHold = f.hold(rival, 2*loser)
	}
	errs := make([]error, len(fans))
	sizes := f.svc.ConvertTogether(len(fans), func(i int) {
		_, errs[i] = f.svc.Confirm(ctx, fans[i], pays[i].ID, visa())
	})
	if !slices.Equal(sizes, []int{5}) {
		t.Fatalf("rounds %v, want one of 5", sizes)
	}
	var captured int64
	for i, p := range pays {
		orders := f.count(`SELECT count(*) FROM orders WHERE hold_id = $1`, holds[i].ID)
		tickets := f.count(`SELECT count(*) FROM tickets t JOIN orders o ON o.id = t.order_id WHERE o.hold_id = $1`, holds[i].ID)
		if i == loser {
			if !errors.Is(errs[i], seatmap.ErrHoldLost) {
				t.Errorf("the lost purchase's confirm = %v, want hold_lost", errs[i])
			}
			if orders != 0 || f.paymentStatus(p.ID) != checkout.StatusCanceled {
				t.Errorf("the lost purchase: %d orders, payment %s; want none, canceled", orders, f.paymentStatus(p.ID))
			}
			continue
		}
		if errs[i] != nil || orders != 1 || tickets != 2 || f.paymentStatus(p.ID) != checkout.StatusSucceeded {
			t.Errorf("purchase %d: confirm %v, %d orders, %d tickets, payment %s; want 1 order of 2 tickets, succeeded",
				i, errs[i], orders, tickets, f.paymentStatus(p.ID))
		}
		captured += p.AmountCents
	}
	st := f.proc.Stats()
	if st.Authorizations != 5 || st.Captures != 4 || st.Cancels != 1 || st.CapturedCents != captured {
		t.Errorf("stats = %+v, want 5 authorizations, 4 captures of %d cents, 1 cancel", st, captured)
	}
	if got := must(f.seats.GetHold(ctx, rival, rivalHold.ID))(t); got.Status != seatmap.HoldActive {
		t.Errorf("rival's hold is %s, want active", got.Status)
	}
	f.checkInvariants()
}

// TestConversionRoundFailureIsNotShared: a round of three fails as a whole
// (one purchase's transaction dies before its commit); each purchase then
// goes again alone, so the two others are written at once and only the
// failing one waits for the reconciler.
func TestConversionRoundFailureIsNotShared(t *testing.T) {
	var failing string
	hooks := &checkout.Hooks{BeforeConvertCommit: func(paymentID string) error {
		if paymentID == failing {
			return errCrash
		}
		return nil
	}}
	f := newFixtureSeats(t, checkout.Config{Hooks: hooks}, 12)
	ctx := context.Background()
	var fans []int64
	var pays []checkout.Payment
	for i := range 3 {
		fan := f.account("fan")
		h := f.hold(fan, i)
		fans, pays = append(fans, fan), append(pays, f.checkout(fan, h.ID))
	}
	failing = pays[1].ID
	errs := make([]error, len(fans))
	sizes := f.svc.ConvertTogether(len(fans), func(i int) {
		_, errs[i] = f.svc.Confirm(ctx, fans[i], pays[i].ID, visa())
	})
	if !slices.Equal(sizes, []int{3}) {
		t.Fatalf("rounds %v, want one of 3", sizes)
	}
	for i, p := range pays {
		orders := f.count(`SELECT count(*) FROM orders WHERE payment_id = $1`, p.ID)
		if i == 1 {
			if !errors.Is(errs[i], errCrash) || orders != 0 {
				t.Errorf("the failing purchase: confirm %v, %d orders; want the crash, none", errs[i], orders)
			}
			continue
		}
		if errs[i] != nil || orders != 1 {
			t.Errorf("purchase %d: confirm %v, %d orders; want written", i, errs[i], orders)
		}
	}
	failing = ""
	reconcileAll(t, f.svc)
	if n := f.count(`SELECT count(*) FROM orders WHERE payment_id = $1`, pays[1].ID); n != 1 {
		t.Errorf("after reconciling, the failing purchase has %d orders, want 1", n)
	}
	f.checkInvariants()
}
