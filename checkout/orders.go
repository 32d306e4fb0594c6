package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Order is a paid order as the API shows it.
type Order struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Event      string    `json:"event"`
	EventName  string    `json:"event_name"`
	EventDate  time.Time `json:"event_date"`
	HoldID     string    `json:"hold_id"`
	PaymentID  string    `json:"payment_id"`
	TotalCents int64     `json:"total_cents"`
	Currency   string    `json:"currency"`
	CreatedAt  time.Time `json:"created_at"`
	// Breakdown sums the breakdowns of every ticket the order bought
	// (including any given away since); its total is TotalCents.
	Breakdown seatmap.Breakdown `json:"price_breakdown"`
	Tickets   []Ticket          `json:"tickets"`
	// TimeZone is the venue's IANA time zone, the one times are shown in.
	TimeZone  string `json:"time_zone"`
	accountID int64
}

// Ticket is a ticket as the API shows it. The barcode is not part of it:
// the PDF carries it, and only the owner gets the PDF.
type Ticket struct {
	ID         string     `json:"id"`
	Event      string     `json:"event"`
	EventName  string     `json:"event_name"`
	EventDate  time.Time  `json:"event_date"`
	Seat       TicketSeat `json:"seat"`
	Status     string     `json:"status"`
	OrderID    string     `json:"order_id"`
	HolderName string     `json:"holder_name"`
	// Listing is the ticket's active resale listing, if any.
	Listing *TicketListing `json:"listing,omitempty"`
	// TransferID is the ticket's pending transfer, if any.
	TransferID string `json:"transfer_id,omitempty"`
	// PrintAtHome is the event's entry rule: true, the static code of the
	// PDF admits as well as the app's rotating code; false, only the
	// rotating code admits.
	PrintAtHome bool `json:"print_at_home"`
	// PriceType is the price type the ticket was bought as, and
	// PriceTypeName its name as the event shows it.
	PriceType     string `json:"price_type"`
	PriceTypeName string `json:"price_type_name"`
	// Breakdown is what the ticket cost when it was bought: face value,
	// fees, tax and the all-in total (the seat's face value for resale
	// caps stays Seat.PriceCents).
	Breakdown seatmap.Breakdown `json:"price_breakdown"`
	// TimeZone is the venue's IANA time zone, the one times are shown in.
	TimeZone  string `json:"time_zone"`
	currency  string
	version   int64
	accountID int64
	seatID    int64
	eventID   int64
}

// priceText says what a ticket cost in one line for the email and PDF:
// its price type, the all-in total and the parts of it.
func priceText(typeName string, b seatmap.Breakdown, currency string) string {
	cur := strings.ToUpper(currency)
	tax := "tax"
	if b.TaxIncluded {
		tax = "incl. tax"
	}
	return fmt.Sprintf("%s: %s %s all-in (ticket %s, service fee %s, facility fee %s, %s %s)", typeName,
		cents(b.TotalCents), cur, cents(b.FaceCents), cents(b.ServiceFeeCents), cents(b.FacilityFeeCents), tax, cents(b.TaxCents))
}

// TicketListing is a ticket's active resale listing.
type TicketListing struct {
	ID         string `json:"id"`
	PriceCents int64  `json:"price_cents"`
}

// TicketSeat is the seat a ticket admits to.
type TicketSeat struct {
	ID         string `json:"id"`
	Section    string `json:"section"`
	Row        string `json:"row"`
	Number     int    `json:"number"`
	PriceCents int64  `json:"price_cents"`
}

// writeOrder writes the order and one ticket per sold seat inside the
// conversion transaction: paid with valid tickets, or, with review reasons,
// under review with tickets held back.
func writeOrder(ctx context.Context, tx pgx.Tx, p Payment, sale seatmap.Sale, reviewReasons []string) (string, error) {
	var b pgx.Batch
	orderIDs, err := queueOrders(&b, []orderIn{{p, sale, reviewReasons}})
	if err != nil {
		return "", err
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return "", fmt.Errorf("checkout: write order for %s: %w", sale.HoldID, err)
	}
	return orderIDs[0], nil
}

// orderIn is one order to write: the payment, what its hold sold, and the
// screen's reasons to review it (none: paid).
type orderIn struct {
	p       Payment
	sale    seatmap.Sale
	reasons []string
}

