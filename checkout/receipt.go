package checkout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/jackc/pgx/v5"
	"github.com/wneessen/go-mail"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Receipts: an order gets the next receipt number of its event's
// organizer when it becomes paid, from a counter row updated in the same
// transaction (the orders_number_receipt trigger, migration 00021): a
// purchase that rolls back gives its number back, and concurrent
// purchases of one organizer queue on the row, so each organizer's
// numbers run 1, 2, 3 ... without a gap. The trigger also keeps the
// organizer's name, address and tax id as they were, so a receipt reads
// the same forever.

// Errors of receipts and organizers.
var (
	ErrReceiptNotIssued  = apperr.E(apperr.Conflict, "receipt_not_issued", "this order has no receipt yet: it is issued once the order is paid")
	ErrOrganizerNotFound = apperr.E(apperr.NotFound, "organizer_not_found", "no such organizer")
)

// Organizer is who sells an event's tickets, as its receipts name them.
// Organizer 1 exists from the start and owns every event not given
// another.
type Organizer struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
	TaxID   string `json:"tax_id"`
}

// OrganizerSettings are the details an admin sets.
type OrganizerSettings struct {
	Name    string `json:"name" validate:"required,min=1,max=200"`
	Address string `json:"address" validate:"max=1000"`
	TaxID   string `json:"tax_id" validate:"max=64"`
}

// Organizers lists every organizer, oldest first.
func (s *Service) Organizers(ctx context.Context) ([]Organizer, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, address, tax_id FROM organizers ORDER BY id LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("checkout: organizers: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Organizer])
	if err != nil {
		return nil, fmt.Errorf("checkout: organizers: %w", err)
	}
	if out == nil {
		out = []Organizer{}
	}
	return out, nil
}

// CreateOrganizer adds an organizer.
func (s *Service) CreateOrganizer(ctx context.Context, o OrganizerSettings) (Organizer, error) {
	out := Organizer{Name: o.Name, Address: o.Address, TaxID: o.TaxID}
	err := s.db.QueryRow(ctx, `INSERT INTO organizers (name, address, tax_id) VALUES ($1, $2, $3) RETURNING id`,
		o.Name, o.Address, o.TaxID).Scan(&out.ID)
	if err != nil {
		return Organizer{}, fmt.Errorf("checkout: create organizer: %w", err)
	}
	return out, nil
}

// UpdateOrganizer replaces an organizer's details; receipts already issued
// keep the details they were issued with.
func (s *Service) UpdateOrganizer(ctx context.Context, id int64, o OrganizerSettings) (Organizer, error) {
	tag, err := s.db.Exec(ctx, `UPDATE organizers SET name = $2, address = $3, tax_id = $4, updated_at = now() WHERE id = $1`,
		id, o.Name, o.Address, o.TaxID)
	if err != nil {
		return Organizer{}, fmt.Errorf("checkout: update organizer %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return Organizer{}, ErrOrganizerNotFound
	}
	return Organizer{ID: id, Name: o.Name, Address: o.Address, TaxID: o.TaxID}, nil
}

// SetEventOrganizer makes an organizer the seller of an event's tickets
// from now on: orders paid later get its numbers and details.
func (s *Service) SetEventOrganizer(ctx context.Context, eventID, organizerID int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE events SET organizer_id = $2 WHERE id = $1 AND EXISTS (SELECT 1 FROM organizers WHERE id = $2)`,
		eventID, organizerID)
	if err != nil {
		return fmt.Errorf("checkout: organizer of event %d: %w", eventID, err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)`, eventID).Scan(&exists); err != nil {
			return fmt.Errorf("checkout: organizer of event %d: %w", eventID, err)
		}
		if !exists {
			return seatmap.ErrEventNotFound
		}
		return ErrOrganizerNotFound
	}
	return nil
}

// Receipt is what an order's receipt says: who sold, to whom, when, and
// what the money was made of (the ledger's columns of the order).
type Receipt struct {
	Number int64
	Issuer Organizer
	Buyer  string
	Email  string
	PaidAt time.Time
	Order  Order
	Resale bool
	// PlatformFeeCents is, on a resale, the platform's fee included in
	// the price (the ledger's fee column).
	PlatformFeeCents int64
	RefundedCents    int64
}

