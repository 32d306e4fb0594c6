package checkout_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// fixture is one on-sale event with the inventory, the test processor and
// checkout over the test database and Redis.
type fixture struct {
	t     *testing.T
	db    *pgxpool.Pool
	seats *seatmap.Service
	proc  *checkout.TestProcessor
	svc   *checkout.Service
	event int64
	ids   []int64 // seat ids by idx
}

func newFixture(t *testing.T, cfg checkout.Config) *fixture {
	t.Helper()
	return newFixtureSeats(t, cfg, 10)
}

// newFixtureSeats is newFixture with nSeats seats in one row.
func newFixtureSeats(t *testing.T, cfg checkout.Config, nSeats int) *fixture {
	t.Helper()
	ctx := context.Background()
	db := testkit.DB(t)
	rdb, prefix := testkit.Redis(t)
	seats := seatmap.New(db, seatmap.NewRedisGate(rdb, prefix), nil, nil, seatmap.Config{})
	var l seatmap.Layout
	l.Sections = []seatmap.Section{{ID: "A", Name: "A", Tier: "t", Rank: 0}}
	for n := 1; n <= nSeats; n++ {
		l.Seats = append(l.Seats, seatmap.SeatSpec{Section: "A", Row: "1", Number: n, X: float64(n * 10), Y: 0,
			Type: seatmap.SeatStandard, Rank: n})
	}
	v, err := seats.CreateVenue(ctx, "venue "+testkit.RandomHex(3), l)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := seats.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: "Checkout " + t.Name(),
		EventDate: time.Now().Add(72 * time.Hour), SaleOpens: time.Now().Add(-time.Hour), Prices: map[string]int64{"default": 2500}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, seats: seats, proc: checkout.NewTestProcessor(), event: ev}
	if cfg.SecretKey == nil {
		cfg.SecretKey = testKey
	}
	if cfg.ReconcileAfter == 0 {
		cfg.ReconcileAfter = time.Millisecond
	}
	f.svc = checkout.New(db, seats, f.proc, nil, nil, cfg)
	rows, err := db.Query(ctx, `SELECT id FROM seats WHERE event_id = $1 ORDER BY idx`, ev)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		f.ids = append(f.ids, id)
	}
	t.Cleanup(f.checkInvariants)
	return f
}

// restart is a new checkout over the same database and processor, as a
// restarted process would build.
func (f *fixture) restart(cfg checkout.Config) *checkout.Service {
	cfg.SecretKey = testKey
	if cfg.ReconcileAfter == 0 {
		cfg.ReconcileAfter = time.Millisecond
	}
	return checkout.New(f.db, f.seats, f.proc, nil, nil, cfg)
}

// reconcileAll runs reconciler passes until one looks at less than a full
// batch, so every due payment has had its look. The package's database
// keeps earlier tests' open payments, which only their own in-memory
// processors knew; they come first (oldest first) and can fill a pass.
func reconcileAll(t *testing.T, svc *checkout.Service) {
	t.Helper()
	for range 50 {
		st, err := svc.Reconcile(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Resolved < checkout.ReconcileBatch {
			return
		}
	}
	t.Fatal("reconcile: every pass was full after 50 passes")
}

func (f *fixture) checkInvariants() {
	f.t.Helper()
	ctx := context.Background()
	inv, err := f.seats.CheckInvariants(ctx, f.event)
	if err != nil {
		f.t.Fatal(err)
	}
	if !inv.OK() {
		f.t.Errorf("seatmap invariants: %v", inv.Violations)
	}
	bad, err := f.svc.CheckInvariants(ctx, f.event)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(bad) > 0 {
		f.t.Errorf("checkout invariants: %v", bad)
	}
}

func (f *fixture) account(name string) int64 {
	f.t.Helper()
	var id int64
	err := f.db.QueryRow(context.Background(), `INSERT INTO accounts (email, name, password_hash) VALUES ($1, $2, 'x') RETURNING id`,
		"fan-"+testkit.RandomHex(4)+"@example.test", name).Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) hold(acct int64, idx ...int) seatmap.Hold {
	f.t.Helper()
	var ids []int64
	for _, i := range idx {
		ids = append(ids, f.ids[i])
	}
	h, err := f.seats.Hold(context.Background(), seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: ids})
	if err != nil {
		f.t.Fatalf("hold %v: %v", idx, err)
	}
	return h
}

func (f *fixture) checkout(acct int64, holdID string) checkout.Payment {
	f.t.Helper()
	p, err := f.svc.Checkout(context.Background(), acct, holdID, nil)
	if err != nil {
		f.t.Fatalf("checkout %s: %v", holdID, err)
	}
	return p
}

// count runs a count(*) query.
func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) seatStatus(idx int) string {
	f.t.Helper()
	var s string
	if err := f.db.QueryRow(context.Background(), `SELECT status FROM seats WHERE id = $1`, f.ids[idx]).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) paymentStatus(id string) string {
	f.t.Helper()
	var s string
	if err := f.db.QueryRow(context.Background(), `SELECT status FROM payments WHERE id = $1`, id).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) intentOf(paymentID string) checkout.Intent {
	f.t.Helper()
	var id string
	if err := f.db.QueryRow(context.Background(), `SELECT intent_id FROM payments WHERE id = $1`, paymentID).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	in, ok := f.proc.Intent(id)
	if !ok {
		f.t.Fatalf("no intent %s", id)
	}
	return in
}

// drainJobs runs the due jobs of the given kinds.
func (f *fixture) drainJobs(register func(*jobs.Runner)) {
	f.t.Helper()
	r := jobs.NewRunner(f.db, nil, jobs.Config{})
	register(r)
	if _, err := r.Drain(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

var errCrash = errors.New("injected crash")

func visa() checkout.Method { return checkout.Method{CardNumber: "4242 4242 4242 4242"} }

// must(f())(t) fails t when f returned an error, else gives f's value.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
