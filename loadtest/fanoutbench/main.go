// Command fanoutbench measures WebSocket fan-out on one node, Boxoffice
// beside Centrifugo: for each size it starts a `boxoffice serve` process,
// then a Centrifugo process, and from this (separate) process opens N
// sockets to each, all following one topic, publishes a 10 Hz stream of
// ~200-byte seat diffs through each server's own publish path (Boxoffice:
// the seat stream's Redis script and pub/sub; Centrifugo: its HTTP API),
// and reports loss, publish→socket latency, the server's CPU per delivery
// and its RSS per socket, then the ratios Boxoffice / Centrifugo. Each
// server runs on its own fresh process, one after the other, with the
// same client code, socket count, rate and payload.
//
//	go build -o bin/boxoffice ./cmd/boxoffice
//	go run ./loadtest/fanoutbench -bin bin/boxoffice -centrifugo bin/centrifugo -sockets 5000,10000
//
// Needs DATABASE_URL and REDIS_URL (make bench-fanout sets them and installs
// Centrifugo) and a file-descriptor limit above twice the largest socket
// count (both ends of each socket are on this machine).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

func main() {
	bin := flag.String("bin", "bin/boxoffice", "the boxoffice binary to run as the server")
	cent := flag.String("centrifugo", "", "the centrifugo binary to compare with (empty: Boxoffice alone)")
	sizes := flag.String("sockets", "5000,10000", "socket counts, comma-separated")
	rate := flag.Int("rate", 10, "publishes per second")
	dur := flag.Duration("duration", 10*time.Second, "publishing time per size and server")
	entries := flag.Int("entries", 4, "seat entries per frame (4 makes about 200 bytes)")
	flag.Parse()
	if err := run(*bin, *cent, *sizes, *rate, *dur, *entries); err != nil {
		fmt.Fprintln(os.Stderr, "fanoutbench:", err)
		os.Exit(1)
	}
}

type result struct {
	server                string
	sockets               int
	published, frameBytes int
	expected, received    int64
	frames                int64
	p50, p99, max         time.Duration // per change
	fp50, fp99            time.Duration // per frame (its newest change)
	cpu                   time.Duration
	cpuPercent            float64
	clientPercent         float64
	rssBase, rssConnected int64
	connectTime           time.Duration
	// publishSpan is from the first publish to the last one's return.
	publishSpan time.Duration
	// publishErrors counts publish calls that failed.
	publishErrors int
}

// loss is the share of publishes × sockets that never arrived.
func (r result) loss() float64 {
	if r.expected == 0 {
		return 0
	}
	return 100 * float64(r.expected-r.received) / float64(r.expected)
}

// cpuPerDelivery is server CPU per publish delivered to one socket; with
// nothing merged, per frame delivered.
func (r result) cpuPerDelivery() time.Duration {
	if r.received == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.received)
}

func (r result) rssPerSocket() int64 { return (r.rssConnected - r.rssBase) / int64(r.sockets) }

func run(bin, cent, sizes string, rate int, dur time.Duration, entries int) error {
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
		bo, err := startBoxoffice(bin, benchDB, rdb, redisURL, prefix, eventID)
		if err != nil {
			return err
		}
		if eventID == 0 {
			if eventID, err = createEvent(ctx, benchDB); err != nil {
				bo.stop()
				return err
			}
			bo.eventID = eventID
		}
		r, err := measure(ctx, bo, n, rate, dur, entries)
		bo.stop()
		if err != nil {
			printTable(results, rate, dur)
			return fmt.Errorf("boxoffice, %d sockets: %w", n, err)
		}
		r.server = "Boxoffice"
		results = append(results, r)
		printRow(os.Stderr, r)
		fmt.Fprintf(os.Stderr, "boxoffice: %d sockets done\n", n)
		if cent == "" {
			continue
		}
		ce, err := startCentrifugo(cent)
		if err != nil {
			return err
		}
		r, err = measure(ctx, ce, n, rate, dur, entries)
		ce.stop()
		if err != nil {
			printTable(results, rate, dur)
			return fmt.Errorf("centrifugo, %d sockets: %w", n, err)
		}
		r.server = "Centrifugo"
		results = append(results, r)
		printRow(os.Stderr, r)
		fmt.Fprintf(os.Stderr, "centrifugo: %d sockets done\n", n)
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

func measure(ctx context.Context, srv target, n, rate int, dur time.Duration, entries int) (result, error) {
	r := result{sockets: n}
	runtime.GC()
	time.Sleep(500 * time.Millisecond)
	r.rssBase = rss(srv.pid())
	socks := make([]*sock, n)
	start := time.Now()
	var dialErr atomic.Value
	var wg, readers sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range socks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 256}
			c, _, err := d.Dial(srv.wsURL(), nil)
			if err != nil {
				dialErr.Store(err)
				return
			}
			if err := srv.subscribe(c); err != nil {
				c.Close()
				dialErr.Store(err)
				return
			}
			s := &sock{c: c}
			socks[i] = s
			// Read from the start: a server may ping while the others
			// connect.
			readers.Add(1)
			go func() { defer readers.Done(); s.read(srv.pong()) }()
		}()
	}
	wg.Wait()
	r.connectTime = time.Since(start)
	stopReaders := func() {
		for _, s := range socks {
			if s != nil {
				_ = s.c.SetReadDeadline(time.Now())
			}
		}
		readers.Wait()
		closeAll(socks)
	}
	if err, _ := dialErr.Load().(error); err != nil {
		stopReaders()
		return r, err
	}
	time.Sleep(2 * time.Second) // let the server settle
	r.rssConnected = rss(srv.pid())

	cpu0 := cpuTime(srv.pid())
	self0 := cpuTime(os.Getpid())
	measuring.Store(true)
	t0 := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	publishes := int(dur.Seconds() * float64(rate))
	// Each publish starts on its tick without waiting for the one before
	// (as publishes from many requests would): a server whose publish call
	// is slow still gets the same rate.
	// A publish that fails (a server too busy to answer its API in time)
	// is counted, and its deliveries count as lost.
	var pubs sync.WaitGroup
	var pubErrs atomic.Int64
	var pubErr atomic.Value
	for i := range publishes {
		<-tick.C
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			if err := srv.publish(ctx, int64(i+1), time.Now().UnixNano(), entries); err != nil {
				pubErrs.Add(1)
				pubErr.Store(err)
			}
		}()
		r.published++
	}
	tick.Stop()
	pubs.Wait()
	wall := time.Since(t0)
	r.publishSpan = wall
	r.publishErrors = int(pubErrs.Load())
	if err, _ := pubErr.Load().(error); err != nil {
		fmt.Fprintf(os.Stderr, "%d publishes failed, the last: %v\n", r.publishErrors, err)
	}
	if r.publishErrors == publishes {
		measuring.Store(false)
		stopReaders()
		return r, fmt.Errorf("every publish failed")
	}
	// Wait for the frames in flight (up to 5 s); a publish not there by
	// then counts as lost.
	want := int64(n) * int64(r.published)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var got int64
		for _, s := range socks {
			got += s.got.Load()
		}
		if got >= want {
			break
		}
	}
	r.cpu = cpuTime(srv.pid()) - cpu0
	r.clientPercent = 100 * (cpuTime(os.Getpid()) - self0).Seconds() / time.Since(t0).Seconds()
	measuring.Store(false)
	stopReaders()

	r.frameBytes = int(frameLen.Load())
	r.expected = want
	var lat, flat []int32
	for _, s := range socks {
		r.received += s.got.Load()
		r.frames += s.frames.Load()
		lat = append(lat, s.changeLat...)
		flat = append(flat, s.frameLat...)
	}
	r.p50, r.p99, r.max = percentiles(lat)
	r.fp50, r.fp99, _ = percentiles(flat)
	r.cpuPercent = 100 * r.cpu.Seconds() / wall.Seconds()
	return r, nil
}

