package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// JobAdminRefund gives back the money of one admin refund (RunAdminRefund).
const JobAdminRefund = "checkout.admin_refund"

// RefundAdmin is the reason of a refund an admin made (the refunds table);
// what the admin wrote is its note.
const RefundAdmin = "admin"

// Errors of admin refunds.
var (
	ErrNotRefundable = apperr.E(apperr.Conflict, "order_not_refundable",
		"only a paid order whose payment was captured can be refunded; a payment still capturing can be refunded in a minute")
	ErrNothingToRefund = apperr.E(apperr.Conflict, "nothing_to_refund", "nothing of this order is left to refund")
	ErrRefundTooLarge  = apperr.E(apperr.Conflict, "refund_too_large", "the amount is more than what is left of the order's payment")
	ErrTicketBusy      = apperr.E(apperr.Conflict, "ticket_not_refundable",
		"only a valid ticket of this order can be refunded: withdraw its listing or cancel its transfer first")
	ErrRefundShape = apperr.E(apperr.Invalid, "invalid_refund", "send amount_cents or ticket_ids, not both (neither: the whole order)")
)

// AdminRefundRequest is an admin's refund of one order. With neither
// AmountCents nor TicketIDs the whole order is refunded: every ticket still
// valid, up to what is left of the payment.
type AdminRefundRequest struct {
	OrderID string
	AdminID int64
	// AmountCents gives back an amount without touching the tickets (a
	// goodwill gesture, a fee waived).
	AmountCents int64
	// TicketIDs refunds these tickets of the order: each is voided and
	// its all-in price given back.
	TicketIDs []string
	// Reason is what the admin wrote; it is kept with the refund and as
	// a note on the order.
	Reason string
	// ReleaseSeats puts the refunded tickets' seats back on sale; without
	// it they stay sold and off sale, as after a cancellation.
	ReleaseSeats bool
}

// RefundView is one refund as the admin's order page shows it.
type RefundView struct {
	ID          string     `json:"id"`
	OrderID     string     `json:"order_id"`
	Reason      string     `json:"reason"`
	Note        string     `json:"note,omitempty"`
	Status      string     `json:"status"`
	AmountCents int64      `json:"amount_cents"`
	Currency    string     `json:"currency"`
	TicketIDs   []string   `json:"ticket_ids"`
	CreatedAt   time.Time  `json:"created_at"`
	RefundedAt  *time.Time `json:"refunded_at,omitempty"`
}

type refundJob struct {
	RefundID string `json:"refund_id"`
}

