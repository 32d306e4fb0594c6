package seatmap_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// seatRecorder is a Publisher that keeps every change, by idx.
type seatRecorder struct {
	mu      sync.Mutex
	changes map[int32][]byte
}

func (r *seatRecorder) PublishSeats(_ context.Context, _ int64, cs []seatmap.SeatChange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		r.changes[c.Idx] = append(r.changes[c.Idx], c.State)
	}
	return nil
}

func (r *seatRecorder) Position(context.Context, int64) (seatmap.Position, error) {
	return seatmap.Position{}, nil
}

func (r *seatRecorder) last(idx int32) byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.changes[idx]
	if len(cs) == 0 {
		return 0
	}
	return cs[len(cs)-1]
}

// sell holds seats for acct and converts the hold in one go.
func (f *fixture) sell(acct int64, idx ...int) {
	f.t.Helper()
	ctx := context.Background()
	var ids []int64
	for _, i := range idx {
		ids = append(ids, f.seats[i])
	}
	h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: ids})
	if err != nil {
		f.t.Fatal(err)
	}
	f.convert(acct, h.ID)
}

func (f *fixture) convert(acct int64, holdID string) seatmap.Sale {
	f.t.Helper()
	ctx := context.Background()
	var sale seatmap.Sale
	var out seatmap.Outcome
	err := pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := f.svc.StartPayment(ctx, tx, acct, holdID, time.Minute, nil); err != nil {
			return err
		}
		var err error
		sale, out, err = f.svc.Convert(ctx, tx, holdID)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.svc.AfterCommit(ctx, out)
	return sale
}

func (f *fixture) inTx(fn func(tx pgx.Tx) (seatmap.Outcome, error)) error {
	f.t.Helper()
	ctx := context.Background()
	var out seatmap.Outcome
	err := pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err == nil {
		f.svc.AfterCommit(ctx, out)
	}
	return err
}

