package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

// TestCollectorRuns: the collector reports this runner's finished runs by
// outcome and its running jobs.
func TestCollectorRuns(t *testing.T) {
	db := testkit.DB(t)
	ctx := context.Background()
	kind := "test.metrics." + testkit.RandomHex(3)
	r := jobs.NewRunner(db, nil, jobs.Config{MaxAttempts: 2})
	r.Register(kind, func(ctx context.Context, p json.RawMessage) error {
		if string(p) == `"fail"` {
			return errors.New("boom")
		}
		return nil
	})
	for _, p := range []string{"ok", "fail", "fail2"} {
		if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: kind, DedupeKey: kind + p, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	// A queued job that is not due yet.
	if _, err := jobs.Enqueue(ctx, db, jobs.Job{Kind: kind, Payload: "later", Delay: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE jobs SET dead = true, attempts = 2 WHERE dedupe_key = $1`, kind+"fail2"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Drain(ctx); err != nil { // ok runs, fail fails once (retry in 1 s)
		t.Fatal(err)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.Collector())
	want := `
# HELP boxoffice_job_runs_total Job runs on this node by kind and outcome: done, failed (retried later), dead.
# TYPE boxoffice_job_runs_total counter
boxoffice_job_runs_total{kind="KIND",outcome="dead"} 0
boxoffice_job_runs_total{kind="KIND",outcome="done"} 1
boxoffice_job_runs_total{kind="KIND",outcome="failed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(strings.ReplaceAll(want, "KIND", kind)), "boxoffice_job_runs_total"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == "boxoffice_jobs_running" && l.GetValue() == kind && m.GetGauge().GetValue() != 0 {
					t.Errorf("running = %v after Drain, want 0", m.GetGauge().GetValue())
				}
			}
		}
	}
}
