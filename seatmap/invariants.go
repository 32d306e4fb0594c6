package seatmap

import (
	"context"
	"fmt"
	"strings"
)

// Invariants are the figures that prove the hard rule for one event, read
// straight from Postgres. Tests check them after every scenario and the load
// driver after every run.
type Invariants struct {
	Capacity  int `json:"capacity"`
	Available int `json:"available"`
	Held      int `json:"held"`
	Sold      int `json:"sold"`
	Reserved  int `json:"reserved"`
	// Resale counts sold seats whose ticket is listed for resale.
	Resale int `json:"resale"`
	// Violations lists every broken rule; empty means all hold.
	Violations []string `json:"violations"`
}

// OK reports whether no rule is broken.
func (inv Invariants) OK() bool { return len(inv.Violations) == 0 }

// Err returns the violations as one error, or nil.
func (inv Invariants) Err() error {
	if inv.OK() {
		return nil
	}
	return fmt.Errorf("seatmap: invariants broken: %s", strings.Join(inv.Violations, "; "))
}

// CheckInvariants reads an event in one repeatable-read snapshot and checks:
// conservation (available + held + sold + reserved + resale = capacity),
// for the event and for each general-admission area;
// every held seat belongs to exactly one live hold that lists it; every live
// hold holds all its seats; no seat is in two live holds; every sold or
// resale seat belongs to the converted hold that sold it, and every
// converted hold's seats are sold (or resale) by it or were resold by a
// later resale hold (or was put back on sale by an admin refund,
// ReturnSeats); every resale hold's seat was resale when held; and
// each account's counter equals its seats in live holds plus the seats it
// owns (sold or resale, and resale seats a buyer holds at the moment).
// Ownership moves by transfer, so the owner of a sold seat is not compared
// with its hold's account here; checkout compares it with the live ticket.
func (s *Service) CheckInvariants(ctx context.Context, eventID int64) (Invariants, error) {
	var inv Invariants
	tx, err := s.db.BeginTx(ctx, txRepeatableRead)
	if err != nil {
		return inv, fmt.Errorf("seatmap: invariants: %w", err)
	}
	defer tx.Rollback(ctx)
	err = tx.QueryRow(ctx, `
		SELECT e.capacity,
		       count(*) FILTER (WHERE s.status = 'available'),
		       count(*) FILTER (WHERE s.status = 'held'),
		       count(*) FILTER (WHERE s.status = 'sold'),
		       count(*) FILTER (WHERE s.status = 'reserved'),
		       count(*) FILTER (WHERE s.status = 'resale')
		FROM events e JOIN seats s ON s.event_id = e.id WHERE e.id = $1 GROUP BY e.capacity`,
		eventID).Scan(&inv.Capacity, &inv.Available, &inv.Held, &inv.Sold, &inv.Reserved, &inv.Resale)
	if err != nil {
		return inv, fmt.Errorf("seatmap: invariants of %d: %w", eventID, err)
	}
	if sum := inv.Available + inv.Held + inv.Sold + inv.Reserved + inv.Resale; sum != inv.Capacity {
		inv.Violations = append(inv.Violations, fmt.Sprintf("conservation: %d seats counted, capacity %d", sum, inv.Capacity))
	}
	checks := []struct{ name, sql string }{
		// Conservation per general-admission area: its places, free, held,
		// sold or otherwise, add up to the capacity it was declared with.
		{"ga area whose places differ from its capacity", `
			SELECT count(*) FROM event_sections es WHERE es.event_id = $1 AND es.kind = 'ga'
			AND es.capacity <> (SELECT count(*) FROM seats s WHERE s.event_id = $1 AND s.section = es.id)`},
		{"held seat without a live hold listing it", `
			SELECT count(*) FROM seats s WHERE s.event_id = $1 AND s.status = 'held' AND NOT EXISTS (
				SELECT 1 FROM holds h WHERE h.id = s.hold_id AND h.event_id = s.event_id
				AND h.status IN ('active', 'payment_pending') AND s.id = ANY(h.seat_ids))`},
		{"live hold missing one of its seats", `
			SELECT count(*) FROM holds h, unnest(h.seat_ids) AS sid
			WHERE h.event_id = $1 AND h.status IN ('active', 'payment_pending') AND NOT EXISTS (
				SELECT 1 FROM seats s WHERE s.id = sid AND s.status = 'held' AND s.hold_id = h.id)`},
		{"seat in two live holds", `
			SELECT count(*) FROM (
				SELECT sid FROM holds h, unnest(h.seat_ids) AS sid
				WHERE h.event_id = $1 AND h.status IN ('active', 'payment_pending')
				GROUP BY sid HAVING count(*) > 1) d`},
		{"sold seat without a converted hold listing it", `
			SELECT count(*) FROM seats s WHERE s.event_id = $1 AND s.status IN ('sold', 'resale') AND NOT EXISTS (
				SELECT 1 FROM holds h WHERE h.id = s.hold_id AND h.event_id = s.event_id
				AND h.status = 'converted' AND s.id = ANY(h.seat_ids))`},
		{"converted hold with a seat not sold by it", `
			SELECT count(*) FROM holds h, unnest(h.seat_ids) AS sid
			WHERE h.event_id = $1 AND h.status = 'converted' AND NOT EXISTS (
				SELECT 1 FROM seats s WHERE s.id = sid AND (
					(s.status IN ('sold', 'resale') AND s.hold_id = h.id) OR EXISTS (
						SELECT 1 FROM holds r WHERE r.id = s.hold_id AND r.listing_id IS NOT NULL
						AND r.created_at >= h.created_at)))
			AND NOT EXISTS (SELECT 1 FROM returned_seats rs WHERE rs.hold_id = h.id AND rs.seat_id = sid)`},
		{"resale hold whose seat was not owned by its seller", `
			SELECT count(*) FROM holds h WHERE h.event_id = $1 AND h.listing_id IS NOT NULL
			AND (cardinality(h.seat_ids) <> 1 OR h.prior_hold_id IS NULL OR h.prior_account_id IS NULL
			     OR h.prior_account_id = h.account_id)`},
		{"account counter differs from its held and sold seats", `
			WITH live AS (
				SELECT account_id, sum(cardinality(seat_ids))::int AS n FROM holds
				WHERE event_id = $1 AND status IN ('active', 'payment_pending') GROUP BY account_id),
			sold AS (
				SELECT holder_account_id AS account_id, count(*)::int AS n FROM seats
				WHERE event_id = $1 AND status IN ('sold', 'resale') GROUP BY holder_account_id),
			reselling AS (
				SELECT prior_account_id AS account_id, count(*)::int AS n FROM holds
				WHERE event_id = $1 AND status IN ('active', 'payment_pending') AND listing_id IS NOT NULL
				GROUP BY prior_account_id),
			want AS (
				SELECT account_id, sum(n)::int AS n FROM (
					SELECT * FROM live UNION ALL SELECT * FROM sold UNION ALL SELECT * FROM reselling) u
				GROUP BY account_id)
			SELECT count(*) FROM (
				SELECT coalesce(c.account_id, w.account_id) FROM
				(SELECT * FROM account_event_seats WHERE event_id = $1 AND seats > 0) c
				FULL JOIN want w ON w.account_id = c.account_id
				WHERE coalesce(c.seats, 0) <> coalesce(w.n, 0)) d`},
	}
	for _, c := range checks {
		var n int
		if err := tx.QueryRow(ctx, c.sql, eventID).Scan(&n); err != nil {
			return inv, fmt.Errorf("seatmap: invariant %q: %w", c.name, err)
		}
		if n > 0 {
			inv.Violations = append(inv.Violations, fmt.Sprintf("%s: %d", c.name, n))
		}
	}
	return inv, nil
}
