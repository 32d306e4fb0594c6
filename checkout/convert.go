package checkout

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/groupcommit"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Group commit of conversions (internal/groupcommit). A node converts its
// authorized payments in rounds, at most Config.ConvertRounds in flight:
// each round is one transaction whose statements cover all its purchases
// (the webhook events and payment locks in one round trip, the holds and
// seats in one statement, every plain purchase's orders, tickets, status
// and jobs in one more), so a busy sale makes about five round trips per
// round instead of seven per purchase. Each purchase is still all or
// nothing with its own answer: a hold that lost a seat is left out and
// voided, the others go on. A round that fails as a whole (a statement
// error, a resale whose listing went) runs each of its purchases again
// alone, so one purchase's failure is never another's.

// conversion is one authorized payment in a round, and its answer.
type conversion struct {
	paymentID string
	// webhookEvent, when set, is the provider event that reported the
	// authorization; recorded in the round's transaction, so a repeat
	// changes nothing.
	webhookEvent string
	// reasons are the screen's, judged before the round: a purchase with
	// reasons is written under review (review.go).
	reasons []string

	// The answer. duplicate: the webhook event was already recorded.
	// already: an earlier settlement converted it. lost: it cannot be
	// converted and must be voided. recorded: this round recorded its
	// webhook event, so abandoning it must not record it again.
	orderID                                    string
	duplicate, already, lost, review, recorded bool
	buyerEvent, buyer                          int64
	intentID                                   string
	err                                        error
}

type convertQueue = groupcommit.Queue[*conversion, string]

func newConvertQueue(s *Service) *convertQueue {
	return groupcommit.New(s.cfg.ConvertBatch, s.cfg.ConvertRounds,
		func(c *conversion) []string { return []string{c.paymentID} }, s.convertRound)
}

// convert converts c in the node's next round, or alone with group commit
// off (ConvertBatch 1); c holds the answer.
func (s *Service) convert(ctx context.Context, c *conversion) error {
	if s.cfg.ConvertBatch <= 1 {
		s.convertRound(ctx, []*conversion{c})
		return nil
	}
	return s.converts.Do(ctx, c)
}

// convertRound runs one round's transaction and, once it committed, marks
// the sold seats in the gate and publishes them: one call and one publish
// per event for the whole round.
func (s *Service) convertRound(ctx context.Context, calls []*conversion) {
	s.convertRounds.Observe(float64(len(calls)))
	var out seatmap.Outcome
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		out, err = s.convertIn(ctx, tx, calls)
		return err
	})
	if err != nil && len(calls) > 1 {
		s.log.Warn("checkout: conversion round failed; converting its purchases one by one", "purchases", len(calls), "err", err)
		for _, c := range calls {
			s.convertRound(ctx, []*conversion{c})
		}
		return
	}
	if err != nil {
		calls[0].err = err
		return
	}
	s.seats.AfterCommit(ctx, out)
}

// convertIn is a round's transaction: see the comment at the top.
func (s *Service) convertIn(ctx context.Context, tx pgx.Tx, calls []*conversion) (seatmap.Outcome, error) {
	for _, c := range calls {
		*c = conversion{paymentID: c.paymentID, webhookEvent: c.webhookEvent, reasons: c.reasons}
	}
	open, err := s.lockForConversion(ctx, tx, calls)
	if err != nil {
		return seatmap.Outcome{}, err
	}
	holdIDs := make([]string, len(open))
	for i, o := range open {
		holdIDs[i] = o.p.HoldID
	}
	sales, lost, out, err := s.seats.ConvertAll(ctx, tx, holdIDs)
	if err != nil {
		return seatmap.Outcome{}, err
	}
	var plain []orderIn
	var plainCalls []*conversion
	for i, o := range open {
		c, p, sale := o.c, o.p, sales[i]
		if lost[i] {
			c.lost = true
			continue
		}
		c.buyerEvent, c.buyer, c.intentID = p.eventID, p.accountID, p.intentID
		switch {
		case sale.ListingID != "":
			// A resale: the seller's ticket dies before the buyer's is
			// written (one live ticket per seat). It is never held for
			// review: the seller's ticket is already gone and the price is
			// capped, so there is little for a bot to gain and nothing
			// clean to undo.
			if _, err := completeResale(ctx, tx, sale); err != nil {
				return seatmap.Outcome{}, err
			}
			if c.orderID, err = writeOrder(ctx, tx, p, sale, nil); err != nil {
				return seatmap.Outcome{}, err
			}
			if err := s.recordPayout(ctx, tx, sale, c.orderID); err != nil {
				return seatmap.Outcome{}, err
			}
			if err := s.confirmOrder(ctx, tx, p.ID, c.orderID); err != nil {
				return seatmap.Outcome{}, err
			}
		case len(c.reasons) > 0:
			c.review = true
			if c.orderID, err = writeOrder(ctx, tx, p, sale, c.reasons); err != nil {
				return seatmap.Outcome{}, err
			}
			if err := s.holdForReview(ctx, tx, p, c.orderID); err != nil {
				return seatmap.Outcome{}, err
			}
		default:
			plain, plainCalls = append(plain, orderIn{p: p, sale: sale}), append(plainCalls, c)
		}
	}
	if len(plain) > 0 {
		// The common purchases: their orders, tickets, moves to capturing
		// and jobs go in one round trip.
		var b pgx.Batch
		orderIDs, err := queueOrders(&b, plain)
		if err != nil {
			return seatmap.Outcome{}, err
		}
		for i, c := range plainCalls {
			c.orderID = orderIDs[i]
			if err := s.queueConfirm(&b, c.paymentID, c.orderID); err != nil {
				return seatmap.Outcome{}, err
			}
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return seatmap.Outcome{}, fmt.Errorf("checkout: write %d orders: %w", len(plain), err)
		}
	}
	if hook := s.cfg.Hooks.BeforeConvertCommit; hook != nil {
		for _, o := range open {
			if !o.c.lost {
				if err := hook(o.c.paymentID); err != nil {
					return seatmap.Outcome{}, err
				}
			}
		}
	}
	return out, nil
}

