package seatmap_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// accessibleLayout is smallLayout(2, 4, 10) with wheelchair spaces at both
// ends of each back row (seats 1, 2, 9 and 10), as the arena preset has:
// 8 accessible seats of 80, all held back by a reserve share of 0.1. They
// rank best of all, so that a plain pick that did not skip them would take
// them first.
func accessibleLayout() seatmap.Layout {
	l := smallLayout(2, 4, 10)
	for i := range l.Seats {
		s := &l.Seats[i]
		if s.Row == "4" && (s.Number <= 2 || s.Number >= 9) {
			s.Type, s.Rank = seatmap.SeatAccessible, 0
		}
	}
	return l
}

func accessibleFixture(t *testing.T, pub seatmap.Publisher) *fixture {
	// A snapshot per request: the event's accessible figures are read
	// right after each change.
	return newFixture(t, fixtureOpts{layout: accessibleLayout(), reserve: 0.1, pub: pub,
		cfg: seatmap.Config{SnapshotTTL: time.Nanosecond}})
}

// accessibleSeats counts a hold's accessible seats.
func accessibleSeats(h seatmap.Hold) int {
	n := 0
	for _, s := range h.Seats {
		if s.Type == seatmap.SeatAccessible {
			n++
		}
	}
	return n
}

// TestAccessibleSale: accessible seats held back at creation go only to
// fans who ask for them, each with a companion beside it, while concurrent
// plain best-available fans take every other seat and never one of them; a
// hold that ends puts its accessible seat back among the held-back ones;
// once an admin releases the hold-back, plain fans get them too.
func TestAccessibleSale(t *testing.T) {
	pub := &recorder{}
	f := accessibleFixture(t, pub)
	ctx := context.Background()
	accts := f.accounts(150)
	next := 0
	account := func() int64 { next++; return accts[next-1] }
	best := func(acct int64, q, accessible int) (seatmap.Hold, error) {
		return f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct,
			Best: &seatmap.BestRequest{Quantity: q, Accessible: accessible}})
	}
	if inv := f.checkInvariants(); inv.Reserved != 8 {
		t.Fatalf("reserved at creation = %d, want the 8 accessible seats", inv.Reserved)
	}
	ev, err := f.svc.Event(ctx, f.event)
	if err != nil {
		t.Fatal(err)
	}
	if a := ev.Accessible; a.Seats != 8 || a.Available != 8 || a.HeldBack != 8 || a.ReleaseAt != nil || a.Notice == "" {
		t.Errorf("accessible info at creation = %+v, want 8 seats, 8 available, 8 held back, no release", a)
	}

	// Bad combinations are refused before anything is held.
	for _, bad := range [][2]int{{2, 3}, {2, -1}} {
		if _, err := best(accts[149], bad[0], bad[1]); !errors.Is(err, seatmap.ErrAccessibleCount) {
			t.Errorf("quantity %d accessible %d: err = %v, want invalid_accessible_count", bad[0], bad[1], err)
		}
	}

	// Four fans at once ask for one accessible seat and one companion: each
	// gets a wheelchair space and the ordinary seat beside it.
	companions := make([]seatmap.Hold, 4)
	companionAccts := make([]int64, len(companions))
	var wg sync.WaitGroup
	errs := make([]error, len(companions))
	for i := range companions {
		acct := account()
		companionAccts[i] = acct
		wg.Go(func() { companions[i], errs[i] = best(acct, 2, 1) })
	}
	wg.Wait()
	for i, h := range companions {
		if errs[i] != nil {
			t.Fatalf("accessible fan %d: %v", i, errs[i])
		}
		a, b := h.Seats[0], h.Seats[1]
		if accessibleSeats(h) != 1 || a.Section != b.Section || a.Row != b.Row || b.Number != a.Number+1 {
			t.Errorf("accessible fan %d got %+v, want one accessible seat and the ordinary seat beside it", i, h.Seats)
		}
		if h.Accessible != 1 || h.AccessibleNotice != seatmap.AccessibleNotice {
			t.Errorf("accessible fan %d: hold records accessible %d, notice %q", i, h.Accessible, h.AccessibleNotice)
		}
	}
	if got, err := f.svc.GetHold(ctx, companionAccts[0], companions[0].ID); err != nil || got.Accessible != 1 || got.AccessibleNotice == "" {
		t.Errorf("GetHold of an accessible hold = %+v, %v; want accessible 1 with the notice", got, err)
	}

	// Forty plain fans race two more accessible fans: the plain fans take
	// ordinary seats only, the accessible fans wheelchair spaces.
	plain := make([]seatmap.Hold, 40)
	plainErrs := make([]error, len(plain))
	more := make([]seatmap.Hold, 2)
	moreAccts := make([]int64, len(more))
	moreErrs := make([]error, len(more))
	for i := range plain {
		acct := account()
		wg.Go(func() { plain[i], plainErrs[i] = best(acct, 2, 0) })
	}
	for i := range more {
		acct := account()
		moreAccts[i] = acct
		wg.Go(func() { more[i], moreErrs[i] = best(acct, 1, 1) })
	}
	wg.Wait()
	won := 0
	for i, h := range plain {
		switch {
		case plainErrs[i] == nil:
			won++
			if n := accessibleSeats(h); n > 0 || h.Accessible != 0 || h.AccessibleNotice != "" {
				t.Errorf("plain fan %d got %d accessible seats (hold %+v)", i, n, h)
			}
		case !errors.Is(plainErrs[i], seatmap.ErrSeatUnavailable) && !errors.Is(plainErrs[i], seatmap.ErrNoSeatsFound):
			t.Errorf("plain fan %d: %v", i, plainErrs[i])
		}
	}
	for i, h := range more {
		if moreErrs[i] != nil || accessibleSeats(h) != 1 {
			t.Errorf("accessible fan %d during the rush: %+v, %v; want one accessible seat", i, h.Seats, moreErrs[i])
		}
	}
	t.Logf("%d of %d plain fans held 2 seats", won, len(plain))
	// The ordinary seats the rush left go one by one; then only held-back
	// seats remain and a plain fan gets nothing.
	for {
		h, err := best(account(), 2, 0)
		if errors.Is(err, seatmap.ErrNoSeatsFound) {
			break
		}
		if err != nil || accessibleSeats(h) > 0 {
			t.Fatalf("plain fan after the rush: %+v, %v", h.Seats, err)
		}
	}
	if inv := f.checkInvariants(); inv.Available != 0 || inv.Reserved != 2 {
		t.Fatalf("after the rush: %+v, want nothing available and the 2 unclaimed accessible seats held back", inv)
	}

	// An accessible hold that ends puts its seat back among the held-back
	// seats, not on general sale.
	if err := f.svc.Release(ctx, moreAccts[0], more[0].ID); err != nil {
		t.Fatal(err)
	}
	if inv := f.checkInvariants(); inv.Available != 0 || inv.Reserved != 3 {
		t.Fatalf("after an accessible hold ended: %+v, want 3 held back", inv)
	}
	if _, err := best(account(), 1, 0); !errors.Is(err, seatmap.ErrNoSeatsFound) {
		t.Errorf("plain fan before the release: err = %v, want no seats", err)
	}

	// The admin releases the hold-back: the 3 unclaimed seats go on sale
	// and are published; an accessible seat held meanwhile goes on general
	// sale when its hold ends.
	before := pub.count(seatmap.StateAvailable)
	n, err := f.svc.ReleaseAccessible(ctx, f.event)
	if err != nil || n != 3 {
		t.Fatalf("ReleaseAccessible = %d, %v; want 3", n, err)
	}
	if got := pub.count(seatmap.StateAvailable) - before; got != 3 {
		t.Errorf("published %d seats as available, want 3", got)
	}
	if err := f.svc.Release(ctx, companionAccts[0], companions[0].ID); err != nil {
		t.Fatal(err)
	}
	if inv := f.checkInvariants(); inv.Reserved != 0 || inv.Available != 5 {
		t.Fatalf("after the release: %+v, want none held back and 5 available", inv)
	}
	ev, err = f.svc.Event(ctx, f.event)
	if err != nil {
		t.Fatal(err)
	}
	if a := ev.Accessible; a.HeldBack != 0 || a.Available != 4 || a.ReleaseAt == nil || time.Since(*a.ReleaseAt) > time.Minute {
		t.Errorf("accessible info after the release = %+v, want 4 available, none held back, released now", a)
	}
	// Plain fans now get the accessible seats, but only once the one
	// ordinary seat left (a companion's, freed above) is gone.
	gotAccessible := 0
	for i := range 5 {
		h, err := best(account(), 1, 0)
		if err != nil {
			t.Fatalf("plain fan after the release: %v", err)
		}
		if i == 0 && accessibleSeats(h) > 0 {
			t.Errorf("the first plain fan after the release got %+v, want the ordinary seat", h.Seats)
		}
		gotAccessible += accessibleSeats(h)
	}
	if gotAccessible != 4 {
		t.Errorf("plain fans after the release got %d accessible seats, want 4", gotAccessible)
	}
	if n, err := f.svc.ReleaseAccessible(ctx, f.event); err != nil || n != 0 {
		t.Errorf("second ReleaseAccessible = %d, %v; want 0, nil", n, err)
	}
}

