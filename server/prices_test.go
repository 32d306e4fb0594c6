package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/seatmap"
)

type breakdown struct {
	Face     int64 `json:"face_cents"`
	Service  int64 `json:"service_fee_cents"`
	Facility int64 `json:"facility_fee_cents"`
	Tax      int64 `json:"tax_cents"`
	Included bool  `json:"tax_included"`
	Total    int64 `json:"total_cents"`
}

// TestAllInPrices: an admin sets fees and price types through the API;
// the event list, the event's price list, the hold, the checkout, the
// amount the test processor was asked for, the order and its tickets all
// carry the same all-in totals, to the cent, and a cancel keeping the
// fees refunds the rest.
func TestAllInPrices(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ctx := context.Background()
	var l seatmap.Layout
	l.Sections = []seatmap.Section{{ID: "A", Name: "A", Tier: "t", Rank: 0}}
	for n := 1; n <= 4; n++ {
		typ := seatmap.SeatStandard
		if n == 4 {
			typ = seatmap.SeatVIP
		}
		l.Seats = append(l.Seats, seatmap.SeatSpec{Section: "A", Row: "1", Number: n, X: float64(n * 10), Type: typ, Rank: n})
	}
	v, err := e.seats.CreateVenue(ctx, "fees venue", l)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	// 10% + $1.50 service, $2 facility, 8.25% tax added; a child pays
	// half the seat's price. Standard seats 45.05, the VIP seat 99.99.
	fees := map[string]any{"service_fee_bps": 1000, "service_fee_cents": 150, "facility_fee_cents": 200, "tax_bps": 825}
	body := map[string]any{"venue_id": fmt.Sprint(v.ID), "name": "All in", "event_date": now.Add(72 * time.Hour),
		"sale_opens": now.Add(-time.Minute), "prices": map[string]int64{"standard": 4505, "vip": 9999}, "reserve_share": 0,
		"fees": fees, "price_types": []map[string]any{{"key": "adult", "name": "Adult", "percent": 100},
			{"key": "child", "name": "Child", "percent": 50, "condition": "under 12 on the day"}}}
	r := e.do("POST", "/api/admin/events", admin, body)
	var ev struct {
		ID       string
		MinPrice int64 `json:"min_price_cents"`
		MaxPrice int64 `json:"max_price_cents"`
		Prices   []struct {
			PriceCents int64     `json:"price_cents"`
			PriceType  string    `json:"price_type"`
			Breakdown  breakdown `json:"price_breakdown"`
		}
	}
	r.json(t, &ev)
	if r.status != 201 {
		t.Fatalf("create event: %d %s", r.status, r.body)
	}
	f := seatmap.Fees{ServiceBasisPoints: 1000, ServiceCents: 150, FacilityCents: 200, TaxBasisPoints: 825}
	adult, child, vip := f.Price(4505), f.Price(2253), f.Price(9999) // 45.05 / 2 = 22.525 → 22.53
	// Worked by hand: 45.05 + 4.51 (4.505 half up) + 1.50 + 2.00 + 3.72 (3.716625) = 56.78.
	if adult.TotalCents != 5678 {
		t.Fatalf("adult all-in = %d, want 5678 (%+v)", adult.TotalCents, adult)
	}
	if ev.MinPrice != child.TotalCents || ev.MaxPrice != vip.TotalCents || len(ev.Prices) != 4 {
		t.Errorf("event prices: min %d max %d (want %d %d), %d price rows: %s", ev.MinPrice, ev.MaxPrice,
			child.TotalCents, vip.TotalCents, len(ev.Prices), r.body)
	}
	for _, p := range ev.Prices {
		if p.PriceCents == 4505 && p.PriceType == "adult" && p.Breakdown.Total != adult.TotalCents {
			t.Errorf("price list: adult standard %+v, want %+v", p.Breakdown, adult)
		}
	}
	e.t.Cleanup(func() {
		id := 0
		fmt.Sscan(ev.ID, &id)
		if bad, err := e.checkout.CheckInvariants(context.Background(), int64(id)); err != nil || len(bad) > 0 {
			t.Errorf("checkout invariants: %v %v", err, bad)
		}
	})
	var m struct{ Seats []struct{ ID string } }
	e.do("GET", "/api/events/"+ev.ID+"/seatmap", "", nil).json(t, &m)
	seats := []string{m.Seats[0].ID, m.Seats[1].ID, m.Seats[3].ID}

	fan := e.fan("payer")
	r = e.do("POST", "/api/events/"+ev.ID+"/holds", fan.token, map[string]any{"seat_ids": seats})
	var h struct {
		ID    string
		Total int64 `json:"total_cents"`
		Lines []breakdown
	}
	r.json(t, &h)
	if r.status != 201 || h.Total != 2*adult.TotalCents+vip.TotalCents {
		t.Fatalf("hold: %d %s, want total %d", r.status, r.body, 2*adult.TotalCents+vip.TotalCents)
	}

	for name, b := range map[string]any{
		"unknown type":      map[string]any{"tickets": []map[string]any{{"seat_id": seats[0], "price_type": "senior"}}},
		"seat not in hold":  map[string]any{"tickets": []map[string]any{{"seat_id": m.Seats[2].ID, "price_type": "child"}}},
		"seat twice":        map[string]any{"tickets": []map[string]any{{"seat_id": seats[0], "price_type": "child"}, {"seat_id": seats[0], "price_type": "adult"}}},
		"amount smuggled":   map[string]any{"amount_cents": 1},
		"type missing":      map[string]any{"tickets": []map[string]any{{"seat_id": seats[0]}}},
		"tickets not array": map[string]any{"tickets": "child"},
	} {
		if r := e.do("POST", "/api/holds/"+h.ID+"/checkout", fan.token, b); r.status/100 != 4 {
			t.Errorf("checkout with %s: %d %s, want 4xx", name, r.status, r.body)
		}
	}
	r = e.do("POST", "/api/holds/"+h.ID+"/checkout", fan.token, map[string]any{"tickets": []map[string]any{
		{"seat_id": seats[1], "price_type": "child"}}})
	var p paymentBody
	r.json(t, &p)
	want := adult.TotalCents + child.TotalCents + vip.TotalCents
	if r.status != 201 || p.Payment.AmountCents != want {
		t.Fatalf("checkout: %d %s, want amount %d", r.status, r.body, want)
	}
	var intentID string
	if err := e.db().QueryRow(ctx, `SELECT intent_id FROM payments WHERE id = $1`, p.Payment.ID).Scan(&intentID); err != nil {
		t.Fatal(err)
	}
	if in, ok := e.proc.Intent(intentID); !ok || in.AmountCents != want {
		t.Fatalf("the processor was asked for %d, the fan shown %d", in.AmountCents, want)
	}
	r = e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", fan.token, map[string]string{"card_number": "4242424242424242"})
	var res struct {
		OrderID string `json:"order_id"`
	}
	r.json(t, &res)
	if r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if in, _ := e.proc.Intent(intentID); in.AmountCaptured != want {
		t.Errorf("captured %d, want %d", in.AmountCaptured, want)
	}
	var o struct {
		Total     int64     `json:"total_cents"`
		Breakdown breakdown `json:"price_breakdown"`
		Tickets   []struct {
			PriceType string    `json:"price_type"`
			Name      string    `json:"price_type_name"`
			Breakdown breakdown `json:"price_breakdown"`
			Seat      struct {
				PriceCents int64 `json:"price_cents"`
			}
		}
	}
	r = e.do("GET", "/api/orders/"+res.OrderID, fan.token, nil)
	r.json(t, &o)
	if o.Total != want || o.Breakdown.Total != want || len(o.Tickets) != 3 ||
		o.Breakdown.Service+o.Breakdown.Facility+o.Breakdown.Tax+o.Breakdown.Face != want {
		t.Fatalf("order: %s", r.body)
	}
	types := map[string]int64{}
	for _, tk := range o.Tickets {
		types[tk.PriceType+"/"+tk.Name] = tk.Breakdown.Total
		if tk.PriceType == "child" && (tk.Breakdown.Face != 2253 || tk.Seat.PriceCents != 4505) {
			t.Errorf("child ticket: face %d on a seat of %d, want 2253 on 4505", tk.Breakdown.Face, tk.Seat.PriceCents)
		}
	}
	if types["child/Child"] != child.TotalCents || len(types) != 2 {
		t.Errorf("ticket types: %v", types)
	}

	// Cancelled keeping the fees: the fan gets the face values and their
	// tax back.
	if r := e.do("PATCH", "/api/admin/events/"+ev.ID, admin, map[string]any{"refund_fees": false}); r.status != 422 {
		t.Errorf("refund_fees without cancel: %d %s, want 422", r.status, r.body)
	}
	if r := e.do("PATCH", "/api/admin/events/"+ev.ID, admin, map[string]any{"status": "cancel", "refund_fees": false}); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	orderID := res.OrderID
	if err := e.checkout.RefundOrder(ctx, orderID); err != nil {
		t.Fatal(err)
	}
	fee := adult.FeeCents() + child.FeeCents() + vip.FeeCents()
	if in, _ := e.proc.Intent(intentID); in.AmountRefunded != want-fee {
		t.Errorf("refunded %d of %d, want %d (fees %d kept)", in.AmountRefunded, want, want-fee, fee)
	}
	var ledger struct {
		Balanced bool
		Expected int64 `json:"expected_net_cents"`
	}
	e.do("GET", "/api/admin/events/"+ev.ID+"/ledger", admin, nil).json(t, &ledger)
	if !ledger.Balanced || ledger.Expected != fee {
		t.Errorf("ledger after a cancel keeping fees: balanced %v, expected net %d, want %d", ledger.Balanced, ledger.Expected, fee)
	}
}

