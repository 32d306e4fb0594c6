package seatmap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestRepriceReachesEveryNode: two nodes serve the seat map of an event
// whose sale has not started; a reprice on one shows on the other within
// a few seconds (it asks events.prices_version), and once the sale is
// open a reprice is refused with ErrSaleStarted and the prices stay.
func TestRepriceReachesEveryNode(t *testing.T) {
	ctx := context.Background()
	db := testkit.DB(t)
	a := seatmap.New(db, nil, nil, nil, seatmap.Config{})
	b := seatmap.New(db, nil, nil, nil, seatmap.Config{})
	v, err := a.CreateVenue(ctx, "Reprice hall "+testkit.RandomHex(3), smallLayout(1, 1, 4))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := a.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: t.Name(), EventDate: time.Now().Add(48 * time.Hour),
		SaleOpens: time.Now().Add(time.Hour), Prices: map[string]int64{"default": 1000}})
	if err != nil {
		t.Fatal(err)
	}
	minPrice := func(s *seatmap.Service) int64 {
		d, err := s.Event(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		return d.MinPriceCents
	}
	if got := minPrice(b); got != 1000 {
		t.Fatalf("node b before: %d", got)
	}
	if err := a.Reprice(ctx, ev, map[string]int64{"default": 2500}); err != nil {
		t.Fatal(err)
	}
	if got := minPrice(a); got != 2500 {
		t.Errorf("node a after its reprice: %d, want 2500", got)
	}
	deadline := time.Now().Add(15 * time.Second)
	for minPrice(b) != 2500 {
		if time.Now().After(deadline) {
			t.Fatalf("node b still shows %d after 15 s", minPrice(b))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := a.ChangeStatus(ctx, ev, seatmap.ActionOpen); err != nil {
		t.Fatal(err)
	}
	if err := b.Reprice(ctx, ev, map[string]int64{"default": 1}); !errors.Is(err, seatmap.ErrSaleStarted) {
		t.Errorf("reprice on sale: %v, want sale_started", err)
	}
	if got := minPrice(b); got != 2500 {
		t.Errorf("a refused reprice changed the price: %d", got)
	}
}
