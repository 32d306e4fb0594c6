package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/boxoffice/boxoffice/loadtest"
)

// servedNodes are app nodes flashsale -serve runs in its own process: one
// Postgres, one Redis and one SECRET_KEY, each node on its own loopback
// port with its own pools, hub and background loops, as separate
// processes would be.
type servedNodes struct {
	apps []*App
	// acquires0 are each node's Postgres pool acquisitions before the
	// run: one per statement or transaction the node sent.
	acquires0 []int64
	cpu0      time.Duration
	peak      []int64 // sockets open at once, per node, sampled
	stop      func()
	wg        sync.WaitGroup
}

// startNodes starts n nodes from the configuration serve reads (getenv),
// on free loopback ports, one after the other (the first applies pending
// migrations). The nodes serve a load test from this machine: their rate
// limits are off and payments go to the test processor whatever the
// environment says.
func startNodes(ctx context.Context, getenv func(string) string, n int, stderr io.Writer) (*servedNodes, error) {
	cfg, err := loadConfig(getenv, numCPU())
	if err != nil {
		return nil, err
	}
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.RateLimits, cfg.WSMaxPerIP, cfg.WSMaxPerAccount = nil, 0, 0
	cfg.Payments = "test"
	s := &servedNodes{}
	for range n {
		a, err := openConfigured(ctx, cfg, stderr)
		if err != nil {
			s.close()
			return nil, err
		}
		s.apps = append(s.apps, a)
		if err := a.Run(ctx); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// urls are the nodes' base URLs, the first for -url, the rest for Nodes.
func (s *servedNodes) urls() (first string, rest []string) {
	for i, a := range s.apps {
		u := "http://" + a.Addr()
		if i == 0 {
			first = u
		} else {
			rest = append(rest, u)
		}
	}
	return first, rest
}

// begin notes the counters a run's figures are measured from and samples
// the nodes' open sockets until finish.
func (s *servedNodes) begin() {
	s.acquires0 = make([]int64, len(s.apps))
	for i, a := range s.apps {
		s.acquires0[i] = a.DB.Stat().AcquireCount()
	}
	s.cpu0 = processCPU()
	s.peak = make([]int64, len(s.apps))
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, a := range s.apps {
				s.peak[i] = max(s.peak[i], a.Hub.OpenSockets())
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
}

// finish stops the sampling and writes each node's figures into rep.
func (s *servedNodes) finish(rep *loadtest.Report) {
	s.stop()
	s.wg.Wait()
	rep.ProcessCPUSeconds = (processCPU() - s.cpu0).Seconds()
	for i, a := range s.apps {
		u := "http://" + a.Addr()
		rep.Served = append(rep.Served, loadtest.ServedNode{
			URL:              u,
			Requests:         rep.NodeRequests[u],
			PostgresAcquires: a.DB.Stat().AcquireCount() - s.acquires0[i],
			PeakSockets:      s.peak[i],
		})
	}
}

// close stops the sampling, if still on, and every node.
func (s *servedNodes) close() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	for _, a := range s.apps {
		_ = a.Close()
	}
}

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parseNodeCount reads -nodes for -serve, where only a count makes sense.
func parseNodeCount(spec string) (int, error) {
	if spec == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(spec))
	if err != nil || n < 1 || n > maxServedNodes {
		return 0, fmt.Errorf("with -serve, -nodes is a count of nodes to start, 1..%d", maxServedNodes)
	}
	return n, nil
}

// maxServedNodes bounds -serve -nodes: each node holds its own Postgres
// pool (DB_MAX_CONNS connections) on the one database.
const maxServedNodes = 16
