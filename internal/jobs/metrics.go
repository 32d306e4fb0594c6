package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// collectorCache is how long the collector reuses its last count of the
// jobs table: several scrapers (or a scrape every second) cost one query.
const collectorCache = 5 * time.Second

var (
	descJobs = prometheus.NewDesc("boxoffice_jobs",
		"Unfinished jobs in the table by kind and state: queued (never run), failed (failed, will retry), dead (out of attempts). Cluster-wide: every node reports the same figures.",
		[]string{"kind", "state"}, nil)
	descRunning = prometheus.NewDesc("boxoffice_jobs_running",
		"Jobs running on this node now, by kind.", []string{"kind"}, nil)
	descRuns = prometheus.NewDesc("boxoffice_job_runs_total",
		"Job runs on this node by kind and outcome: done, failed (retried later), dead.", []string{"kind", "outcome"}, nil)
)

// jobCounts is the runner's in-process figures, per kind.
type jobCounts struct {
	mu      sync.Mutex
	running map[string]int
	runs    map[[2]string]int64 // kind, outcome
}

func (c *jobCounts) start(kind string) {
	c.mu.Lock()
	c.running[kind]++
	c.mu.Unlock()
}

func (c *jobCounts) finish(kind, outcome string) {
	c.mu.Lock()
	c.running[kind]--
	c.runs[[2]string{kind, outcome}]++
	c.mu.Unlock()
}

// Collector returns a Prometheus collector of the jobs table (counted at
// scrape time, cached for a few seconds) and of this runner's running jobs
// and finished runs. Register it once.
func (r *Runner) Collector() prometheus.Collector { return &collector{r: r} }

type collector struct {
	r *Runner

	mu   sync.Mutex
	at   time.Time
	rows []tableCount
}

type tableCount struct {
	kind, state string
	n           int64
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descJobs
	ch <- descRunning
	ch <- descRuns
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, row := range c.table() {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(row.n), row.kind, row.state)
	}
	// Every registered kind from zero, so rate() has a series before the
	// first run; kinds run here without a handler (ErrNoHandler) too.
	kinds := c.r.kinds()
	cnt := &c.r.counts
	cnt.mu.Lock()
	defer cnt.mu.Unlock()
	for _, kind := range kinds {
		if _, ok := cnt.running[kind]; !ok {
			cnt.running[kind] = 0
		}
		for _, outcome := range []string{"done", "failed", "dead"} {
			if _, ok := cnt.runs[[2]string{kind, outcome}]; !ok {
				cnt.runs[[2]string{kind, outcome}] = 0
			}
		}
	}
	for kind, n := range cnt.running {
		ch <- prometheus.MustNewConstMetric(descRunning, prometheus.GaugeValue, float64(n), kind)
	}
	for k, n := range cnt.runs {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, float64(n), k[0], k[1])
	}
}

// table counts the unfinished jobs (the partial index on run_at covers
// them), or returns the last count when it is recent. A failed count is
// logged and the last one reported.
func (c *collector) table() []tableCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < collectorCache {
		return c.rows
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.r.db.Query(ctx, `
		SELECT kind, CASE WHEN dead THEN 'dead' WHEN attempts > 0 THEN 'failed' ELSE 'queued' END, count(*)
		FROM jobs WHERE done_at IS NULL GROUP BY 1, 2`)
	if err != nil {
		c.r.log.Warn("jobs: count for metrics", "err", err)
		return c.rows
	}
	defer rows.Close()
	// Every registered kind and state is reported, 0 when absent, so a
	// queue that drains shows 0 rather than vanishing.
	seen := map[[2]string]int{}
	var out []tableCount
	for _, kind := range c.r.kinds() {
		for _, state := range []string{"queued", "failed", "dead"} {
			seen[[2]string{kind, state}] = len(out)
			out = append(out, tableCount{kind: kind, state: state})
		}
	}
	for rows.Next() {
		var t tableCount
		if err := rows.Scan(&t.kind, &t.state, &t.n); err != nil {
			c.r.log.Warn("jobs: count for metrics", "err", err)
			return c.rows
		}
		if i, ok := seen[[2]string{t.kind, t.state}]; ok {
			out[i].n = t.n
		} else {
			out = append(out, t)
		}
	}
	if err := rows.Err(); err != nil {
		c.r.log.Warn("jobs: count for metrics", "err", err)
		return c.rows
	}
	c.at, c.rows = time.Now(), out
	return out
}