// TestAccessibleScheduledRelease: the hold-back ends at the time an admin
// chose, through the release job; rescheduling makes the older job a no-op;
// nothing can be scheduled once the hold-back has ended.
func TestAccessibleScheduledRelease(t *testing.T) {
	pub := &recorder{}
	f := accessibleFixture(t, pub)
	ctx := context.Background()
	runner := jobs.NewRunner(f.db, nil, jobs.Config{PollInterval: 50 * time.Millisecond})
	f.svc.RegisterJobs(runner)

	first := time.Now().Add(time.Hour)
	if s, err := f.svc.ScheduleAccessibleRelease(ctx, f.event, first); err != nil || s.Seats != 8 {
		t.Fatalf("schedule: %+v, %v; want 8 seats", s, err)
	}
	second := first.Add(time.Minute)
	if _, err := f.svc.ScheduleAccessibleRelease(ctx, f.event, second); err != nil {
		t.Fatalf("reschedule: %v", err)
	}
	ev, err := f.svc.Event(ctx, f.event)
	if err != nil || ev.Accessible.ReleaseAt == nil || !ev.Accessible.ReleaseAt.Equal(second.Truncate(time.Microsecond)) {
		t.Fatalf("release_at = %v, %v; want %v", ev.Accessible.ReleaseAt, err, second)
	}
	// The job of the first time falls due (as if its hour had passed): it
	// finds the event rescheduled and releases nothing.
	if _, err := f.db.Exec(ctx, `UPDATE jobs SET run_at = now() WHERE kind = 'seatmap.release' AND done_at IS NULL
		AND (payload->>'event_id')::bigint = $1 AND (payload->>'at')::timestamptz = $2`, f.event, first); err != nil {
		t.Fatal(err)
	}
	if n, err := runner.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("the first time's job: run = %d, %v; want 1", n, err)
	}
	if inv := f.checkInvariants(); inv.Reserved != 8 {
		t.Fatalf("the rescheduled job released seats: %+v", inv)
	}
	// Brought forward to a moment from now, the release happens then.
	soon := time.Now().Add(300 * time.Millisecond)
	if _, err := f.svc.ScheduleAccessibleRelease(ctx, f.event, soon); err != nil {
		t.Fatalf("bring forward: %v", err)
	}
	time.Sleep(time.Until(soon) + 50*time.Millisecond)
	if n, err := runner.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("after the time, jobs run = %d, %v; want 1", n, err)
	}
	if inv := f.checkInvariants(); inv.Reserved != 0 || inv.Available != 80 {
		t.Errorf("after the scheduled release: %+v, want all 80 available", inv)
	}
	if got := pub.count(seatmap.StateAvailable); got != 8 {
		t.Errorf("published %d seats as available, want 8", got)
	}
	if _, err := f.svc.ScheduleAccessibleRelease(ctx, f.event, time.Now().Add(time.Hour)); !errors.Is(err, seatmap.ErrAccessibleReleased) {
		t.Errorf("schedule after the release: err = %v, want accessible_released", err)
	}
}