// TestPricingValidation: bad fee settings, price types and price keys are
// a 422 naming the problem, on create and on change.
func TestPricingValidation(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	event, _ := e.event(1, 1, 2)
	v := e.do("GET", "/api/events/"+event, "", nil)
	var ev struct{ Venue struct{ ID string } }
	v.json(t, &ev)
	now := time.Now().UTC()
	base := func(extra map[string]any) map[string]any {
		b := map[string]any{"venue_id": ev.Venue.ID, "name": "x", "event_date": now.Add(2 * time.Hour), "sale_opens": now,
			"prices": map[string]int64{"default": 100}}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	for name, extra := range map[string]map[string]any{
		"negative fee":       {"fees": map[string]any{"facility_fee_cents": -1}},
		"tax over 100%":      {"fees": map[string]any{"tax_bps": 10001}},
		"unknown fee field":  {"fees": map[string]any{"booking_fee": 1}},
		"fee as text":        {"fees": map[string]any{"service_fee_bps": "10"}},
		"percent over 100":   {"price_types": []map[string]any{{"key": "a", "name": "A", "percent": 150}}},
		"bad key":            {"price_types": []map[string]any{{"key": "Adult!", "name": "A", "percent": 100}}},
		"duplicate key":      {"price_types": []map[string]any{{"key": "a", "name": "A", "percent": 100}, {"key": "a", "name": "B", "percent": 50}}},
		"unknown price key":  {"prices": map[string]int64{"default": 100, "balcony": 5}},
		"price type no name": {"price_types": []map[string]any{{"key": "a", "percent": 100}}},
	} {
		if r := e.do("POST", "/api/admin/events", admin, base(extra)); r.status != 422 && r.status != 400 {
			t.Errorf("create with %s: %d %s, want 4xx", name, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/admin/events", admin, base(map[string]any{"prices": map[string]int64{"standard": 100}})); r.status != 201 {
		t.Errorf("price key standard: %d %s", r.status, r.body)
	}
	path := "/api/admin/events/" + event
	if r := e.do("PATCH", path, admin, map[string]any{"fees": map[string]any{"service_fee_bps": 20000}}); r.status != 422 {
		t.Errorf("change to bad fees: %d %s", r.status, r.body)
	}
	r := e.do("PATCH", path, admin, map[string]any{"fees": map[string]any{"facility_fee_cents": 300}})
	var got struct {
		Min  int64 `json:"min_price_cents"`
		Fees struct {
			Facility int64 `json:"facility_fee_cents"`
		}
	}
	r.json(t, &got)
	if r.status != 200 || got.Fees.Facility != 300 || got.Min != 4500 {
		t.Errorf("change fees: %d %s, want facility 300 and from 45.00", r.status, r.body)
	}
}
