package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Orders under review. When the Screen flags a purchase (a bot's speed, too
// many holds, one device behind many accounts), the conversion still
// happens: the seats are sold to the buyer, so nobody else can take them
// while a person looks, and the money stays authorized but not captured.
// The order is written as review with its reasons and its tickets as
// review: they show in My tickets but have no entry code, no PDF, and
// cannot be transferred or listed. An admin then approves (the order
// becomes paid, the tickets valid, the payment is captured and the
// confirmation email goes out: exactly the path of an unflagged purchase,
// one step later) or rejects (the authorization is cancelled, so nobody is
// charged; the seats go back on sale and the tickets void). Cancelling the
// event cancels the authorizations of orders still under review.
//
// A card authorization does not last for ever (Stripe's lapses after seven
// days): approving checks it first and refuses one that lapsed, which the
// admin then rejects.

// screenTimeout bounds the screen's look-up: it runs on the payment path,
// and a slow answer only means the purchase is not judged.
const screenTimeout = 250 * time.Millisecond

// Errors of review.
var (
	ErrNotInReview = apperr.E(apperr.Conflict, "order_not_in_review",
		"this order is not waiting for review")
	ErrAuthorizationLapsed = apperr.E(apperr.Conflict, "authorization_lapsed",
		"the payment's authorization is no longer valid, so it cannot be captured; reject the order")
)

// screen asks the Screen about a payment about to be settled and returns
// its reasons (none: confirm). It fails open: a purchase the screen cannot
// judge (Redis down, a slow answer) is confirmed, and the failure logged.
func (s *Service) screen(ctx context.Context, paymentID string) []string {
	if s.cfg.Screen == nil {
		return nil
	}
	var eventID, accountID int64
	var holdCreated time.Time
	var status string
	err := s.db.QueryRow(ctx, `
		SELECT p.event_id, p.account_id, p.status, h.created_at
		FROM payments p JOIN holds h ON h.id = p.hold_id WHERE p.id = $1`, paymentID).Scan(
		&eventID, &accountID, &status, &holdCreated)
	if err != nil {
		s.log.Warn("checkout: screen: load payment", "payment", paymentID, "err", err)
		return nil
	}
	if !contains(convertible, status) {
		return nil // settled already: the settlement that did it judged it
	}
	sctx, cancel := context.WithTimeout(ctx, screenTimeout)
	defer cancel()
	reasons, err := s.cfg.Screen.Review(sctx, eventID, accountID, holdCreated, time.Now())
	if err != nil {
		s.log.Warn("checkout: screen failed; the purchase is confirmed unjudged", "payment", paymentID, "err", err)
		return nil
	}
	return reasons
}

// holdForReview finishes the conversion of a flagged purchase inside tx:
// the payment waits in review (no capture job, no confirmation email) and
// the buyer gets a notice saying what happens next.
func (s *Service) holdForReview(ctx context.Context, tx pgx.Tx, p Payment, orderID string) error {
	if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'review', updated_at = now() WHERE id = $1`, p.ID); err != nil {
		return fmt.Errorf("checkout: mark review: %w", err)
	}
	return enqueueNotice(ctx, tx, p.accountID, "review:"+orderID, "Your order is being checked",
		fmt.Sprintf("Thank you for your order %s. Your seats are kept for you while we check the purchase, "+
			"usually within a day. Your card has been authorized but not charged. You will get your tickets "+
			"by email once the order is confirmed; if it is not, the authorization is cancelled and you pay nothing.\n\n%s/orders\n",
			orderID, s.cfg.BaseURL))
}

// ReviewItem is an order waiting for review as the admin's queue lists it.
type ReviewItem struct {
	OrderSummary
	Event     string   `json:"event"`
	EventName string   `json:"event_name"`
	Reasons   []string `json:"reasons"`
	Seats     []string `json:"seats"`
}

// maxReviewQueue caps the review queue's answer; the oldest come first.
const maxReviewQueue = 200

// ReviewQueue lists the orders waiting for review, oldest first, of one
// event (or of every event when eventID is 0).
func (s *Service) ReviewQueue(ctx context.Context, eventID int64) ([]ReviewItem, error) {
	rows, err := s.db.Query(ctx, `
		SELECT o.id, o.status, a.email, a.name, o.total_cents, o.currency, o.created_at,
		       o.event_id::text, e.name, o.review_reasons,
		       array(SELECT s.section || ' ' || s.row_label || '-' || s.number FROM tickets t
		             JOIN seats s ON s.id = t.seat_id WHERE t.order_id = o.id ORDER BY s.idx)
		FROM orders o JOIN accounts a ON a.id = o.account_id JOIN events e ON e.id = o.event_id
		WHERE o.status = 'review' AND ($1 = 0 OR o.event_id = $1)
		ORDER BY o.created_at, o.id LIMIT $2`, eventID, maxReviewQueue)
	if err != nil {
		return nil, fmt.Errorf("checkout: review queue: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReviewItem, error) {
		var it ReviewItem
		err := r.Scan(&it.ID, &it.Status, &it.Email, &it.Name, &it.TotalCents, &it.Currency, &it.CreatedAt,
			&it.Event, &it.EventName, &it.Reasons, &it.Seats)
		it.Tickets = len(it.Seats)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("checkout: review queue: %w", err)
	}
	if out == nil {
		out = []ReviewItem{}
	}
	return out, nil
}

// reviewedOrder is an order under review, locked in the caller's
// transaction.
type reviewedOrder struct {
	id, status, holdID, paymentID string
	accountID                     int64
	reviewed                      bool // an admin decided it already
}

// lockReviewed locks an order for a review decision inside tx. An unknown
// id is ErrOrderNotFound.
func lockReviewed(ctx context.Context, tx pgx.Tx, orderID string) (reviewedOrder, error) {
	o := reviewedOrder{id: orderID}
	err := tx.QueryRow(ctx, `
		SELECT status, hold_id, payment_id, account_id, reviewed_at IS NOT NULL FROM orders WHERE id = $1 FOR UPDATE`,
		orderID).Scan(&o.status, &o.holdID, &o.paymentID, &o.accountID, &o.reviewed)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrOrderNotFound
	}
	if err != nil {
		return o, fmt.Errorf("checkout: lock order %s: %w", orderID, err)
	}
	return o, nil
}

// decide runs one review decision: it locks the order, answers a repeat
// of the same decision as done (changed false), refuses any other status,
// and otherwise records the decision and runs apply, all in one
// transaction.
func (s *Service) decide(ctx context.Context, orderID string, adminID int64, to string,
	apply func(tx pgx.Tx, o reviewedOrder) error) (o reviewedOrder, changed bool, err error) {
	if !validUUID(orderID) {
		return o, false, ErrOrderNotFound
	}
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		changed = false
		var err error
		if o, err = lockReviewed(ctx, tx, orderID); err != nil {
			return err
		}
		switch {
		case o.status == to && o.reviewed:
			return nil
		case o.status != OrderReview:
			return ErrNotInReview.With("status", o.status)
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, reviewed_at = now(), reviewed_by = $3 WHERE id = $1`,
			orderID, to, adminID); err != nil {
			return fmt.Errorf("checkout: record review of %s: %w", orderID, err)
		}
		changed = true
		return apply(tx, o)
	})
	return o, changed, err
}