// openPayment is a round's purchase whose payment may still convert.
type openPayment struct {
	c *conversion
	p Payment
}

// lockForConversion records the round's webhook events and locks its
// payments (in id order, as everywhere: payment rows first) in one round
// trip, answers the calls that are settled already or repeat an event,
// moves a payment that ended before its authorization came to voiding,
// and returns the rest with their payments.
func (s *Service) lockForConversion(ctx context.Context, tx pgx.Tx, calls []*conversion) ([]openPayment, error) {
	var events, ids []string
	for _, c := range calls {
		ids = append(ids, c.paymentID)
		if c.webhookEvent != "" {
			events = append(events, c.webhookEvent)
		}
	}
	var b pgx.Batch
	recorded := map[string]bool{}
	if len(events) > 0 {
		b.Queue(`INSERT INTO webhook_events (id, type) SELECT unnest($1::text[]), 'payment_intent.authorized'
			ON CONFLICT DO NOTHING RETURNING id`, events).Query(func(rows pgx.Rows) error {
			ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
			for _, id := range ids {
				recorded[id] = true
			}
			return err
		})
	}
	byID := map[string]Payment{}
	b.Queue(`SELECT `+paymentCols+` FROM payments p LEFT JOIN orders o ON o.payment_id = p.id
		WHERE p.id = ANY($1::uuid[]) ORDER BY p.id FOR UPDATE OF p`, ids).Query(func(rows pgx.Rows) error {
		ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Payment, error) { return scanPayment(r) })
		for _, p := range ps {
			byID[p.ID] = p
		}
		return err
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, fmt.Errorf("checkout: lock %d payments: %w", len(calls), err)
	}
	var open []openPayment
	var ending []string
	for _, c := range calls {
		if c.webhookEvent != "" {
			if !recorded[c.webhookEvent] {
				c.duplicate = true
				continue
			}
			c.recorded = true
		}
		p, ok := byID[c.paymentID]
		if !ok {
			c.err = ErrPaymentNotFound
			continue
		}
		if err := orderAfterLock(ctx, tx, &p); err != nil {
			return nil, err
		}
		switch p.Status {
		case StatusCapturing, StatusSucceeded, StatusReview:
			c.orderID, c.already, c.review = p.OrderID, true, p.Status == StatusReview
		case StatusDeclined, StatusCanceled:
			// An authorization arrived for a payment already ended (an
			// intent confirmed from a page that kept its client secret):
			// void it, keeping why the payment ended.
			c.lost = true
			ending = append(ending, p.ID)
		case StatusVoiding, StatusRefunded:
			c.lost = true
		default:
			open = append(open, openPayment{c, p})
		}
	}
	if len(ending) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'voiding', updated_at = now() WHERE id = ANY($1::uuid[])`, ending); err != nil {
			return nil, fmt.Errorf("checkout: reopen %d payments to void them: %w", len(ending), err)
		}
	}
	return open, nil
}
