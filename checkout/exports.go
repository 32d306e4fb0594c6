package checkout

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// Export kinds: the CSV files an event's organizers can download.
const (
	ExportOrders    = "orders"
	ExportAttendees = "attendees"
	ExportCheckins  = "checkins"
	ExportRefunds   = "refunds"
	ExportPayouts   = "payouts"
	ExportLedger    = "ledger"
)

// ExportKinds are every export, in the order the admin pages list them.
var ExportKinds = []string{ExportOrders, ExportAttendees, ExportCheckins, ExportRefunds, ExportPayouts, ExportLedger}

// ErrUnknownExport names no export.
var ErrUnknownExport = apperr.E(apperr.NotFound, "unknown_export", "exports are orders, attendees, checkins, refunds, payouts and ledger")

// export is one CSV export: its header and the query of its rows, every
// column as text, in order ($1 is the event).
type export struct {
	header []string
	sql    string
}

var exports = map[string]export{
	ExportOrders: {
		[]string{"order_id", "created_at", "status", "buyer_email", "buyer_name", "tickets", "total_cents", "refunded_cents",
			"currency", "payment_provider", "payment_method"},
		`SELECT o.id::text, o.created_at, o.status, a.email, a.name,
		        (SELECT count(*) FROM tickets t WHERE t.order_id = o.id)::text, o.total_cents::text,
		        (SELECT coalesce(sum(r.amount_cents), 0) FROM refunds r WHERE r.payment_id = o.payment_id AND r.status = 'succeeded')::text,
		        o.currency, p.provider, coalesce(p.method, '')
		 FROM orders o JOIN accounts a ON a.id = o.account_id JOIN payments p ON p.id = o.payment_id
		 WHERE o.event_id = $1 ORDER BY o.created_at, o.id`},
	ExportAttendees: {
		[]string{"ticket_id", "order_id", "holder_name", "owner_email", "section", "row", "number", "price_type", "status",
			"checked_in_at"},
		`SELECT t.id::text, t.order_id::text, t.holder_name, a.email, s.section, s.row_label, s.number::text, t.price_type, t.status,
		        t.checked_in_at
		 FROM tickets t JOIN accounts a ON a.id = t.account_id JOIN seats s ON s.id = t.seat_id
		 WHERE t.event_id = $1 AND t.status IN ('valid', 'listed', 'transfer_pending', 'checked_in') ORDER BY s.idx`},
	ExportCheckins: {
		[]string{"ticket_id", "holder_name", "section", "row", "number", "checked_in_at", "entrance", "scanned_by"},
		`SELECT t.id::text, t.holder_name, s.section, s.row_label, s.number::text, t.checked_in_at, coalesce(t.checked_in_entrance, ''),
		        coalesce(b.email, '')
		 FROM tickets t JOIN seats s ON s.id = t.seat_id LEFT JOIN accounts b ON b.id = t.checked_in_by
		 WHERE t.event_id = $1 AND t.checked_in_at IS NOT NULL ORDER BY t.checked_in_at, t.id`},
	ExportRefunds: {
		[]string{"refund_id", "order_id", "payment_id", "reason", "note", "status", "amount_cents", "withheld_cents",
			"kept_fee_cents", "owed_cents", "currency", "created_at", "refunded_at"},
		`SELECT r.id::text, coalesce(r.order_id::text, ''), r.payment_id::text, r.reason, coalesce(r.reason_text, ''), r.status,
		        r.amount_cents::text, r.withheld_cents::text, r.kept_fee_cents::text, r.owed_cents::text, r.currency, r.created_at,
		        r.refunded_at
		 FROM refunds r WHERE r.event_id = $1 ORDER BY r.created_at, r.id`},
	ExportPayouts: {
		[]string{"payout_id", "listing_id", "order_id", "seller_email", "gross_cents", "fee_cents", "net_cents", "currency",
			"status", "created_at"},
		`SELECT po.id::text, po.listing_id::text, po.order_id::text, a.email, po.gross_cents::text, po.fee_cents::text,
		        po.net_cents::text, po.currency, po.status, po.created_at
		 FROM payouts po JOIN accounts a ON a.id = po.seller_account_id
		 WHERE po.event_id = $1 ORDER BY po.created_at, po.id`},
}

// ValidExport reports whether kind is an export.
func ValidExport(kind string) bool { return slices.Contains(ExportKinds, kind) }