func (f *fixture) counter(acct int64) int {
	f.t.Helper()
	var n int
	err := f.db.QueryRow(context.Background(), `SELECT coalesce((SELECT seats FROM account_event_seats WHERE account_id = $1 AND event_id = $2), 0)`,
		acct, f.event).Scan(&n)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestResaleHold: a sold seat listed for resale shows x in the snapshot
// and in the published changes; a plain hold cannot take it; of 20 buyers
// racing for it exactly one holds it (h) and the others get
// ErrListingUnavailable; the seller cannot hold it; an expired resale hold
// puts it back to x for the seller (not available), with the counters
// right; a second buyer then converts it: the seat is sold to the buyer,
// the seller's counter gives the seat back, the buyer's keeps it. An old
// listing id cannot hold a relisted seat. Invariants hold at every step's
// end (cleanup).
func TestResaleHold(t *testing.T) {
	rec := &seatRecorder{changes: map[int32][]byte{}}
	f := newFixture(t, fixtureOpts{pub: rec, layout: smallLayout(1, 1, 4)})
	ctx := context.Background()
	accts := f.accounts(22)
	seller, buyers := accts[0], accts[1:21]
	f.sell(seller, 2)
	listing := uuid.NewString()
	list := func(id string) {
		t.Helper()
		if err := f.inTx(func(tx pgx.Tx) (seatmap.Outcome, error) {
			return f.svc.ListSeat(ctx, tx, f.event, f.seats[2], seller, id)
		}); err != nil {
			t.Fatal(err)
		}
	}
	list(listing)
	if got := rec.last(2); got != seatmap.StateResale {
		t.Errorf("published %q on listing, want x", got)
	}
	snap, err := seatmap.New(f.db, nil, nil, nil, seatmap.Config{}).Snapshot(ctx, f.event)
	if err != nil || string(snap.Statuses) != "aaxa" {
		t.Errorf("snapshot %q %v, want aaxa", snap.Statuses, err)
	}
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: buyers[0], SeatIDs: []int64{f.seats[2]}}); !errors.Is(err, seatmap.ErrSeatUnavailable) {
		t.Errorf("plain hold of a resale seat: %v", err)
	}
	req := func(buyer int64, id string) seatmap.ResaleHoldRequest {
		return seatmap.ResaleHoldRequest{EventID: f.event, AccountID: buyer, ListingID: id, SeatID: f.seats[2], Seller: seller, PriceCents: 4000}
	}
	if _, err := f.svc.HoldResale(ctx, req(seller, listing)); !errors.Is(err, seatmap.ErrOwnListing) {
		t.Errorf("seller holding own listing: %v", err)
	}

	var wg sync.WaitGroup
	holds := make([]seatmap.Hold, len(buyers))
	errs := make([]error, len(buyers))
	for i, b := range buyers {
		wg.Add(1)
		go func() { defer wg.Done(); holds[i], errs[i] = f.svc.HoldResale(ctx, req(b, listing)) }()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Errorf("buyers %d and %d both hold the listing", winner, i)
		case !errors.Is(err, seatmap.ErrListingUnavailable):
			t.Errorf("buyer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no buyer holds the listing")
	}
	if h := holds[winner]; h.TotalCents != 4000 || len(h.Seats) != 1 || rec.last(2) != seatmap.StateHeld {
		t.Errorf("resale hold %+v, published %q", h, rec.last(2))
	}
	if f.counter(seller) != 1 || f.counter(buyers[winner]) != 1 {
		t.Errorf("counters seller %d buyer %d, want 1 and 1", f.counter(seller), f.counter(buyers[winner]))
	}
	f.checkInvariants()

	// Expiry puts the seat back on resale for the seller.
	if _, err := f.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1`, holds[winner].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep %d %v", n, err)
	}
	if st, _ := f.status(2); st != "resale" || rec.last(2) != seatmap.StateResale {
		t.Errorf("after expiry the seat is %s (published %q), want resale", st, rec.last(2))
	}
	if f.counter(seller) != 1 || f.counter(buyers[winner]) != 0 {
		t.Errorf("after expiry counters seller %d buyer %d, want 1 and 0", f.counter(seller), f.counter(buyers[winner]))
	}
	f.checkInvariants()

	// Another buyer holds and pays.
	buyer := accts[21]
	h, err := f.svc.HoldResale(ctx, req(buyer, listing))
	if err != nil {
		t.Fatal(err)
	}
	sale := f.convert(buyer, h.ID)
	if sale.ListingID != listing || sale.Seller != seller || sale.AccountID != buyer {
		t.Errorf("sale %+v", sale)
	}
	if st, _ := f.status(2); st != "sold" || rec.last(2) != seatmap.StateSold {
		t.Errorf("after the resale the seat is %s (published %q)", st, rec.last(2))
	}
	if f.counter(seller) != 0 || f.counter(buyer) != 1 {
		t.Errorf("after the resale counters seller %d buyer %d, want 0 and 1", f.counter(seller), f.counter(buyer))
	}
	f.checkInvariants()

	// The buyer lists it, withdraws, lists again: the first listing id is dead.
	first := uuid.NewString()
	if err := f.inTx(func(tx pgx.Tx) (seatmap.Outcome, error) {
		return f.svc.ListSeat(ctx, tx, f.event, f.seats[2], buyer, first)
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.inTx(func(tx pgx.Tx) (seatmap.Outcome, error) {
		return f.svc.UnlistSeat(ctx, tx, f.event, f.seats[2], buyer, first)
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.inTx(func(tx pgx.Tx) (seatmap.Outcome, error) {
		return f.svc.ListSeat(ctx, tx, f.event, f.seats[2], buyer, uuid.NewString())
	}); err != nil {
		t.Fatal(err)
	}
	stale := req(seller, first)
	stale.Seller = buyer
	if _, err := f.svc.HoldResale(ctx, stale); !errors.Is(err, seatmap.ErrListingUnavailable) {
		t.Errorf("hold by a withdrawn listing id: %v", err)
	}
}

// TestTransferSeat: a transfer moves the sold seat's owner and one seat
// between the two counters; a seat not sold to from is ErrSeatNotOwned.
func TestTransferSeat(t *testing.T) {
	f := newFixture(t, fixtureOpts{layout: smallLayout(1, 1, 4)})
	ctx := context.Background()
	a := f.accounts(2)
	f.sell(a[0], 0)
	move := func(from, to int64) error {
		return f.inTx(func(tx pgx.Tx) (seatmap.Outcome, error) {
			return f.svc.TransferSeat(ctx, tx, f.event, f.seats[0], from, to)
		})
	}
	if err := move(a[0], a[1]); err != nil {
		t.Fatal(err)
	}
	if f.counter(a[0]) != 0 || f.counter(a[1]) != 1 {
		t.Errorf("counters %d %d, want 0 1", f.counter(a[0]), f.counter(a[1]))
	}
	if err := move(a[0], a[1]); !errors.Is(err, seatmap.ErrSeatNotOwned) {
		t.Errorf("second transfer from the old owner: %v", err)
	}
}
