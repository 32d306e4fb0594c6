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

// reconcileBatch bounds the payments one pass looks at.
const reconcileBatch = 100

// ReconcileStats says what one pass of the reconciler did.
type ReconcileStats struct {
	// Released is how many holds were released at their payment deadline.
	Released int
	// Resolved is how many open payments were looked up at the provider.
	Resolved int
	// Failed is how many lookups failed (retried on the next pass).
	Failed int
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
	rows, err := s.db.Query(ctx, `
		SELECT id FROM payments
		WHERE status = 'voiding'
		   OR (status IN ('pending', 'requires_payment_method', 'unknown', 'authorized', 'capturing')
		       AND updated_at <= now() - make_interval(secs => $1))
		ORDER BY updated_at LIMIT $2`, s.cfg.ReconcileAfter.Seconds(), reconcileBatch)
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
		if err := s.resolve(ctx, id); err != nil {
			st.Failed++
			s.log.Warn("checkout: reconcile payment failed", "payment", id, "err", err)
		}
	}
	return st, nil
}

// ReleaseOverdue releases the payment_pending holds past their payment
// deadline whose payment is not known to be authorized, moving the payments
// to voiding; Reconcile then cancels their intents. It returns how many it
// released.
func (s *Service) ReleaseOverdue(ctx context.Context) (int, error) {
	var outs []seatmap.Outcome
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		outs = outs[:0]
		rows, err := tx.Query(ctx, `
			SELECT p.id, p.hold_id FROM payments p JOIN holds h ON h.id = p.hold_id
			WHERE p.status = ANY($1) AND h.status = 'payment_pending' AND h.payment_deadline <= now()
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
			if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'voiding', updated_at = now() WHERE id = $1`, d.payment); err != nil {
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
		if err := s.createIntent(ctx, &p); err != nil {
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
	if err == nil && in.Status == IntentRequiresPaymentMethod {
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
