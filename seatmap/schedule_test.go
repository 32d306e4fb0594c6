package seatmap_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/seatmap"
)

// recorder is a Publisher that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	changes []seatmap.SeatChange
}

func (r *recorder) PublishSeats(_ context.Context, _ int64, c []seatmap.SeatChange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c...)
	return nil
}

func (r *recorder) Position(context.Context, int64) (seatmap.Position, error) {
	return seatmap.Position{}, nil
}

func (r *recorder) count(state byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.changes {
		if c.State == state {
			n++
		}
	}
	return n
}

// TestScheduledRelease: a release scheduled for a time happens then, not
// before; its job is idempotent; two schedules never pick the same seats.
func TestScheduledRelease(t *testing.T) {
	pub := &recorder{}
	f := newFixture(t, fixtureOpts{reserve: 0.5, pub: pub, layout: smallLayout(1, 2, 10)})
	ctx := context.Background()
	runner := jobs.NewRunner(f.db, nil, jobs.Config{PollInterval: 50 * time.Millisecond})
	f.svc.RegisterJobs(runner)

	at := time.Now().Add(1500 * time.Millisecond)
	first, err := f.svc.ScheduleRelease(ctx, seatmap.ReleaseRequest{EventID: f.event, Count: 4}, at)
	if err != nil || first.Seats != 4 {
		t.Fatalf("schedule 4: %+v, %v", first, err)
	}
	second, err := f.svc.ScheduleRelease(ctx, seatmap.ReleaseRequest{EventID: f.event, Count: 100}, at)
	if err != nil || second.Seats != 6 {
		t.Fatalf("schedule the rest: %+v, %v; want the 6 seats not already scheduled", second, err)
	}
	if _, err := f.svc.ScheduleRelease(ctx, seatmap.ReleaseRequest{EventID: f.event, Count: 1}, at); !errors.Is(err, seatmap.ErrNothingReserved) {
		t.Errorf("a third schedule: err = %v, want nothing_reserved (all 10 are scheduled)", err)
	}
	if n, err := runner.Drain(ctx); err != nil || n != 0 {
		t.Fatalf("before the time, jobs run = %d, %v; want none", n, err)
	}
	if inv := f.checkInvariants(); inv.Reserved != 10 {
		t.Fatalf("reserved before the time = %d, want 10", inv.Reserved)
	}
	time.Sleep(time.Until(at) + 50*time.Millisecond)
	if n, err := runner.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("after the time, jobs run = %d, %v; want 2", n, err)
	}
	if inv := f.checkInvariants(); inv.Reserved != 0 || inv.Available != 20 {
		t.Errorf("after the release: %+v, want 0 reserved and 20 available", inv)
	}
	if got := pub.count(seatmap.StateAvailable); got != 10 {
		t.Errorf("published %d seats as available, want 10", got)
	}
	// The same job again (at-least-once delivery) releases nothing more.
	if _, err := f.db.Exec(ctx, `UPDATE jobs SET done_at = NULL, run_at = now() WHERE kind = 'seatmap.release'`); err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := pub.count(seatmap.StateAvailable); got != 10 {
		t.Errorf("after running the jobs twice, %d seats published, want still 10", got)
	}
}

// TestLifecycle: upcoming → on_sale at sale_opens, on_sale → sold_out when
// nothing is available or held, and back when a seat returns.
func TestLifecycle(t *testing.T) {
	f := newFixture(t, fixtureOpts{layout: smallLayout(1, 1, 4)})
	ctx := context.Background()
	status := func() string {
		var s string
		if err := f.db.QueryRow(ctx, `SELECT status FROM events WHERE id = $1`, f.event).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := f.db.Exec(ctx, `UPDATE events SET status = 'upcoming', sale_opens = now() - interval '1 second' WHERE id = $1`, f.event); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Lifecycle(ctx); err != nil || status() != seatmap.StatusOnSale {
		t.Fatalf("after sale_opens: %s, %v; want on_sale", status(), err)
	}
	accts := f.accounts(2)
	h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: accts[0], SeatIDs: f.seats[:3]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Lifecycle(ctx); err != nil || status() != seatmap.StatusOnSale {
		t.Errorf("with one seat left: %s, want on_sale", status())
	}
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: accts[1], SeatIDs: f.seats[3:]}); err != nil {
		t.Fatal(err)
	}
	// All held is not sold out: holds may come back.
	if _, err := f.svc.Lifecycle(ctx); err != nil || status() != seatmap.StatusOnSale {
		t.Errorf("all seats held: %s, want on_sale", status())
	}
	if _, err := f.db.Exec(ctx, `UPDATE seats SET status = 'reserved', reserved_reason = 'artist', hold_id = NULL, holder_account_id = NULL
		WHERE id = $1`, f.seats[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE holds SET status = 'released' WHERE account_id = $1`, accts[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE account_event_seats SET seats = 0 WHERE account_id = $1`, accts[1]); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Release(ctx, accts[0], h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE seats SET status = 'sold' WHERE event_id = $1 AND status = 'available'`, f.event); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Lifecycle(ctx); err != nil || status() != seatmap.StatusSoldOut {
		t.Errorf("nothing available or held: %s, want sold_out", status())
	}
	if _, err := f.svc.ReleaseReserved(ctx, seatmap.ReleaseRequest{EventID: f.event, SeatIDs: f.seats[3:]}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Lifecycle(ctx); err != nil || status() != seatmap.StatusOnSale {
		t.Errorf("a seat came back: %s, want on_sale", status())
	}
	// The hand-made sold seats have no orders; skip the sold checks.
	if _, err := f.db.Exec(ctx, `UPDATE seats SET status = 'available' WHERE event_id = $1 AND status = 'sold'`, f.event); err != nil {
		t.Fatal(err)
	}
}
