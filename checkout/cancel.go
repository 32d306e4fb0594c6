package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Outbox jobs of an event's cancellation.
const (
	// JobRefund refunds one paid order of a cancelled event.
	JobRefund = "checkout.refund"
	// JobCancelSweep is a safety net behind CancelEvent, which ends every
	// sale of the event in its own transaction: once every payment of the
	// event must have settled, it refunds any order that still appeared.
	JobCancelSweep = "checkout.cancel_sweep"
)

type eventJob struct {
	EventID int64 `json:"event_id"`
}

// Order statuses (the orders table).
const (
	OrderPaid     = "paid"
	OrderRefunded = "refunded"
	// OrderReview waits for an admin: seats sold, tickets and capture held
	// back (review.go).
	OrderReview = "review"
	// OrderRejected was refused on review: authorization cancelled, seats
	// back on sale, tickets void.
	OrderRejected = "rejected"
)

// CancelOptions are the admin's choices when cancelling an event.
type CancelOptions struct {
	// KeepFees keeps the service and facility fees of every order (the
	// refunds return the face value and its tax only). The default, false,
	// refunds everything the fans paid.
	KeepFees bool
}

// CancelEvent cancels an event for good. In one transaction with the
// status change it ends every sale under way, so nothing of the event can
// be bought, paid or resold after the commit: payments not yet converted
// move to voiding (their authorizations are cancelled right after the
// commit, and by the reconciler if that fails), every live hold is released,
// every listing cancelled, every pending transfer cancelled and every payout
// not yet made void; then every ticket is voided and one refund job per
// paid order is enqueued (deduplicated by order), so the event is never
// cancelled without its refunds, nor refunded while still on sale. The
// refunds then run as outbox jobs (RefundOrder). It returns the event as it
// now is.
//
// Lock order, as on the sale path: payment rows first (a settlement in
// progress is waited for, and its order is then refunded like the others),
// then holds and seats (seatmap.EndSales), then listings, transfers,
// payouts and tickets. A checkout that commits between the first two steps
// is caught by the second pass over payments.
func (s *Service) CancelEvent(ctx context.Context, eventID int64, opts CancelOptions) (seatmap.EventDetail, error) {
	var voiding []string
	var out seatmap.Outcome
	ev, err := s.seats.ChangeStatusWith(ctx, eventID, seatmap.ActionCancel, func(ctx context.Context, tx pgx.Tx) error {
		voiding, out = nil, seatmap.Outcome{}
		if _, err := tx.Exec(ctx, `UPDATE events SET refund_fees = $2 WHERE id = $1`, eventID, !opts.KeepFees); err != nil {
			return fmt.Errorf("checkout: refund rule of event %d: %w", eventID, err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM payments WHERE event_id = $1 AND status = ANY($2) ORDER BY id FOR UPDATE`,
			eventID, convertible); err != nil {
			return fmt.Errorf("checkout: lock payments of event %d: %w", eventID, err)
		}
		var err error
		if out, err = s.seats.EndSales(ctx, tx, eventID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE payments SET status = 'voiding', updated_at = now()
			WHERE event_id = $1 AND status = ANY($2) RETURNING id`, eventID, convertible)
		if err != nil {
			return fmt.Errorf("checkout: void payments of event %d: %w", eventID, err)
		}
		if voiding, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("checkout: void payments of event %d: %w", eventID, err)
		}
		for _, q := range []string{
			`UPDATE listings SET status = 'cancelled', ended_at = now() WHERE event_id = $1 AND status = 'active'`,
			`UPDATE transfers SET status = 'cancelled', ended_at = now() WHERE event_id = $1 AND status = 'pending'`,
			`UPDATE payouts SET status = 'void' WHERE event_id = $1 AND status IN ('pending', 'failed')`,
		} {
			if _, err := tx.Exec(ctx, q, eventID); err != nil {
				return fmt.Errorf("checkout: cancel event %d: %w", eventID, err)
			}
		}
		// The notices quote the refunds, so they are written first, while
		// the tickets still say who holds them.
		if err := s.enqueueCancelNotices(ctx, tx, eventID); err != nil {
			return err
		}
		n, err := s.enqueueRefunds(ctx, tx, eventID)
		if err != nil {
			return err
		}
		// A safety net: nothing of the event can convert after this commit,
		// but should an order appear anyway, the sweep refunds it once every
		// payment of the event must have settled.
		settle := s.seats.Config().HoldTTL + s.cfg.PaymentGrace + time.Minute
		if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobCancelSweep, DedupeKey: fmt.Sprintf("cancel-sweep:%d", eventID),
			Payload: eventJob{EventID: eventID}, Delay: settle}); err != nil {
			return err
		}
		s.log.Info("checkout: event cancelled", "event", eventID, "orders_to_refund", n, "payments_voided", len(voiding))
		return nil
	})
	if err != nil {
		return seatmap.EventDetail{}, err
	}
	s.seats.AfterCommit(ctx, out)
	for _, id := range voiding {
		if err := s.void(ctx, id); err != nil {
			s.log.Warn("checkout: void failed; the reconciler retries", "payment", id, "err", err)
		}
	}
	return ev, nil
}

