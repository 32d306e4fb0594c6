package seatmap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestSaleTransitions walks a hold through StartPayment and Convert, checks
// the sweeper leaves payment_pending holds alone, that a stale writer (a
// hold whose seat version moved) converts nothing, and that FailPayment
// frees seats at once.
func TestSaleTransitions(t *testing.T) {
	f := newFixture(t, fixtureOpts{cfg: seatmap.Config{HoldTTL: time.Second}})
	ctx := context.Background()
	acct := f.accounts(1)[0]
	h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: f.seats[:2]})
	if err != nil {
		t.Fatal(err)
	}
	var pending seatmap.PendingHold
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		pending, err = f.svc.StartPayment(ctx, tx, acct, h.ID, 5*time.Minute, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := pending.PaymentDeadline.Sub(pending.ExpiresAt); d != 5*time.Minute {
		t.Errorf("deadline - expiry = %v, want 5m", d)
	}
	// A second start is refused: the hold is no longer active.
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		_, err := f.svc.StartPayment(ctx, tx, acct, h.ID, time.Minute, nil)
		return err
	})
	if !errors.Is(err, seatmap.ErrHoldNotActive) {
		t.Errorf("second StartPayment: %v, want hold_not_active", err)
	}
	// Past its expiry, the sweeper must not touch a payment_pending hold.
	time.Sleep(1100 * time.Millisecond)
	if n, err := f.svc.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep = %d, %v; want 0 expired", n, err)
	}
	var sale seatmap.Sale
	var out seatmap.Outcome
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		sale, out, err = f.svc.Convert(ctx, tx, h.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.AfterCommit(ctx, out)
	if len(sale.Seats) != 2 || sale.AccountID != acct || sale.TotalCents != 10000 {
		t.Errorf("sale = %+v", sale)
	}
	for i := range 2 {
		if st, _ := f.status(i); st != "sold" {
			t.Errorf("seat %d status %s, want sold", i, st)
		}
	}
	// Converting again changes nothing.
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error { _, _, err := f.svc.Convert(ctx, tx, h.ID); return err })
	if !errors.Is(err, seatmap.ErrHoldLost) {
		t.Errorf("second Convert: %v, want hold_lost", err)
	}
	// A sold seat is refused, at the gate or by Postgres.
	other := f.accounts(1)[0]
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: other, SeatIDs: f.seats[:1]}); !errors.Is(err, seatmap.ErrSeatUnavailable) {
		t.Errorf("hold of a sold seat: %v", err)
	}
}

func TestConvertFencedBySeatVersion(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	acct := f.accounts(1)[0]
	h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: f.seats[2:4]})
	if err != nil {
		t.Fatal(err)
	}
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		_, err := f.svc.StartPayment(ctx, tx, acct, h.ID, time.Minute, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another writer moved one seat's version on (as a lost-and-retaken hold
	// would); the fence must refuse the whole conversion.
	if _, err := f.db.Exec(ctx, `UPDATE seats SET version = version + 1 WHERE id = $1`, f.seats[3]); err != nil {
		t.Fatal(err)
	}
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error { _, _, err := f.svc.Convert(ctx, tx, h.ID); return err })
	if !errors.Is(err, seatmap.ErrHoldLost) {
		t.Fatalf("Convert with a moved seat: %v, want hold_lost", err)
	}
	if st, _ := f.status(2); st != "held" {
		t.Errorf("seat status %s after refused convert, want held", st)
	}
	// A failed payment frees the seats at once.
	var released bool
	var out seatmap.Outcome
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		released, out, err = f.svc.FailPayment(ctx, tx, h.ID)
		return err
	})
	if err != nil || !released {
		t.Fatalf("FailPayment = %v, %v", released, err)
	}
	f.svc.AfterCommit(ctx, out)
	for _, i := range []int{2, 3} {
		if st, _ := f.status(i); st != "available" {
			t.Errorf("seat %d status %s after FailPayment, want available", i, st)
		}
	}
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: f.seats[2:4]}); err != nil {
		t.Errorf("hold again after FailPayment: %v", err)
	}
}
