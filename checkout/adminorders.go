package checkout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// OrderQuery is an admin's order search: text matched against the buyer's
// email and name, the order id (a prefix) and the seat (section, row and
// number, as "A 3 12" or "A-3-12"), optionally within one event, a page at
// a time, newest first.
type OrderQuery struct {
	Text    string
	EventID int64
	// Page counts from 1; PerPage defaults to 50.
	Page, PerPage int
}

// OrderPage is one page of an order search.
type OrderPage struct {
	Orders  []OrderSummary `json:"orders"`
	Page    int            `json:"page"`
	PerPage int            `json:"per_page"`
	// More says a next page has at least one order.
	More bool `json:"more"`
}

// likePattern escapes q for LIKE, to match it anywhere.
func likePattern(q string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(q))
}

// FindOrders searches every event's orders (or one event's). The seat
// match compares the text with "section row number" of each ticket's seat,
// spaces, dashes and slashes alike.
func (s *Service) FindOrders(ctx context.Context, q OrderQuery) (OrderPage, error) {
	if q.PerPage <= 0 || q.PerPage > 200 {
		q.PerPage = 50
	}
	if q.Page <= 0 {
		q.Page = 1
	}
	like := likePattern(q.Text)
	seat := strings.Join(strings.FieldsFunc(strings.ToLower(q.Text), func(r rune) bool { return r == ' ' || r == '-' || r == '/' }), " ")
	rows, err := s.db.Query(ctx, `
		SELECT o.id, o.status, a.email, a.name, o.total_cents, o.currency,
		       (SELECT count(*) FROM tickets t WHERE t.order_id = o.id)::int, o.created_at, o.event_id, e.name
		FROM orders o JOIN accounts a ON a.id = o.account_id JOIN events e ON e.id = o.event_id
		WHERE ($1 = 0 OR o.event_id = $1) AND ($2 = '' OR a.email ILIKE '%' || $2 || '%' OR a.name ILIKE '%' || $2 || '%'
		       OR o.id::text LIKE lower($2) || '%'
		       OR EXISTS (SELECT 1 FROM tickets t JOIN seats st ON st.id = t.seat_id WHERE t.order_id = o.id
		                  AND lower(st.section || ' ' || st.row_label || ' ' || st.number) = $3))
		ORDER BY o.created_at DESC, o.id LIMIT $4 OFFSET $5`,
		q.EventID, like, seat, q.PerPage+1, (q.Page-1)*q.PerPage)
	if err != nil {
		return OrderPage{}, fmt.Errorf("checkout: find orders: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrderSummary, error) {
		var o OrderSummary
		err := r.Scan(&o.ID, &o.Status, &o.Email, &o.Name, &o.TotalCents, &o.Currency, &o.Tickets, &o.CreatedAt,
			&o.EventID, &o.EventName)
		return o, err
	})
	if err != nil {
		return OrderPage{}, fmt.Errorf("checkout: find orders: %w", err)
	}
	page := OrderPage{Orders: out, Page: q.Page, PerPage: q.PerPage}
	if len(out) > q.PerPage {
		page.Orders, page.More = out[:q.PerPage], true
	}
	if page.Orders == nil {
		page.Orders = []OrderSummary{}
	}
	return page, nil
}

// AdminOrder is everything about one order an admin needs: the order and
// its tickets, the buyer, the payment (and how it was taken), the
// transfers and resales of its tickets, its refunds, the emails sent for
// it and the admins' notes.
type AdminOrder struct {
	Order
	Buyer     OrderBuyer        `json:"buyer"`
	Payments  []AdminPayment    `json:"payments"`
	Transfers []AdminTransfer   `json:"transfers"`
	Resales   []AdminResale     `json:"resales"`
	Refunds   []RefundView      `json:"refunds"`
	Emails    []OrderEmail      `json:"emails"`
	Notes     []OrderNote       `json:"notes"`
	Left      int64             `json:"refundable_cents"`
	Voided    map[string]string `json:"voided_reasons"`
}

