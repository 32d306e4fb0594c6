package server_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// TestWSMemoryPerSocket reports what one idle socket that follows an
// event's seats topic costs the server: the growth of its Go heap in use
// and goroutine stacks from no socket to WS_MEM_SOCKETS (default 200),
// after forced collections, divided by the count, plus the goroutines per
// socket. The clients run in a child process (this test binary again), so
// only the server's side is counted. It reports, it asserts nothing about
// size: the figure belongs in docs/benchmarks.md, not in a pass/fail.
func TestWSMemoryPerSocket(t *testing.T) {
	if os.Getenv("WS_MEM_CLIENT") != "" {
		t.Skip("the client side of this test runs in TestWSMemoryClient")
	}
	n := 200
	if v, err := strconv.Atoi(os.Getenv("WS_MEM_SOCKETS")); err == nil && v > 0 {
		n = v
	}
	e := newEnv(t, envOpts{live: liveCfg()})
	event, _ := e.event(1, 1, 4)
	before := settledMem()

	cmd := exec.Command(os.Args[0], "-test.run=^TestWSMemoryClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("WS_MEM_CLIENT=%s %s %d", e.base, "event:"+event+":seats", n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	ready := false
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "ready") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatal("the client process did not open its sockets")
	}
	if got := e.hub.Stats().Conns; got != int64(n) {
		t.Fatalf("hub has %d sockets, want %d", got, n)
	}
	after := settledMem()
	if path := os.Getenv("WS_MEM_PROFILE"); path != "" {
		writeHeapProfile(t, path)
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	heap, stack := per(after.heap, before.heap), per(after.stack, before.stack)
	t.Logf("%d sockets: heap in use %.0f B + stacks %.0f B = %.0f B per socket; %.2f goroutines per socket; runtime total (Sys) %.0f B per socket",
		n, heap, stack, heap+stack, float64(after.goroutines-before.goroutines)/float64(n), per(after.sys, before.sys))
	fmt.Printf("TestWSMemoryPerSocket: %d sockets: heap %.0f B + stacks %.0f B = %.0f B per socket, %.2f goroutines per socket\n",
		n, heap, stack, heap+stack, float64(after.goroutines-before.goroutines)/float64(n))
}

// writeHeapProfile saves the heap profile (what the sockets hold, by
// allocation site) for go tool pprof -sample_index=inuse_space.
func writeHeapProfile(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}

type memSample struct {
	heap, stack, sys uint64
	goroutines       int
}

// settledMem is the heap in use and stacks after the garbage is collected
// (twice: sync.Pool contents survive one collection) and idle pages are
// returned.
func settledMem() memSample {
	time.Sleep(200 * time.Millisecond) // let goroutines that are ending end
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{heap: m.HeapInuse, stack: m.StackInuse, sys: m.Sys - m.HeapReleased, goroutines: runtime.NumGoroutine()}
}

// TestWSMemoryClient is TestWSMemoryPerSocket's client process: it opens
// the sockets, subscribes each, prints "ready" and holds them until its
// stdin closes. Without WS_MEM_CLIENT it does nothing.
func TestWSMemoryClient(t *testing.T) {
	spec := strings.Fields(os.Getenv("WS_MEM_CLIENT"))
	if len(spec) != 3 {
		t.Skip("run by TestWSMemoryPerSocket")
	}
	base, topic := spec[0], spec[1]
	n, _ := strconv.Atoi(spec[2])
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	errs := make(chan error, n)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 512, WriteBufferSize: 256}
			c, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","topic":"`+topic+`"}`)); err != nil {
				errs <- err
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					errs <- err
					return
				}
				if strings.Contains(string(data), `"subscribed"`) {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("client socket: %v", err)
	}
	fmt.Println("ready")
	// Hold the sockets (without reading: the topic is quiet) until the
	// parent is done measuring.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		_ = c.Close()
	}
}
