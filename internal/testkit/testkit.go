// Package testkit gives tests real Postgres and Redis: an isolated, migrated
// database per test binary (so packages tested in parallel never see each
// other's rows), a key prefix per test on the shared Redis, and private
// redis-server processes and Postgres clusters for fault tests that stop,
// restart or flush them.
//
// Without the services a test is skipped on a developer machine but fails in
// CI (CI=true), so a broken `make services` can never turn into a green run.
package testkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/internal/pg"
)

// Defaults match `make services`; the Makefile exports the real values.
const (
	DefaultDatabaseURL = "postgres://boxoffice:boxoffice@127.0.0.1:5432/boxoffice?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// DatabaseURL is the server the tests use: $DATABASE_URL or the default.
func DatabaseURL() string { return envOr("DATABASE_URL", DefaultDatabaseURL) }

// RedisURL is the Redis the tests share: $REDIS_URL or the default.
func RedisURL() string { return envOr("REDIS_URL", DefaultRedisURL) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// unavailable skips the test locally and fails it in CI.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("testkit: %s unavailable in CI: %v", what, err)
	}
	t.Skipf("testkit: %s unavailable (run `make services`): %v", what, err)
}

var (
	dbOnce sync.Once
	dbURL  string
	dbErr  error
)

// DatabaseName is the database this test binary owns, derived from the
// binary's name so each package gets its own, and from the module's folder
// so clones and worktrees testing at once on one Postgres never drop each
// other's databases mid-run.
func DatabaseName() string {
	base := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	base = regexp.MustCompile(`[^a-z0-9_]+`).ReplaceAllString(strings.ToLower(base), "_")
	return "bo_test_" + moduleTag() + "_" + base
}

// moduleTag is a short hash of the module root above the working directory
// (go test runs in the package's folder), or "x" when there is none.
func moduleTag() string {
	dir, err := os.Getwd()
	if err != nil {
		return "x"
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			sum := sha256.Sum256([]byte(d))
			return hex.EncodeToString(sum[:3])
		}
		if filepath.Dir(d) == d {
			return "x"
		}
	}
}

// DBURL returns the URL of this test binary's freshly created and migrated
// database. The first call drops and recreates it, so every `go test` run
// starts from an empty schema.
func DBURL(t testing.TB) string {
	t.Helper()
	dbOnce.Do(func() { dbURL, dbErr = createDatabase() })
	if dbErr != nil {
		unavailable(t, "Postgres", dbErr)
	}
	return dbURL
}

// DB returns a pool on this test binary's database, closed when t ends.
func DB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := DBURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pg.Open(ctx, url, 32)
	if err != nil {
		t.Fatalf("testkit: open test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func createDatabase() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, DatabaseURL())
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	name := DatabaseName()
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	cfg, err := pgx.ParseConfig(DatabaseURL())
	if err != nil {
		return "", err
	}
	url := replaceDatabase(DatabaseURL(), cfg.Database, name)
	pool, err := pg.Open(ctx, url, 4)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	if err := pg.Migrate(ctx, pool, nil); err != nil {
		return "", err
	}
	return url, nil
}

// replaceDatabase swaps the database name in a postgres:// URL.
func replaceDatabase(url, from, to string) string {
	q := ""
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url, q = url[:i], url[i:]
	}
	if i := strings.LastIndexByte(url, '/'); i > len("postgres://") {
		return url[:i+1] + to + q
	}
	return url + "/" + to + q
}

// Redis returns a client on the shared Redis and a key prefix unique to this
// test; keys under the prefix are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	rdb, err := dialRedis(RedisURL())
	if err != nil {
		unavailable(t, "Redis", err)
	}
	prefix := "t" + RandomHex(6) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return rdb, prefix
}

func dialRedis(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, err
	}
	return rdb, nil
}

// RandomHex returns n random bytes as hex, for unique names in tests.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