// Receipt returns the receipt of an order of the account (another
// account's order is ErrOrderNotFound); an order not paid yet has none.
func (s *Service) Receipt(ctx context.Context, accountID int64, orderID string) (Receipt, error) {
	o, err := s.Order(ctx, accountID, orderID)
	if err != nil {
		return Receipt{}, err
	}
	return s.receiptOf(ctx, o)
}

func (s *Service) receiptOf(ctx context.Context, o Order) (Receipt, error) {
	if err := s.numberReceipt(ctx, o.ID); err != nil {
		return Receipt{}, err
	}
	r := Receipt{Order: o}
	var number *int64
	var issuer []byte
	var paidAt *time.Time
	err := s.db.QueryRow(ctx, `
		SELECT o.receipt_number, o.receipt_issuer, o.paid_at, a.name, a.email, h.listing_id IS NOT NULL,
		       coalesce((SELECT sum(fee_cents) FROM payouts WHERE order_id = o.id), 0),
		       coalesce((SELECT sum(amount_cents) FROM refunds WHERE order_id = o.id AND status = 'succeeded'), 0)
		FROM orders o JOIN accounts a ON a.id = o.account_id JOIN holds h ON h.id = o.hold_id WHERE o.id = $1`, o.ID).
		Scan(&number, &issuer, &paidAt, &r.Buyer, &r.Email, &r.Resale, &r.PlatformFeeCents, &r.RefundedCents)
	if err != nil {
		return Receipt{}, fmt.Errorf("checkout: receipt of %s: %w", o.ID, err)
	}
	if number == nil || paidAt == nil {
		return Receipt{}, ErrReceiptNotIssued
	}
	r.Number, r.PaidAt = *number, *paidAt
	if err := json.Unmarshal(issuer, &r.Issuer); err != nil {
		return Receipt{}, fmt.Errorf("checkout: receipt issuer of %s: %w", o.ID, err)
	}
	return r, nil
}

// numberReceipt gives a paid order the next receipt number of its
// organizer when its receipt is first issued (the confirmation email, or
// the fan asking). Numbering then, in a short transaction of its own,
// rather than in the purchase's, keeps purchases from queueing on the
// organizer's counter row during a rush; the order row's lock makes two
// issuers of one receipt take one number, and a rollback gives it back,
// so the numbers have no gaps.
func (s *Service) numberReceipt(ctx context.Context, orderID string) error {
	_, err := s.db.Exec(ctx, `
		WITH o AS (
			SELECT id, organizer_id FROM orders
			WHERE id = $1 AND receipt_number IS NULL AND paid_at IS NOT NULL AND organizer_id IS NOT NULL
			FOR UPDATE),
		n AS (
			INSERT INTO receipt_counters AS c (organizer_id, last_number) SELECT organizer_id, 1 FROM o
			ON CONFLICT (organizer_id) DO UPDATE SET last_number = c.last_number + 1
			RETURNING last_number)
		UPDATE orders SET receipt_number = (SELECT last_number FROM n) FROM o WHERE orders.id = o.id`, orderID)
	if err != nil {
		return fmt.Errorf("checkout: number the receipt of %s: %w", orderID, err)
	}
	return nil
}

// ReceiptPDF renders the receipt of an order of the account.
func (s *Service) ReceiptPDF(ctx context.Context, accountID int64, orderID string) ([]byte, error) {
	r, err := s.Receipt(ctx, accountID, orderID)
	if err != nil {
		return nil, err
	}
	return receiptPDF(r)
}

// ReceiptNumber is how a receipt number is printed.
func ReceiptNumber(n int64) string { return fmt.Sprintf("%06d", n) }