// queueOrders adds writeOrder's inserts for several orders (all the
// orders, then all their tickets, named for each account's holder: two
// statements however many orders) to a batch and returns the new orders'
// ids; the caller sends the batch in its transaction.
func queueOrders(b *pgx.Batch, ins []orderIn) ([]string, error) {
	n := len(ins)
	orderIDs, holds, payments, currencies, statuses, reasons := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	accounts, events, totals := make([]int64, n), make([]int64, n), make([]int64, n)
	var t struct {
		ids, orders, statuses, types        []string
		events, seats, accounts             []int64
		face, service, facility, tax, total []int64
		included                            []bool
	}
	for i, in := range ins {
		sale := in.sale
		orderStatus, ticketStatus := OrderPaid, TicketValid
		if len(in.reasons) > 0 {
			orderStatus, ticketStatus = OrderReview, TicketReview
		}
		why, err := json.Marshal(append([]string{}, in.reasons...))
		if err != nil {
			return nil, fmt.Errorf("checkout: review reasons of %s: %w", sale.HoldID, err)
		}
		orderIDs[i] = uuid.NewString()
		accounts[i], events[i], holds[i], payments[i] = sale.AccountID, sale.EventID, sale.HoldID, in.p.ID
		totals[i], currencies[i], statuses[i], reasons[i] = sale.TotalCents, sale.Currency, orderStatus, string(why)
		var sum int64
		for j, st := range sale.Seats {
			ln := sale.Lines[j]
			if ln.SeatID != st.ID {
				return nil, fmt.Errorf("checkout: price line %d of %s is seat %d, not %d", j, sale.HoldID, ln.SeatID, st.ID)
			}
			t.ids, t.orders, t.statuses, t.types = append(t.ids, uuid.NewString()), append(t.orders, orderIDs[i]),
				append(t.statuses, ticketStatus), append(t.types, ln.PriceType)
			t.events, t.seats, t.accounts = append(t.events, sale.EventID), append(t.seats, st.ID), append(t.accounts, sale.AccountID)
			t.face, t.service, t.facility = append(t.face, ln.FaceCents), append(t.service, ln.ServiceFeeCents), append(t.facility, ln.FacilityFeeCents)
			t.tax, t.total, t.included = append(t.tax, ln.TaxCents), append(t.total, ln.TotalCents), append(t.included, ln.TaxIncluded)
			sum += ln.TotalCents
		}
		if sum != sale.TotalCents || sum != in.p.AmountCents {
			// The tickets must add up to what was charged, to the cent.
			return nil, fmt.Errorf("checkout: tickets of %s add up to %d, hold %d, payment %d", sale.HoldID, sum, sale.TotalCents, in.p.AmountCents)
		}
	}
	b.Queue(`
		INSERT INTO orders (id, account_id, event_id, hold_id, payment_id, total_cents, currency, status, review_reasons)
		SELECT o.id, o.account, o.event, o.hold, o.payment, o.total, o.currency, o.status,
		       ARRAY(SELECT jsonb_array_elements_text(o.reasons))
		FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::uuid[], $5::uuid[], $6::bigint[], $7::text[], $8::text[], $9::jsonb[])
		     AS o(id, account, event, hold, payment, total, currency, status, reasons)`,
		orderIDs, accounts, events, holds, payments, totals, currencies, statuses, reasons)
	b.Queue(`
		INSERT INTO tickets (id, order_id, event_id, seat_id, account_id, holder_name, status, price_type,
		                     face_cents, service_fee_cents, facility_fee_cents, tax_cents, tax_included, total_cents)
		SELECT t.id, t.order_id, t.event, t.seat_id, t.account, (SELECT a.name FROM accounts a WHERE a.id = t.account),
		       t.status, t.price_type, t.face, t.service, t.facility, t.tax, t.included, t.total
		FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
		            $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::boolean[], $13::bigint[])
		     AS t(id, order_id, event, seat_id, account, status, price_type, face, service, facility, tax, included, total)`,
		t.ids, t.orders, t.events, t.seats, t.accounts, t.statuses, t.types,
		t.face, t.service, t.facility, t.tax, t.included, t.total)
	return orderIDs, nil
}

const ticketSelect = `
	SELECT t.id, t.event_id::text, e.name, e.event_date, s.id::text, s.section, s.row_label, s.number, s.price_cents,
	       t.status, t.order_id, t.holder_name, t.version, t.account_id, t.seat_id, t.event_id,
	       l.id::text, l.price_cents,
	       (SELECT x.id::text FROM transfers x WHERE x.ticket_id = t.id AND x.status = 'pending'), e.print_at_home,
	       t.price_type, coalesce((SELECT pt->>'name' FROM jsonb_array_elements(e.price_types) pt WHERE pt->>'key' = t.price_type), ''),
	       t.face_cents, t.service_fee_cents, t.facility_fee_cents, t.tax_cents, t.tax_included, t.total_cents, e.currency,
	       (SELECT v.time_zone FROM venues v WHERE v.id = e.venue_id)
	FROM tickets t LEFT JOIN listings l ON l.ticket_id = t.id AND l.status = 'active' JOIN seats s ON s.id = t.seat_id JOIN events e ON e.id = t.event_id `

