package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

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

// openTransactions counts the other sessions of this database that are
// inside a transaction right now (idle in transaction, or running one).
func openTransactions(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`).Scan(&n)
	return n, err
}

// TestHandlerRunsOutsideTransaction: while a handler runs (standing in for
// an SMTP or Stripe call), no session of the database is in a transaction
// and the job's row is not locked. The runner used to keep the claiming
// transaction, and the row lock, open across the handler.
func TestHandlerRunsOutsideTransaction(t *testing.T) {
	db := testkit.DB(t)
	ctx := context.Background()
	kind := "test.slow." + testkit.RandomHex(3)
	if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: kind, Payload: nil}); err != nil {
		t.Fatal(err)
	}
	r := jobs.NewRunner(db, nil, jobs.Config{})
	var open int
	var lockErr error
	r.Register(kind, func(ctx context.Context, _ json.RawMessage) error {
		var err error
		if open, err = openTransactions(ctx, db); err != nil {
			return err
		}
		tx, err := db.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		_, lockErr = tx.Exec(ctx, `SELECT id FROM jobs WHERE kind = $1 FOR UPDATE NOWAIT`, kind)
		return nil
	})
	if ran, err := r.RunOne(ctx); err != nil || !ran {
		t.Fatalf("RunOne = %v, %v", ran, err)
	}
	if open != 0 {
		t.Errorf("%d sessions in a transaction while the handler ran, want 0", open)
	}
	if lockErr != nil {
		t.Errorf("the job's row was locked while its handler ran: %v", lockErr)
	}
	var done bool
	if err := db.QueryRow(ctx, `SELECT done_at IS NOT NULL FROM jobs WHERE kind = $1`, kind).Scan(&done); err != nil || !done {
		t.Errorf("job done = %v, %v", done, err)
	}
	// A claimed job is not due for another worker while its lease runs.
	if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: kind, Payload: 2}); err != nil {
		t.Fatal(err)
	}
	other := jobs.NewRunner(db, nil, jobs.Config{})
	other.Register(kind, func(ctx context.Context, _ json.RawMessage) error {
		if ran, err := r.RunOne(ctx); ran || err != nil { // r sees nothing due
			return fmt.Errorf("a second worker ran the claimed job: %v %v", ran, err)
		}
		return nil
	})
	if ran, err := other.RunOne(ctx); err != nil || !ran {
		t.Fatalf("RunOne = %v, %v", ran, err)
	}
	var lastErr *string
	if err := db.QueryRow(ctx, `SELECT last_error FROM jobs WHERE kind = $1 AND payload = '2'`, kind).Scan(&lastErr); err != nil || lastErr != nil {
		t.Errorf("second job last_error = %v, %v", lastErr, err)
	}
}

// TestDeadJobsListedCountedRetried: a job out of attempts is listed as
// dead with its last error, counted by the metric, and runs again when an
// admin retries it; a RetryForever kind never dies and shows as failing.
func TestDeadJobsListedCountedRetried(t *testing.T) {
	db := testkit.DB(t)
	ctx := context.Background()
	kind := "test.dead." + testkit.RandomHex(3)
	forever := "test.forever." + testkit.RandomHex(3)
	for _, k := range []string{kind, forever} {
		if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: k, Payload: map[string]string{"k": k}}); err != nil {
			t.Fatal(err)
		}
	}
	var broken atomic.Bool
	broken.Store(true)
	var runs atomic.Int32
	h := func(context.Context, json.RawMessage) error {
		runs.Add(1)
		if broken.Load() {
			return errors.New("smtp: 554 relay refused")
		}
		return nil
	}
	r := jobs.NewRunner(db, nil, jobs.Config{MaxAttempts: 2, BaseBackoff: time.Hour, MaxBackoff: time.Hour})
	r.Register(kind, h)
	r.Register(forever, h, jobs.RetryForever)
	for range 6 {
		if _, err := db.Exec(ctx, `UPDATE jobs SET run_at = now() WHERE kind = ANY($1) AND done_at IS NULL AND NOT dead`,
			[]string{kind, forever}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := r.List(ctx, jobs.StateDead, kind, 10)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 2 || dead[0].LastError != "smtp: 554 relay refused" || dead[0].State != jobs.StateDead {
		t.Fatalf("dead jobs = %+v, %v", dead, err)
	}
	failing, err := r.List(ctx, jobs.StateFailing, forever, 10)
	if err != nil || len(failing) != 1 || failing[0].Attempts != 6 {
		t.Fatalf("failing forever jobs = %+v, %v; want one with 6 attempts", failing, err)
	}
	if _, err := r.List(ctx, "bogus", "", 10); !errors.Is(err, jobs.ErrBadState) {
		t.Errorf("List(bogus) err = %v", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	if got := gaugeOf(t, reg, "boxoffice_jobs_dead", kind); got != 1 {
		t.Errorf("boxoffice_jobs_dead{kind=%q} = %v, want 1", kind, got)
	}
	if got := gaugeOf(t, reg, "boxoffice_jobs_failing", forever); got != 1 {
		t.Errorf("boxoffice_jobs_failing{kind=%q} = %v, want 1", forever, got)
	}

	// Retried after the cause is fixed: it runs once more and is done.
	broken.Store(false)
	before := runs.Load()
	info, err := r.Retry(ctx, dead[0].ID)
	if err != nil || info.State != jobs.StatePending && info.State != jobs.StateFailing {
		t.Fatalf("Retry = %+v, %v", info, err)
	}
	if _, err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load() - before; n != 1 {
		t.Errorf("retried job ran %d times, want 1", n)
	}
	if done, _ := r.List(ctx, jobs.StateDone, kind, 10); len(done) != 1 {
		t.Errorf("done jobs after retry = %+v", done)
	}
	if _, err := r.Retry(ctx, dead[0].ID); !errors.Is(err, jobs.ErrJobDone) {
		t.Errorf("retry of a done job: %v", err)
	}
	if _, err := r.Retry(ctx, -1); !errors.Is(err, jobs.ErrJobNotFound) {
		t.Errorf("retry of no job: %v", err)
	}
	if got := gaugeOf(t, reg, "boxoffice_jobs_dead", kind); got != 0 {
		t.Errorf("boxoffice_jobs_dead{kind=%q} after retry = %v, want 0", kind, got)
	}
}

// gaugeOf returns a registry's value of a gauge for a kind (-1: none).
func gaugeOf(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// TestQueuedJobsCounted: jobs due and not yet run are the queued backlog,
// in Trouble and in boxoffice_jobs_queued; a job due later is not, and a
// drain empties the backlog.
func TestQueuedJobsCounted(t *testing.T) {
	db := testkit.DB(t)
	ctx := context.Background()
	kind := "test.queued." + testkit.RandomHex(3)
	for i := range 3 {
		if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: kind, Payload: map[string]int{"n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: kind, Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	r := jobs.NewRunner(db, nil, jobs.Config{Workers: 2, PollInterval: 10 * time.Millisecond})
	r.Register(kind, func(context.Context, json.RawMessage) error { return nil })
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	if got := gaugeOf(t, reg, "boxoffice_jobs_queued", kind); got != 3 {
		t.Errorf("boxoffice_jobs_queued{kind=%q} = %v, want 3 (the fourth is due in an hour)", kind, got)
	}
	if c, err := r.Trouble(ctx); err != nil || c.Queued[kind] != 3 {
		t.Errorf("Trouble().Queued[%q] = %v, %v; want 3", kind, c.Queued[kind], err)
	}
	if _, err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := gaugeOf(t, reg, "boxoffice_jobs_queued", kind); got != 0 {
		t.Errorf("boxoffice_jobs_queued{kind=%q} after a drain = %v, want 0", kind, got)
	}
}