// receiptPDF renders a receipt on one A4 page, with the same fpdf setup
// as the tickets. It is not compressed: it is small, and its text stays
// searchable by the tools an accountant uses.
func receiptPDF(r Receipt) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(false)
	pdf.SetTitle("Receipt "+ReceiptNumber(r.Number), true)
	pdf.SetCreator("Boxoffice", true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	cur := strings.ToUpper(r.Order.Currency)
	money := func(c int64) string { return cents(c) + " " + cur }
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.MultiCell(0, 8, tr(r.Issuer.Name), "", "L", false)
	pdf.SetFont("Helvetica", "", 10)
	if r.Issuer.Address != "" {
		pdf.MultiCell(0, 5, tr(r.Issuer.Address), "", "L", false)
	}
	if r.Issuer.TaxID != "" {
		pdf.CellFormat(0, 5, tr("Tax ID: "+r.Issuer.TaxID), "", 1, "L", false, 0, "")
	}
	pdf.Ln(6)
	pdf.SetFont("Helvetica", "B", 20)
	pdf.CellFormat(0, 10, "Receipt No. "+ReceiptNumber(r.Number), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	for _, line := range []string{
		"Date paid: " + r.PaidAt.UTC().Format("2 January 2006, 15:04 UTC"),
		"Order: " + r.Order.ID,
		"Customer: " + r.Buyer + " <" + r.Email + ">",
		"Event: " + r.Order.EventName + ", " + venueTime(r.Order.EventDate, r.Order.TimeZone),
	} {
		pdf.MultiCell(0, 5, tr(line), "", "L", false)
	}
	pdf.Ln(6)
	widths := []float64{62, 24, 24, 24, 18, 28}
	row := func(style string, cols ...string) {
		pdf.SetFont("Helvetica", style, 9)
		for i, c := range cols {
			align := "R"
			if i == 0 {
				align = "L"
			}
			pdf.CellFormat(widths[i], 6, tr(c), "B", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	row("B", "Item", "Ticket", "Ticket fees", "Tax", "Incl.", "Total")
	for _, t := range r.Order.Tickets {
		b := t.Breakdown
		included := ""
		if b.TaxIncluded {
			included = "yes"
		}
		row("", seatLine(t.Seat)+" ("+t.PriceTypeName+")", cents(b.FaceCents), cents(b.ServiceFeeCents+b.FacilityFeeCents),
			cents(b.TaxCents), included, cents(b.TotalCents))
	}
	b := r.Order.Breakdown
	row("B", "Total", cents(b.FaceCents), cents(b.ServiceFeeCents+b.FacilityFeeCents), cents(b.TaxCents), "", money(r.Order.TotalCents))
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "", 9)
	notes := []string{
		"Ticket fees are the event's service and facility fees. Tax marked \"Incl.\" is part of the ticket price; other tax is added to it.",
	}
	if r.Resale {
		notes = append(notes, "Bought on resale: the price includes the platform's resale fee of "+money(r.PlatformFeeCents)+
			", which is deducted from the seller's payout.")
	}
	if r.RefundedCents > 0 {
		notes = append(notes, "Refunded: "+money(r.RefundedCents)+".")
	}
	notes = append(notes, "Total paid: "+money(r.Order.TotalCents)+".")
	for _, n := range notes {
		pdf.MultiCell(0, 5, tr(n), "", "L", false)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("checkout: render receipt: %w", err)
	}
	return buf.Bytes(), nil
}

// attachReceipt attaches the order's receipt to its confirmation email;
// an order without one yet (under review) gets none.
func (s *Service) attachReceipt(ctx context.Context, m *mail.Msg, orderID string) error {
	o, err := s.order(ctx, s.db, `o.id = $1`, orderID) // every ticket bought, given away since or not
	if err != nil {
		return err
	}
	r, err := s.receiptOf(ctx, o)
	if errors.Is(err, ErrReceiptNotIssued) {
		return nil
	}
	if err != nil {
		return err
	}
	pdf, err := receiptPDF(r)
	if err != nil {
		return err
	}
	if err := m.AttachReader("receipt-"+ReceiptNumber(r.Number)+".pdf", bytes.NewReader(pdf),
		mail.WithFileContentType(mail.ContentType("application/pdf"))); err != nil {
		return fmt.Errorf("checkout: attach receipt: %w", err)
	}
	return nil
}