// RefundByAdmin refunds an order in full or in part. In one transaction,
// under the payment's lock (the lock the cancel and the captures take
// first), it fixes the amount in a pending refunds row, voids the refunded
// tickets (marking them with the refund, so nothing refunds them twice),
// puts their seats back on sale if asked, writes the reason as a note and
// enqueues the job that asks the provider (RunAdminRefund). The money thus
// leaves through the outbox, retried until it succeeds; the order becomes
// refunded once its whole payment has been given back.
//
// A refund never exceeds what is left of the payment (the payment minus
// every refund already made or pending); a ticket refund gives back the
// tickets' all-in prices, capped at that.
func (s *Service) RefundByAdmin(ctx context.Context, req AdminRefundRequest) (RefundView, error) {
	if !validUUID(req.OrderID) {
		return RefundView{}, ErrOrderNotFound
	}
	if req.AmountCents < 0 || (req.AmountCents > 0 && len(req.TicketIDs) > 0) {
		return RefundView{}, ErrRefundShape
	}
	for _, id := range req.TicketIDs {
		if !validUUID(id) {
			return RefundView{}, ErrTicketNotFound
		}
	}
	var view RefundView
	var out seatmap.Outcome
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		out = seatmap.Outcome{}
		var status, paymentID string
		var eventID int64
		err := tx.QueryRow(ctx, `SELECT status, payment_id, event_id FROM orders WHERE id = $1`, req.OrderID).
			Scan(&status, &paymentID, &eventID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrOrderNotFound
		}
		if err != nil {
			return fmt.Errorf("checkout: refund order %s: %w", req.OrderID, err)
		}
		p, err := payment(ctx, tx, `p.id = $1`, true, paymentID)
		if err != nil {
			return err
		}
		// The order's status is read again under the payment's lock. The
		// event's row is share-locked: a cancellation (which refunds every
		// order itself, counting the admin refunds made before it) waits
		// for this one to commit, and none can start after it.
		var eventStatus string
		if err := tx.QueryRow(ctx, `SELECT o.status, e.status FROM orders o JOIN events e ON e.id = o.event_id WHERE o.id = $1
			FOR SHARE OF e`, req.OrderID).Scan(&status, &eventStatus); err != nil {
			return fmt.Errorf("checkout: refund order %s: %w", req.OrderID, err)
		}
		if eventStatus == seatmap.StatusCancelled {
			return ErrEventCancelled
		}
		if status != OrderPaid || p.Status != StatusSucceeded {
			return ErrNotRefundable.With("status", status).With("payment", p.Status)
		}
		left, err := refundable(ctx, tx, p)
		if err != nil {
			return err
		}
		tickets, seats, sum, err := refundTickets(ctx, tx, req)
		if err != nil {
			return err
		}
		amount := req.AmountCents
		if amount == 0 {
			amount = min(sum, left)
		} else if amount > left {
			return ErrRefundTooLarge.With("left_cents", left)
		}
		if amount <= 0 && len(tickets) == 0 {
			return ErrNothingToRefund
		}
		view = RefundView{ID: uuid.NewString(), OrderID: req.OrderID, Reason: RefundAdmin, Note: req.Reason,
			Status: "pending", AmountCents: amount, Currency: p.Currency, TicketIDs: nonNil(tickets)}
		if err := tx.QueryRow(ctx, `
			INSERT INTO refunds (id, payment_id, order_id, event_id, account_id, reason, amount_cents, currency, status,
			                     reason_text, created_by)
			VALUES ($1, $2, $3, $4, $5, 'admin', $6, $7, 'pending', $8, $9) RETURNING created_at`,
			view.ID, p.ID, req.OrderID, eventID, p.accountID, amount, p.Currency, req.Reason, req.AdminID).Scan(&view.CreatedAt); err != nil {
			return fmt.Errorf("checkout: refund row of order %s: %w", req.OrderID, err)
		}
		if len(tickets) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE tickets SET status = 'void', version = version + 1, refund_id = $3, voided_reason = 'refunded'
				WHERE order_id = $1 AND id = ANY($2::uuid[]) AND status = 'valid'`, req.OrderID, tickets, view.ID)
			if err != nil {
				return fmt.Errorf("checkout: void refunded tickets of %s: %w", req.OrderID, err)
			}
			if int(tag.RowsAffected()) != len(tickets) {
				return ErrTicketBusy
			}
			if req.ReleaseSeats {
				if out, err = s.seats.ReturnSeats(ctx, tx, eventID, seats); err != nil {
					return err
				}
			}
		}
		if err := addNote(ctx, tx, req.OrderID, req.AdminID, refundNote(view, req.ReleaseSeats)); err != nil {
			return err
		}
		if p.Provider != ProviderCounter {
			if err := enqueueNotice(ctx, tx, p.accountID, "order:"+req.OrderID+":refund:"+view.ID, "Your refund",
				refundEmail(view)); err != nil {
				return err
			}
		}
		_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobAdminRefund, DedupeKey: "refund:admin:" + view.ID,
			Payload: refundJob{RefundID: view.ID}})
		return err
	})
	if err != nil {
		return RefundView{}, err
	}
	s.seats.AfterCommit(ctx, out)
	s.log.Info("checkout: admin refund", "order", req.OrderID, "refund", view.ID, "amount", view.AmountCents,
		"tickets", len(view.TicketIDs), "admin", req.AdminID)
	return view, nil
}

// refundNote is the line an admin refund leaves on its order.
func refundNote(r RefundView, released bool) string {
	what := "an amount"
	if len(r.TicketIDs) > 0 {
		what = fmt.Sprintf("%d ticket(s), seats %s", len(r.TicketIDs), map[bool]string{true: "back on sale", false: "kept off sale"}[released])
	}
	note := fmt.Sprintf("Refund of %s %s (%s)", cents(r.AmountCents), r.Currency, what)
	if r.Note != "" {
		note += ": " + r.Note
	}
	return note
}

// refundEmail is the buyer's notice of an admin refund.
func refundEmail(r RefundView) string {
	body := fmt.Sprintf("We are refunding %s %s of your order %s to the card you paid with.", cents(r.AmountCents),
		strings.ToUpper(r.Currency), r.OrderID)
	if len(r.TicketIDs) > 0 {
		body += fmt.Sprintf(" %d ticket(s) of the order are cancelled and no longer admit.", len(r.TicketIDs))
	}
	if r.Note != "" {
		body += "\n\nReason: " + r.Note
	}
	return body + "\n\nA refund can take a few days to show on your statement."
}

// refundable is what is left of a payment to refund: its amount minus
// every refund of it, pending or done (and what a refund withheld or kept).
func refundable(ctx context.Context, q pg.Querier, p Payment) (int64, error) {
	var done int64
	err := q.QueryRow(ctx, `SELECT coalesce(sum(amount_cents + withheld_cents + kept_fee_cents), 0) FROM refunds WHERE payment_id = $1`,
		p.ID).Scan(&done)
	if err != nil {
		return 0, fmt.Errorf("checkout: refunds of %s: %w", p.ID, err)
	}
	return max(p.AmountCents-done, 0), nil
}

// refundTickets picks the tickets an admin refund voids: those named, or
// with none named and no amount, every valid ticket of the order. It
// returns their ids, their seats and the sum of their all-in prices. A
// ticket named that is not a valid ticket of the order is an error.
func refundTickets(ctx context.Context, tx pgx.Tx, req AdminRefundRequest) ([]string, []int64, int64, error) {
	if req.AmountCents > 0 {
		return nil, nil, 0, nil
	}
	rows, err := tx.Query(ctx, `SELECT id::text, seat_id, total_cents, status FROM tickets WHERE order_id = $1 ORDER BY id FOR UPDATE`,
		req.OrderID)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("checkout: tickets of %s: %w", req.OrderID, err)
	}
	type row struct {
		id     string
		seat   int64
		total  int64
		status string
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var t row
		err := r.Scan(&t.id, &t.seat, &t.total, &t.status)
		return t, err
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("checkout: tickets of %s: %w", req.OrderID, err)
	}
	var ids []string
	var seats []int64
	var sum int64
	for _, t := range all {
		named := slices.Contains(req.TicketIDs, t.id)
		if len(req.TicketIDs) > 0 && !named {
			continue
		}
		if t.status != TicketValid {
			if named {
				return nil, nil, 0, ErrTicketBusy.With("status", t.status)
			}
			continue
		}
		ids, seats, sum = append(ids, t.id), append(seats, t.seat), sum+t.total
	}
	if len(req.TicketIDs) > 0 && len(ids) != len(compactIDs(req.TicketIDs)) {
		return nil, nil, 0, ErrTicketNotFound
	}
	return ids, seats, sum, nil
}

// compactIDs is ids without repeats.
func compactIDs(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// registerAdminRefund adds the admin refund job's handler to r. Like a
// cancellation's refund, it never dies: money owed back is retried until
// it goes or a person acts.
func (s *Service) registerAdminRefund(r *jobs.Runner) {
	r.Register(JobAdminRefund, func(ctx context.Context, raw json.RawMessage) error {
		var j refundJob
		if err := json.Unmarshal(raw, &j); err != nil {
			return err
		}
		return s.RunAdminRefund(ctx, j.RefundID)
	}, jobs.RetryForever)
}

// RunAdminRefund asks the provider for one pending admin refund, under the
// key refund:admin:{refund} (a timeout repeats it, so a refund that did
// take effect is replayed, not doubled; a definite refusal is counted and
// the next try uses refund:admin:{refund}:{n}, as refund does). Once it
// succeeded, a payment given back in full becomes refunded, and its order
// too.
func (s *Service) RunAdminRefund(ctx context.Context, refundID string) error {
	var paymentID, orderID, status string
	var amount int64
	var refused int
	err := s.db.QueryRow(ctx, `SELECT payment_id, coalesce(order_id::text, ''), status, amount_cents, refused FROM refunds
		WHERE id = $1 AND reason = 'admin'`, refundID).Scan(&paymentID, &orderID, &status, &amount, &refused)
	if err != nil {
		return fmt.Errorf("checkout: admin refund %s: %w", refundID, err)
	}
	if status != "pending" {
		return nil
	}
	p, err := payment(ctx, s.db, `p.id = $1`, false, paymentID)
	if err != nil {
		return err
	}
	if amount > 0 && p.Provider != ProviderCounter {
		key := "refund:admin:" + refundID
		if refused > 0 {
			key = fmt.Sprintf("%s:%d", key, refused)
		}
		if err := s.payments.Refund(ctx, p.intentID, amount, key); err != nil {
			if !errors.Is(err, ErrUnknownOutcome) {
				if _, uerr := s.db.Exec(ctx, `UPDATE refunds SET refused = refused + 1 WHERE id = $1 AND refused = $2`, refundID, refused); uerr != nil {
					s.log.Error("checkout: count a refused refund", "refund", refundID, "err", uerr)
				}
			}
			return fmt.Errorf("checkout: admin refund %s: %w", refundID, err)
		}
	}
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE refunds SET status = 'succeeded', refunded_at = now() WHERE id = $1 AND status = 'pending'`,
			refundID); err != nil {
			return err
		}
		left, err := refundable(ctx, tx, p)
		if err != nil || left > 0 {
			return err
		}
		var pending bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM refunds WHERE payment_id = $1 AND status = 'pending')`, p.ID).
			Scan(&pending); err != nil || pending {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'refunded', updated_at = now() WHERE id = $1 AND status = 'succeeded'`,
			p.ID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE orders SET status = 'refunded' WHERE id = $1 AND status = 'paid'`, orderID)
		return err
	})
	if err != nil {
		return fmt.Errorf("checkout: record admin refund %s: %w", refundID, err)
	}
	s.log.Info("checkout: admin refund given", "refund", refundID, "order", orderID, "amount", amount)
	return nil
}