// TestAccessibleUnsold: an accessible seat sold and then put back on sale
// (an order rejected on review) returns to the hold-back, its companion to
// general sale.
func TestAccessibleUnsold(t *testing.T) {
	f := accessibleFixture(t, nil)
	ctx := context.Background()
	acct := f.accounts(1)[0]
	h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct,
		Best: &seatmap.BestRequest{Quantity: 2, Accessible: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var out seatmap.Outcome
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := f.svc.StartPayment(ctx, tx, acct, h.ID, time.Minute, nil); err != nil {
			return err
		}
		_, out, err = f.svc.Convert(ctx, tx, h.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.AfterCommit(ctx, out)
	err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
		out, err = f.svc.Unsell(ctx, tx, h.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.AfterCommit(ctx, out)
	for _, s := range h.Seats {
		want := "available"
		if s.Type == seatmap.SeatAccessible {
			want = "reserved"
		}
		if st, _ := f.status(int(s.Idx)); st != want {
			t.Errorf("%s seat %d is %s after the unsale, want %s", s.Type, s.Idx, st, want)
		}
	}
	if inv := f.checkInvariants(); inv.Reserved != 8 {
		t.Errorf("reserved after the unsale = %d, want all 8 accessible seats again", inv.Reserved)
	}
}

// TestAccessibleKeepsEventOnSale: with every other seat sold, the seats
// held back for accessible requests keep the event on sale.
func TestAccessibleKeepsEventOnSale(t *testing.T) {
	f := accessibleFixture(t, nil)
	ctx := context.Background()
	var ordinary []int64
	for i, s := range accessibleLayout().Seats {
		if s.Type != seatmap.SeatAccessible {
			ordinary = append(ordinary, f.seats[i])
		}
	}
	for k, acct := range f.accounts(9) {
		h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: ordinary[8*k : 8*k+8]})
		if err != nil {
			t.Fatal(err)
		}
		err = pg.Transact(ctx, f.db, func(tx pgx.Tx) error {
			if _, err := f.svc.StartPayment(ctx, tx, acct, h.ID, time.Minute, nil); err != nil {
				return err
			}
			_, _, err := f.svc.Convert(ctx, tx, h.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if inv := f.checkInvariants(); inv.Sold != 72 || inv.Reserved != 8 {
		t.Fatalf("after selling every other seat: %+v", inv)
	}
	// Twice: the first run may only move the event from upcoming to on sale.
	for range 2 {
		if _, err := f.svc.Lifecycle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := f.svc.EventState(ctx, f.event); err != nil || st.Status != seatmap.StatusOnSale {
		t.Errorf("event state = %+v, %v; want on sale while accessible seats are held back", st, err)
	}
}
