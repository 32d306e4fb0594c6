package groupcommit_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/boxoffice/boxoffice/internal/groupcommit"
)

type item struct {
	key  int
	runs int // rounds that wrote it
}

// Every item is written exactly once, rounds respect the limit and never
// carry two items with one key, and with a round stalled the items queue
// into as few rounds as the keys allow.
func TestQueueRounds(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	bad := ""
	q := groupcommit.New(4, 2, func(it *item) []int { return []int{it.key} }, func(_ context.Context, items []*item) {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(items))
		seen := map[int]bool{}
		for _, it := range items {
			if seen[it.key] {
				bad = "two items with one key in a round"
			}
			seen[it.key] = true
			it.runs++
		}
		if len(items) > 4 {
			bad = "a round over the limit"
		}
	})
	items := make([]*item, 400)
	var wg sync.WaitGroup
	for i := range items {
		items[i] = &item{key: i % 7}
		wg.Go(func() {
			if err := q.Do(context.Background(), items[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if bad != "" {
		t.Fatal(bad)
	}
	for i, it := range items {
		if it.runs != 1 {
			t.Fatalf("item %d written %d times", i, it.runs)
		}
	}

	// Stalled: 6 items over keys 0,0,1,2,3,4 make a round of 4 and one of 2.
	sizes = nil
	if !q.Stall() {
		t.Fatal("stall refused with no round in flight")
	}
	keys := []int{0, 0, 1, 2, 3, 4}
	for i, k := range keys {
		wg.Go(func() { _ = q.Do(context.Background(), &item{key: k}) })
		for q.Pending() < i+1 {
			runtime.Gosched()
		}
	}
	got := q.Drain()
	wg.Wait()
	if len(got) != 2 || got[0] != 4 || got[1] != 2 {
		t.Fatalf("rounds %v, want [4 2]", got)
	}
}

// A caller that leaves before its round is not written and gets its
// context's error.
func TestQueueWithdraw(t *testing.T) {
	runs := 0
	q := groupcommit.New(8, 1, func(*item) []int { return nil }, func(_ context.Context, items []*item) { runs += len(items) })
	q.Stall()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Do(ctx, &item{}) }()
	for q.Pending() < 1 {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	if n := q.Drain(); len(n) != 0 || runs != 0 {
		t.Fatalf("rounds %v wrote %d items, want none", n, runs)
	}
}
