package server_test

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

// TestSignOutReachesOtherNode: two server nodes on one Postgres and one
// Redis, each keeping sessions for the production 10 minutes because it
// hears revocations. A fan signed out on node a is refused (401) on node b
// at its next request, as is a fan who signed out everywhere on node a;
// no cache lifetime passes meanwhile. Then both nodes' listening
// connections are cut: each empties its cache on the reconnect, so a
// session deleted behind their backs (no notification) is refused too.
func TestSignOutReachesOtherNode(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	a := newEnv(t, envOpts{rdb: rdb, prefix: prefix})
	b := newEnv(t, envOpts{rdb: rdb, prefix: prefix})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, e := range []*env{a, b} {
		go func() { e.accts.Listen(ctx, slog.New(slog.DiscardHandler)); done <- struct{}{} }()
	}
	t.Cleanup(func() { cancel(); <-done; <-done })
	until(t, "both nodes listening", func() bool { return a.accts.Listening() && b.accts.Listening() })

	_, signedOut := a.signUp("leaver")
	_, everywhere := a.signUp("traveller")
	_, deleted := a.signUp("deleted")
	for _, tok := range []string{signedOut, everywhere, deleted} {
		if r := b.do("GET", "/api/me", tok, nil); r.status != 200 { // now cached on b
			t.Fatalf("me on node b: %d %s", r.status, r.body)
		}
	}
	if r := a.do("DELETE", "/api/sessions", signedOut, nil); r.status/100 != 2 {
		t.Fatalf("sign out on node a: %d %s", r.status, r.body)
	}
	if r := a.do("DELETE", "/api/account/sessions", everywhere, nil); r.status/100 != 2 {
		t.Fatalf("sign out everywhere on node a: %d %s", r.status, r.body)
	}
	for name, tok := range map[string]string{"signed out": signedOut, "signed out everywhere": everywhere} {
		until(t, "node b refusing the session "+name+" on node a", func() bool {
			return b.do("GET", "/api/me", tok, nil).status == 401
		})
	}
	if !b.accts.Listening() {
		t.Fatal("node b stopped listening: the 401 may have come from its short fallback lifetime")
	}

	// This process's listening connections only: other test processes
	// share the database, and their listeners are not ours to cut.
	listeners := func() []int32 {
		mine := ownTCPPorts(t)
		rows, err := a.pool.Query(ctx, `SELECT pid, client_port FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN boxoffice_sessions_revoked' ORDER BY pid`)
		if err != nil {
			t.Fatal(err)
		}
		var pids []int32
		for rows.Next() {
			var pid, port int32
			if err := rows.Scan(&pid, &port); err != nil {
				t.Fatal(err)
			}
			if mine[int(port)] {
				pids = append(pids, pid)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return pids
	}
	cut := listeners()
	if len(cut) != 2 {
		t.Fatalf("this process's listening backends %v, want one per node", cut)
	}
	if _, err := a.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid`, cut); err != nil {
		t.Fatal(err)
	}
	until(t, "both nodes listening again on new connections", func() bool {
		now := listeners()
		return len(now) == 2 && !slices.ContainsFunc(now, func(p int32) bool { return slices.Contains(cut, p) }) &&
			a.accts.Listening() && b.accts.Listening()
	})
	if _, err := a.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = sha256($1::text::bytea)`, deleted); err != nil {
		t.Fatal(err)
	}
	if r := b.do("GET", "/api/me", deleted, nil); r.status != 401 {
		t.Errorf("node b after its listener reconnected: %d for a session deleted meanwhile, want 401 (cache emptied)", r.status)
	}
}

// until polls cond for up to 20 s: the wait is for a notification or a
// reconnect, not a timing claim.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// ownTCPPorts are the local ports of this process's TCP sockets: its
// socket descriptors' inodes looked up in the kernel's TCP tables.
func ownTCPPorts(t *testing.T) map[int]bool {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	ports := map[int]bool{}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if port, err := strconv.ParseInt(hexPort, 16, 32); err == nil {
				ports[int(port)] = true
			}
		}
	}
	return ports
}
