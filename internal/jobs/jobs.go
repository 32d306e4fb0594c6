// Package jobs is the outbox: durable side effects (emails, captures,
// refunds, scheduled releases) written as rows of the jobs table in the same
// transaction as the state change that calls for them, then worked by any
// number of workers on any number of nodes.
//
// Concurrency: a worker claims one due job (FOR UPDATE SKIP LOCKED) by
// moving its run_at to the end of a lease (Timeout plus a margin) and
// commits at once: the handler runs outside any transaction, so a slow SMTP
// server or payment provider never holds a row lock or a connection in a
// transaction. No other worker takes the job before the lease ends (the
// handler is cancelled at Timeout); a worker that dies leaves it to be
// claimed again when the lease ends. The result is recorded only by the
// worker whose lease it still is. Delivery is at least once: a handler must
// be idempotent (check whether its effect is already done before doing it
// again).
//
// A failed job is retried with exponential backoff until MaxAttempts, then
// marked dead: listed for admins (List), counted (Collector) and retried on
// request (Retry). A kind registered with RetryForever (refunds) never
// dies: past MaxAttempts it keeps being retried every MaxBackoff and shows
// as failing until it succeeds or an admin acts.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/boxoffice/boxoffice/internal/pg"
)

// Handler runs one job with its payload. It must be idempotent; an error
// schedules a retry.
type Handler func(ctx context.Context, payload json.RawMessage) error

// Config tunes a Runner. Zero fields take the defaults named.
type Config struct {
	// Workers is how many jobs run at once on this node (default 2).
	Workers int
	// PollInterval is how long an idle worker waits before looking again
	// (default 500 ms).
	PollInterval time.Duration
	// MaxAttempts is how many failures a job may have before it is marked
	// dead (default 12).
	MaxAttempts int
	// BaseBackoff is the delay after the first failure; each further
	// failure doubles it up to MaxBackoff (defaults 1 s and 10 min).
	BaseBackoff, MaxBackoff time.Duration
	// Timeout bounds one run of a handler (default 1 min).
	Timeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.PollInterval == 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 12
	}
	if c.BaseBackoff == 0 {
		c.BaseBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 10 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = time.Minute
	}
}

// Job is a job to enqueue. DedupeKey, when set, makes enqueueing idempotent:
// a second job with the same key is not added. Delay postpones the first run;
// At, when set, is the first run's time instead (scheduled work an admin
// named a time for).
type Job struct {
	Kind      string
	DedupeKey string
	Payload   any
	Delay     time.Duration
	At        time.Time
}

// Enqueue adds a job inside the caller's transaction (or on any Querier), so
// the job exists if and only if the state change that calls for it commits.
// It reports whether a new row was added (false: the dedupe key existed).
func Enqueue(ctx context.Context, q pg.Querier, j Job) (bool, error) {
	sql, args, err := j.insert()
	if err != nil {
		return false, err
	}
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return false, fmt.Errorf("jobs: enqueue %s: %w", j.Kind, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Queue adds the job's insert to a batch the caller sends inside its
// transaction: Enqueue without a round trip of its own.
func Queue(b *pgx.Batch, j Job) error {
	sql, args, err := j.insert()
	if err != nil {
		return err
	}
	b.Queue(sql, args...)
	return nil
}

// insert is the statement that adds j (nothing when its dedupe key exists).
func (j Job) insert() (string, []any, error) {
	payload, err := json.Marshal(j.Payload)
	if err != nil {
		return "", nil, fmt.Errorf("jobs: encode %s payload: %w", j.Kind, err)
	}
	var key *string
	if j.DedupeKey != "" {
		key = &j.DedupeKey
	}
	var at *time.Time
	if !j.At.IsZero() {
		at = &j.At
	}
	return `
		INSERT INTO jobs (kind, dedupe_key, payload, run_at)
		VALUES ($1, $2, $3, coalesce($5, now() + make_interval(secs => $4)))
		ON CONFLICT (dedupe_key) DO NOTHING`, []any{j.Kind, key, payload, j.Delay.Seconds(), at}, nil
}

// Runner works the jobs table with registered handlers.
type Runner struct {
	db  *pgxpool.Pool
	log *slog.Logger
	cfg Config

	mu       sync.RWMutex
	handlers map[string]Handler
	forever  map[string]bool // kinds that never die

	counts jobCounts // this node's running jobs and runs, for Collector
}

// NewRunner returns a Runner; register handlers before Run.
func NewRunner(db *pgxpool.Pool, log *slog.Logger, cfg Config) *Runner {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{db: db, log: log, cfg: cfg, handlers: make(map[string]Handler), forever: make(map[string]bool),
		counts: jobCounts{running: make(map[string]int), runs: make(map[[2]string]int64)}}
}

// Option changes how a kind of job is run.
type Option func(r *Runner, kind string)

// RetryForever keeps a kind's jobs from ever dying: past MaxAttempts they
// are retried every MaxBackoff until they succeed or an admin acts. For
// work that must happen whatever it takes, such as giving money back.
func RetryForever(r *Runner, kind string) { r.forever[kind] = true }

// Register sets the handler of a kind of job.
func (r *Runner) Register(kind string, h Handler, opts ...Option) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[kind] = h
	for _, o := range opts {
		o(r, kind)
	}
}

// kinds lists the registered kinds: a worker only claims jobs it can run, so
// nodes of different versions can share the table.
func (r *Runner) kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		out = append(out, k)
	}
	return out
}