// enqueueRefunds voids the event's live tickets and enqueues a refund job
// for each paid order and each order under review (once per order,
// whatever the number of calls).
func (s *Service) enqueueRefunds(ctx context.Context, tx pgx.Tx, eventID int64) (int, error) {
	if _, err := tx.Exec(ctx, `UPDATE tickets SET status = 'void', version = version + 1
		WHERE event_id = $1 AND status <> 'void'`, eventID); err != nil {
		return 0, fmt.Errorf("checkout: void tickets of event %d: %w", eventID, err)
	}
	rows, err := tx.Query(ctx, `SELECT id FROM orders WHERE event_id = $1 AND status IN ('paid', 'review') ORDER BY id`, eventID)
	if err != nil {
		return 0, fmt.Errorf("checkout: orders of event %d: %w", eventID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("checkout: orders of event %d: %w", eventID, err)
	}
	for _, id := range ids {
		if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobRefund, DedupeKey: "refund:order:" + id,
			Payload: orderJob{OrderID: id}}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// SweepCancelled voids the tickets and enqueues the refunds of any order
// of a cancelled event not refunded yet (JobCancelSweep; nothing should be
// left, since the cancel ends every sale). It does nothing for an event
// that is not cancelled.
func (s *Service) SweepCancelled(ctx context.Context, eventID int64) error {
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM events WHERE id = $1`, eventID).Scan(&status); err != nil {
			return fmt.Errorf("checkout: cancel sweep of event %d: %w", eventID, err)
		}
		if status != seatmap.StatusCancelled {
			return nil
		}
		if err := s.enqueueCancelNotices(ctx, tx, eventID); err != nil {
			return err
		}
		n, err := s.enqueueRefunds(ctx, tx, eventID)
		if err == nil && n > 0 {
			s.log.Warn("checkout: orders converted after the event was cancelled; refunding", "event", eventID, "orders", n)
		}
		return err
	})
}

// registerRefund adds the cancellation jobs' handlers (refund, sweep) to r.
// A refund never dies: it is retried until it succeeds or an admin acts,
// and shows as failing (GET /api/admin/jobs?status=failing) meanwhile.
func (s *Service) registerRefund(r *jobs.Runner) {
	r.Register(JobRefund, func(ctx context.Context, raw json.RawMessage) error {
		var j orderJob
		if err := json.Unmarshal(raw, &j); err != nil {
			return err
		}
		return s.RefundOrder(ctx, j.OrderID)
	}, jobs.RetryForever) // money owed back is never given up on
	r.Register(JobCancelSweep, func(ctx context.Context, raw json.RawMessage) error {
		var j eventJob
		if err := json.Unmarshal(raw, &j); err != nil {
			return err
		}
		return s.SweepCancelled(ctx, j.EventID)
	})
}

// RefundOrder gives an order's money back and marks it refunded: what the
// buyer paid minus the resale payouts already paid out for tickets of the
// order (a pending payout was voided with the cancel), so a fan who resold
// a ticket ends even and the platform keeps nothing. The amount is fixed in
// a refunds row before the provider is asked, and the provider call carries
// the payment's idempotency key (the key the void path uses), so a repeat
// after a crash replays the first refund instead of making a second one. A
// refunded order is skipped. A payment whose capture was still outstanding
// (an order under review, or a capture not yet done) is cancelled instead:
// nobody was charged.
func (s *Service) RefundOrder(ctx context.Context, orderID string) error {
	var status, paymentID string
	err := s.db.QueryRow(ctx, `SELECT status, payment_id FROM orders WHERE id = $1`, orderID).Scan(&status, &paymentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrOrderNotFound
	}
	if err != nil {
		return fmt.Errorf("checkout: refund order %s: %w", orderID, err)
	}
	if status != OrderPaid && status != OrderReview {
		return nil
	}
	p, err := payment(ctx, s.db, `p.id = $1`, false, paymentID)
	if err != nil {
		return err
	}
	final := StatusRefunded
	switch {
	case p.Status == StatusRefunded || p.Status == StatusCanceled:
		final = p.Status // the provider side is done; record the order
	case p.Provider == ProviderCounter:
		// Paid at the box office: the refund row says what to give back
		// over the counter; no processor holds the money.
		if err := s.refund(ctx, p, orderID, RefundEventCancelled); err != nil {
			return fmt.Errorf("checkout: refund order %s: %w", orderID, err)
		}
	default:
		in, err := s.payments.Get(ctx, p.intentID)
		if err != nil {
			return fmt.Errorf("checkout: refund order %s: %w", orderID, err)
		}
		if in.Status == IntentRequiresCapture {
			in, err = s.payments.Cancel(ctx, p.intentID, "cancel:"+p.ID)
			if errors.Is(err, ErrUnexpectedState) {
				in, err = s.payments.Get(ctx, p.intentID) // captured meanwhile
			}
			if err != nil {
				return fmt.Errorf("checkout: cancel payment of order %s: %w", orderID, err)
			}
			final = StatusCanceled
		}
		if in.Status == IntentSucceeded {
			if err := s.refund(ctx, p, orderID, RefundEventCancelled); err != nil {
				return fmt.Errorf("checkout: refund order %s: %w", orderID, err)
			}
			final = StatusRefunded
		} else if in.Status != IntentCanceled {
			return fmt.Errorf("checkout: refund order %s: intent is %s", orderID, in.Status)
		}
	}
	err = s.recordRefund(ctx, orderID, paymentID, final)
	if err == nil {
		s.log.Info("checkout: order refunded", "order", orderID, "payment", paymentID, "status", final)
	}
	return err
}

// Refund reasons (the refunds table).
const (
	// RefundEventCancelled: the order's event was cancelled (RefundOrder).
	RefundEventCancelled = "event_cancelled"
	// RefundHoldLost: a payment was captured although its hold was lost
	// (void).
	RefundHoldLost = "hold_lost"
)

// refund gives a captured payment's money back under the key refund:{payment}.
// Its amount is fixed the first time, in the payment's refunds row: the
// payment's amount, minus what admins refunded of it already, minus (for a cancelled event's order) the resale
// payouts already paid for the order's tickets, whoever they were paid to,
// since that money reached a fan. What those payouts exceed the payment by
// (a resale above face) cannot be refunded away: it is recorded as owed
// (owed_cents), and the ledger counts it and leaves it open for a person.
// If the event was cancelled keeping fees, the order's service and facility
// fees come out of what is left (kept_fee_cents). Later calls replay the
// same amount. An amount of zero asks the provider nothing.
//
// A timeout repeats the same key (the first call may have taken effect).
// A definite refusal counts in the row (refused), and the next try uses
// the key refund:{payment}:{refused}: the provider did nothing, but keeps
// its answer under the old key (Stripe does, for 24 hours), so the same
// key would be refused again however often the job retried.
func (s *Service) refund(ctx context.Context, p Payment, orderID, reason string) error {
	if orderID != "" {
		if err := payoutInFlight(ctx, s.db, orderID); err != nil {
			return err
		}
	}
	due, err := refundDue(ctx, s.db, p, orderID)
	if err != nil {
		return err
	}
	amount, withheld, owed, kept := due.amount, due.withheld, due.owed, due.kept
	var id string
	var refused int
	var order *string
	if orderID != "" {
		order = &orderID
	}
	err = s.db.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO refunds (id, payment_id, order_id, event_id, account_id, reason, amount_cents, withheld_cents, owed_cents, currency, status,
			                     kept_fee_cents)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11)
			ON CONFLICT (payment_id) WHERE reason <> 'admin' DO NOTHING
			RETURNING id, amount_cents, refused)
		SELECT id, amount_cents, refused FROM ins
		UNION ALL SELECT id, amount_cents, refused FROM refunds WHERE payment_id = $2 AND reason <> 'admin' AND NOT EXISTS (SELECT 1 FROM ins)`,
		uuid.NewString(), p.ID, order, p.eventID, p.accountID, reason, amount, withheld, owed, p.Currency, kept).Scan(&id, &amount, &refused)
	if err != nil {
		return fmt.Errorf("checkout: refund row of %s: %w", p.ID, err)
	}
	if amount > 0 && p.Provider != ProviderCounter {
		key := "refund:" + p.ID
		if refused > 0 {
			key = fmt.Sprintf("refund:%s:%d", p.ID, refused)
		}
		if err := s.payments.Refund(ctx, p.intentID, amount, key); err != nil {
			if !errors.Is(err, ErrUnknownOutcome) {
				if _, uerr := s.db.Exec(ctx, `UPDATE refunds SET refused = refused + 1 WHERE id = $1 AND refused = $2`, id, refused); uerr != nil {
					s.log.Error("checkout: count a refused refund", "refund", id, "err", uerr)
				}
			}
			return err
		}
	}
	if _, err := s.db.Exec(ctx, `UPDATE refunds SET status = 'succeeded', refunded_at = now() WHERE id = $1 AND status = 'pending'`, id); err != nil {
		return fmt.Errorf("checkout: record refund %s: %w", id, err)
	}
	return nil
}

func (s *Service) recordRefund(ctx context.Context, orderID, paymentID, final string) error {
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = $2, updated_at = now() WHERE id = $1`, paymentID, final); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE orders SET status = 'refunded' WHERE id = $1 AND status IN ('paid', 'review')`, orderID)
		return err
	})
	if err != nil {
		return fmt.Errorf("checkout: record refund of %s: %w", orderID, err)
	}
	return nil
}

