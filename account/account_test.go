package account_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

func TestSeedFansAndGrant(t *testing.T) {
	db := testkit.DB(t)
	svc := account.NewService(db, account.Config{HashCost: bcrypt.MinCost})
	ctx := context.Background()
	fans, err := svc.SeedFans(ctx, testkit.RandomHex(3), 7, "load-test-pass")
	if err != nil {
		t.Fatal(err)
	}
	if len(fans) != 7 {
		t.Fatalf("%d fans, want 7", len(fans))
	}
	for _, f := range fans {
		a, err := svc.Authenticate(ctx, f.Token)
		if err != nil || a.ID != f.ID || a.Role != account.RoleFan {
			t.Errorf("token of %s authenticates as %+v, %v", f.Email, a, err)
		}
	}
	if _, _, err := svc.SignIn(ctx, fans[3].Email, "load-test-pass"); err != nil {
		t.Errorf("sign in as a seeded fan: %v", err)
	}
	if err := svc.Grant(ctx, fans[0].Email, account.RoleScanner); err != nil {
		t.Fatal(err)
	}
	if a, _ := svc.Authenticate(ctx, fans[0].Token); a.Role != account.RoleScanner {
		t.Errorf("after grant, role = %q, want scanner (the session cache must not keep the old role)", a.Role)
	}
	if err := svc.Grant(ctx, fans[0].Email, "root"); !errors.Is(err, account.ErrBadRole) {
		t.Errorf("grant root: err = %v, want invalid_role", err)
	}
	if err := svc.Grant(ctx, "nobody@example.test", account.RoleAdmin); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("grant to unknown email: err = %v, want account_not_found", err)
	}
	if err := svc.SignOut(ctx, fans[1].Token); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, fans[1].Token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("token after sign out: err = %v, want unauthenticated", err)
	}
}

// TestRevocationReachesEveryNode: two nodes (two Services on one database)
// cache a session for an hour once they listen; a sign-out on one and a
// role change on the other reach the other's cache through Postgres,
// not by expiry. A listener whose connection is cut empties its cache and
// falls back to the short lifetime until it listens again.
func TestRevocationReachesEveryNode(t *testing.T) {
	db := testkit.DB(t)
	cfg := account.Config{HashCost: bcrypt.MinCost, CacheTTL: time.Hour, DeafCacheTTL: time.Hour}
	a, b := account.NewService(db, cfg), account.NewService(db, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []*account.Service{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); s.Listen(ctx, slog.New(slog.DiscardHandler)) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	eventually(t, "both nodes listening", func() bool { return a.Listening() && b.Listening() })

	fans, err := a.SeedFans(ctx, testkit.RandomHex(3), 2, "load-test-pass")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fans {
		if _, err := b.Authenticate(ctx, f.Token); err != nil { // now cached on b for an hour
			t.Fatal(err)
		}
	}
	if err := a.SignOut(ctx, fans[0].Token); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the sign-out on node a reaching node b", func() bool {
		_, err := b.Authenticate(ctx, fans[0].Token)
		return errors.Is(err, account.ErrUnauthenticated)
	})
	if err := b.Grant(ctx, fans[1].Email, account.RoleScanner); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the role change on node b reaching node a", func() bool {
		acct, err := a.Authenticate(ctx, fans[1].Token)
		return err == nil && acct.Role == account.RoleScanner
	})

	// Cut b's listening connection: b must stop trusting its cache.
	if _, err := a.Authenticate(ctx, fans[1].Token); err != nil {
		t.Fatal(err)
	}
	listeners := func() []int32 {
		var pids []int32
		rows, err := db.Query(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN boxoffice_sessions_revoked' ORDER BY pid`)
		if err == nil {
			pids, err = pgx.CollectRows(rows, pgx.RowTo[int32])
		}
		if err != nil {
			t.Fatal(err)
		}
		return pids
	}
	cut := listeners()
	if len(cut) != 2 {
		t.Fatalf("listening backends %v, want one per node", cut)
	}
	if _, err := db.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid`, cut); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both nodes listening again on new connections after theirs were cut", func() bool {
		now := listeners()
		return len(now) == 2 && !slices.Contains(cut, now[0]) && !slices.Contains(cut, now[1]) &&
			a.Listening() && b.Listening()
	})
	// The session is deleted behind every cache's back (no notification):
	// only a node that emptied its cache on the cut can see it gone.
	if _, err := db.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1`, fans[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, fans[1].Token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("a session cached before the listener was cut is still trusted: %v", err)
	}
}

// eventually polls cond for up to 20 s: the wait is for an event (a
// notification, a reconnect), not a timing claim.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
