package seatmap_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/seatmap"
)

// TestCreateEventReadiesSeats: creating a stadium event (49,208 seats)
// leaves its rows vacuumed, frozen and analyzed when CreateEvent returns,
// so the first hold of a sale opened at once locks its seats through the
// primary key; without statistics that know the event, the planner walks
// all of its seats through the event's index for every hold.
func TestCreateEventReadiesSeats(t *testing.T) {
	f := newFixture(t, fixtureOpts{layout: smallLayout(1, 1, 4)})
	ctx := context.Background()
	layout, err := seatmap.Generate("stadium")
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	svc := seatmap.New(f.db, nil, nil, slog.New(slog.NewTextHandler(&logs, nil)), seatmap.Config{})
	v, err := svc.CreateVenue(ctx, "Stadium", layout)
	if err != nil {
		t.Fatal(err)
	}
	// Statistics that know the events before this one only, as autovacuum
	// left them.
	if _, err := f.db.Exec(ctx, `ANALYZE seats`); err != nil {
		t.Fatal(err)
	}
	var before time.Time
	if err := f.db.QueryRow(ctx, `SELECT now()`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ev, err := svc.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: "Stadium night",
		EventDate: time.Now().Add(24 * time.Hour), SaleOpens: time.Now(), Prices: seatmap.DefaultPrices("stadium")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CreateEvent of %d seats took %v, readying included: %s", len(layout.Seats), time.Since(start), logs.String())

	var vacuumed, analyzed bool
	err = f.db.QueryRow(ctx, `
		SELECT coalesce(last_vacuum >= $1, false), coalesce(last_analyze >= $1, false)
		FROM pg_stat_user_tables WHERE relname = 'seats'`, before).Scan(&vacuumed, &analyzed)
	if err != nil {
		t.Fatal(err)
	}
	if !vacuumed || !analyzed {
		t.Errorf("after CreateEvent: seats vacuumed %v, analyzed %v; want both", vacuumed, analyzed)
	}
	var a, b int64
	if err := f.db.QueryRow(ctx, `SELECT min(id), min(id) + 1 FROM seats WHERE event_id = $1`, ev).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	// The hold statement's lock step (hold.go, holdSQL).
	var plan string
	err = f.db.QueryRow(ctx, `EXPLAIN (FORMAT JSON)
		SELECT id, status FROM seats WHERE event_id = $1 AND id = ANY($2::bigint[]) ORDER BY id FOR UPDATE`,
		ev, []int64{a, b}).Scan(&plan)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, `"Index Name": "seats_pkey"`) {
		t.Errorf("a hold's seats are not locked through the primary key:\n%s", plan)
	}
}
