package seatmap_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/seatmap"
)

// TestBestAvailableSeesThisNodesHolds: with a snapshot cached for a minute,
// fans on one node asking for the best pair one after another get the
// blocks in rank order, each on its first pick: the node's own holds since
// the snapshot are not offered again. (Picking from the stale snapshot
// would offer the first block to every fan, and the retries pick at random
// among the next eight.)
func TestBestAvailableSeesThisNodesHolds(t *testing.T) {
	// pairs buys the best pair for five fans in turn and returns the idx
	// pairs they got.
	pairs := func(ttl time.Duration) [][]int32 {
		f := newFixture(t, fixtureOpts{layout: smallLayout(1, 1, 12), cfg: seatmap.Config{SnapshotTTL: ttl}})
		ctx := context.Background()
		if _, err := f.svc.Snapshot(ctx, f.event); err != nil { // cached before any hold
			t.Fatal(err)
		}
		var got [][]int32
		for _, fan := range f.accounts(5) {
			h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: fan, Best: &seatmap.BestRequest{Quantity: 2}})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, []int32{h.Seats[0].Idx, h.Seats[1].Idx})
		}
		return got
	}
	fresh := pairs(time.Nanosecond) // a new snapshot for every hold
	stale := pairs(time.Minute)
	if !slices.EqualFunc(stale, fresh, slices.Equal) {
		t.Errorf("from a minute-old snapshot the fans got %v; from fresh ones %v", stale, fresh)
	}
}
