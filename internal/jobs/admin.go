package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// States of a job as admins see it (List).
const (
	// StatePending: not run yet, or running for the first time.
	StatePending = "pending"
	// StateFailing: failed at least once and will be retried.
	StateFailing = "failing"
	// StateDead: out of attempts; runs again only if an admin retries it.
	StateDead = "dead"
	// StateDone: ran successfully.
	StateDone = "done"
)

// Errors of the admin side.
var (
	ErrJobNotFound = apperr.E(apperr.NotFound, "job_not_found", "no such job")
	ErrJobDone     = apperr.E(apperr.Conflict, "job_done", "this job already ran successfully")
	ErrBadState    = apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").
			With("fields", map[string]string{"status": "must be one of pending, failing, dead, done"})
)

// Info is a job as an admin sees it.
type Info struct {
	ID        int64           `json:"id"`
	Kind      string          `json:"kind"`
	State     string          `json:"status"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"last_error,omitempty"`
	Payload   json.RawMessage `json:"payload"`
	RunAt     time.Time       `json:"run_at"`
	CreatedAt time.Time       `json:"created_at"`
	DoneAt    *time.Time      `json:"done_at,omitempty"`
}

// stateSQL derives a job's state from its columns.
const stateSQL = `CASE WHEN done_at IS NOT NULL THEN 'done' WHEN dead THEN 'dead'
	WHEN last_error IS NOT NULL THEN 'failing' ELSE 'pending' END`