// exportFlushRows is how many rows go into the writer between flushes: a
// download shows progress, and memory holds one batch, never the file.
const exportFlushRows = 500

// WriteExport writes one of an event's CSV exports to w. Rows go from
// Postgres to w as they arrive (one query, read row by row), so an export
// of a stadium's tickets never sits in memory. The ledger export is the
// ledger's own CSV (Ledger.WriteCSV), since its totals and check line need
// every entry first. Text that a spreadsheet would run as a formula (it
// starts with = + - @) gets a leading apostrophe.
func (s *Service) WriteExport(ctx context.Context, eventID int64, kind string, w io.Writer) error {
	if kind == ExportLedger {
		l, err := s.Ledger(ctx, eventID)
		if err != nil {
			return err
		}
		return l.WriteCSV(w)
	}
	e, ok := exports[kind]
	if !ok {
		return ErrUnknownExport
	}
	rows, err := s.db.Query(ctx, e.sql, eventID)
	if err != nil {
		return fmt.Errorf("checkout: export %s of %d: %w", kind, eventID, err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if err := cw.Write(e.header); err != nil {
		return err
	}
	record := make([]string, len(e.header))
	n := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("checkout: export %s of %d: %w", kind, eventID, err)
		}
		for i, v := range vals {
			record[i] = exportCell(v)
		}
		if err := cw.Write(record); err != nil {
			return err
		}
		if n++; n%exportFlushRows == 0 {
			if cw.Flush(); cw.Error() != nil {
				return cw.Error()
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("checkout: export %s of %d: %w", kind, eventID, err)
	}
	cw.Flush()
	return cw.Error()
}

// exportCell is one value as a CSV cell: times in RFC 3339 UTC, nothing
// for null, and text defused against spreadsheet formulas.
func exportCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case string:
		if x != "" && strings.ContainsRune("=+-@", rune(x[0])) {
			if _, err := strconv.ParseInt(x, 10, 64); err != nil {
				return "'" + x
			}
		}
		return x
	default:
		return fmt.Sprint(x)
	}
}

// Attendee is one live ticket of an event, as the attendee list shows it.
type Attendee struct {
	TicketID    string     `json:"ticket_id"`
	OrderID     string     `json:"order_id"`
	HolderName  string     `json:"holder_name"`
	Email       string     `json:"email"`
	Section     string     `json:"section"`
	Row         string     `json:"row"`
	Number      int        `json:"number"`
	PriceType   string     `json:"price_type"`
	Status      string     `json:"status"`
	CheckedInAt *time.Time `json:"checked_in_at,omitempty"`
}

// AttendeePage is one page of an event's attendee list.
type AttendeePage struct {
	Attendees []Attendee `json:"attendees"`
	Page      int        `json:"page"`
	PerPage   int        `json:"per_page"`
	More      bool       `json:"more"`
}

// Attendees lists an event's live tickets in seat order, a page at a time
// (page from 1; perPage at most 500, default 100).
func (s *Service) Attendees(ctx context.Context, eventID int64, page, perPage int) (AttendeePage, error) {
	if perPage <= 0 || perPage > 500 {
		perPage = 100
	}
	if page <= 0 {
		page = 1
	}
	rows, err := s.db.Query(ctx, `
		SELECT t.id::text, t.order_id::text, t.holder_name, a.email, s.section, s.row_label, s.number, t.price_type, t.status, t.checked_in_at
		FROM tickets t JOIN accounts a ON a.id = t.account_id JOIN seats s ON s.id = t.seat_id
		WHERE t.event_id = $1 AND t.status IN ('valid', 'listed', 'transfer_pending', 'checked_in')
		ORDER BY s.idx LIMIT $2 OFFSET $3`, eventID, perPage+1, (page-1)*perPage)
	if err != nil {
		return AttendeePage{}, fmt.Errorf("checkout: attendees of %d: %w", eventID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attendee, error) {
		var a Attendee
		err := r.Scan(&a.TicketID, &a.OrderID, &a.HolderName, &a.Email, &a.Section, &a.Row, &a.Number, &a.PriceType, &a.Status, &a.CheckedInAt)
		return a, err
	})
	if err != nil {
		return AttendeePage{}, fmt.Errorf("checkout: attendees of %d: %w", eventID, err)
	}
	out := AttendeePage{Attendees: nonNil(list), Page: page, PerPage: perPage}
	if len(list) > perPage {
		out.Attendees, out.More = list[:perPage], true
	}
	return out, nil
}