// Run starts Workers workers and returns when ctx ends and they stopped.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	wg.Wait()
}

func (r *Runner) work(ctx context.Context) {
	for ctx.Err() == nil {
		ran, err := r.RunOne(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Error("jobs: claim failed", "err", err)
		}
		if ran {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.cfg.PollInterval):
		}
	}
}

// ErrNoHandler is recorded on a claimed job whose kind lost its handler.
var ErrNoHandler = errors.New("jobs: no handler")

// leaseMargin is added to Timeout for a claim's lease: the time the
// handler gets plus time to record its result.
const leaseMargin = 30 * time.Second

// RunOne claims one due job, runs it and records the result. It reports
// whether a job was run; handler failures are recorded on the job, not
// returned.
func (r *Runner) RunOne(ctx context.Context) (bool, error) {
	kinds := r.kinds()
	if len(kinds) == 0 {
		return false, nil
	}
	var id int64
	var kind string
	var payload json.RawMessage
	var attempts int
	var lease time.Time
	// The claim is its own short transaction: it moves run_at to the end
	// of the lease (no other worker sees the job as due until then) and
	// counts the attempt, so a job that kills its worker still dies in the
	// end. run_at is then the lease's token.
	err := r.db.QueryRow(ctx, `
		UPDATE jobs SET run_at = now() + make_interval(secs => $2), attempts = attempts + 1
		WHERE id = (SELECT id FROM jobs
		            WHERE done_at IS NULL AND NOT dead AND run_at <= now() AND kind = ANY($1)
		            ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, payload, attempts, run_at`, kinds, (r.cfg.Timeout+leaseMargin).Seconds()).
		Scan(&id, &kind, &payload, &attempts, &lease)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("jobs: claim: %w", err)
	}
	r.mu.RLock()
	h := r.handlers[kind]
	forever := r.forever[kind]
	r.mu.RUnlock()
	runErr := ErrNoHandler
	r.counts.start(kind)
	if h != nil {
		runErr = r.call(ctx, h, payload)
	}
	outcome := "done"
	ctx = context.WithoutCancel(ctx)
	var tag interface{ RowsAffected() int64 }
	if runErr == nil {
		tag, err = r.db.Exec(ctx, `UPDATE jobs SET done_at = now(), last_error = NULL WHERE id = $1 AND run_at = $2`, id, lease)
	} else {
		dead := attempts >= r.cfg.MaxAttempts && !forever
		outcome = "failed"
		if dead {
			outcome = "dead"
		}
		r.log.Warn("jobs: job failed", "id", id, "kind", kind, "attempt", attempts, "dead", dead, "err", runErr)
		if dead {
			r.log.Error("jobs: job dead: an admin must retry it (GET /api/admin/jobs?status=dead)", "id", id, "kind", kind, "err", runErr)
		}
		tag, err = r.db.Exec(ctx, `
			UPDATE jobs SET last_error = $3, dead = $4, run_at = now() + make_interval(secs => $5)
			WHERE id = $1 AND run_at = $2`, id, lease, runErr.Error(), dead, r.Backoff(attempts).Seconds())
	}
	r.counts.finish(kind, outcome)
	if err != nil {
		return true, fmt.Errorf("jobs: record job %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		// The lease ended (the handler outlived it) or an admin retried the
		// job meanwhile: the result belongs to whoever runs it now.
		r.log.Warn("jobs: result of a job whose lease ended was dropped", "id", id, "kind", kind)
	}
	return true, nil
}

// call runs h with a timeout, turning a panic into an error so one bad job
// cannot stop a worker.
func (r *Runner) call(ctx context.Context, h Handler, payload json.RawMessage) (err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("jobs: handler panicked: %v", p)
		}
	}()
	return h(ctx, payload)
}

// Backoff is the delay before the next run after the given number of
// failures: BaseBackoff doubled per failure, at most MaxBackoff.
func (r *Runner) Backoff(failures int) time.Duration {
	d := r.cfg.BaseBackoff
	for i := 1; i < failures && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.cfg.MaxBackoff)
}

// Drain runs due jobs until none is left (or ctx ends), for tests and
// one-shot commands; it returns how many ran.
func (r *Runner) Drain(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		ran, err := r.RunOne(ctx)
		if err != nil {
			return n, err
		}
		if !ran {
			return n, nil
		}
		n++
	}
	return n, ctx.Err()
}
