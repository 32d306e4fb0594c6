package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Outbox jobs of an event's cancellation.
const (
	// JobRefund refunds one paid order of a cancelled event.
	JobRefund = "checkout.refund"
	// JobCancelSweep catches orders converted after the cancel committed
	// (a payment that was in flight): it runs once every such payment must
	// have settled, and refunds them like the others.
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

// CancelEvent cancels an event for good: in one transaction with the status
// change it voids every ticket of the event and enqueues one refund job per
// paid order (deduplicated by order), so the event is never cancelled
// without its refunds, nor refunded while still on sale. The refunds then
// run as outbox jobs (RefundOrder). It returns the event as it now is.
func (s *Service) CancelEvent(ctx context.Context, eventID int64) (seatmap.EventDetail, error) {
	return s.seats.ChangeStatusWith(ctx, eventID, seatmap.ActionCancel, func(ctx context.Context, tx pgx.Tx) error {
		n, err := s.enqueueRefunds(ctx, tx, eventID)
		if err != nil {
			return err
		}
		// A payment in flight may still convert its hold after this commit
		// (the sale path does not read the event's row: no hot row). Every
		// such payment settles by its hold's hard deadline; the sweep runs
		// after that and refunds what converted late.
		settle := s.seats.Config().HoldTTL + s.cfg.PaymentGrace + time.Minute
		if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobCancelSweep, DedupeKey: fmt.Sprintf("cancel-sweep:%d", eventID),
			Payload: eventJob{EventID: eventID}, Delay: settle}); err != nil {
			return err
		}
		s.log.Info("checkout: event cancelled", "event", eventID, "orders_to_refund", n)
		return nil
	})
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

// SweepCancelled voids the tickets and enqueues the refunds of orders of a
// cancelled event that converted after the cancel (JobCancelSweep). It
// does nothing for an event that is not cancelled.
func (s *Service) SweepCancelled(ctx context.Context, eventID int64) error {
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM events WHERE id = $1`, eventID).Scan(&status); err != nil {
			return fmt.Errorf("checkout: cancel sweep of event %d: %w", eventID, err)
		}
		if status != seatmap.StatusCancelled {
			return nil
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

// RefundOrder gives an order's money back and marks it refunded. It is
// idempotent: a refunded order is skipped, and the provider call carries the
// payment's idempotency key (the same key the void path uses), so a repeat
// after a crash between the provider's answer and the record replays the
// first refund instead of making a second one. A payment whose capture was
// still outstanding (an order under review, or a capture not yet done) is
// cancelled instead: nobody was charged.
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
	switch p.Status {
	case StatusRefunded, StatusCanceled:
		final = p.Status // the provider side is done; record the order
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
			if err := s.payments.Refund(ctx, p.intentID, "refund:"+p.ID); err != nil {
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
