package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needNode skips without node locally and fails in CI, like the other peers.
func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the k6 scenario check needs node: %v", err)
		}
		t.Skipf("the k6 scenario check needs node: %v", err)
	}
}

// k6Summary is the part of the data k6 hands to handleSummary that the
// test reads (the scripts write it to SUMMARY_JSON).
type k6Summary struct {
	Metrics map[string]struct {
		Values     map[string]float64           `json:"values"`
		Thresholds map[string]struct{ OK bool } `json:"thresholds"`
	} `json:"metrics"`
}

func (s k6Summary) count(name string) float64 { return s.Metrics[name].Values["count"] }

// k6Run runs one k6 entry file unchanged under the Node harness
// (loadtest/k6/harness/run.mjs) against base with the given -e variables
// and returns its summary. Latency thresholds may be crossed on a loaded
// machine (exit 99): that is logged, not failed; every other threshold,
// an iteration that threw and any other exit status fail the test. It
// only calls t.Errorf and t.Logf, so it may run in a goroutine.
func k6Run(t *testing.T, ctx context.Context, script, base, event string, env ...string) (k6Summary, error) {
	t.Helper()
	k6Dir, _ := filepath.Abs("../../loadtest/k6")
	summaryFile := filepath.Join(t.TempDir(), "summary.json")
	args := []string{filepath.Join(k6Dir, "harness", "run.mjs"),
		"-e", "BASE_URL=" + base, "-e", "EVENT=" + event, "-e", "SUMMARY_JSON=" + summaryFile}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	cmd := exec.CommandContext(ctx, "node", append(args, filepath.Join(k6Dir, script))...)
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s in %v:\n%s", script, time.Since(start).Round(time.Millisecond), out.String())
	code := cmd.ProcessState.ExitCode()
	if err != nil && code != 99 {
		return k6Summary{}, fmt.Errorf("harness %s: %w", script, err)
	}
	var s k6Summary
	b, err := os.ReadFile(summaryFile)
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		return s, fmt.Errorf("%s summary: %w", script, err)
	}
	for name, m := range s.Metrics {
		for expr, th := range m.Thresholds {
			if th.OK {
				continue
			}
			latency := strings.HasPrefix(name, "http_req_duration") || name == "ws_connecting"
			if !latency {
				t.Errorf("%s: threshold %s %s crossed", script, name, expr)
			} else {
				t.Logf("%s: latency threshold %s %s crossed (a loaded test machine; not a failure here)", script, name, expr)
			}
		}
	}
	return s, nil
}

