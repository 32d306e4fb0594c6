// Command fanoutbench measures WebSocket fan-out on one node: it starts a
// boxoffice server process, opens N sockets to it from this (separate)
// process, all subscribed to one event's seats topic, publishes a 10 Hz
// stream of ~200-byte seat diffs through the real publisher (the Redis
// script), and reports loss, publish→socket latency, the server's CPU per
// delivered frame and its RSS per socket. Each size runs on a fresh server
// process so RSS figures do not carry over.
//
//	go build -o bin/boxoffice ./cmd/boxoffice
//	go run ./loadtest/fanoutbench -bin bin/boxoffice -sockets 1000,5000,10000
//
// Needs DATABASE_URL and REDIS_URL (make bench-fanout sets them) and a
// file-descriptor limit above the largest socket count.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
)

func main() {
	bin := flag.String("bin", "bin/boxoffice", "the boxoffice binary to run as the server")
	sizes := flag.String("sockets", "1000,5000,10000", "socket counts, comma-separated")
	rate := flag.Int("rate", 10, "frames per second")
	dur := flag.Duration("duration", 10*time.Second, "publishing time per size")
	entries := flag.Int("entries", 4, "seat entries per frame (4 makes about 200 bytes)")
	flag.Parse()
	if err := run(*bin, *sizes, *rate, *dur, *entries); err != nil {
		fmt.Fprintln(os.Stderr, "fanoutbench:", err)
		os.Exit(1)
	}
}

type result struct {
	sockets               int
	published, frameBytes int
	expected, received    int64
	frames                int64
	p50, p99, max         time.Duration
	cpuPerDelivery        time.Duration
	cpuPercent            float64
	clientPercent         float64
	rssBase, rssConnected int64
	connectTime           time.Duration
}

// frameLen is the size of a seats frame as received.
var frameLen atomic.Int64

func run(bin, sizes string, rate int, dur time.Duration, entries int) error {
	dbURL := envOr("DATABASE_URL", "postgres://boxoffice:boxoffice@127.0.0.1:5432/boxoffice?sslmode=disable")
	redisURL := envOr("REDIS_URL", "redis://127.0.0.1:6379/0")
	ctx := context.Background()
	benchDB, err := freshDatabase(ctx, dbURL, "bo_bench_fanout")
	if err != nil {
		return err
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	prefix := fmt.Sprintf("bench:%d:", time.Now().UnixNano())
	defer cleanupRedis(rdb, prefix)

	var results []result
	var eventID int64
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad -sockets entry %q", s)
		}
		srv, err := startServer(bin, benchDB, redisURL, prefix)
		if err != nil {
			return err
		}
		if eventID == 0 {
			if eventID, err = createEvent(ctx, benchDB); err != nil {
				srv.stop()
				return err
			}
		}
		r, err := measure(ctx, srv, rdb, prefix, eventID, n, rate, dur, entries)
		srv.stop()
		if err != nil {
			return fmt.Errorf("%d sockets: %w", n, err)
		}
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "%d sockets done\n", n)
	}
	printTable(results, rate, dur)
	return nil
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// freshDatabase drops and creates a database of its own beside
// DATABASE_URL's and returns its URL; the server migrates it.
func freshDatabase(ctx context.Context, dbURL, name string) (string, error) {
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	defer admin.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", err
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func cleanupRedis(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

type server struct {
	cmd  *exec.Cmd
	base string
	pid  int
}

func startServer(bin, dbURL, redisURL, prefix string) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LISTEN_ADDR="+addr, "DATABASE_URL="+dbURL, "REDIS_URL="+redisURL,
		"REDIS_PREFIX="+prefix, "BASE_URL=http://"+addr, "LOG_LEVEL=warn")
	logf, err := os.CreateTemp("", "fanoutbench-server-*.log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, pid: cmd.Process.Pid}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(s.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("server did not answer /healthz within 30 s (log: %s)", logf.Name())
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func createEvent(ctx context.Context, dbURL string) (int64, error) {
	db, err := pg.Open(ctx, dbURL, 4)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	svc := seatmap.New(db, nil, nil, nil, seatmap.Config{})
	l := seatmap.Layout{Sections: []seatmap.Section{{ID: "A", Name: "A", Tier: "t"}}}
	for n := 1; n <= 100; n++ {
		l.Seats = append(l.Seats, seatmap.SeatSpec{Section: "A", Row: "1", Number: n, X: float64(n), Type: seatmap.SeatStandard, Rank: n})
	}
	v, err := svc.CreateVenue(ctx, "fan-out bench", l)
	if err != nil {
		return 0, err
	}
	return svc.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: "fan-out bench",
		EventDate: time.Now().Add(24 * time.Hour), SaleOpens: time.Now().Add(-time.Hour), Prices: map[string]int64{"default": 1000}})
}