// refundFigures is what an automatic refund of a payment gives back
// (amount), holds back for resale payouts already paid (withheld), records
// as owed past the payment (owed) and keeps of the fees (kept).
type refundFigures struct {
	amount, withheld, owed, kept int64
}

// refundDue works out refundFigures as refund fixes them: the payment's
// amount, minus what admins refunded of it already, minus (for a
// cancelled event's order) the resale payouts already paid for the order's
// tickets, minus the fees kept if the event was cancelled keeping them. It
// reads through q, so the cancellation's notices, written in its
// transaction, quote the amount the refund job will then fix.
func refundDue(ctx context.Context, q pg.Querier, p Payment, orderID string) (refundFigures, error) {
	var paidOut, fees, byAdmin int64
	// What admins already refunded of the payment (adminrefund.go) is
	// not given back twice.
	if err := q.QueryRow(ctx, `SELECT coalesce(sum(amount_cents), 0) FROM refunds WHERE payment_id = $1 AND reason = 'admin'`,
		p.ID).Scan(&byAdmin); err != nil {
		return refundFigures{}, fmt.Errorf("checkout: admin refunds of %s: %w", p.ID, err)
	}
	if orderID != "" {
		err := q.QueryRow(ctx, `
			SELECT coalesce(sum(po.net_cents), 0) FROM payouts po
			JOIN listings l ON l.id = po.listing_id JOIN tickets t ON t.id = l.ticket_id
			WHERE t.order_id = $1 AND po.status = 'paid'`, orderID).Scan(&paidOut)
		if err != nil {
			return refundFigures{}, fmt.Errorf("checkout: payouts of order %s: %w", orderID, err)
		}
		err = q.QueryRow(ctx, `
			SELECT coalesce(sum(t.service_fee_cents + t.facility_fee_cents) FILTER (WHERE NOT e.refund_fees), 0)
			FROM orders o JOIN events e ON e.id = o.event_id LEFT JOIN tickets t ON t.order_id = o.id AND t.refund_id IS NULL
			WHERE o.id = $1`, orderID).Scan(&fees)
		if err != nil {
			return refundFigures{}, fmt.Errorf("checkout: fees of order %s: %w", orderID, err)
		}
	}
	base := max(p.AmountCents-byAdmin, 0)
	withheld := min(paidOut, base)
	owed, amount := paidOut-withheld, base-withheld
	// Fees kept back (the admin cancelled keeping them) come out of what
	// is left after payouts; tax is refunded with the face value it was
	// charged on.
	kept := min(fees, amount)
	return refundFigures{amount: amount - kept, withheld: withheld, owed: owed, kept: kept}, nil
}
