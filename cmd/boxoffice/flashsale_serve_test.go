package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

// TestFlashSaleServe: `flashsale -serve -nodes 2` starts two app nodes in
// its own process on one database and one Redis (from the environment,
// with the default rate limits, which -serve turns off for its nodes) and
// sells a small event over both: every invariant holds, both nodes answer
// requests and reach Postgres, and both carry watchers' sockets.
func TestFlashSaleServe(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	env := map[string]string{
		"DATABASE_URL": testkit.DBURL(t), "REDIS_URL": testkit.RedisURL(),
		"REDIS_PREFIX": "t" + testkit.RandomHex(4) + ":", "LOG_LEVEL": "error",
		"SECRET_KEY": strings.Repeat("cd", 32), "DB_MAX_CONNS": "12", "REVIEW_SIGNALS": "off",
	}
	getenv := func(k string) string { return env[k] }
	setup, err := openMigrated(context.Background(), getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	event := smallEvent(t, setup.Seats, "flash sale served", 2, 4, 10, `{"enabled": false}`)
	setup.Close()
	tokens := filepath.Join(t.TempDir(), "fans.tokens")
	if code := run(context.Background(), []string{"seed", "fans", "60", "-tokens", tokens}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("seed fans: exit %d", code)
	}
	rep, out := flashsale(t, getenv, "-serve", "-nodes", "2", "-event", event, "-fans", "60", "-tokens", tokens,
		"-watchers", "4", "-measuring-watchers", "2", "-duration", "20s", "-concurrency", "16")
	checkReport(t, rep)
	if len(rep.Served) != 2 {
		t.Fatalf("served nodes %+v, want 2", rep.Served)
	}
	for _, n := range rep.Served {
		if n.Requests == 0 || n.PostgresAcquires == 0 || n.PeakSockets == 0 {
			t.Errorf("node %+v: want requests, Postgres round trips and sockets on each node", n)
		}
	}
	if rep.ProcessCPUSeconds <= 0 || !strings.Contains(out, "per seat bought") {
		t.Errorf("no CPU figure in the summary:\n%s", out)
	}
}