// percentiles are the p50, p99 and max of µs samples.
func percentiles(us []int32) (p50, p99, top time.Duration) {
	if len(us) == 0 {
		return
	}
	slices.Sort(us)
	at := func(i int) time.Duration { return time.Duration(us[i]) * time.Microsecond }
	return at(len(us) / 2), at(min(len(us)-1, len(us)*99/100)), at(len(us) - 1)
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
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func printTable(rs []result, rate int, dur time.Duration) {
	fmt.Printf("\nFan-out: one node, %d Hz seat diffs for %v per server, %d CPUs (client and server share them)\n\n", rate, dur, runtime.NumCPU())
	fmt.Println("| server | sockets | publishes | frame bytes | frames delivered | loss | p50 | p99 | max | frame p50 / p99 | server CPU / delivery | server CPU | client CPU | RSS / socket | connect time | publish span | failed publishes |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		printRow(os.Stdout, r)
	}
	// Ratios, Boxoffice over Centrifugo, for each size both ran.
	var rows []string
	for i, b := range rs {
		if b.server != "Boxoffice" || i+1 >= len(rs) || rs[i+1].server != "Centrifugo" {
			continue
		}
		c := rs[i+1]
		rows = append(rows, fmt.Sprintf("| %d | %s (≤ 0.6) | %s / %s (p99 ≤ 1) | %s (%.1f KB; ≤ 20 KB) | %.2f%% / %.2f%% |",
			b.sockets, ratio(us(b.cpuPerDelivery()), us(c.cpuPerDelivery())), ratio(ms(b.p50), ms(c.p50)), ratio(ms(b.p99), ms(c.p99)),
			ratio(float64(b.rssPerSocket()), float64(c.rssPerSocket())), float64(b.rssPerSocket())/1000, b.loss(), c.loss()))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Println("\nBoxoffice / Centrifugo, same run (latency per change, publish → socket):")
	fmt.Println()
	fmt.Println("| sockets | CPU per delivery | p50 / p99 | RSS per socket | loss (Boxoffice / Centrifugo) |")
	fmt.Println("|---:|---:|---:|---:|---:|")
	for _, row := range rows {
		fmt.Println(row)
	}
	fmt.Println("\n\"frames delivered\" below publishes × sockets means Boxoffice merged publishes that came while a frame was queued; p50/p99/max are per change, \"frame\" per frame's newest change.")
}

// printRow prints one result as a row of the table.
func printRow(w io.Writer, r result) {
	fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %.2f%% | %v | %v | %v | %v / %v | %.1f µs | %.0f%% | %.0f%% | %.1f KB | %v | %v | %d |\n",
		r.server, r.sockets, r.published, r.frameBytes, r.frames, r.loss(), round(r.p50), round(r.p99), round(r.max),
		round(r.fp50), round(r.fp99), us(r.cpuPerDelivery()), r.cpuPercent, r.clientPercent,
		float64(r.rssPerSocket())/1000, r.connectTime.Round(time.Millisecond), r.publishSpan.Round(time.Millisecond), r.publishErrors)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func round(d time.Duration) time.Duration {
	if d > 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}