// setTickets makes move on every ticket of the order still in the move's
// starting state, inside tx.
func setTickets(ctx context.Context, tx pgx.Tx, orderID string, m Move) error {
	to, _ := NextState(MoveFrom(m)[0], m)
	_, err := tx.Exec(ctx, `UPDATE tickets SET status = $2, version = version + 1 WHERE order_id = $1 AND status = ANY($3)`,
		orderID, to, MoveFrom(m))
	if err != nil {
		return fmt.Errorf("checkout: %s tickets of %s: %w", m, orderID, err)
	}
	return nil
}

// ApproveOrder confirms an order under review: the order becomes paid and
// its tickets valid, and the payment is captured and the confirmation email
// sent exactly as for an unflagged purchase. Approving an approved order
// again changes nothing. A lapsed authorization is refused
// (ErrAuthorizationLapsed) before anything changes.
func (s *Service) ApproveOrder(ctx context.Context, orderID string, adminID int64) error {
	if !validUUID(orderID) {
		return ErrOrderNotFound
	}
	var paymentID, status string
	err := s.db.QueryRow(ctx, `SELECT payment_id, status FROM orders WHERE id = $1`, orderID).Scan(&paymentID, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrOrderNotFound
	}
	if err != nil {
		return fmt.Errorf("checkout: approve %s: %w", orderID, err)
	}
	if status == OrderReview {
		if err := s.checkAuthorization(ctx, paymentID); err != nil {
			return err
		}
	}
	o, changed, err := s.decide(ctx, orderID, adminID, OrderPaid, func(tx pgx.Tx, o reviewedOrder) error {
		if err := setTickets(ctx, tx, o.id, MoveApprove); err != nil {
			return err
		}
		return s.confirmOrder(ctx, tx, o.paymentID, o.id)
	})
	if err != nil {
		return err
	}
	if changed {
		s.log.Info("checkout: order approved on review", "order", orderID, "admin", adminID)
	}
	if err := s.capture(ctx, o.paymentID); err != nil {
		s.log.Warn("checkout: capture failed; the capture job retries", "payment", o.paymentID, "err", err)
	}
	return nil
}

