package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
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

// TestLoadScenarios runs the k6 scenarios' logic (loadtest/k6/lib) under
// Node against the real app, for a few fans and a watcher, through
// loadtest/k6/node/run.mjs: every route they call must be in
// /api/openapi.json, the fans must buy (one declines), the watcher must see
// frames. It also checks that the k6 entry files parse; k6 itself is not
// installable here. It runs once with the waiting room off and once on.
func TestLoadScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node against the app")
	}
	needNode(t)
	k6Dir, _ := filepath.Abs("../../loadtest/k6")
	for _, f := range []string{"flash_sale.js", "watchers.js", "browse.js", "lib/scenarios.js", "lib/client_k6.js",
		"lib/routes.js", "lib/pow.js", "node/run.mjs", "node/client.mjs"} {
		if out, err := exec.Command("node", "--check", filepath.Join(k6Dir, f)).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", f, err, out)
		}
	}
	_, app, base := testApp(t)
	for _, tc := range []struct{ name, room string }{
		{"open sale", `{"enabled": false}`},
		{"waiting room", `{"enabled": true, "admit_per_minute": 3000, "active_limit": 500, "pow_difficulty": 8}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			event := smallEvent(t, app.Seats, "k6 scenarios "+tc.name, 2, 3, 10, tc.room)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", "--experimental-websocket", filepath.Join(k6Dir, "node", "run.mjs"))
			cmd.Env = append(os.Environ(), "BASE_URL="+base, "EVENT="+event, "FANS=6", "NODE_NO_WARNINGS=1")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("node run.mjs: %v\n%s", err, out.String())
			}
			t.Logf("run.mjs in %v: %s", time.Since(start).Round(time.Millisecond), bytes.TrimSpace(out.Bytes()))
		})
	}
}
