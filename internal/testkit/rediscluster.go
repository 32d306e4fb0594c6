package testkit

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a private three-master Redis Cluster on loopback for one
// test: three redis-server processes in cluster mode, each in its own temp
// dir, joined by `redis-cli --cluster create` with no replicas (the same
// topology `make cluster` runs).
type RedisCluster struct {
	t     testing.TB
	Addrs []string
	cmds  []*exec.Cmd
}

// StartRedisCluster starts the cluster, waits for cluster_state:ok on every
// node and stops it when the test ends. It skips (fails in CI) without
// redis-server or redis-cli.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server binary", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		unavailable(t, "redis-cli binary", err)
	}
	c := &RedisCluster{t: t}
	t.Cleanup(c.Stop)
	// Each node needs a client port and a cluster-bus port; the bus port is
	// given explicitly (cluster-port) because port+10000, the default, may
	// be taken or past 65535.
	ports := freePorts(t, 6)
	for i := range 3 {
		port, bus := ports[2*i], ports[2*i+1]
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--cluster-port", strconv.Itoa(bus),
			"--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--dir", t.TempDir(), "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
		if err := cmd.Start(); err != nil {
			t.Fatalf("testkit: start redis-server (cluster node %d): %v", i, err)
		}
		c.cmds = append(c.cmds, cmd)
		c.Addrs = append(c.Addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	for _, addr := range c.Addrs {
		c.waitNode(addr, func(rdb *redis.Client) bool { return rdb.Ping(context.Background()).Err() == nil })
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testkit: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range c.Addrs {
		c.waitNode(addr, func(rdb *redis.Client) bool {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
	}
	return c
}

// Stop kills every node, as a crash of the whole cluster would.
func (c *RedisCluster) Stop() {
	for i := range c.cmds {
		c.Kill(i)
	}
	c.cmds = nil
}

// Kill kills node i (a master: the cluster has no replicas), as the crash of
// one server would.
func (c *RedisCluster) Kill(i int) {
	if cmd := c.cmds[i]; cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		c.cmds[i] = nil
	}
}

// waitNode polls the node at addr until ok says it is ready (10 s at most).
func (c *RedisCluster) waitNode(addr string, ok func(*redis.Client) bool) {
	c.t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok(rdb) {
			return
		}
	}
	c.t.Fatalf("testkit: redis cluster node %s not ready within 10s", addr)
}

// URL is the cluster's REDIS_URL (redis+cluster://host:port,...).
func (c *RedisCluster) URL() string { return "redis+cluster://" + strings.Join(c.Addrs, ",") }

// Client returns a new cluster client, closed when the test ends.
func (c *RedisCluster) Client() *redis.ClusterClient {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	c.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testkit: free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
