package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestScheduledReleaseOnSocket: an admin schedules a release of held-back
// seats over the API with `at`; a job runner (as every node runs) puts them
// on sale when the time comes, not before, and a socket subscribed to the
// seat map sees them become available.
func TestScheduledReleaseOnSocket(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg()})
	ctx := context.Background()
	var l seatmap.Layout
	l.Sections = []seatmap.Section{{ID: "A", Name: "A", Tier: "t"}}
	for n := 1; n <= 10; n++ {
		l.Seats = append(l.Seats, seatmap.SeatSpec{Section: "A", Row: "1", Number: n, X: float64(n * 5), Type: seatmap.SeatStandard, Rank: n})
	}
	v, err := e.seats.CreateVenue(ctx, "venue "+testkit.RandomHex(3), l)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.seats.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: t.Name(), ReserveShare: 0.5,
		EventDate: time.Now().Add(48 * time.Hour), SaleOpens: time.Now().Add(-time.Minute), Prices: map[string]int64{"default": 4200}})
	if err != nil {
		t.Fatal(err)
	}
	event := fmt.Sprint(id)
	before := e.availability(event)
	reserved := map[int]bool{}
	for i, c := range before {
		if c == 'r' {
			reserved[i] = true
		}
	}
	if len(reserved) != 5 {
		t.Fatalf("availability %q, want 5 reserved", before)
	}

	admin := e.admin()
	ws := mustDialWS(t, e.base, admin)
	ws.subscribe("event:" + event + ":seats")

	runner := jobs.NewRunner(e.pool, nil, jobs.Config{PollInterval: 50 * time.Millisecond})
	e.seats.RegisterJobs(runner)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); runner.Run(rctx) }()
	defer func() { cancel(); <-done }()

	at := time.Now().Add(1500 * time.Millisecond).UTC()
	r := e.do("POST", "/api/admin/events/"+event+"/inventory/release", admin,
		map[string]any{"section": "A", "count": 3, "at": at.Format(time.RFC3339Nano)})
	if r.status != 202 {
		t.Fatalf("schedule: %d %s", r.status, r.body)
	}

	released := map[int]bool{}
	for len(released) < 3 {
		f := ws.next("seats")
		for _, s := range f.seats(t) {
			if !reserved[s.idx] || s.state != 'a' {
				t.Errorf("unexpected seat change %+v in %s", s, f.raw)
				continue
			}
			if f.at.Before(at) {
				t.Errorf("seat %d released at %v, before its time %v", s.idx, f.at, at)
			}
			released[s.idx] = true
		}
	}
	after := e.availability(event)
	if n := countByte(after, 'r'); n != 2 {
		t.Errorf("availability after the release %q: %d reserved, want 2", after, n)
	}
}

func countByte(s string, b byte) int {
	n := 0
	for i := range len(s) {
		if s[i] == b {
			n++
		}
	}
	return n
}