func scanTickets(rows pgx.Rows) ([]Ticket, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ticket, error) {
		var t Ticket
		var listingID, transferID *string
		var listingPrice *int64
		err := r.Scan(&t.ID, &t.Event, &t.EventName, &t.EventDate, &t.Seat.ID, &t.Seat.Section, &t.Seat.Row,
			&t.Seat.Number, &t.Seat.PriceCents, &t.Status, &t.OrderID, &t.HolderName, &t.version, &t.accountID,
			&t.seatID, &t.eventID, &listingID, &listingPrice, &transferID, &t.PrintAtHome,
			&t.PriceType, &t.PriceTypeName, &t.Breakdown.FaceCents, &t.Breakdown.ServiceFeeCents, &t.Breakdown.FacilityFeeCents,
			&t.Breakdown.TaxCents, &t.Breakdown.TaxIncluded, &t.Breakdown.TotalCents, &t.currency, &t.TimeZone)
		if t.PriceTypeName == "" {
			t.PriceTypeName = "Standard"
		}
		if listingID != nil && listingPrice != nil {
			t.Listing = &TicketListing{ID: *listingID, PriceCents: *listingPrice}
		}
		if transferID != nil {
			t.TransferID = *transferID
		}
		return t, err
	})
}

const orderSelect = `
	SELECT o.id, o.status, o.event_id::text, e.name, e.event_date, o.hold_id, o.payment_id, o.total_cents,
	       o.currency, o.created_at, o.account_id,
	       b.face, b.service, b.facility, b.tax, b.included, b.total,
	       (SELECT v.time_zone FROM venues v WHERE v.id = e.venue_id)
	FROM orders o JOIN events e ON e.id = o.event_id
	CROSS JOIN LATERAL (SELECT coalesce(sum(face_cents), 0), coalesce(sum(service_fee_cents), 0),
	                           coalesce(sum(facility_fee_cents), 0), coalesce(sum(tax_cents), 0),
	                           coalesce(bool_or(tax_included), false), coalesce(sum(total_cents), 0)
	                    FROM tickets WHERE order_id = o.id) AS b(face, service, facility, tax, included, total) `

func scanOrder(r pgx.Row) (Order, error) {
	var o Order
	err := r.Scan(&o.ID, &o.Status, &o.Event, &o.EventName, &o.EventDate, &o.HoldID, &o.PaymentID, &o.TotalCents,
		&o.Currency, &o.CreatedAt, &o.accountID, &o.Breakdown.FaceCents, &o.Breakdown.ServiceFeeCents,
		&o.Breakdown.FacilityFeeCents, &o.Breakdown.TaxCents, &o.Breakdown.TaxIncluded, &o.Breakdown.TotalCents, &o.TimeZone)
	return o, err
}

// Orders lists the account's orders, newest first, with their tickets.
func (s *Service) Orders(ctx context.Context, accountID int64) ([]Order, error) {
	rows, err := s.db.Query(ctx, orderSelect+`WHERE o.account_id = $1 ORDER BY o.created_at DESC LIMIT 200`, accountID)
	if err != nil {
		return nil, fmt.Errorf("checkout: list orders: %w", err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Order, error) { return scanOrder(r) })
	if err != nil {
		return nil, fmt.Errorf("checkout: list orders: %w", err)
	}
	trows, err := s.db.Query(ctx, ticketSelect+`WHERE t.account_id = $1 AND t.order_id = ANY($2) ORDER BY s.idx`,
		accountID, orderIDs(orders))
	if err != nil {
		return nil, fmt.Errorf("checkout: list order tickets: %w", err)
	}
	tickets, err := scanTickets(trows)
	if err != nil {
		return nil, fmt.Errorf("checkout: list order tickets: %w", err)
	}
	byOrder := make(map[string][]Ticket)
	for _, t := range tickets {
		byOrder[t.OrderID] = append(byOrder[t.OrderID], t)
	}
	for i := range orders {
		orders[i].Tickets = byOrder[orders[i].ID]
		if orders[i].Tickets == nil {
			orders[i].Tickets = []Ticket{}
		}
	}
	return orders, nil
}