// List returns up to limit jobs in a state (StateDead, ...), newest first;
// an empty kind means every kind.
func (r *Runner) List(ctx context.Context, state, kind string, limit int) ([]Info, error) {
	where := map[string]string{
		StateDead:    `done_at IS NULL AND dead`,
		StateFailing: `done_at IS NULL AND NOT dead AND last_error IS NOT NULL`,
		StatePending: `done_at IS NULL AND NOT dead AND last_error IS NULL`,
		StateDone:    `done_at IS NOT NULL`,
	}[state]
	if where == "" {
		return nil, ErrBadState
	}
	rows, err := r.db.Query(ctx, `
		SELECT id, kind, `+stateSQL+`, attempts, coalesce(last_error, ''), payload, run_at, created_at, done_at
		FROM jobs WHERE `+where+` AND ($1 = '' OR kind = $1) ORDER BY id DESC LIMIT $2`, kind, limit)
	if err != nil {
		return nil, fmt.Errorf("jobs: list %s: %w", state, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Info, error) {
		var j Info
		err := row.Scan(&j.ID, &j.Kind, &j.State, &j.Attempts, &j.LastError, &j.Payload, &j.RunAt, &j.CreatedAt, &j.DoneAt)
		return j, err
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: list %s: %w", state, err)
	}
	if out == nil {
		out = []Info{}
	}
	return out, nil
}

// Retry makes a dead or failing job due now and returns it. A dead job
// gets one more attempt (it dies again if that fails); a job of a
// RetryForever kind simply runs now. A job that is done is ErrJobDone.
func (r *Runner) Retry(ctx context.Context, id int64) (Info, error) {
	var j Info
	err := r.db.QueryRow(ctx, `
		UPDATE jobs SET dead = false, run_at = now(), attempts = CASE WHEN dead THEN attempts - 1 ELSE attempts END
		WHERE id = $1 AND done_at IS NULL
		RETURNING id, kind, `+stateSQL+`, attempts, coalesce(last_error, ''), payload, run_at, created_at, done_at`, id).
		Scan(&j.ID, &j.Kind, &j.State, &j.Attempts, &j.LastError, &j.Payload, &j.RunAt, &j.CreatedAt, &j.DoneAt)
	if errors.Is(err, pgx.ErrNoRows) {
		var done bool
		if err := r.db.QueryRow(ctx, `SELECT done_at IS NOT NULL FROM jobs WHERE id = $1`, id).Scan(&done); err == nil && done {
			return Info{}, ErrJobDone
		}
		return Info{}, ErrJobNotFound
	}
	if err != nil {
		return Info{}, fmt.Errorf("jobs: retry %d: %w", id, err)
	}
	r.log.Info("jobs: job retried by an admin", "id", id, "kind", j.Kind)
	return j, nil
}

// Counts are the jobs not done, by kind: those that need attention (dead,
// failing) and the backlog (queued: due now, waiting for a worker).
type Counts struct {
	Dead    map[string]int `json:"dead"`
	Failing map[string]int `json:"failing"`
	Queued  map[string]int `json:"queued"`
}

// Trouble counts the dead, failing and queued jobs per kind. It reads the
// jobs not done (jobs_due_idx), a short list unless the workers fall behind,
// which is what the queued count is there to show.
func (r *Runner) Trouble(ctx context.Context) (Counts, error) {
	c := Counts{Dead: map[string]int{}, Failing: map[string]int{}, Queued: map[string]int{}}
	rows, err := r.db.Query(ctx, `
		SELECT kind, count(*) FILTER (WHERE dead),
		       count(*) FILTER (WHERE NOT dead AND last_error IS NOT NULL),
		       count(*) FILTER (WHERE NOT dead AND run_at <= now())
		FROM jobs WHERE done_at IS NULL GROUP BY kind`)
	if err != nil {
		return c, fmt.Errorf("jobs: count trouble: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var dead, failing, queued int
		if err := rows.Scan(&kind, &dead, &failing, &queued); err != nil {
			return c, fmt.Errorf("jobs: count trouble: %w", err)
		}
		if dead > 0 {
			c.Dead[kind] = dead
		}
		if failing > 0 {
			c.Failing[kind] = failing
		}
		if queued > 0 {
			c.Queued[kind] = queued
		}
	}
	return c, rows.Err()
}

// Collector exports Trouble as Prometheus gauges, read from Postgres at
// each scrape (one indexed query): boxoffice_jobs_dead,
// boxoffice_jobs_failing and boxoffice_jobs_queued, by kind; and this node's boxoffice_jobs_running
// and boxoffice_job_runs_total{outcome}. Alert on any dead job, and on a failing
// refund that stays failing.
func (r *Runner) Collector() prometheus.Collector { return collector{r} }

var (
	deadDesc    = prometheus.NewDesc("boxoffice_jobs_dead", "Outbox jobs out of attempts, waiting for an admin to retry them.", []string{"kind"}, nil)
	failingDesc = prometheus.NewDesc("boxoffice_jobs_failing", "Outbox jobs that failed at least once and will be retried.", []string{"kind"}, nil)
	queuedDesc  = prometheus.NewDesc("boxoffice_jobs_queued", "Outbox jobs due now and waiting for a worker (the backlog).", []string{"kind"}, nil)
)

type collector struct{ r *Runner }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- deadDesc
	ch <- failingDesc
	ch <- queuedDesc
	ch <- descRunning
	ch <- descRuns
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	c.r.counts.collect(ch, c.r.kinds())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.r.Trouble(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(deadDesc, err)
		return
	}
	// Every registered kind has both series, zero included, so an alert
	// on them needs no "absent" clause.
	kinds := c.r.kinds()
	for k := range counts.Dead {
		kinds = append(kinds, k)
	}
	for k := range counts.Failing {
		kinds = append(kinds, k)
	}
	for k := range counts.Queued {
		kinds = append(kinds, k)
	}
	seen := map[string]bool{}
	for _, kind := range kinds {
		if seen[kind] {
			continue
		}
		seen[kind] = true
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(counts.Dead[kind]), kind)
		ch <- prometheus.MustNewConstMetric(failingDesc, prometheus.GaugeValue, float64(counts.Failing[kind]), kind)
		ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(counts.Queued[kind]), kind)
	}
}
