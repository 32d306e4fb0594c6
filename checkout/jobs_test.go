package checkout_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wneessen/go-mail"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
)

// txWatch records, at each SMTP or provider call, any session of the
// database that is inside a transaction: no job may hold one open across
// such a call (a slow server would pin a connection and row locks).
type txWatch struct {
	db    *pgxpool.Pool
	mu    sync.Mutex
	calls map[string]int
	bad   []string
}

func (w *txWatch) check(ctx context.Context, call string) {
	var n int
	err := w.db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`).Scan(&n)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[call]++
	if err != nil || n > 0 {
		w.bad = append(w.bad, fmt.Sprintf("%s: %d sessions in a transaction (%v)", call, n, err))
	}
}

func (w *txWatch) Send(ctx context.Context, _ *mail.Msg) error { w.check(ctx, "smtp"); return nil }

// watchedProcessor is the test processor with every call checked.
type watchedProcessor struct {
	*checkout.TestProcessor
	w *txWatch
}

func (p watchedProcessor) Get(ctx context.Context, id string) (checkout.Intent, error) {
	p.w.check(ctx, "get")
	return p.TestProcessor.Get(ctx, id)
}

func (p watchedProcessor) Capture(ctx context.Context, id, key string) (checkout.Intent, error) {
	p.w.check(ctx, "capture")
	return p.TestProcessor.Capture(ctx, id, key)
}

func (p watchedProcessor) Cancel(ctx context.Context, id, key string) (checkout.Intent, error) {
	p.w.check(ctx, "cancel")
	return p.TestProcessor.Cancel(ctx, id, key)
}

func (p watchedProcessor) Refund(ctx context.Context, id string, amount int64, key string) error {
	p.w.check(ctx, "refund")
	return p.TestProcessor.Refund(ctx, id, amount, key)
}

// TestJobHandlersHoldNoTransaction runs every checkout job that calls out
// (confirmation email, capture, refund) through the real runner and checks
// that no database transaction is open during any SMTP or provider call.
func TestJobHandlersHoldNoTransaction(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	w := &txWatch{db: f.db, calls: map[string]int{}}
	svc := checkout.New(f.db, f.seats, watchedProcessor{f.proc, w}, w, nil, checkout.Config{SecretKey: testKey})
	for i := range 2 {
		acct := f.account("fan")
		p := f.checkout(acct, f.hold(acct, i).ID)
		if i == 1 {
			f.proc.Inject("capture", checkout.FaultTimeout) // left for the capture job
		}
		must(svc.Confirm(ctx, acct, p.ID, visa()))(t)
	}
	run := func() {
		t.Helper()
		if _, err := f.db.Exec(ctx, `UPDATE jobs SET run_at = now() WHERE done_at IS NULL`); err != nil {
			t.Fatal(err)
		}
		r := jobs.NewRunner(f.db, nil, jobs.Config{})
		svc.RegisterJobs(r)
		if _, err := r.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	must(svc.CancelEvent(ctx, f.event, checkout.CancelOptions{}))(t)
	run()
	for _, call := range []string{"smtp", "capture", "refund"} {
		if w.calls[call] == 0 {
			t.Errorf("no %s call was made: the test does not cover it", call)
		}
	}
	for _, b := range w.bad {
		t.Error(b)
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE event_id = $1 AND status = 'refunded'`, f.event); n != 2 {
		t.Errorf("%d orders refunded, want 2", n)
	}
}
