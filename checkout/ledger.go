package checkout

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/seatmap"
)

// Ledger is an event's money as an accountant reads it: every movement
// (a payment taken, a refund given, a payout owed to a reseller) and, per
// order, what it brought in and gave back. Amounts are in cents of the
// event's currency; see docs/ledger.md.
//
// Net is what the event keeps: gross - refunds - payouts + owed (a debt
// of a fan paid out beyond their order, counted as the event's until
// collected, and open meanwhile). It must equal
// ExpectedNet, what the event is owed by its orders as they stand: the
// total of every primary order still paid, plus the platform's fee on
// every resale still paid; after a cancellation nothing, since every fan
// must end even. Residual is the difference, and Balanced says it is zero
// with nothing left open (after a cancellation, no money in flight).
type Ledger struct {
	EventID          int64       `json:"event"`
	EventName        string      `json:"event_name"`
	EventStatus      string      `json:"event_status"`
	Currency         string      `json:"currency"`
	Totals           LedgerSums  `json:"totals"`
	ExpectedNetCents int64       `json:"expected_net_cents"`
	ResidualCents    int64       `json:"residual_cents"`
	Balanced         bool        `json:"balanced"`
	Open             []string    `json:"open"`
	Orders           []LedgerRow `json:"orders"`
	Entries          []LedgerRow `json:"entries"`
}

// LedgerSums are the money columns of a row or of the whole event.
// GrossCents of a payment splits into FaceCents, TicketFeeCents (the
// event's service and facility fees) and TaxCents as its order's tickets
// were priced (tax included in the face value counts in both FaceCents
// and TaxCents). FeeCents is the platform's fee on a resale.
// KeptFeeCents is what a refund kept back of the ticket fees (an event
// cancelled keeping its fees).
type LedgerSums struct {
	GrossCents     int64 `json:"gross_cents"`
	FaceCents      int64 `json:"face_cents"`
	TicketFeeCents int64 `json:"ticket_fee_cents"`
	TaxCents       int64 `json:"tax_cents"`
	FeeCents       int64 `json:"fee_cents"`
	RefundCents    int64 `json:"refund_cents"`
	KeptFeeCents   int64 `json:"kept_fee_cents"`
	PayoutCents    int64 `json:"payout_cents"`
	// OwedCents is money a fan owes the event: paid out beyond what their
	// order paid, on a cancelled event (a resale above face).
	OwedCents int64 `json:"owed_cents"`
	NetCents  int64 `json:"net_cents"`
}

// net is what the row leaves the event with.
func (s LedgerSums) net() int64 {
	return s.GrossCents - s.RefundCents - s.PayoutCents + s.OwedCents
}

func (s *LedgerSums) add(o LedgerSums) {
	s.GrossCents += o.GrossCents
	s.FaceCents += o.FaceCents
	s.TicketFeeCents += o.TicketFeeCents
	s.TaxCents += o.TaxCents
	s.FeeCents += o.FeeCents
	s.RefundCents += o.RefundCents
	s.KeptFeeCents += o.KeptFeeCents
	s.PayoutCents += o.PayoutCents
	s.OwedCents += o.OwedCents
	s.NetCents += o.NetCents
}

// Ledger row kinds.
const (
	LedgerOrder   = "order"
	LedgerPayment = "payment"
	LedgerRefund  = "refund"
	LedgerPayout  = "payout"
	// LedgerOwed is money a fan owes back: resale payouts paid beyond what
	// their order paid, on a cancelled event (refunds.owed_cents).
	LedgerOwed = "owed"
)

// LedgerRow is one line of the ledger. An entry (payment, refund, payout)
// is one movement of money; an order row sums its order's movements.
type LedgerRow struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	OrderID   string    `json:"order_id,omitempty"`
	PaymentID string    `json:"payment_id,omitempty"`
	AccountID int64     `json:"account_id"`
	Status    string    `json:"status"`
	Resale    bool      `json:"resale,omitempty"`
	Stuck     bool      `json:"stuck,omitempty"`
	At        time.Time `json:"at"`
	LedgerSums
}

// capturedStatuses are the payment statuses whose money was taken (or is
// being taken: the order is written and the capture is under way).
var capturedStatuses = []string{StatusCapturing, StatusSucceeded, StatusRefunded}

