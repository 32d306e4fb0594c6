package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// The HTTP benchmarks below are what scripts/bench.sh (`make bench`) runs
// next to pgbench and redis-benchmark. Each drives a real server on a
// loopback port with benchInFlight requests in flight from a client in the
// same process (so client, server, Postgres and Redis share the machine),
// with rate limits off (every request comes from one address) and the
// server's own cache lifetimes. Each reports its rate, and the p50 and p99
// latency of one operation; they need -benchtime Nx (a count, not a time),
// since each operation uses up a seat, a fan or a place.

// benchInFlight matches the 32 clients of the pgbench and redis-benchmark
// baselines.
const benchInFlight = 32

// benchEnv is newEnv with the production cache lifetimes and the live seat
// stream, so a hold publishes its diff as in a sale. BENCH_HOLD_BATCH, when
// set, is seatmap's Config.HoldBatch: scripts/bench.sh sets it to 1 for the
// holds without group commit, beside the default in the same run;
// BENCH_HOLD_ROUNDS likewise sets Config.HoldRounds, for experiments;
// BENCH_CONVERT_BATCH is checkout's Config.ConvertBatch, 1 for the
// conversions without group commit.
func benchEnv(b *testing.B) *env {
	holdBatch, _ := strconv.Atoi(os.Getenv("BENCH_HOLD_BATCH"))
	holdRounds, _ := strconv.Atoi(os.Getenv("BENCH_HOLD_ROUNDS"))
	convertBatch, _ := strconv.Atoi(os.Getenv("BENCH_CONVERT_BATCH"))
	e := newEnv(b, envOpts{settingsTTL: time.Second, live: liveCfg(), holdBatch: holdBatch, holdRounds: holdRounds,
		convertBatch: convertBatch})
	// Sessions cached as a production node caches them: for minutes, with
	// revocations heard from Postgres.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.accts.Listen(ctx, slog.New(slog.DiscardHandler)) }()
	b.Cleanup(func() { stop(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !e.accts.Listening(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the session cache never heard Postgres (LISTEN)")
		}
	}
	return e
}

// stadium creates an on-sale event on the 49,208-seat demo stadium.
func (e *env) stadium(ctx context.Context) (string, []string) {
	e.t.Helper()
	layout, err := seatmap.Generate("stadium")
	if err != nil {
		e.t.Fatal(err)
	}
	return e.eventFrom(ctx, layout, seatmap.DefaultPrices("stadium"))
}

// benchFans seeds n fans with live sessions, hashing one password once.
func (e *env) benchFans(ctx context.Context, n int) []account.Fan {
	e.t.Helper()
	fans, err := account.NewService(e.pool, account.Config{HashCost: bcrypt.MinCost}).SeedFans(ctx, testkit.RandomHex(4), n, "bench-password")
	if err != nil {
		e.t.Fatal(err)
	}
	return fans
}

// runLoad resets the timer, runs op(0) … op(b.N-1) with benchInFlight
// workers, and reports unit (per second), the p50/p99 latency of op and the
// CPU time one op cost this process (client and server) and Postgres. On a
// machine shared with other work the rate moves with the load; the CPU
// time per op barely does, and says what bounds the rate when the CPU is
// the limit. op returns an error for a wrong answer, which fails the
// benchmark.
func runLoad(b *testing.B, e *env, unit string, op func(i int) error) {
	lat := make([]time.Duration, b.N)
	cpu, queries, redis0 := e.startCPU(), e.pool.Stat().AcquireCount(), e.redisCPU()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range benchInFlight {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				start := time.Now()
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	app, pg := cpu()
	redisCPU := e.redisCPU() - redis0
	queries = e.pool.Stat().AcquireCount() - queries
	slices.Sort(lat)
	ms := func(q int) float64 { return float64(lat[(len(lat)-1)*q/100]) / float64(time.Millisecond) }
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	b.ReportMetric(ms(50), "p50-ms")
	b.ReportMetric(ms(99), "p99-ms")
	b.ReportMetric(app.Seconds()*1e3/float64(b.N), "app-cpu-ms/op")
	b.ReportMetric(pg.Seconds()*1e3/float64(b.N), "pg-cpu-ms/op")
	b.ReportMetric(float64(queries)/float64(b.N), "pg-queries/op")
	// The Redis server's whole CPU: exact when the benchmark has the
	// server to itself (scripts/bench.sh starts a private one).
	b.ReportMetric(redisCPU.Seconds()*1e3/float64(b.N), "redis-cpu-ms/op")
	b.ReportMetric(0, "ns/op") // the rate says it; ns/op of a parallel run misleads
}

// Tables a sale reads and writes, for settle: the fans' and the holds'
// exist long before any one sale, the event's are copied when it is
// created.
const (
	fanTables   = "holds, account_event_seats, accounts, sessions"
	eventTables = "seats, event_sections, events"
)

// settle vacuums and analyzes tables as autovacuum has long done by the
// time a sale opens (hint bits set, visibility map and planner statistics
// up to date): the setup's rows are seconds old. No benchmark settles an
// event's own tables behind the product's back: BenchmarkHoldHTTP/settled
// does it in the open, beside /fresh.
func (e *env) settle(tables string) {
	e.t.Helper()
	if _, err := e.pool.Exec(context.Background(), "VACUUM ANALYZE "+tables); err != nil {
		e.t.Fatal(err)
	}
}

// BenchmarkHoldHTTP measures successful holds per second through the whole
// stack: HTTP, bearer auth, the admission check, the Redis gate, the one
// Postgres statement and the diff published to the seat stream. Each hold
// takes 2 seats no one else asks for, for one of 6,000 fans. N ≤ 24,000
// (the stadium's seats).
//
// fresh opens the sale the moment CreateEvent returns, as an admin who
// creates an event and opens it at once does: its 49,208 seat rows have
// never been read. settled holds on an event whose tables were vacuumed
// and analyzed after it was created, as autovacuum does for a sale opened
// hours later. The fans' tables are settled in both.
func BenchmarkHoldHTTP(b *testing.B) {
	b.Run("fresh", func(b *testing.B) { benchHold(b, false) })
	b.Run("settled", func(b *testing.B) { benchHold(b, true) })
}

func benchHold(b *testing.B, settled bool) {
	e := benchEnv(b)
	ctx := context.Background()
	fans := e.benchFans(ctx, 6000)
	e.warmSessions(fans)
	e.settle(fanTables)
	event, seats := e.stadium(ctx)
	if 2*b.N > len(seats) {
		b.Fatalf("out of seats: use -benchtime Nx with N ≤ %d", len(seats)/2)
	}
	if settled {
		e.settle(eventTables + ", " + fanTables)
	}
	path := "/api/events/" + event + "/holds"
	runLoad(b, e, "holds/s", func(i int) error {
		r := e.do("POST", path, fans[i%len(fans)].Token, map[string]any{"seat_ids": seats[2*i : 2*i+2]})
		if r.status != 201 {
			return fmt.Errorf("hold %d: %d %s", i, r.status, r.body)
		}
		return nil
	})
}

// BenchmarkRejectHTTP measures contended rejections per second: 1,000 fans
// ask for 2 of 512 seats that are already held, which the Redis gate turns
// away with 409 seat_unavailable before Postgres: its pg-queries/op should
// stay near 0.
func BenchmarkRejectHTTP(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	event, seats := e.stadium(ctx)
	fans := e.benchFans(ctx, 1000)
	const held = 512
	eventID := eventID(b, event)
	heldIDs := make([]string, held)
	for i := 0; i < held; i += 2 {
		ids := []int64{mustID(b, seats[i]), mustID(b, seats[i+1])}
		if _, err := e.seats.Hold(ctx, seatmap.HoldRequest{EventID: eventID, AccountID: fans[i/8].ID, SeatIDs: ids}); err != nil {
			b.Fatal(err)
		}
		heldIDs[i], heldIDs[i+1] = seats[i], seats[i+1]
	}
	path := "/api/events/" + event + "/holds"
	reject := func(i int) error {
		a, c := rand.IntN(held), rand.IntN(held-1)
		if c >= a {
			c++
		}
		r := e.do("POST", path, fans[i%len(fans)].Token, map[string]any{"seat_ids": []string{heldIDs[a], heldIDs[c]}})
		if r.status != 409 {
			return fmt.Errorf("hold %d of held seats: %d %s", i, r.status, r.body)
		}
		return nil
	}
	e.warmSessions(fans)
	e.settle(eventTables + ", " + fanTables)
	runLoad(b, e, "rejections/s", reject)
}

// warmSessions signs every fan's session into the server's cache, as the
// pages a fan loads before a hold do in a sale; otherwise the first
// request of each fan in the timed part would read its session.
func (e *env) warmSessions(fans []account.Fan) {
	e.t.Helper()
	for _, f := range fans {
		if r := e.do("GET", "/api/me", f.Token, nil); r.status != 200 {
			e.t.Fatalf("me: %d %s", r.status, r.body)
		}
	}
}

func mustID(b *testing.B, s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return id
}

// BenchmarkSnapshotHTTP measures the seat-status snapshot of the stadium
// mid-sale, gzipped as a browser asks for it: bytes on the wire and latency
// from the node's cache (refreshed from Postgres about once a second, which
// the p99 includes). Every seat gets an independent random state (40%
// available, 10% held, 40% sold, 10% reserved), which compresses worse than
// a real sale, where seats go in adjacent blocks.
func BenchmarkSnapshotHTTP(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	event, seats := e.stadium(ctx)
	e.skipInvariants(event) // states written by hand, without holds or orders
	fan := e.benchFans(ctx, 1)[0]
	_, err := e.pool.Exec(ctx, `
		UPDATE seats SET status = m.status, hold_id = m.hold_id, holder_account_id = m.holder,
		       reserved_reason = m.reason, version = version + 1
		FROM (SELECT id, r,
		             CASE WHEN r < 0.4 THEN 'available' WHEN r < 0.5 THEN 'held' WHEN r < 0.9 THEN 'sold' ELSE 'reserved' END AS status,
		             CASE WHEN r >= 0.4 AND r < 0.5 THEN gen_random_uuid() END AS hold_id,
		             CASE WHEN r >= 0.4 AND r < 0.5 THEN $2::bigint END AS holder,
		             CASE WHEN r >= 0.9 THEN 'bench' END AS reason
		      FROM (SELECT id, random() AS r FROM seats WHERE event_id = $1) x) m
		WHERE seats.id = m.id`, eventID(b, event), fan.ID)
	if err != nil {
		b.Fatal(err)
	}
	path := "/api/events/" + event + "/availability"
	get := func() (resp, error) {
		r := e.do("GET", path, "", nil, "Accept-Encoding", "gzip")
		if r.status != 200 || r.header.Get("Content-Encoding") != "gzip" {
			return r, fmt.Errorf("snapshot: %d %q", r.status, r.header.Get("Content-Encoding"))
		}
		return r, nil
	}
	first, err := get()
	if err != nil {
		b.Fatal(err)
	}
	var snap struct{ Statuses string }
	if err := json.Unmarshal(gunzip(b, first.body), &snap); err != nil || len(snap.Statuses) != len(seats) {
		b.Fatalf("snapshot has %d statuses, want %d (%v)", len(snap.Statuses), len(seats), err)
	}
	e.settle(eventTables + ", " + fanTables)
	runLoad(b, e, "snapshots/s", func(int) error {
		_, err := get()
		return err
	})
	b.ReportMetric(float64(len(first.body)), "gzip-bytes")
	b.ReportMetric(float64(len(seats)), "seats")
}

// BenchmarkJoinHTTP measures waiting-room joins per second on one node: per
// fan, GET a proof-of-work challenge, solve it, POST the join (the server
// checks the signature and expiry, verifies the hash, spends the challenge
// with SET NX and runs the join script). The room's difficulty is 1 bit, so
// the in-process client's solving does not take the server's CPU; the
// server's verification is one hash whatever the difficulty.
func BenchmarkJoinHTTP(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	event, _ := e.roomEvent(waitingroom.Settings{PowDifficulty: 1})
	fans := e.benchFans(ctx, b.N)
	e.warmSessions(fans)
	challenge, join := "/api/events/"+event+"/queue/challenge", "/api/events/"+event+"/queue"
	e.settle(eventTables + ", " + fanTables)
	runLoad(b, e, "joins/s", func(i int) error {
		token := fans[i].Token
		r := e.do("GET", challenge, token, nil)
		var c waitingroom.Challenge
		if r.status != 200 || json.Unmarshal(r.body, &c) != nil {
			return fmt.Errorf("challenge %d: %d %s", i, r.status, r.body)
		}
		nonce, err := waitingroom.Solve(ctx, c.Challenge, c.Difficulty)
		if err != nil {
			return err
		}
		r = e.do("POST", join, token, map[string]string{"challenge": c.Challenge, "signature": c.Signature, "solution": nonce})
		if r.status != 201 {
			return fmt.Errorf("join %d: %d %s", i, r.status, r.body)
		}
		return nil
	})
}

// startCPU starts measuring CPU time; the function it returns gives the
// time used since by this process and by the Postgres backends of the test
// database (read from /proc; backends that started meanwhile count whole).
func (e *env) startCPU() func() (app, pg time.Duration) {
	e.t.Helper()
	app0, pg0 := processCPU(os.Getpid()), e.backendsCPU()
	return func() (time.Duration, time.Duration) {
		var pg time.Duration
		for pid, t := range e.backendsCPU() {
			pg += t - pg0[pid]
		}
		return processCPU(os.Getpid()) - app0, pg
	}
}

// redisCPU is the CPU time the Redis server has used (INFO cpu), all its
// clients included.
func (e *env) redisCPU() time.Duration {
	e.t.Helper()
	info, err := e.rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("INFO cpu %s: %v", line, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

func (e *env) backendsCPU() map[int]time.Duration {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		e.t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		e.t.Fatal(err)
	}
	cpu := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		cpu[pid] = processCPU(pid)
	}
	return cpu
}

// processCPU is the user + system time of a process, 0 if it is gone or
// not on this machine.
func processCPU(pid int) time.Duration {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command: state is 3, utime 14, stime 15.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

func gunzip(b *testing.B, gz []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		b.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return plain
}

// BenchmarkConvertHTTP measures conversions per second: a fan's existing
// 2-seat hold checked out and paid with the test card (POST
// …/checkout, POST …/confirm), which writes the payment, the order and
// its tickets and marks the seats sold at the gate. The holds are taken
// before the timed part; the jobs a paid order queues (the confirmation
// email with its PDF) are not run. N ≤ 24,000.
func BenchmarkConvertHTTP(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	event, seats := e.stadium(ctx)
	if 2*b.N > len(seats) {
		b.Fatalf("out of seats: use -benchtime Nx with N ≤ %d", len(seats)/2)
	}
	fans := e.benchFans(ctx, (b.N+3)/4) // 4 holds of 2 seats each, the stadium's cap of 8
	eventID := eventID(b, event)
	holds := make([]string, b.N)
	for i := range holds {
		h, err := e.seats.Hold(ctx, seatmap.HoldRequest{EventID: eventID, AccountID: fans[i/4].ID,
			SeatIDs: []int64{mustID(b, seats[2*i]), mustID(b, seats[2*i+1])}})
		if err != nil {
			b.Fatal(err)
		}
		holds[i] = h.ID
	}
	e.warmSessions(fans)
	card := map[string]string{"card_number": "4242424242424242"}
	e.settle(eventTables + ", " + fanTables)
	runLoad(b, e, "orders/s", func(i int) error {
		token := fans[i/4].Token
		r := e.do("POST", "/api/holds/"+holds[i]+"/checkout", token, nil)
		var p paymentBody
		if r.status != 201 || json.Unmarshal(r.body, &p) != nil {
			return fmt.Errorf("checkout %d: %d %s", i, r.status, r.body)
		}
		r = e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", token, card)
		if r.status != 200 || !bytes.Contains(r.body, []byte(`"succeeded"`)) {
			return fmt.Errorf("confirm %d: %d %s", i, r.status, r.body)
		}
		return nil
	})
}

// BenchmarkQueuePollHTTP measures what a waiting fan costs: GET
// …/queue/me, the position poll a fan's page sends every few seconds, for
// 2,000 fans who joined a room that admits no one meanwhile.
func BenchmarkQueuePollHTTP(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	event, _ := e.roomEvent(waitingroom.Settings{PowDifficulty: 1})
	fans := e.benchFans(ctx, 2000)
	for _, f := range fans {
		if r := e.do("POST", "/api/events/"+event+"/queue", f.Token, e.solvedJoin(event, f.Token)); r.status != 201 {
			b.Fatalf("join: %d %s", r.status, r.body)
		}
	}
	path := "/api/events/" + event + "/queue/me"
	e.settle(eventTables + ", " + fanTables)
	runLoad(b, e, "polls/s", func(i int) error {
		r := e.do("GET", path, fans[i%len(fans)].Token, nil)
		if r.status != 200 {
			return fmt.Errorf("poll %d: %d %s", i, r.status, r.body)
		}
		return nil
	})
}
