package jobs

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// This node's figures, which Collector adds to the table's (dead, failing).
var (
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

// collect sends the figures, every kind given from zero so rate() has a
// series before the first run.
func (c *jobCounts) collect(ch chan<- prometheus.Metric, kinds []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, kind := range kinds {
		if _, ok := c.running[kind]; !ok {
			c.running[kind] = 0
		}
		for _, outcome := range []string{"done", "failed", "dead"} {
			if _, ok := c.runs[[2]string{kind, outcome}]; !ok {
				c.runs[[2]string{kind, outcome}] = 0
			}
		}
	}
	for kind, n := range c.running {
		ch <- prometheus.MustNewConstMetric(descRunning, prometheus.GaugeValue, float64(n), kind)
	}
	for k, n := range c.runs {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, float64(n), k[0], k[1])
	}
}