// OrderBuyer is the account that paid for an order.
type OrderBuyer struct {
	ID    int64  `json:"id,string"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// AdminPayment is an order's payment as the admin sees it.
type AdminPayment struct {
	ID          string    `json:"id"`
	Provider    string    `json:"provider"`
	Method      string    `json:"method,omitempty"`
	Status      string    `json:"status"`
	AmountCents int64     `json:"amount_cents"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"created_at"`
}

// AdminTransfer is a transfer of one of the order's tickets.
type AdminTransfer struct {
	ID        string     `json:"id"`
	TicketID  string     `json:"ticket_id"`
	FromEmail string     `json:"from_email"`
	ToEmail   string     `json:"to_email"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// AdminResale is a resale listing of one of the order's tickets, with its
// seller payout when it sold.
type AdminResale struct {
	ListingID    string `json:"listing_id"`
	TicketID     string `json:"ticket_id"`
	PriceCents   int64  `json:"price_cents"`
	Status       string `json:"status"`
	PayoutStatus string `json:"payout_status,omitempty"`
	PayoutCents  int64  `json:"payout_cents,omitempty"`
}

// OrderEmail is one email of the order in the outbox.
type OrderEmail struct {
	Kind      string     `json:"kind"`
	Subject   string     `json:"subject"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// OrderNote is an admin's note on an order.
type OrderNote struct {
	ID        int64     `json:"id,string"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// AdminOrder loads an order with everything around it, whoever bought it.
func (s *Service) AdminOrder(ctx context.Context, orderID string) (AdminOrder, error) {
	if !validUUID(orderID) {
		return AdminOrder{}, ErrOrderNotFound
	}
	tx, err := s.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return AdminOrder{}, fmt.Errorf("checkout: admin order %s: %w", orderID, err)
	}
	defer tx.Rollback(ctx)
	o, err := s.order(ctx, tx, `o.id = $1`, orderID)
	if err != nil {
		return AdminOrder{}, err
	}
	a := AdminOrder{Order: o, Voided: map[string]string{}}
	if err := tx.QueryRow(ctx, `SELECT id, email, name FROM accounts WHERE id = $1`, o.accountID).
		Scan(&a.Buyer.ID, &a.Buyer.Email, &a.Buyer.Name); err != nil {
		return AdminOrder{}, fmt.Errorf("checkout: buyer of %s: %w", orderID, err)
	}
	type loader struct {
		sql  string
		scan func(pgx.CollectableRow) error
		args []any
	}
	loaders := []loader{
		{`SELECT id::text, provider, coalesce(method, ''), status, amount_cents, currency, created_at FROM payments WHERE id = $1`,
			func(r pgx.CollectableRow) error {
				var p AdminPayment
				err := r.Scan(&p.ID, &p.Provider, &p.Method, &p.Status, &p.AmountCents, &p.Currency, &p.CreatedAt)
				a.Payments = append(a.Payments, p)
				return err
			}, []any{o.PaymentID}},
		{`SELECT x.id::text, x.ticket_id::text, f.email, x.to_email, x.status, x.created_at, x.ended_at
		  FROM transfers x JOIN tickets t ON t.id = x.ticket_id JOIN accounts f ON f.id = x.from_account
		  WHERE t.order_id = $1 ORDER BY x.created_at`,
			func(r pgx.CollectableRow) error {
				var x AdminTransfer
				err := r.Scan(&x.ID, &x.TicketID, &x.FromEmail, &x.ToEmail, &x.Status, &x.CreatedAt, &x.EndedAt)
				a.Transfers = append(a.Transfers, x)
				return err
			}, nil},
		{`SELECT l.id::text, l.ticket_id::text, l.price_cents, l.status, coalesce(po.status, ''), coalesce(po.net_cents, 0)
		  FROM listings l JOIN tickets t ON t.id = l.ticket_id LEFT JOIN payouts po ON po.listing_id = l.id
		  WHERE t.order_id = $1 ORDER BY l.created_at`,
			func(r pgx.CollectableRow) error {
				var x AdminResale
				err := r.Scan(&x.ListingID, &x.TicketID, &x.PriceCents, &x.Status, &x.PayoutStatus, &x.PayoutCents)
				a.Resales = append(a.Resales, x)
				return err
			}, nil},
		{`SELECT r.id::text, r.reason, coalesce(r.reason_text, ''), r.status, r.amount_cents, r.currency, r.created_at, r.refunded_at,
		         coalesce((SELECT array_agg(t.id::text ORDER BY t.id) FROM tickets t WHERE t.refund_id = r.id), '{}')
		  FROM refunds r WHERE r.order_id = $1 ORDER BY r.created_at`,
			func(r pgx.CollectableRow) error {
				var x RefundView
				err := r.Scan(&x.ID, &x.Reason, &x.Note, &x.Status, &x.AmountCents, &x.Currency, &x.CreatedAt, &x.RefundedAt, &x.TicketIDs)
				x.OrderID = orderID
				a.Refunds = append(a.Refunds, x)
				return err
			}, nil},
		{`SELECT kind, coalesce(payload->>'subject', 'Your tickets'),
		         CASE WHEN done_at IS NOT NULL THEN 'sent' WHEN dead THEN 'dead' ELSE 'queued' END,
		         attempts, coalesce(last_error, ''), created_at, done_at
		  FROM jobs WHERE (kind = $2 AND payload->>'order_id' = $1) OR (kind = $3 AND payload->>'key' LIKE 'order:' || $1 || ':%')
		  ORDER BY created_at, id`,
			func(r pgx.CollectableRow) error {
				var x OrderEmail
				err := r.Scan(&x.Kind, &x.Subject, &x.Status, &x.Attempts, &x.LastError, &x.CreatedAt, &x.SentAt)
				a.Emails = append(a.Emails, x)
				return err
			}, []any{orderID, JobConfirmation, JobNotice}},
		{`SELECT n.id, a.email, n.body, n.created_at FROM order_notes n JOIN accounts a ON a.id = n.author_id
		  WHERE n.order_id = $1 ORDER BY n.id`,
			func(r pgx.CollectableRow) error {
				var x OrderNote
				err := r.Scan(&x.ID, &x.Author, &x.Body, &x.CreatedAt)
				a.Notes = append(a.Notes, x)
				return err
			}, nil},
		{`SELECT id::text, voided_reason FROM tickets WHERE order_id = $1 AND voided_reason IS NOT NULL`,
			func(r pgx.CollectableRow) error {
				var id, why string
				err := r.Scan(&id, &why)
				a.Voided[id] = why
				return err
			}, nil},
	}
	for _, l := range loaders {
		if l.args == nil {
			l.args = []any{orderID}
		}
		rows, err := tx.Query(ctx, l.sql, l.args...)
		if err != nil {
			return AdminOrder{}, fmt.Errorf("checkout: admin order %s: %w", orderID, err)
		}
		if _, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) { return struct{}{}, l.scan(r) }); err != nil {
			return AdminOrder{}, fmt.Errorf("checkout: admin order %s: %w", orderID, err)
		}
	}
	p := Payment{ID: o.PaymentID}
	if err := tx.QueryRow(ctx, `SELECT amount_cents FROM payments WHERE id = $1`, o.PaymentID).Scan(&p.AmountCents); err != nil {
		return AdminOrder{}, fmt.Errorf("checkout: admin order %s: %w", orderID, err)
	}
	if o.Status == OrderPaid {
		if a.Left, err = refundable(ctx, tx, p); err != nil {
			return AdminOrder{}, err
		}
	}
	a.Transfers, a.Payments, a.Resales, a.Refunds = nonNil(a.Transfers), nonNil(a.Payments), nonNil(a.Resales), nonNil(a.Refunds)
	a.Emails, a.Notes = nonNil(a.Emails), nonNil(a.Notes)
	return a, nil
}

