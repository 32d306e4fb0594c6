package checkout

import (
	"context"
	"fmt"
)

// CheckInvariants checks the money side of the hard rule for one event and
// returns the broken rules (empty: all hold): every converted hold has
// exactly one order, whose payment is capturing or succeeded, with one live
// ticket per seat of the hold; no other hold has an order; no payment that
// took money lacks an order; no seat has two live tickets; every live ticket
// is owned by the seat's owner (a listed one: the seat is resale, or held by
// a resale hold bought from the ticket's owner); every sold listing has one
// payout and a void seller ticket; a cancelled event has no sale under way
// (live hold, unconverted payment, active listing, pending payout); a
// payment's refunds (a cancellation's, and any an admin made before)
// give back the payment minus what they withheld, never more; a
// refunded order may have a
// cancelled payment; an order under review has its payment in review (and
// only such an order has); a rejected order's hold was released, its
// tickets are void and its payment took no money; a payment waiting for the
// fan (a retry after a decline, a card's authentication) still has its hold.
// Tests run it with seatmap's
// CheckInvariants after every scenario.
func (s *Service) CheckInvariants(ctx context.Context, eventID int64) ([]string, error) {
	checks := []struct{ name, sql string }{
		{"converted hold without exactly one order", `
			SELECT count(*) FROM holds h WHERE h.event_id = $1 AND h.status = 'converted'
			AND (SELECT count(*) FROM orders o WHERE o.hold_id = h.id) <> 1`},
		{"order of a hold that is not converted", `
			SELECT count(*) FROM orders o JOIN holds h ON h.id = o.hold_id
			WHERE o.event_id = $1 AND h.status <> 'converted' AND NOT (o.status = 'rejected' AND h.status = 'released')`},
		{"rejected order whose hold is not released", `
			SELECT count(*) FROM orders o JOIN holds h ON h.id = o.hold_id
			WHERE o.event_id = $1 AND o.status = 'rejected' AND h.status <> 'released'`},
		{"order in review whose payment is not held for review, or the reverse", `
			SELECT count(*) FROM orders o JOIN payments p ON p.id = o.payment_id
			WHERE o.event_id = $1 AND (o.status = 'review') <> (p.status = 'review')`},
		{"rejected order with a live ticket or a payment that kept money", `
			SELECT count(*) FROM orders o JOIN payments p ON p.id = o.payment_id
			WHERE o.event_id = $1 AND o.status = 'rejected' AND (p.status NOT IN ('voiding', 'canceled', 'refunded')
				OR EXISTS (SELECT 1 FROM tickets t WHERE t.order_id = o.id AND t.status <> 'void'))`},
		{"ticket in review outside an order in review", `
			SELECT count(*) FROM tickets t JOIN orders o ON o.id = t.order_id
			WHERE t.event_id = $1 AND (t.status = 'review') AND o.status <> 'review'`},
		{"order whose payment is not captured or capturing", `
			SELECT count(*) FROM orders o JOIN payments p ON p.id = o.payment_id
			WHERE o.event_id = $1 AND o.status = 'paid' AND p.status NOT IN ('capturing', 'succeeded')`},
		{"order whose tickets differ from its hold's seats", `
			SELECT count(*) FROM orders o JOIN holds h ON h.id = o.hold_id
			WHERE o.event_id = $1 AND (SELECT array_agg(t.seat_id ORDER BY t.seat_id) FROM tickets t
				WHERE t.order_id = o.id) IS DISTINCT FROM
				(SELECT array_agg(x ORDER BY x) FROM unnest(h.seat_ids) x)`},
		{"captured or capturing payment without an order", `
			SELECT count(*) FROM payments p WHERE p.event_id = $1 AND p.status IN ('capturing', 'succeeded')
			AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.payment_id = p.id)`},
		{"settled-away payment with an order", `
			SELECT count(*) FROM payments p JOIN orders o ON o.payment_id = p.id
			WHERE p.event_id = $1 AND p.status IN ('declined', 'voiding', 'canceled') AND o.status = 'paid'`},
		{"ticket for a seat that is not sold to its holder", `
			SELECT count(*) FROM tickets t JOIN seats s ON s.id = t.seat_id
			WHERE t.event_id = $1 AND t.status <> 'void' AND NOT (
				(t.status <> 'listed' AND s.status = 'sold' AND s.holder_account_id = t.account_id) OR
				(t.status = 'listed' AND s.status = 'resale' AND s.holder_account_id = t.account_id) OR
				(t.status = 'listed' AND s.status = 'held' AND EXISTS (
					SELECT 1 FROM holds h WHERE h.id = s.hold_id AND h.prior_account_id = t.account_id)))`},
		{"listed ticket without exactly one active listing", `
			SELECT count(*) FROM tickets t WHERE t.event_id = $1 AND t.status = 'listed'
			AND (SELECT count(*) FROM listings l WHERE l.ticket_id = t.id AND l.status = 'active') <> 1`},
		{"sold listing without one payout or with a live seller ticket", `
			SELECT count(*) FROM listings l WHERE l.event_id = $1 AND l.status = 'sold' AND (
				(SELECT count(*) FROM payouts p WHERE p.listing_id = l.id) <> 1 OR
				EXISTS (SELECT 1 FROM tickets t WHERE t.id = l.ticket_id AND t.status <> 'void'))`},
		{"cancelled event with a sale still under way (a live hold, an unconverted payment, an active listing or a pending payout)", `
			SELECT count(*) FROM events e WHERE e.id = $1 AND e.status = 'cancelled' AND (
				EXISTS (SELECT 1 FROM holds h WHERE h.event_id = e.id AND h.status IN ('active', 'payment_pending')) OR
				EXISTS (SELECT 1 FROM payments p WHERE p.event_id = e.id
					AND p.status IN ('pending', 'requires_payment_method', 'requires_action', 'unknown', 'authorized')) OR
				EXISTS (SELECT 1 FROM listings l WHERE l.event_id = e.id AND l.status = 'active') OR
				EXISTS (SELECT 1 FROM payouts po WHERE po.event_id = e.id AND po.status IN ('pending', 'failed')))`},
		{"refund that does not add up to its payment (amount + withheld + fees kept, with admin refunds) or exceeds it", `
			SELECT count(*) FROM payments p
			CROSS JOIN LATERAL (SELECT sum(amount_cents + withheld_cents + kept_fee_cents) AS settled,
			                           sum(amount_cents + kept_fee_cents) AS given, bool_or(reason <> 'admin') AS final
			                    FROM refunds r WHERE r.payment_id = p.id) r
			WHERE p.event_id = $1 AND r.given IS NOT NULL AND ((r.final AND r.settled < p.amount_cents) OR r.given > p.amount_cents)`},
		{"order whose tickets' all-in prices do not add up to its payment", `
			SELECT count(*) FROM orders o JOIN payments p ON p.id = o.payment_id
			WHERE o.event_id = $1 AND p.amount_cents <> (SELECT coalesce(sum(t.total_cents), 0) FROM tickets t WHERE t.order_id = o.id)`},
		{"payment waiting for the fan (another card, or authentication) whose hold is not payment_pending", `
			SELECT count(*) FROM payments p JOIN holds h ON h.id = p.hold_id
			WHERE p.event_id = $1 AND h.status <> 'payment_pending'
			AND (p.status = 'requires_action' OR (p.status = 'requires_payment_method' AND p.retry_until IS NOT NULL))`},
		{"ticket transfer_pending without one pending transfer", `
			SELECT count(*) FROM tickets t WHERE t.event_id = $1
			AND (t.status = 'transfer_pending') <> EXISTS (
				SELECT 1 FROM transfers x WHERE x.ticket_id = t.id AND x.status = 'pending')`},
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
