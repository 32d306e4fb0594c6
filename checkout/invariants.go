package checkout

import (
	"context"
	"fmt"
)

// CheckInvariants checks the money side of the hard rule for one event and
// returns the broken rules (empty: all hold): every converted hold has
// exactly one order, whose payment is capturing or succeeded, with one live
// ticket per seat of the hold (until it is refunded); no other hold has an order; no payment that
// took money lacks an order; no seat has two live tickets. Tests run it with
// seatmap's CheckInvariants after every scenario.
func (s *Service) CheckInvariants(ctx context.Context, eventID int64) ([]string, error) {
	checks := []struct{ name, sql string }{
		{"converted hold without exactly one order", `
			SELECT count(*) FROM holds h WHERE h.event_id = $1 AND h.status = 'converted'
			AND (SELECT count(*) FROM orders o WHERE o.hold_id = h.id) <> 1`},
		{"order of a hold that is not converted", `
			SELECT count(*) FROM orders o JOIN holds h ON h.id = o.hold_id
			WHERE o.event_id = $1 AND h.status <> 'converted'`},
		{"order whose payment is not captured or capturing", `
			SELECT count(*) FROM orders o JOIN payments p ON p.id = o.payment_id
			WHERE o.event_id = $1 AND o.status = 'paid' AND p.status NOT IN ('capturing', 'succeeded')`},
		{"order whose tickets differ from its hold's seats", `
			SELECT count(*) FROM orders o JOIN holds h ON h.id = o.hold_id
			WHERE o.event_id = $1 AND o.status = 'paid' AND (SELECT array_agg(t.seat_id ORDER BY t.seat_id) FROM tickets t
				WHERE t.order_id = o.id AND t.status <> 'void') IS DISTINCT FROM
				(SELECT array_agg(x ORDER BY x) FROM unnest(h.seat_ids) x)`},
		{"captured or capturing payment without an order", `
			SELECT count(*) FROM payments p WHERE p.event_id = $1 AND p.status IN ('capturing', 'succeeded')
			AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.payment_id = p.id)`},
		{"settled-away payment with an order", `
			SELECT count(*) FROM payments p JOIN orders o ON o.payment_id = p.id
			WHERE p.event_id = $1 AND p.status IN ('declined', 'voiding', 'canceled') AND o.status = 'paid'`},
		{"ticket for a seat that is not sold to its holder", `
			SELECT count(*) FROM tickets t JOIN seats s ON s.id = t.seat_id
			WHERE t.event_id = $1 AND t.status <> 'void' AND (s.status <> 'sold' OR s.holder_account_id <> t.account_id)`},
	}
	var out []string
	for _, c := range checks {
		var n int
		if err := s.db.QueryRow(ctx, c.sql, eventID).Scan(&n); err != nil {
			return nil, fmt.Errorf("checkout: invariant %q: %w", c.name, err)
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s: %d", c.name, n))
		}
	}
	return out, nil
}
