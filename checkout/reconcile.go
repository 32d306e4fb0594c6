package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// reconcileBatch bounds the payments one pass looks at.
const reconcileBatch = 100

// ReconcileStats says what one pass of the reconciler did.
type ReconcileStats struct {
	// Released is how many holds were released at their payment deadline.
	Released int
	// Resolved is how many open payments were looked up at the provider.
	Resolved int
	// Failed is how many lookups failed (each retried after its backoff).
	Failed int
	// Stuck is how many payments this pass set aside as stuck.
	Stuck int
}

// Reconcile settles what requests and webhooks left open. First, holds
// past their payment deadline whose payment was never seen authorized are
// released at once, without waiting for the provider (a provider outage
// must not pin seats): their payments move to voiding. Then each open
// payment untouched for ReconcileAfter (and every voiding one) is looked up
// at the provider and settled from what it says: converted and captured if
// authorized and the hold is intact, voided (cancelled or refunded) if the
// hold is gone, released if declined or cancelled. Many nodes may reconcile
// at once; payment row locks make each settlement happen once.
func (s *Service) Reconcile(ctx context.Context) (ReconcileStats, error) {
	var st ReconcileStats
	n, err := s.ReleaseOverdue(ctx)
	st.Released = n
	if err != nil {
		return st, err
	}
	// Due payments only, each at its own pace: one that failed waits
	// ReconcileBackoff doubled per failure in a row (at most
	// ReconcileMaxBackoff), so a batch of payments failing on every pass
	// cannot starve the others.
	rows, err := s.db.Query(ctx, `
		SELECT id FROM payments
		WHERE (status = 'voiding'
		       OR (status IN ('pending', 'requires_payment_method', 'requires_action', 'unknown', 'authorized', 'capturing')
		           AND updated_at <= now() - make_interval(secs => $1)))
		  AND (reconcile_at IS NULL OR reconcile_at <= now())
		ORDER BY coalesce(reconcile_at, updated_at) LIMIT $2`, s.cfg.ReconcileAfter.Seconds(), reconcileBatch)
	if err != nil {
		return st, fmt.Errorf("checkout: reconcile: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return st, fmt.Errorf("checkout: reconcile: %w", err)
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		st.Resolved++
		err := s.resolve(ctx, id)
		if err != nil {
			st.Failed++
		}
		if stuck := s.recordReconcile(ctx, id, err); stuck {
			st.Stuck++
		}
	}
	return st, nil
}

// recordReconcile notes the outcome of one look at a payment: a success
// clears its failures; a failure counts, backs the payment off and, at
// ReconcilePoisonAfter failures in a row, sets it aside as stuck (retried
// every ReconcileMaxBackoff, shown to admins). It reports whether the
// payment just became stuck.
func (s *Service) recordReconcile(ctx context.Context, paymentID string, failure error) bool {
	if failure == nil {
		_, err := s.db.Exec(ctx, `
			UPDATE payments SET reconcile_failures = 0, reconcile_at = NULL, reconcile_error = NULL, stuck_at = NULL
			WHERE id = $1 AND (reconcile_failures > 0 OR stuck_at IS NOT NULL)`, paymentID)
		if err != nil {
			s.log.Error("checkout: record reconcile", "payment", paymentID, "err", err)
		}
		return false
	}
	var failures int
	var stuckNow bool
	err := s.db.QueryRow(ctx, `
		UPDATE payments SET reconcile_failures = reconcile_failures + 1, reconcile_error = $2,
		       reconcile_at = now() + make_interval(secs => CASE WHEN reconcile_failures + 1 >= $5 THEN $4
		           ELSE least($3 * power(2, least(reconcile_failures, 30)), $4) END),
		       stuck_at = CASE WHEN reconcile_failures + 1 >= $5 THEN coalesce(stuck_at, now()) END
		WHERE id = $1
		RETURNING reconcile_failures, stuck_at IS NOT NULL AND reconcile_failures = $5`,
		paymentID, failure.Error(), s.cfg.ReconcileBackoff.Seconds(), s.cfg.ReconcileMaxBackoff.Seconds(),
		s.cfg.ReconcilePoisonAfter).Scan(&failures, &stuckNow)
	if err != nil {
		s.log.Error("checkout: record reconcile failure", "payment", paymentID, "err", err)
		return false
	}
	if stuckNow {
		s.log.Error("checkout: payment stuck: the reconciler failed on it too often; set aside",
			"payment", paymentID, "failures", failures, "err", failure)
	} else {
		s.log.Warn("checkout: reconcile payment failed", "payment", paymentID, "failures", failures, "err", failure)
	}
	return stuckNow
}

// ReleaseOverdue releases the payment_pending holds past their payment
// deadline whose payment is not known to be authorized (waiting for a card,
// for a card's authentication, or for the provider's answer), and those
// whose retry window after a decline ended, moving the payments to voiding;
// Reconcile then cancels their intents. It returns how many it released.
func (s *Service) ReleaseOverdue(ctx context.Context) (int, error) {
	var outs []seatmap.Outcome
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		outs = outs[:0]
		rows, err := tx.Query(ctx, `
			SELECT p.id, p.hold_id FROM payments p JOIN holds h ON h.id = p.hold_id
			WHERE p.status = ANY($1) AND h.status = 'payment_pending' AND p.id IN (
				SELECT p2.id FROM payments p2 JOIN holds h2 ON h2.id = p2.hold_id
				WHERE h2.status = 'payment_pending' AND h2.payment_deadline <= now()
				UNION ALL
				SELECT p3.id FROM payments p3
				WHERE p3.status = 'requires_payment_method' AND p3.retry_until <= now())
			ORDER BY h.payment_deadline LIMIT $2 FOR UPDATE OF p SKIP LOCKED`, openBeforeAuth, reconcileBatch)
		if err != nil {
			return fmt.Errorf("checkout: overdue payments: %w", err)
		}
		type due struct{ payment, hold string }
		dues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			err := r.Scan(&d.payment, &d.hold)
			return d, err
		})
		if err != nil {
			return fmt.Errorf("checkout: overdue payments: %w", err)
		}
		for _, d := range dues {
			if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'voiding', retry_until = NULL, updated_at = now() WHERE id = $1`,
				d.payment); err != nil {
				return fmt.Errorf("checkout: void overdue %s: %w", d.payment, err)
			}
			_, out, err := s.seats.FailPayment(ctx, tx, d.hold)
			if err != nil {
				return err
			}
			outs = append(outs, out)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, o := range outs {
		s.seats.AfterCommit(ctx, o)
	}
	if len(outs) > 0 {
		s.log.Info("checkout: holds released at their payment deadline", "count", len(outs))
	}
	return len(outs), nil
}

// resolve settles one open payment from the provider's view of it.
func (s *Service) resolve(ctx context.Context, paymentID string) error {
	p, err := payment(ctx, s.db, `p.id = $1`, false, paymentID)
	if err != nil {
		return err
	}
	switch p.Status {
	case StatusCapturing:
		return s.capture(ctx, p.ID)
	case StatusVoiding:
		return s.void(ctx, p.ID)
	case StatusSucceeded, StatusDeclined, StatusCanceled, StatusRefunded:
		return nil
	}
	if p.intentID == "" {
		if err := s.createIntent(ctx, &p); errors.Is(err, ErrAmountRefused) {
			return nil // ended canceled: there is no intent to look up
		} else if err != nil {
			return err
		}
	}
	in, err := s.payments.Get(ctx, p.intentID)
	if err != nil {
		return fmt.Errorf("checkout: look up %s: %w", p.intentID, err)
	}
	_, err = s.apply(ctx, p.ID, in, "")
	if err != nil && apperr.KindOf(err) == apperr.Conflict {
		return nil // settled the other way (hold lost, declined): done
	}
	if err == nil && (in.Status == IntentRequiresPaymentMethod || in.Status == IntentRequiresAction) {
		// Not paid yet: touch it so the next pass looks at others first.
		s.markStatus(ctx, p.ID, p.Status, []string{p.Status})
	}
	return err
}

// RunReconciler reconciles every ReconcileInterval until ctx ends.
func (s *Service) RunReconciler(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st, err := s.Reconcile(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("checkout: reconcile failed", "err", err)
			}
			if st.Released+st.Resolved > 0 {
				s.log.Debug("checkout: reconciled", "released", st.Released, "resolved", st.Resolved, "failed", st.Failed)
			}
		}
	}
}

// StuckPayments counts the payments the reconciler set aside as stuck
// (ReconcilePoisonAfter failures in a row), for metrics and the admin.
func (s *Service) StuckPayments(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM payments WHERE stuck_at IS NOT NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("checkout: stuck payments: %w", err)
	}
	return n, nil
}

var stuckDesc = prometheus.NewDesc("boxoffice_payments_stuck",
	"Payments the reconciler set aside after failing on them ReconcilePoisonAfter times in a row.", nil, nil)

// Collector exports StuckPayments as the gauge boxoffice_payments_stuck,
// read from Postgres at each scrape. Alert when it is above zero.
func (s *Service) Collector() prometheus.Collector { return stuckCollector{s} }

// RoundCollector is the histogram of purchases per conversion round
// (convert.go).
func (s *Service) RoundCollector() prometheus.Collector { return s.convertRounds }

type stuckCollector struct{ s *Service }

func (c stuckCollector) Describe(ch chan<- *prometheus.Desc) { ch <- stuckDesc }

func (c stuckCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.s.StuckPayments(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(stuckDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(stuckDesc, prometheus.GaugeValue, float64(n))
}

// Payment trouble states, as admins list them (PaymentTrouble).
const (
	// TroubleStuck: set aside after ReconcilePoisonAfter failures in a row.
	TroubleStuck = "stuck"
	// TroubleFailing: the reconciler failed on it lately, not stuck yet.
	TroubleFailing = "failing"
)

// reconcilable are the statuses the reconciler settles; a payment in any
// other status is settled and has nothing to retry.
var reconcilable = []string{StatusPending, StatusRequiresPaymentMethod, StatusRequiresAction, StatusUnknown, StatusAuthorized,
	StatusCapturing, StatusVoiding}

// Errors of the admin's payment actions.
var (
	ErrPaymentSettled = apperr.E(apperr.Conflict, "payment_settled", "this payment is settled; the reconciler has nothing to do for it")
	errTroubleState   = apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").
				With("fields", map[string]string{"status": "must be stuck or failing"})
	errTroubleCursor = apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").
				With("fields", map[string]string{"after": "must be a payment id from next"})
)

// TroublePayment is a payment the reconciler failed on, as an admin sees it.
type TroublePayment struct {
	ID          string     `json:"id"`
	EventID     int64      `json:"event"`
	AccountID   int64      `json:"account_id"`
	Status      string     `json:"status"`
	AmountCents int64      `json:"amount_cents"`
	Currency    string     `json:"currency"`
	Stuck       bool       `json:"stuck"`
	StuckAt     *time.Time `json:"stuck_at,omitempty"`
	Failures    int        `json:"reconcile_failures"`
	LastError   string     `json:"last_error,omitempty"`
	// NextTry is when the reconciler looks again (absent: its next pass).
	NextTry   *time.Time `json:"next_try,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// TroubleCounts are how many payments are stuck and failing.
type TroubleCounts struct {
	Stuck   int `json:"stuck"`
	Failing int `json:"failing"`
}

const troubleColumns = `p.id::text, p.event_id, p.account_id, p.status, p.amount_cents, p.currency, p.stuck_at IS NOT NULL,
	p.stuck_at, p.reconcile_failures, coalesce(p.reconcile_error, ''), p.reconcile_at, p.created_at`

func scanTrouble(r pgx.Row) (TroublePayment, error) {
	var p TroublePayment
	err := r.Scan(&p.ID, &p.EventID, &p.AccountID, &p.Status, &p.AmountCents, &p.Currency, &p.Stuck,
		&p.StuckAt, &p.Failures, &p.LastError, &p.NextTry, &p.CreatedAt)
	return p, err
}

// TroublePayments lists up to limit payments in a trouble state
// (TroubleStuck, TroubleFailing), oldest first, after the payment after
// (a cursor: the last id of the previous page; "" for the first). next is
// the cursor of the following page, "" when this is the last.
func (s *Service) TroublePayments(ctx context.Context, state, after string, limit int) (list []TroublePayment, next string, err error) {
	where := map[string]string{
		TroubleStuck:   `p.stuck_at IS NOT NULL`,
		TroubleFailing: `p.stuck_at IS NULL AND p.reconcile_failures > 0`,
	}[state]
	if where == "" {
		return nil, "", errTroubleState
	}
	if after != "" && !validUUID(after) {
		return nil, "", errTroubleCursor
	}
	rows, err := s.db.Query(ctx, `
		SELECT `+troubleColumns+` FROM payments p
		WHERE `+where+` AND ($1 = '' OR (p.created_at, p.id) > (SELECT created_at, id FROM payments WHERE id = nullif($1, '')::uuid))
		ORDER BY p.created_at, p.id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("checkout: %s payments: %w", state, err)
	}
	list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TroublePayment, error) { return scanTrouble(r) })
	if err != nil {
		return nil, "", fmt.Errorf("checkout: %s payments: %w", state, err)
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	if list == nil {
		list = []TroublePayment{}
	}
	return list, next, nil
}

// TroubleCount counts the stuck and the failing payments.
func (s *Service) TroubleCount(ctx context.Context) (TroubleCounts, error) {
	var c TroubleCounts
	err := s.db.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE stuck_at IS NOT NULL), count(*) FILTER (WHERE stuck_at IS NULL)
		FROM payments WHERE stuck_at IS NOT NULL OR reconcile_failures > 0`).Scan(&c.Stuck, &c.Failing)
	if err != nil {
		return c, fmt.Errorf("checkout: count payment trouble: %w", err)
	}
	return c, nil
}

// RetryPayment puts a payment back in the reconciler's queue at once: its
// failures, backoff and stuck mark are cleared (the last error stays, for
// the record), so the next pass looks at it and a new failure backs off
// from the start. A settled payment is ErrPaymentSettled.
func (s *Service) RetryPayment(ctx context.Context, paymentID string) (TroublePayment, error) {
	if !validUUID(paymentID) {
		return TroublePayment{}, ErrPaymentNotFound
	}
	p, err := scanTrouble(s.db.QueryRow(ctx, `
		UPDATE payments p SET reconcile_failures = 0, reconcile_at = NULL, stuck_at = NULL
		WHERE p.id = $1 AND p.status = ANY($2)
		RETURNING `+troubleColumns, paymentID, reconcilable))
	if errors.Is(err, pgx.ErrNoRows) {
		var status string
		if err := s.db.QueryRow(ctx, `SELECT status FROM payments WHERE id = $1`, paymentID).Scan(&status); err != nil {
			return TroublePayment{}, ErrPaymentNotFound
		}
		return TroublePayment{}, ErrPaymentSettled.With("status", status)
	}
	if err != nil {
		return TroublePayment{}, fmt.Errorf("checkout: retry payment %s: %w", paymentID, err)
	}
	s.log.Info("checkout: payment put back in the reconciler's queue by an admin", "payment", paymentID, "status", p.Status)
	return p, nil
}
