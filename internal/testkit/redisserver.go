package testkit

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a private redis-server process for one test, so the test
// can stop, restart or flush it without touching anyone else's Redis.
type RedisServer struct {
	t    testing.TB
	Port int
	bin  string
	cmd  *exec.Cmd
}

// StartRedisServer starts redis-server on a free loopback port without
// persistence and stops it when the test ends.
func StartRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server binary", err)
	}
	s := &RedisServer{t: t, Port: freePorts(t, 1)[0], bin: bin}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the redis:// URL of the server.
func (s *RedisServer) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port) }

// Start (re)starts the server on its port and waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("testkit: start redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.Port)})
		err := rdb.Ping(context.Background()).Err()
		rdb.Close()
		if err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("testkit: redis-server on port %d did not answer", s.Port)
}

// Stop kills the server, as a crash would.
func (s *RedisServer) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Client returns a new client for the server, closed when the test ends.
func (s *RedisServer) Client() *redis.Client {
	opt, _ := redis.ParseURL(s.URL())
	rdb := redis.NewClient(opt)
	s.t.Cleanup(func() { rdb.Close() })
	return rdb
}