// TestLoadScenarios runs the k6 entry files (loadtest/k6) unchanged under
// the Node harness against the real app, with short stages through -e:
// a watcher follows the seat map while fans arrive at a ramping rate, go
// through the waiting room when it is on, hold, check out and pay (every
// fourth with the declining card), and a browse run loads the catalog;
// then `boxoffice check`, which the scripts' summary names, must find the
// event's hard rule kept.
// The harness enforces k6's rules (metrics and SharedArray at init,
// synchronous HTTP, thresholds) and fails when an iteration throws. The
// routes the scripts call must exist in /api/openapi.json. k6 itself is
// not installable here; loadtest/k6/README.md lists what differs.
func TestLoadScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node against the app")
	}
	needNode(t)
	getenv, app, base := testApp(t)

	t.Run("routes", func(t *testing.T) {
		k6Dir, _ := filepath.Abs("../../loadtest/k6")
		out, err := exec.Command("node", "--input-type=module", "-e",
			fmt.Sprintf("import { ROUTES } from %q; console.log(JSON.stringify(ROUTES));", filepath.Join(k6Dir, "lib", "routes.js"))).CombinedOutput()
		if err != nil {
			t.Fatalf("routes.js: %v\n%s", err, out)
		}
		var routes map[string][2]string
		if err := json.Unmarshal(out, &routes); err != nil {
			t.Fatalf("routes.js: %v\n%s", err, out)
		}
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		res, err := http.Get(base + "/api/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
			t.Fatalf("/api/openapi.json: %v", err)
		}
		for name, r := range routes {
			if _, ok := doc.Paths[r[1]][strings.ToLower(r[0])]; !ok {
				t.Errorf("route %s %s %s is not in /api/openapi.json", name, r[0], r[1])
			}
		}
	})

	tokens := filepath.Join(t.TempDir(), "fans.tokens")
	if code := run(context.Background(), []string{"seed", "fans", "40", "-tokens", tokens}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("seed fans: exit %d", code)
	}
	for _, tc := range []struct{ name, room string }{
		{"open sale", `{"enabled": false}`},
		{"waiting room", `{"enabled": true, "admit_per_minute": 3000, "active_limit": 500, "pow_difficulty": 8}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			event := smallEvent(t, app.Seats, "k6 scenarios "+tc.name, 2, 3, 10, tc.room)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var watch k6Summary
			watchErr := make(chan error, 1)
			go func() {
				var err error
				watch, err = k6Run(t, ctx, "watchers.js", base, event, "VUS=1", "DURATION=12s", "WATCH_SECONDS=12")
				watchErr <- err
			}()
			// About seven fans over four seconds; FAN_SECONDS=8 gives 16
			// VUs (32 at most) by Little's law: generous, since under
			// make test's load a VU short drops an iteration, which the
			// script's dropped_iterations threshold fails.
			sale, err := k6Run(t, ctx, "flash_sale.js", base, event, "TOKENS="+tokens, "RATE=2", "RAMP=1s", "PEAK=2s", "DOWN=1s",
				"THINK=0.2", "DECLINE=0.25", "FAN_SECONDS=8", "QUEUE_SECONDS=30")
			if werr := <-watchErr; werr != nil || err != nil {
				t.Fatalf("watchers: %v; flash sale: %v", werr, err)
			}
			fans := sale.count("iterations")
			orders, declines := sale.count("orders"), sale.count("declines")
			t.Logf("fans %v, orders %v, declines %v, seat frames %v", fans, orders, declines, watch.count("seat_frames"))
			if fans < 4 || orders < 1 || declines < 1 {
				t.Errorf("fans %v, orders %v, declines %v: want at least 4 fans, an order and a decline", fans, orders, declines)
			}
			if got := orders + declines + sale.count("holds_lost"); got != fans {
				t.Errorf("orders + declines + holds lost = %v, want every fan (%v)", got, fans)
			}
			if n := sale.count("dropped_iterations") + sale.count("fan_errors") + watch.count("fan_errors"); n != 0 {
				t.Errorf("dropped iterations and fan errors: %v, want 0", n)
			}
			if watch.count("seat_frames") == 0 {
				t.Error("the watcher saw no seat frame during the sale")
			}
			// What the summary says to run afterwards.
			var check bytes.Buffer
			if code := run(ctx, []string{"check", "-event", event}, getenv, &check, &check); code != 0 || !strings.Contains(check.String(), "invariants OK") {
				t.Errorf("boxoffice check -event %s: exit %d\n%s", event, code, check.String())
			}
			t.Log(strings.TrimSpace(check.String()))
			if tc.room == `{"enabled": false}` {
				// VISIT_SECONDS sizes the VUs (Little's law): generous, since
				// a visit under make test's load took up to 6 s and a VU
				// short drops an iteration, which the script's threshold fails.
				browse, err := k6Run(t, ctx, "browse.js", base, event, "RATE=4", "DURATION=2s", "VISIT_SECONDS=8")
				if err != nil {
					t.Fatal(err)
				}
				if browse.count("iterations") < 4 || browse.Metrics["checks"].Values["fails"] != 0 {
					t.Errorf("browse: %v visits, %v failed checks", browse.count("iterations"), browse.Metrics["checks"].Values["fails"])
				}
			}
		})
	}
}