// sock is one client socket; lat holds its publish→receive latencies in µs.
type sock struct {
	c *websocket.Conn
	// got counts the publishes received (a coalesced frame covers
	// several), frames the frames.
	got, frames int64
	lat         []int32
}

func measure(ctx context.Context, srv *server, rdb *redis.Client, prefix string, eventID int64, n, rate int, dur time.Duration, entries int) (result, error) {
	r := result{sockets: n}
	runtime.GC()
	time.Sleep(500 * time.Millisecond)
	r.rssBase = rss(srv.pid)
	topic := realtime.SeatsTopic(eventID)
	wsURL := "ws" + strings.TrimPrefix(srv.base, "http") + "/ws"
	socks := make([]*sock, n)
	start := time.Now()
	var dialErr atomic.Value
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	sub := []byte(`{"op":"subscribe","topic":"` + topic + `"}`)
	for i := range socks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 256}
			c, _, err := d.Dial(wsURL, nil)
			if err != nil {
				dialErr.Store(err)
				return
			}
			if err := c.WriteMessage(websocket.TextMessage, sub); err != nil {
				dialErr.Store(err)
				return
			}
			// A heartbeat of the topic may come before the ack (the
			// socket joins the topic first): skip it.
			_, ack, err := c.ReadMessage()
			for err == nil && bytes.Contains(ack, []byte(`"heartbeat"`)) {
				_, ack, err = c.ReadMessage()
			}
			if err != nil || !bytes.Contains(ack, []byte(`"subscribed"`)) {
				dialErr.Store(fmt.Errorf("subscribe: %s %v", ack, err))
				return
			}
			socks[i] = &sock{c: c}
		}()
	}
	wg.Wait()
	r.connectTime = time.Since(start)
	if err, _ := dialErr.Load().(error); err != nil {
		closeAll(socks)
		return r, err
	}
	time.Sleep(2 * time.Second) // let the server settle
	r.rssConnected = rss(srv.pid)

	var readers sync.WaitGroup
	for _, s := range socks {
		readers.Add(1)
		go func() { defer readers.Done(); s.read() }()
	}
	// The server's own publisher: the seat stream over its broker's channel.
	broker := realtime.NewRedisBroker(rdb, prefix, nil)
	pub := seatmap.NewRedisStream(rdb, prefix, func(id int64) string { return broker.Channel(realtime.SeatsTopic(id)) })
	cpu0 := cpuTime(srv.pid)
	self0 := cpuTime(os.Getpid())
	t0 := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	frames := int(dur.Seconds() * float64(rate))
	for i := 0; i < frames; i++ {
		<-tick.C
		seats := make([]seatmap.SeatChange, entries)
		now := time.Now().UnixNano()
		for e := range seats {
			// The version carries the publish time, for latency.
			seats[e] = seatmap.SeatChange{Idx: int32((i*entries + e) % 100), State: seatmap.StateHeld, Version: now}
		}
		if err := pub.PublishSeats(ctx, eventID, seats); err != nil {
			tick.Stop()
			closeAll(socks)
			return r, err
		}
		r.published++
	}
	tick.Stop()
	wall := time.Since(t0)
	cpu1 := cpuTime(srv.pid)
	// Wait for the frames in flight (up to 5 s); a frame not there by then
	// counts as lost.
	want := int64(n) * int64(r.published)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		var got int64
		for _, s := range socks {
			got += atomic.LoadInt64(&s.got)
		}
		if got >= want {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu2 := cpuTime(srv.pid)
	r.clientPercent = 100 * (cpuTime(os.Getpid()) - self0).Seconds() / time.Since(t0).Seconds()
	for _, s := range socks {
		_ = s.c.SetReadDeadline(time.Now()) // stop the readers
	}
	readers.Wait()
	closeAll(socks)

	r.frameBytes = int(frameLen.Load())
	r.expected = int64(n) * int64(r.published)
	var all []int32
	for _, s := range socks {
		r.received += s.got
		r.frames += s.frames
		all = append(all, s.lat...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		r.p50 = time.Duration(all[len(all)/2]) * time.Microsecond
		r.p99 = time.Duration(all[min(len(all)-1, len(all)*99/100)]) * time.Microsecond
		r.max = time.Duration(all[len(all)-1]) * time.Microsecond
	}
	// Server CPU over the publishing window and the drain after it.
	cpu := cpu2 - cpu0
	_ = cpu1
	if r.frames > 0 {
		r.cpuPerDelivery = cpu / time.Duration(r.frames)
	}
	r.cpuPercent = 100 * cpu.Seconds() / wall.Seconds()
	return r, nil
}

// read counts seats frames (heartbeats are not counted) and records their
// latency from the version (the publish time) of the first entry.
func (s *sock) read() {
	marker := []byte(`"seats":[[`)
	buf := make([]byte, 2048)
	for {
		_, rd, err := s.c.NextReader()
		if err != nil {
			return
		}
		n := 0
		for n < len(buf) {
			m, err := rd.Read(buf[n:])
			n += m
			if err != nil {
				break
			}
		}
		data := buf[:n]
		now := time.Now().UnixNano()
		i := bytes.Index(data, marker)
		if i < 0 {
			continue
		}
		rest := data[i+len(marker):]
		// [idx,"h",version]: the version is the publish time.
		if end := bytes.IndexByte(rest, ']'); end > 0 {
			if j := bytes.LastIndexByte(rest[:end], ','); j >= 0 {
				if v, err := strconv.ParseInt(string(rest[j+1:end]), 10, 64); err == nil {
					s.lat = append(s.lat, int32((now-v)/1000))
				}
			}
		}
		// A frame may merge several publishes (coalescing): count the seqs
		// it covers, (from, to].
		covered := int64(1)
		if from, ok := intAfter(data, `"from":`); ok {
			if to, ok := intAfter(data, `"to":`); ok && to > from {
				covered = to - from
			}
		}
		atomic.AddInt64(&s.got, covered)
		atomic.AddInt64(&s.frames, 1)
		frameLen.Store(int64(n))
	}
}

// intAfter parses the integer after key in data.
func intAfter(data []byte, key string) (int64, bool) {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := data[i+len(key):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return v, err == nil
}

func closeAll(socks []*sock) {
	for _, s := range socks {
		if s != nil {
			_ = s.c.Close()
		}
	}
}

// rss is a process's resident set size in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime is a process's user + system CPU time.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func printTable(rs []result, rate int, dur time.Duration) {
	cpus := runtime.NumCPU()
	fmt.Printf("\nFan-out: one node, %d Hz seat diffs for %v, %d CPUs (client and server share them)\n\n", rate, dur, cpus)
	fmt.Println("| sockets | publishes | frame bytes | frames delivered | loss | p50 | p99 | max | server CPU / delivery | server CPU | client CPU | RSS / socket | connect time |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		loss := 0.0
		if r.expected > 0 {
			loss = 100 * float64(r.expected-r.received) / float64(r.expected)
		}
		perSock := (r.rssConnected - r.rssBase) / int64(r.sockets)
		fmt.Printf("| %d | %d | %d | %d | %.2f%% | %v | %v | %v | %.1f µs | %.0f%% | %.0f%% | %.1f KB | %v |\n",
			r.sockets, r.published, r.frameBytes, r.frames, loss, round(r.p50), round(r.p99), round(r.max),
			float64(r.cpuPerDelivery.Nanoseconds())/1000, r.cpuPercent, r.clientPercent, float64(perSock)/1000, r.connectTime.Round(time.Millisecond))
	}
}

func round(d time.Duration) time.Duration {
	if d > 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}
