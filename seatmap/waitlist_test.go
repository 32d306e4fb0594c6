package seatmap_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// waitlistFixture is a sold-out event of 4 seats (one section, 5000 each)
// whose snapshot is always read fresh, with a recorder of its diffs.
func waitlistFixture(t *testing.T, reserve float64) (*fixture, *recorder) {
	t.Helper()
	pub := &recorder{}
	f := newFixture(t, fixtureOpts{layout: smallLayout(1, 1, 4), pub: pub, reserve: reserve,
		cfg: seatmap.Config{SnapshotTTL: time.Nanosecond, OfferTTL: time.Minute}})
	return f, pub
}

func (f *fixture) join(acct int64, req seatmap.WaitlistRequest) seatmap.WaitlistEntry {
	f.t.Helper()
	req.EventID, req.AccountID = f.event, acct
	e, err := f.svc.JoinWaitlist(context.Background(), req)
	if err != nil {
		f.t.Fatalf("JoinWaitlist(%+v): %v", req, err)
	}
	return e
}

func (f *fixture) entry(acct int64) seatmap.WaitlistEntry {
	f.t.Helper()
	e, err := f.svc.Waitlist(context.Background(), f.event, acct)
	if err != nil {
		f.t.Fatalf("Waitlist(%d): %v", acct, err)
	}
	return e
}

// publicStates counts the snapshot's letters.
func (f *fixture) publicStates() map[byte]int {
	f.t.Helper()
	snap, err := f.svc.Snapshot(context.Background(), f.event)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[byte]int{}
	for _, c := range snap.Statuses {
		out[c]++
	}
	return out
}