func orderIDs(os []Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

// Order returns an order of the account; another account's is not found.
func (s *Service) Order(ctx context.Context, accountID int64, orderID string) (Order, error) {
	if !validUUID(orderID) {
		return Order{}, ErrOrderNotFound
	}
	return s.order(ctx, s.db, `o.id = $1 AND o.account_id = $2`, orderID, accountID)
}

func (s *Service) order(ctx context.Context, q pg.Querier, where string, args ...any) (Order, error) {
	o, err := scanOrder(q.QueryRow(ctx, orderSelect+`WHERE `+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, ErrOrderNotFound
	}
	if err != nil {
		return Order{}, fmt.Errorf("checkout: load order: %w", err)
	}
	rows, err := q.Query(ctx, ticketSelect+`WHERE t.order_id = $1 ORDER BY s.idx`, o.ID)
	if err != nil {
		return Order{}, fmt.Errorf("checkout: load order tickets: %w", err)
	}
	if o.Tickets, err = scanTickets(rows); err != nil {
		return Order{}, fmt.Errorf("checkout: load order tickets: %w", err)
	}
	return o, nil
}

// Tickets lists the account's tickets, newest first.
func (s *Service) Tickets(ctx context.Context, accountID int64) ([]Ticket, error) {
	rows, err := s.db.Query(ctx, ticketSelect+`WHERE t.account_id = $1 ORDER BY t.created_at DESC, s.idx LIMIT 1000`, accountID)
	if err != nil {
		return nil, fmt.Errorf("checkout: list tickets: %w", err)
	}
	ts, err := scanTickets(rows)
	if err != nil {
		return nil, fmt.Errorf("checkout: list tickets: %w", err)
	}
	if ts == nil {
		ts = []Ticket{}
	}
	return ts, nil
}

// Ticket returns a ticket of the account; another account's is not found.
func (s *Service) Ticket(ctx context.Context, accountID int64, ticketID string) (Ticket, error) {
	if !validUUID(ticketID) {
		return Ticket{}, ErrTicketNotFound
	}
	return oneTicket(ctx, s.db, `WHERE t.id = $1 AND t.account_id = $2`, ticketID, accountID)
}

// ticketByID loads any ticket, whoever owns it.
func (s *Service) ticketByID(ctx context.Context, q pg.Querier, ticketID string) (Ticket, error) {
	return oneTicket(ctx, q, `WHERE t.id = $1`, ticketID)
}

// oneTicket loads the ticket a WHERE clause names, or ErrTicketNotFound.
func oneTicket(ctx context.Context, q pg.Querier, where string, args ...any) (Ticket, error) {
	rows, err := q.Query(ctx, ticketSelect+where, args...)
	if err != nil {
		return Ticket{}, fmt.Errorf("checkout: load ticket: %w", err)
	}
	ts, err := scanTickets(rows)
	if err != nil {
		return Ticket{}, fmt.Errorf("checkout: load ticket: %w", err)
	}
	if len(ts) == 0 {
		return Ticket{}, ErrTicketNotFound
	}
	return ts[0], nil
}

// TicketPDF renders one ticket of the account as a PDF with its QR code.
func (s *Service) TicketPDF(ctx context.Context, accountID int64, ticketID string) ([]byte, error) {
	t, err := s.Ticket(ctx, accountID, ticketID)
	if err != nil {
		return nil, err
	}
	if t.Status == TicketReview {
		return nil, ErrTicketInReview
	}
	return s.ticketsPDF([]Ticket{t})
}

// OrderPDF renders the tickets of an order of the account, one page each,
// as the confirmation email attaches it: only those the account still owns
// and that are not void, so a ticket given away or resold never reaches its
// previous owner with a current code. An order with none left is
// ErrTicketNotFound.
func (s *Service) OrderPDF(ctx context.Context, accountID int64, orderID string) ([]byte, error) {
	o, err := s.Order(ctx, accountID, orderID)
	if err != nil {
		return nil, err
	}
	if o.Status == OrderReview {
		return nil, ErrTicketInReview
	}
	ts := o.ownedTickets()
	if len(ts) == 0 {
		return nil, ErrTicketNotFound
	}
	return s.ticketsPDF(ts)
}

// ownedTickets are the order's tickets its account still owns, not void.
func (o Order) ownedTickets() []Ticket {
	var out []Ticket
	for _, t := range o.Tickets {
		if t.accountID == o.accountID && t.Status != TicketVoid {
			out = append(out, t)
		}
	}
	return out
}
