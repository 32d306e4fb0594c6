package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

// TestEnqueueDedupeAndRun: a dedupe key enqueues once; concurrent workers run
// each job exactly once; failures retry with backoff and end dead.
func TestEnqueueDedupeAndRun(t *testing.T) {
	db := testkit.DB(t)
	ctx := context.Background()
	kind := "test.count." + testkit.RandomHex(3)
	for i := range 3 {
		added, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: kind, DedupeKey: kind + ":same", Payload: map[string]int{"n": i}})
		if err != nil {
			t.Fatal(err)
		}
		if added != (i == 0) {
			t.Errorf("enqueue %d added = %v", i, added)
		}
	}
	for i := range 40 {
		if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: kind, Payload: map[string]int{"n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	r := jobs.NewRunner(db, nil, jobs.Config{Workers: 8, PollInterval: 10 * time.Millisecond})
	r.Register(kind, func(ctx context.Context, p json.RawMessage) error {
		mu.Lock()
		seen[string(p)]++
		mu.Unlock()
		time.Sleep(time.Millisecond)
		return nil
	})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(rctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE kind = $1 AND done_at IS NULL`, kind).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for p, n := range seen {
		total += n
		if n != 1 && p != `{"n": 0}` {
			t.Errorf("payload %s ran %d times", p, n)
		}
	}
	if total != 41 {
		t.Errorf("ran %d jobs, want 41 (40 + 1 deduplicated)", total)
	}

	// Retries with backoff, then dead.
	failKind := "test.fail." + testkit.RandomHex(3)
	if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: failKind, Payload: nil}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	fr := jobs.NewRunner(db, nil, jobs.Config{MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	fr.Register(failKind, func(context.Context, json.RawMessage) error { calls.Add(1); return errors.New("smtp down") })
	for range 50 {
		if _, err := fr.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var attempts int
	var dead bool
	var lastErr string
	if err := db.QueryRow(ctx, `SELECT attempts, dead, last_error FROM jobs WHERE kind = $1`, failKind).Scan(&attempts, &dead, &lastErr); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || attempts != 3 || !dead || lastErr != "smtp down" {
		t.Errorf("calls %d attempts %d dead %v last_error %q; want 3 3 true smtp down", calls.Load(), attempts, dead, lastErr)
	}
	if got := fr.Backoff(1); got != time.Millisecond {
		t.Errorf("Backoff(1) = %v", got)
	}
	if got := fr.Backoff(10); got != 4*time.Millisecond {
		t.Errorf("Backoff(10) = %v, want capped 4ms", got)
	}
}