// checkAuthorization asks the provider whether a payment's authorization
// can still be captured.
func (s *Service) checkAuthorization(ctx context.Context, paymentID string) error {
	p, err := payment(ctx, s.db, `p.id = $1`, false, paymentID)
	if err != nil {
		return err
	}
	in, err := s.payments.Get(ctx, p.intentID)
	if err != nil && !errors.Is(err, ErrIntentNotFound) {
		return fmt.Errorf("checkout: look up %s: %w", p.intentID, err)
	}
	if err != nil || (in.Status != IntentRequiresCapture && in.Status != IntentSucceeded) {
		return ErrAuthorizationLapsed.With("intent_status", string(in.Status))
	}
	return nil
}

// RejectOrder refuses an order under review: the order becomes rejected,
// its tickets void, its seats go back on sale at once (published live) and
// the buyer is told; after the commit the authorization is cancelled (the
// reconciler retries a failure), so nobody is charged. Rejecting a
// rejected order again changes nothing.
func (s *Service) RejectOrder(ctx context.Context, orderID string, adminID int64) error {
	var out seatmap.Outcome
	o, changed, err := s.decide(ctx, orderID, adminID, OrderRejected, func(tx pgx.Tx, o reviewedOrder) error {
		if err := setTickets(ctx, tx, o.id, MoveReject); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'voiding', updated_at = now() WHERE id = $1 AND status = 'review'`,
			o.paymentID); err != nil {
			return fmt.Errorf("checkout: void payment of %s: %w", o.id, err)
		}
		var err error
		if out, err = s.seats.Unsell(ctx, tx, o.holdID); err != nil {
			return err
		}
		return enqueueNotice(ctx, tx, o.accountID, "rejected:"+o.id, "Your order was not confirmed",
			fmt.Sprintf("We could not confirm your order %s, so it has been cancelled. The authorization on your card "+
				"is released: you have not been charged.\n", o.id))
	})
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	s.seats.AfterCommit(ctx, out)
	s.log.Info("checkout: order rejected on review", "order", orderID, "admin", adminID)
	if err := s.void(ctx, o.paymentID); err != nil {
		s.log.Warn("checkout: void failed; the reconciler retries", "payment", o.paymentID, "err", err)
	}
	return nil
}