// expireOffer moves a hold's expiry into the past and sweeps, as the
// sweeper does once the offer's time is up.
func (f *fixture) expireOffer(holdID string) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1`, holdID); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.Sweep(ctx); err != nil {
		f.t.Fatal(err)
	}
}

// TestWaitlist: seats released while fans wait go to them in line order,
// each as much as it asked for and fits, and never appear available on
// the public map (snapshot or diffs); an offer that times out passes to
// the next fan who fits; a declined offer with nobody left who fits puts
// the seats back on sale; an accepted offer reads as fulfilled; another
// fan can neither read nor check out someone's offer.
func TestWaitlist(t *testing.T) {
	f, pub := waitlistFixture(t, 0)
	ctx := context.Background()
	a := f.accounts(6)
	seller, b, c, cheap, e, other := a[0], a[1], a[2], a[3], a[4], a[5]

	_, err := f.svc.JoinWaitlist(ctx, seatmap.WaitlistRequest{EventID: f.event, AccountID: b, Quantity: 1})
	if !errors.Is(err, seatmap.ErrNotSoldOut) {
		t.Fatalf("joining while seats are on sale: err = %v, want not_sold_out", err)
	}
	all, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: seller, SeatIDs: f.seats})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.join(b, seatmap.WaitlistRequest{Quantity: 1}); got.Position != 1 || got.Status != seatmap.WaitWaiting {
		t.Errorf("first in line: %+v, want waiting at position 1", got)
	}
	f.join(c, seatmap.WaitlistRequest{Quantity: 2, Section: "S1"})
	f.join(cheap, seatmap.WaitlistRequest{Quantity: 1, MaxPriceCents: 100}) // fits no seat
	if got := f.entry(cheap); got.Position != 3 {
		t.Errorf("third in line at position %d", got.Position)
	}
	if _, err := f.svc.JoinWaitlist(ctx, seatmap.WaitlistRequest{EventID: f.event, AccountID: b, Quantity: 1}); !errors.Is(err, seatmap.ErrAlreadyWaiting) {
		t.Errorf("joining twice: err = %v, want already_waiting", err)
	}
	_, err = f.svc.JoinWaitlist(ctx, seatmap.WaitlistRequest{EventID: f.event, AccountID: e, Quantity: 1, Section: "nope"})
	if !errors.Is(err, seatmap.ErrUnknownSection) {
		t.Errorf("unknown section: err = %v, want unknown_section", err)
	}

	// The seller lets go of all 4: 1 to b, 2 to c, nothing fits cheap,
	// and the last seat goes back on sale.
	pub.changes = nil
	if err := f.svc.Release(ctx, seller, all.ID); err != nil {
		t.Fatal(err)
	}
	offerB, offerC := f.entry(b), f.entry(c)
	if offerB.Status != seatmap.WaitOffered || offerB.Offer == nil || offerB.Offer.Seats != 1 {
		t.Fatalf("b after the release: %+v, want an offer of 1", offerB)
	}
	if offerC.Status != seatmap.WaitOffered || offerC.Offer == nil || offerC.Offer.Seats != 2 {
		t.Fatalf("c after the release: %+v, want an offer of 2", offerC)
	}
	if got := f.entry(cheap); got.Status != seatmap.WaitWaiting || got.Position != 1 {
		t.Errorf("cheap after the release: %+v, want still waiting, now first", got)
	}
	if n := pub.count(seatmap.StateAvailable); n != 1 {
		t.Errorf("diffs show %d seats available, want only the 1 nobody in line fits", n)
	}
	if got := f.publicStates(); got['a'] != 1 || got['h'] != 3 {
		t.Errorf("public snapshot counts %v, want 1 available and 3 held", got)
	}

	// Another fan's offer is not found, to read or to check out.
	if _, err := f.svc.GetHold(ctx, other, offerB.Offer.HoldID); !errors.Is(err, seatmap.ErrHoldNotFound) {
		t.Errorf("another fan reading b's offer: err = %v, want hold_not_found", err)
	}
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		_, err := f.svc.StartPayment(ctx, tx, other, offerB.Offer.HoldID, time.Minute, nil)
		return err
	})
	if !errors.Is(err, seatmap.ErrHoldNotFound) {
		t.Errorf("another fan checking out b's offer: err = %v, want hold_not_found", err)
	}

	// e joins for 2 (only 1 is on sale); b's offer times out and passes
	// over cheap (it does not fit) to e.
	f.join(e, seatmap.WaitlistRequest{Quantity: 2})
	pub.changes = nil
	f.expireOffer(offerB.Offer.HoldID)
	if got := f.entry(b); got.Status != seatmap.WaitLapsed {
		t.Errorf("b after its offer timed out: %+v, want lapsed", got)
	}
	offerE := f.entry(e)
	if offerE.Status != seatmap.WaitOffered || offerE.Offer == nil || offerE.Offer.Seats != 1 {
		t.Fatalf("e after b's offer timed out: %+v, want an offer of 1", offerE)
	}
	if n := pub.count(seatmap.StateAvailable); n != 0 {
		t.Errorf("diffs show %d seats available after the timeout, want 0", n)
	}

	// c declines: nobody left in line fits, so its 2 seats go on sale.
	pub.changes = nil
	if err := f.svc.LeaveWaitlist(ctx, f.event, c); err != nil {
		t.Fatal(err)
	}
	if got := f.entry(c); got.Status != seatmap.WaitLapsed {
		t.Errorf("c after declining: %+v, want lapsed", got)
	}
	if n := pub.count(seatmap.StateAvailable); n != 2 {
		t.Errorf("diffs show %d seats available after c declined, want 2", n)
	}

	// e accepts: its offer is checked out like any hold.
	var out seatmap.Outcome
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := f.svc.StartPayment(ctx, tx, e, offerE.Offer.HoldID, time.Minute, nil); err != nil {
			return err
		}
		var err error
		_, out, err = f.svc.Convert(ctx, tx, offerE.Offer.HoldID)
		return err
	})
	if err != nil {
		t.Fatalf("checking out e's offer: %v", err)
	}
	f.svc.AfterCommit(ctx, out)
	if got := f.entry(e); got.Status != seatmap.WaitFulfilled {
		t.Errorf("e after checking out: %+v, want fulfilled", got)
	}
	if err := f.svc.LeaveWaitlist(ctx, f.event, e); !errors.Is(err, seatmap.ErrWaitlistMissing) {
		t.Errorf("leaving after buying: err = %v, want waitlist_entry_not_found", err)
	}
	if err := f.svc.LeaveWaitlist(ctx, f.event, cheap); err != nil {
		t.Errorf("leaving the line: %v", err)
	}
	if _, err := f.svc.Waitlist(ctx, f.event, cheap); !errors.Is(err, seatmap.ErrWaitlistMissing) {
		t.Errorf("entry after leaving: err = %v, want waitlist_entry_not_found", err)
	}
}

// TestWaitlistReleasedInventory: held-back seats an admin puts on sale
// while the event reads sold out go to the line first, and their only
// published state is held.
func TestWaitlistReleasedInventory(t *testing.T) {
	f, pub := waitlistFixture(t, 0.5)
	ctx := context.Background()
	a := f.accounts(2)
	var free []int64
	rows, err := f.db.Query(ctx, `SELECT id FROM seats WHERE event_id = $1 AND status = 'available' ORDER BY id`, f.event)
	if err != nil {
		t.Fatal(err)
	}
	free, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(free) != 2 {
		t.Fatalf("%d seats on sale (%v), want 2 of 4", len(free), err)
	}
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: a[0], SeatIDs: free}); err != nil {
		t.Fatal(err)
	}
	// As the lifecycle marks an event with nothing left to sell: fans
	// join and are offered places all the same.
	if _, err := f.db.Exec(ctx, `UPDATE events SET status = 'sold_out' WHERE id = $1`, f.event); err != nil {
		t.Fatal(err)
	}
	f.svc.ForgetEvent(f.event)
	f.join(a[1], seatmap.WaitlistRequest{Quantity: 1})
	pub.changes = nil
	n, err := f.svc.ReleaseReserved(ctx, seatmap.ReleaseRequest{EventID: f.event, Count: 2})
	if err != nil || n != 2 {
		t.Fatalf("ReleaseReserved = %d, %v; want 2", n, err)
	}
	if got := f.entry(a[1]); got.Status != seatmap.WaitOffered || got.Offer.Seats != 1 {
		t.Errorf("waiting fan after the release: %+v, want an offer of 1", got)
	}
	if pub.count(seatmap.StateHeld) != 1 || pub.count(seatmap.StateAvailable) != 1 {
		t.Errorf("diffs after the release: %v, want 1 held (the offer) and 1 available", pub.changes)
	}
}

// TestWaitlistRace: 12 fans each let go of the seat they hold at the same
// moment while 6 fans wait for one seat each. Exactly 6 of the freed seats
// become offers, one per waiting fan, and only the other 6 are ever
// published available; the invariants hold (checked at cleanup).
func TestWaitlistRace(t *testing.T) {
	pub := &recorder{}
	f := newFixture(t, fixtureOpts{layout: smallLayout(1, 2, 6), pub: pub, cfg: seatmap.Config{OfferTTL: time.Minute}})
	ctx := context.Background()
	holders, waiters := f.accounts(12), f.accounts(6)
	holds := make([]string, len(holders))
	for i, a := range holders {
		h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: a, SeatIDs: f.seats[i : i+1]})
		if err != nil {
			t.Fatal(err)
		}
		holds[i] = h.ID
	}
	for _, w := range waiters {
		f.join(w, seatmap.WaitlistRequest{Quantity: 1})
	}
	pub.changes = nil
	var wg sync.WaitGroup
	errs := make([]error, len(holders))
	for i, a := range holders {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f.svc.Release(ctx, a, holds[i]) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	offered := map[string]bool{}
	for _, w := range waiters {
		e := f.entry(w)
		if e.Status != seatmap.WaitOffered || e.Offer == nil || e.Offer.Seats != 1 || offered[e.Offer.HoldID] {
			t.Errorf("waiting fan %d: %+v, want an offer of its own of 1 seat", w, e)
			continue
		}
		offered[e.Offer.HoldID] = true
	}
	if a, held := pub.count(seatmap.StateAvailable), pub.count(seatmap.StateHeld); a != 6 || held != 6 {
		t.Errorf("published %d available and %d held, want 6 and 6", a, held)
	}
}
