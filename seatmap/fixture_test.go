package seatmap_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// smallLayout is sections × rows × perRow seats; section k has rank k.
func smallLayout(sections, rows, perRow int) seatmap.Layout {
	var l seatmap.Layout
	for s := range sections {
		id := fmt.Sprintf("S%d", s+1)
		l.Sections = append(l.Sections, seatmap.Section{ID: id, Name: "Section " + id, Tier: "tier", Rank: s})
		for r := range rows {
			for n := 1; n <= perRow; n++ {
				l.Seats = append(l.Seats, seatmap.SeatSpec{
					Section: id, Row: fmt.Sprint(r + 1), Number: n,
					X: float64(s*200 + n*5), Y: float64(r * 5), Type: seatmap.SeatStandard,
					Rank: s*1000 + r*100 + abs(n-perRow/2),
				})
			}
		}
	}
	return l
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// fixture is one on-sale event over a small layout with its services.
type fixture struct {
	t     testing.TB
	db    *pgxpool.Pool
	svc   *seatmap.Service
	event int64
	seats []int64 // seat ids by idx
}

type fixtureOpts struct {
	layout  seatmap.Layout
	cfg     seatmap.Config
	gate    seatmap.Gate // nil: a Redis gate on the shared Redis
	noGate  bool
	reserve float64
	pub     seatmap.Publisher
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	ctx := context.Background()
	db := testkit.DB(t)
	if o.layout.Seats == nil {
		o.layout = smallLayout(2, 2, 10)
	}
	gate := o.gate
	if gate == nil && !o.noGate {
		rdb, prefix := testkit.Redis(t)
		gate = seatmap.NewRedisGate(rdb, prefix)
	}
	svc := seatmap.New(db, gate, o.pub, nil, o.cfg)
	v, err := svc.CreateVenue(ctx, "Test venue "+testkit.RandomHex(3), o.layout)
	if err != nil {
		t.Fatalf("CreateVenue: %v", err)
	}
	ev, err := svc.CreateEvent(ctx, seatmap.EventSpec{
		VenueID: v.ID, Name: t.Name(), EventDate: time.Now().Add(24 * time.Hour),
		SaleOpens: time.Now().Add(-time.Hour), Prices: map[string]int64{"default": 5000}, ReserveShare: o.reserve,
	})
	if err != nil {
		t.Fatalf("CreateEvent: %v", err)
	}
	f := &fixture{t: t, db: db, svc: svc, event: ev}
	rows, err := db.Query(ctx, `SELECT id FROM seats WHERE event_id = $1 ORDER BY idx`, ev)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		f.seats = append(f.seats, id)
	}
	t.Cleanup(func() { f.checkInvariants() })
	return f
}

// accounts creates n fan accounts directly (no password hashing).
func (f *fixture) accounts(n int) []int64 {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `
		INSERT INTO accounts (email, name, password_hash)
		SELECT 'fan-' || $1 || '-' || g || '@example.test', 'Fan ' || g, 'x' FROM generate_series(1, $2) g
		RETURNING id`, testkit.RandomHex(4), n)
	if err != nil {
		f.t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			f.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// checkInvariants fails the test when the hard rule is broken.
func (f *fixture) checkInvariants() seatmap.Invariants {
	f.t.Helper()
	inv, err := f.svc.CheckInvariants(context.Background(), f.event)
	if err != nil {
		f.t.Fatalf("CheckInvariants: %v", err)
	}
	if !inv.OK() {
		f.t.Errorf("invariants broken: %v", inv.Violations)
	}
	return inv
}

// status returns each seat's status letter by idx, straight from Postgres.
func (f *fixture) status(idx int) (status string, holdID *string) {
	f.t.Helper()
	err := f.db.QueryRow(context.Background(),
		`SELECT status, hold_id::text FROM seats WHERE id = $1`, f.seats[idx]).Scan(&status, &holdID)
	if err != nil {
		f.t.Fatal(err)
	}
	return status, holdID
}