// nonNil is s, or an empty slice for nil (a JSON [] rather than null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ErrNoteShape: a note says something, briefly.
var ErrNoteShape = apperr.E(apperr.Invalid, "invalid_note", "a note is 1 to 2000 characters")

// AddNote adds an admin's note to an order.
func (s *Service) AddNote(ctx context.Context, orderID string, adminID int64, body string) (OrderNote, error) {
	body = strings.TrimSpace(body)
	if body == "" || len(body) > 2000 {
		return OrderNote{}, ErrNoteShape
	}
	if !validUUID(orderID) {
		return OrderNote{}, ErrOrderNotFound
	}
	var n OrderNote
	err := s.db.QueryRow(ctx, `
		WITH ins AS (INSERT INTO order_notes (order_id, author_id, body) SELECT id, $2, $3 FROM orders WHERE id = $1
		             RETURNING id, author_id, body, created_at)
		SELECT ins.id, a.email, ins.body, ins.created_at FROM ins JOIN accounts a ON a.id = ins.author_id`,
		orderID, adminID, body).Scan(&n.ID, &n.Author, &n.Body, &n.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return OrderNote{}, ErrOrderNotFound
	}
	if err != nil {
		return OrderNote{}, fmt.Errorf("checkout: note on %s: %w", orderID, err)
	}
	return n, nil
}

