package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresServer is a private Postgres cluster for one test (initdb and
// pg_ctl in a temporary folder, on a free loopback port), so the test can
// stop and restart Postgres without touching the shared server that every
// other test uses. Starting one costs a few seconds (initdb), so only fault
// drills use it.
type PostgresServer struct {
	t    testing.TB
	Port int
	dir  string // the data directory, also the Unix socket directory
	bin  string // the folder of initdb, pg_ctl and postgres
	// asUser runs the server binaries as this user when the test runs as
	// root (Postgres refuses to run as root); empty otherwise.
	asUser string
}

// StartPostgresServer creates a cluster whose superuser is boxoffice (trust
// authentication on loopback only), starts it, and stops and deletes it when
// the test ends. Without the server binaries the test is skipped locally and
// fails in CI.
func StartPostgresServer(t testing.TB) *PostgresServer {
	t.Helper()
	bin, err := postgresBinDir()
	if err != nil {
		unavailable(t, "Postgres server binaries", err)
	}
	s := &PostgresServer{t: t, bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			unavailable(t, "a postgres user to run a private cluster as (root may not)", err)
		}
		s.asUser = "postgres"
	}
	// Not t.TempDir: its parents are private to root, and the server may
	// run as the postgres user. Short, too: Unix socket paths are limited.
	if s.dir, err = os.MkdirTemp("", "bo-pg-"); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(s.dir) })
	if s.asUser != "" {
		if out, err := exec.Command("chown", s.asUser, s.dir).CombinedOutput(); err != nil {
			t.Fatalf("testkit: chown %s: %v\n%s", s.dir, err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: free port: %v", err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if out, err := s.command("initdb", "-D", s.dir, "-U", "boxoffice", "--auth=trust", "--no-sync",
		"--encoding=UTF8", "--locale=C").CombinedOutput(); err != nil {
		t.Fatalf("testkit: initdb: %v\n%s", err, out)
	}
	s.Start()
	t.Cleanup(func() { _ = s.stop("immediate") })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		t.Fatalf("testkit: connect to the private cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE boxoffice"); err != nil {
		t.Fatalf("testkit: create database: %v", err)
	}
	return s
}

// postgresBinDir finds the newest server binaries: Debian's
// /usr/lib/postgresql/N/bin, else the folder of initdb on PATH.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) < majorOf(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}

func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// command runs a server binary, as asUser when set.
func (s *PostgresServer) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if s.asUser == "" {
		return exec.Command(path, args...)
	}
	cmd := exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	cmd.Dir = "/" // the test's folder may be closed to that user
	return cmd
}

func (s *PostgresServer) url(db string) string {
	return fmt.Sprintf("postgres://boxoffice@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// URL is the postgres:// URL of the cluster's boxoffice database.
func (s *PostgresServer) URL() string { return s.url("boxoffice") }

// Start starts the cluster (again) on its port and waits until it accepts
// connections. fsync is off: the data is thrown away with the test.
func (s *PostgresServer) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200",
		s.Port, s.dir)
	out, err := s.command("pg_ctl", "start", "-w", "-t", "60", "-D", s.dir, "-l", filepath.Join(s.dir, "server.log"),
		"-o", opts).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		s.t.Fatalf("testkit: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the cluster the way a crash or an operator's fast shutdown
// would: sessions are cut at once (mode "fast" for a clean shutdown, mode
// "immediate" for a crash that recovers from the WAL at the next start).
func (s *PostgresServer) Stop(mode string) {
	s.t.Helper()
	if err := s.stop(mode); err != nil {
		s.t.Fatal(err)
	}
}

func (s *PostgresServer) stop(mode string) error {
	if _, err := os.Stat(filepath.Join(s.dir, "postmaster.pid")); err != nil {
		return nil // not running
	}
	if out, err := s.command("pg_ctl", "stop", "-w", "-D", s.dir, "-m", mode).CombinedOutput(); err != nil {
		return fmt.Errorf("testkit: pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}
