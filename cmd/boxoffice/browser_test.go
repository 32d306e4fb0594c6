package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

// TestBrowser starts the real app with the demo stadium and runs the browser
// tests in web/test (node's test runner driving Debian's Chromium through
// playwright-core). Without node, Chromium or `npm ci` in web/ it is skipped
// locally and fails in CI, like the other real peers.
func TestBrowser(t *testing.T) {
	webDir, _ := filepath.Abs("../../web")
	need := map[string]string{
		"node":            "",
		"chromium":        "/usr/bin/chromium",
		"playwright-core": filepath.Join(webDir, "node_modules", "playwright-core", "package.json"),
	}
	for what, path := range need {
		var err error
		if path == "" {
			_, err = exec.LookPath(what)
		} else {
			_, err = os.Stat(path)
		}
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("browser tests need %s (make test installs it): %v", what, err)
			}
			t.Skipf("browser tests need %s: %v", what, err)
		}
	}
	env := map[string]string{
		"DATABASE_URL": testkit.DBURL(t), "REDIS_URL": testkit.RedisURL(), "LISTEN_ADDR": "127.0.0.1:0",
		"REDIS_PREFIX": "t" + testkit.RandomHex(4) + ":", "LOG_LEVEL": "warn",
		"SECRET_KEY": strings.Repeat("cd", 32),
	}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	if code := run(ctx, []string{"seed", "demo"}, getenv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("seed demo: exit %d", code)
	}
	cfg, err := loadConfig(getenv, 2)
	if err != nil {
		t.Fatal(err)
	}
	app := &App{Config: cfg, Log: newLogger(io.Discard, cfg.LogLevel)}
	if err := app.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := app.Run(ctx); err != nil {
		t.Fatal(err)
	}
	base := "http://" + app.Addr()
	res, err := http.Get(base + "/api/events?status=on_sale")
	if err != nil {
		t.Fatal(err)
	}
	var events []struct{ ID string }
	err = json.NewDecoder(res.Body).Decode(&events)
	res.Body.Close()
	if err != nil || len(events) == 0 {
		t.Fatalf("no on-sale demo event: %v", err)
	}
	// An admin for the dashboard test (web/test/admin.test.mjs).
	adminEmail, adminPassword := "admin-"+testkit.RandomHex(4)+"@example.test", "browser-admin-1"
	if _, _, err := app.Accounts.SignUp(ctx, adminEmail, adminPassword, "Browser Admin"); err != nil {
		t.Fatal(err)
	}
	if err := app.Accounts.Grant(ctx, adminEmail, "admin"); err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	if dir := os.Getenv("BOXOFFICE_ARTIFACTS"); dir != "" {
		artifacts = dir
	}
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "--test-concurrency=1", "test/")
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(), "BOXOFFICE_URL="+base, "BOXOFFICE_EVENT="+events[0].ID, "BOXOFFICE_ARTIFACTS="+artifacts,
		"BOXOFFICE_ADMIN_EMAIL="+adminEmail, "BOXOFFICE_ADMIN_PASSWORD="+adminPassword)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "METRIC ") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if err != nil {
		t.Fatalf("browser tests failed (screenshots in %s):\n%s", artifacts, out.String())
	}
	t.Logf("browser tests passed; screenshots in %s", artifacts)
}