// addNote writes a note inside the caller's transaction (what an admin
// action did, in its own words).
func addNote(ctx context.Context, q pg.Querier, orderID string, adminID int64, body string) error {
	if _, err := q.Exec(ctx, `INSERT INTO order_notes (order_id, author_id, body) VALUES ($1, $2, $3)`, orderID, adminID, body); err != nil {
		return fmt.Errorf("checkout: note on %s: %w", orderID, err)
	}
	return nil
}

// ResendConfirmation sends an order's confirmation email again, through
// the outbox, with the tickets as they are now (only those the buyer still
// holds). An order under review or without live tickets has none to send.
func (s *Service) ResendConfirmation(ctx context.Context, orderID string, adminID int64) error {
	if !validUUID(orderID) {
		return ErrOrderNotFound
	}
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `UPDATE orders SET confirmation_sent_at = NULL WHERE id = $1 RETURNING status`, orderID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrOrderNotFound
		}
		if err != nil {
			return fmt.Errorf("checkout: resend %s: %w", orderID, err)
		}
		if status != OrderPaid {
			return ErrNotRefundable.With("status", status)
		}
		if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobConfirmation, DedupeKey: "confirmation:" + orderID + ":resend:" + uuid.NewString(),
			Payload: orderJob{OrderID: orderID}}); err != nil {
			return err
		}
		return addNote(ctx, tx, orderID, adminID, "Confirmation email sent again")
	})
}

// VoidTicket voids one ticket without a refund (a ticket reported stolen,
// a comp withdrawn): its codes stop admitting at once and its seat stays
// sold, off sale. Only a valid ticket can be voided; the reason is noted
// on its order.
func (s *Service) VoidTicket(ctx context.Context, ticketID string, adminID int64, reason string) (Ticket, error) {
	if !validUUID(ticketID) {
		return Ticket{}, ErrTicketNotFound
	}
	var t Ticket
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var orderID, status string
		err := tx.QueryRow(ctx, `SELECT order_id::text, status FROM tickets WHERE id = $1 FOR UPDATE`, ticketID).Scan(&orderID, &status)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTicketNotFound
		}
		if err != nil {
			return fmt.Errorf("checkout: void ticket %s: %w", ticketID, err)
		}
		if status != TicketValid {
			return ErrTicketBusy.With("status", status)
		}
		if _, err := tx.Exec(ctx, `UPDATE tickets SET status = 'void', version = version + 1, voided_reason = 'voided' WHERE id = $1`,
			ticketID); err != nil {
			return fmt.Errorf("checkout: void ticket %s: %w", ticketID, err)
		}
		note := "Ticket " + ticketID + " voided"
		if reason = strings.TrimSpace(reason); reason != "" {
			note += ": " + reason
		}
		if err := addNote(ctx, tx, orderID, adminID, note); err != nil {
			return err
		}
		t, err = s.ticketByID(ctx, tx, ticketID)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}
