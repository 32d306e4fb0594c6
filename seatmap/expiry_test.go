package seatmap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/seatmap"
)

// TestExpiry: a 1-second hold is released by the running sweeper within 2
// seconds of being taken, and the seat can be held again (the gate key went
// with it).
func TestExpiry(t *testing.T) {
	f := newFixture(t, fixtureOpts{cfg: seatmap.Config{HoldTTL: time.Second, SweepInterval: 500 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.svc.RunSweeper(ctx)
	accts := f.accounts(2)
	h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: accts[0], SeatIDs: f.seats[:2]})
	if err != nil {
		t.Fatal(err)
	}
	taken := time.Now()
	for {
		if st, _ := f.status(0); st == "available" {
			break
		}
		if time.Since(taken) > 2*time.Second {
			t.Fatalf("1 s hold still held %v after it was taken", time.Since(taken))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("released %v after the hold was taken", time.Since(taken).Round(time.Millisecond))
	got, err := f.svc.GetHold(ctx, accts[0], h.ID)
	if err != nil || got.Status != seatmap.HoldExpired {
		t.Errorf("expired hold reads %+v, %v; want status expired", got.Status, err)
	}
	if _, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: accts[1], SeatIDs: f.seats[:2]}); err != nil {
		t.Errorf("holding the expired seats again: %v", err)
	}
}

// TestFencing: a holder paused past its TTL, whose seat went to someone
// else, changes nothing when it wakes up and acts on its old hold.
func TestFencing(t *testing.T) {
	f := newFixture(t, fixtureOpts{cfg: seatmap.Config{HoldTTL: time.Second}})
	ctx := context.Background()
	accts := f.accounts(2)
	old, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: accts[0], SeatIDs: f.seats[:1]})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the holder "pauses" past its TTL
	if n, err := f.svc.Sweep(ctx); err != nil || n < 1 {
		t.Fatalf("Sweep = %d, %v; want the old hold expired", n, err)
	}
	winner, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: accts[1], SeatIDs: f.seats[:1]})
	if err != nil {
		t.Fatalf("second fan's hold: %v", err)
	}
	var before int64
	if err := f.db.QueryRow(ctx, `SELECT version FROM seats WHERE id = $1`, f.seats[0]).Scan(&before); err != nil {
		t.Fatal(err)
	}
	// The woken holder releases its old hold: refused as expired.
	if err := f.svc.Release(ctx, accts[0], old.ID); !errors.Is(err, seatmap.ErrHoldExpired) {
		t.Errorf("release of the lost hold: err = %v, want hold_expired", err)
	}
	// Even a sweep that raced it (expiring the old hold twice) changes nothing.
	if _, err := f.svc.Sweep(ctx); err != nil {
		t.Errorf("second Sweep: %v", err)
	}
	var after int64
	var holder string
	if err := f.db.QueryRow(ctx, `SELECT version, hold_id::text FROM seats WHERE id = $1`, f.seats[0]).Scan(&after, &holder); err != nil {
		t.Fatal(err)
	}
	if after != before || holder != winner.ID {
		t.Errorf("seat version %d→%d holder %s; want unchanged and held by %s", before, after, holder, winner.ID)
	}
}