// Ledger returns an event's ledger (ErrEventNotFound for no such event).
// It reads one snapshot (a repeatable-read transaction), so a ledger read
// while money moves is still consistent.
func (s *Service) Ledger(ctx context.Context, eventID int64) (Ledger, error) {
	var l Ledger
	tx, err := s.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return l, fmt.Errorf("checkout: ledger of %d: %w", eventID, err)
	}
	defer tx.Rollback(ctx)
	err = tx.QueryRow(ctx, `SELECT id, name, status, currency FROM events WHERE id = $1`, eventID).
		Scan(&l.EventID, &l.EventName, &l.EventStatus, &l.Currency)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, seatmap.ErrEventNotFound
	}
	if err != nil {
		return l, fmt.Errorf("checkout: ledger of %d: %w", eventID, err)
	}
	if l.Entries, err = ledgerEntries(ctx, tx, eventID); err != nil {
		return l, err
	}
	if l.Orders, err = ledgerOrders(ctx, tx, eventID); err != nil {
		return l, err
	}
	if l.Open, err = ledgerOpen(ctx, tx, eventID, l.EventStatus == seatmap.StatusCancelled); err != nil {
		return l, err
	}
	mismatches, err := ledgerMismatches(ctx, tx, eventID)
	if err != nil {
		return l, err
	}
	l.Open = append(l.Open, mismatches...)
	for _, e := range l.Entries {
		l.Totals.add(e.LedgerSums)
	}
	if l.EventStatus == seatmap.StatusCancelled {
		// Fans end even, except for the fees the admin chose to keep.
		l.ExpectedNetCents = l.Totals.KeptFeeCents
	} else {
		// A paid order is owed its charge (a resale: the platform's fee),
		// less what an admin refunded of it; an order an admin refunded
		// in full is owed the same, which is nothing for a primary order.
		for _, o := range l.Orders {
			if o.Status != OrderPaid && o.Status != OrderRefunded {
				continue
			}
			if o.Resale {
				l.ExpectedNetCents += o.FeeCents - o.RefundCents
			} else {
				l.ExpectedNetCents += o.GrossCents - o.RefundCents
			}
		}
	}
	l.ResidualCents = l.Totals.NetCents - l.ExpectedNetCents
	l.Balanced = l.ResidualCents == 0 && (l.EventStatus != seatmap.StatusCancelled || len(l.Open) == 0) && len(mismatches) == 0
	return l, nil
}

