package waitingroom

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

var testSecret = []byte("waitingroom-test-secret-0123456789abcdef")

// clock is a test clock: real time plus an offset the test moves.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// recorder is a Publisher that keeps every frame.
type recorder struct {
	mu       sync.Mutex
	queue    []QueueFrame
	queueAt  []time.Time
	admitted map[int64]int
	frames   []AdmittedFrame
}

func newRecorder() *recorder { return &recorder{admitted: map[int64]int{}} }

func (r *recorder) PublishQueue(_ context.Context, _ int64, b []byte) error {
	var f QueueFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queue = append(r.queue, f)
	r.queueAt = append(r.queueAt, time.Now())
	return nil
}

func (r *recorder) PublishAdmitted(_ context.Context, acct int64, b []byte) error {
	var f AdmittedFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.admitted[acct]++
	r.frames = append(r.frames, f)
	return nil
}

var _ Publisher = (*recorder)(nil)

// fixture is a database with a venue and a Redis (shared, with a prefix, or
// private).
type fixture struct {
	t      testing.TB
	db     *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	venue  int64
	clock  *clock
}

func newFixture(t testing.TB, private bool) *fixture {
	t.Helper()
	db := testkit.DB(t)
	f := &fixture{t: t, db: db, clock: &clock{}}
	if private {
		srv := testkit.StartRedisServer(t)
		f.rdb = srv.Client()
	} else {
		f.rdb, f.prefix = testkit.Redis(t)
	}
	err := db.QueryRow(context.Background(), `INSERT INTO venues (name, layout, capacity) VALUES ('wr', '{}', 1) RETURNING id`).Scan(&f.venue)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// service returns a Service on the fixture's stores with short ticks.
func (f *fixture) service(pub Publisher, tune func(*Config)) *Service {
	cfg := Config{SecretKey: testSecret, Prefix: f.prefix, Tick: 20 * time.Millisecond, LeaseTTL: time.Second,
		SettingsTTL: time.Millisecond, Now: f.clock.Now}
	if tune != nil {
		tune(&cfg)
	}
	return New(f.db, f.rdb, pub, nil, cfg)
}

// event creates an event whose sale opens at opens with the given settings.
func (f *fixture) event(opens time.Time, set Settings) int64 {
	f.t.Helper()
	raw, _ := json.Marshal(set)
	var id int64
	err := f.db.QueryRow(context.Background(), `
		INSERT INTO events (venue_id, name, event_date, sale_opens, capacity, waiting_room)
		VALUES ($1, $2, $3, $4, 1, $5) RETURNING id`, f.venue, fmt.Sprint(f.t.Name()), opens.Add(48*time.Hour), opens, raw).Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// bulkJoin joins accounts in order (skipping the proof of work), pipelined.
func bulkJoin(t testing.TB, s *Service, eventID int64, accounts []int64) {
	t.Helper()
	ctx := context.Background()
	k := s.keys(eventID)
	if err := joinScript.Load(ctx, s.rdb).Err(); err != nil {
		t.Fatal(err)
	}
	const batch = 2000
	for i := 0; i < len(accounts); i += batch {
		pipe := s.rdb.Pipeline()
		now := s.cfg.Now()
		jps := k.base + "jps:" + fmt.Sprint(now.Unix())
		for _, a := range accounts[i:min(i+batch, len(accounts))] {
			joinScript.EvalSha(ctx, pipe, append(s.statusKeys(k), k.opened, k.hb, jps, k.base+"jt"), a, now.UnixMilli())
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("bulk join: %v", err)
		}
	}
}

// accounts returns n distinct account ids starting at base.
func accounts(base int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(i)
	}
	return out
}