// ledgerEntries reads every movement of an event's money, oldest first.
func ledgerEntries(ctx context.Context, tx pgx.Tx, eventID int64) ([]LedgerRow, error) {
	rows, err := tx.Query(ctx, `
		SELECT 'payment', p.id::text, coalesce(o.id::text, ''), p.id::text, p.account_id, p.status, p.stuck_at IS NOT NULL,
		       p.created_at, p.amount_cents, coalesce(b.face, 0), coalesce(b.fees, 0), coalesce(b.tax, 0),
		       0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint
		FROM payments p LEFT JOIN orders o ON o.payment_id = p.id
		LEFT JOIN LATERAL (`+ticketSums+`) b ON true
		WHERE p.event_id = $1 AND p.status = ANY($2)
		UNION ALL
		SELECT 'refund', r.id::text, coalesce(r.order_id::text, ''), r.payment_id::text, r.account_id, r.status, false,
		       coalesce(r.refunded_at, r.created_at), 0, 0, 0, 0, 0, r.amount_cents, r.kept_fee_cents, 0, 0
		FROM refunds r WHERE r.event_id = $1 AND r.status = 'succeeded'
		UNION ALL
		SELECT 'owed', r.id::text, coalesce(r.order_id::text, ''), r.payment_id::text, r.account_id, 'owed', false,
		       r.created_at, 0, 0, 0, 0, 0, 0, 0, 0, r.owed_cents
		FROM refunds r WHERE r.event_id = $1 AND r.owed_cents > 0
		UNION ALL
		-- A payment refunded before refunds had rows: its whole amount.
		SELECT 'refund', p.id::text, coalesce(o.id::text, ''), p.id::text, p.account_id, p.status, false,
		       p.updated_at, 0, 0, 0, 0, 0, p.amount_cents, 0, 0, 0
		FROM payments p LEFT JOIN orders o ON o.payment_id = p.id
		WHERE p.event_id = $1 AND p.status = 'refunded' AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.payment_id = p.id)
		UNION ALL
		SELECT 'payout', po.id::text, po.order_id::text, o.payment_id::text, po.seller_account_id, po.status, false,
		       po.created_at, 0, 0, 0, 0, po.fee_cents, 0, 0, po.net_cents, 0
		FROM payouts po JOIN orders o ON o.id = po.order_id
		WHERE po.event_id = $1 AND po.status <> 'void'
		ORDER BY 8, 1, 2`, eventID, capturedStatuses)
	if err != nil {
		return nil, fmt.Errorf("checkout: ledger entries of %d: %w", eventID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LedgerRow, error) {
		var e LedgerRow
		err := r.Scan(&e.Kind, &e.ID, &e.OrderID, &e.PaymentID, &e.AccountID, &e.Status, &e.Stuck, &e.At,
			&e.GrossCents, &e.FaceCents, &e.TicketFeeCents, &e.TaxCents, &e.FeeCents, &e.RefundCents, &e.KeptFeeCents, &e.PayoutCents,
			&e.OwedCents)
		e.NetCents = e.net()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("checkout: ledger entries of %d: %w", eventID, err)
	}
	if out == nil {
		out = []LedgerRow{}
	}
	return out, nil
}

// ticketSums is the breakdown of order o's tickets, for a lateral join:
// face, fees (service and facility) and tax.
const ticketSums = `SELECT coalesce(sum(t.face_cents), 0) AS face, coalesce(sum(t.service_fee_cents + t.facility_fee_cents), 0) AS fees,
	coalesce(sum(t.tax_cents), 0) AS tax FROM tickets t WHERE t.order_id = o.id`

// ledgerOrders sums each order's movements: what its payment took, what was
// refunded, and (for a resale) the seller's payout and the platform's fee.
func ledgerOrders(ctx context.Context, tx pgx.Tx, eventID int64) ([]LedgerRow, error) {
	rows, err := tx.Query(ctx, `
		SELECT o.id::text, o.payment_id::text, o.account_id, o.status, h.listing_id IS NOT NULL, p.stuck_at IS NOT NULL, o.created_at,
		       CASE WHEN p.status = ANY($2) THEN p.amount_cents ELSE 0 END,
		       CASE WHEN p.status = ANY($2) THEN b.face ELSE 0 END,
		       CASE WHEN p.status = ANY($2) THEN b.fees ELSE 0 END,
		       CASE WHEN p.status = ANY($2) THEN b.tax ELSE 0 END,
		       coalesce(po.fee, 0),
		       coalesce((SELECT sum(amount_cents) FROM refunds r WHERE r.payment_id = p.id AND r.status = 'succeeded'),
		                CASE WHEN p.status = 'refunded' THEN p.amount_cents ELSE 0 END),
		       coalesce((SELECT sum(kept_fee_cents) FROM refunds r WHERE r.payment_id = p.id AND r.status = 'succeeded'), 0),
		       coalesce(po.net, 0),
		       coalesce((SELECT sum(owed_cents) FROM refunds r WHERE r.payment_id = p.id), 0)
		FROM orders o JOIN payments p ON p.id = o.payment_id JOIN holds h ON h.id = o.hold_id
		CROSS JOIN LATERAL (`+ticketSums+`) b
		LEFT JOIN LATERAL (SELECT sum(fee_cents) AS fee, sum(net_cents) AS net FROM payouts
		                   WHERE order_id = o.id AND status <> 'void') po ON true
		WHERE o.event_id = $1
		ORDER BY o.created_at, o.id`, eventID, capturedStatuses)
	if err != nil {
		return nil, fmt.Errorf("checkout: ledger orders of %d: %w", eventID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LedgerRow, error) {
		e := LedgerRow{Kind: LedgerOrder}
		err := r.Scan(&e.ID, &e.PaymentID, &e.AccountID, &e.Status, &e.Resale, &e.Stuck, &e.At,
			&e.GrossCents, &e.FaceCents, &e.TicketFeeCents, &e.TaxCents, &e.FeeCents, &e.RefundCents, &e.KeptFeeCents, &e.PayoutCents,
			&e.OwedCents)
		e.OrderID = e.ID
		e.NetCents = e.net()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("checkout: ledger orders of %d: %w", eventID, err)
	}
	if out == nil {
		out = []LedgerRow{}
	}
	return out, nil
}

// ledgerMismatches lists the orders whose tickets' all-in prices do not
// add up to their payment: a cent lost between the price a fan was shown
// and the charge. Any makes the ledger unbalanced.
func ledgerMismatches(ctx context.Context, tx pgx.Tx, eventID int64) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT 'order ' || o.id || ' charged ' || p.amount_cents || ' cents but its tickets add up to ' || t.total || ' cents'
		FROM orders o JOIN payments p ON p.id = o.payment_id
		CROSS JOIN LATERAL (SELECT coalesce(sum(total_cents), 0) AS total FROM tickets WHERE order_id = o.id) t
		WHERE o.event_id = $1 AND p.amount_cents <> t.total ORDER BY 1`, eventID)
	if err != nil {
		return nil, fmt.Errorf("checkout: price check of %d: %w", eventID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("checkout: price check of %d: %w", eventID, err)
	}
	return out, nil
}

// ledgerOpen lists what is still in flight or needs a person: payments
// not settled (or stuck), orders of a cancelled event not refunded yet,
// refunds not yet confirmed by the provider, payouts still pending after a
// cancellation, and money a fan owes back.
func ledgerOpen(ctx context.Context, tx pgx.Tx, eventID int64, cancelled bool) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT 'payment ' || id || ' is ' || status || CASE WHEN stuck_at IS NOT NULL THEN ' (stuck: ' || coalesce(reconcile_error, '') || ')' ELSE '' END
		FROM payments WHERE event_id = $1 AND (stuck_at IS NOT NULL OR status IN ('unknown', 'authorized', 'capturing', 'voiding')
		      OR ($2 AND status IN ('pending', 'requires_payment_method', 'requires_action')))
		UNION ALL
		SELECT 'order ' || id || ' is ' || status || ' on a cancelled event' FROM orders
		WHERE $2 AND event_id = $1 AND status IN ('paid', 'review')
		UNION ALL
		SELECT 'refund ' || id || ' of ' || amount_cents || ' cents is pending' FROM refunds
		WHERE event_id = $1 AND status = 'pending'
		UNION ALL
		SELECT 'payout ' || id || ' is ' || status || ' on a cancelled event' FROM payouts
		WHERE $2 AND event_id = $1 AND status IN ('pending', 'transferring', 'failed')
		UNION ALL
		SELECT 'account ' || account_id || ' owes ' || owed_cents || ' cents: resale payouts paid beyond what order '
		       || coalesce(order_id::text, '') || ' paid' FROM refunds
		WHERE event_id = $1 AND owed_cents > 0
		ORDER BY 1`, eventID, cancelled)
	if err != nil {
		return nil, fmt.Errorf("checkout: open money of %d: %w", eventID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("checkout: open money of %d: %w", eventID, err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// WriteCSV writes the ledger as CSV: a header, the entries, the orders,
// then a totals line and a check line (expected net, residual, balanced).
// Amounts are integer cents of the currency column.
func (l Ledger) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cents := func(n int64) string { return strconv.FormatInt(n, 10) }
	row := func(r LedgerRow) []string {
		return []string{r.Kind, r.ID, r.OrderID, r.PaymentID, strconv.FormatInt(r.AccountID, 10), r.Status,
			strconv.FormatBool(r.Resale), r.At.UTC().Format(time.RFC3339), l.Currency,
			cents(r.GrossCents), cents(r.FaceCents), cents(r.TicketFeeCents), cents(r.TaxCents), cents(r.FeeCents),
			cents(r.RefundCents), cents(r.KeptFeeCents), cents(r.PayoutCents), cents(r.OwedCents), cents(r.NetCents)}
	}
	_ = cw.Write([]string{"kind", "id", "order_id", "payment_id", "account_id", "status", "resale", "at", "currency",
		"gross_cents", "face_cents", "ticket_fee_cents", "tax_cents", "fee_cents", "refund_cents", "kept_fee_cents",
		"payout_cents", "owed_cents", "net_cents"})
	for _, r := range l.Entries {
		_ = cw.Write(row(r))
	}
	for _, r := range l.Orders {
		_ = cw.Write(row(r))
	}
	t := l.Totals
	_ = cw.Write([]string{"total", strconv.FormatInt(l.EventID, 10), "", "", "", l.EventStatus, "", "", l.Currency,
		cents(t.GrossCents), cents(t.FaceCents), cents(t.TicketFeeCents), cents(t.TaxCents), cents(t.FeeCents),
		cents(t.RefundCents), cents(t.KeptFeeCents), cents(t.PayoutCents), cents(t.OwedCents), cents(t.NetCents)})
	_ = cw.Write([]string{"check", strconv.FormatInt(l.EventID, 10), "", "", "", "balanced=" + strconv.FormatBool(l.Balanced), "", "", l.Currency,
		"expected_net=" + cents(l.ExpectedNetCents), "", "", "", "", "", "", "", "", "residual=" + cents(l.ResidualCents)})
	cw.Flush()
	return cw.Error()
}
