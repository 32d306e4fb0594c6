package checkout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/boxoffice/boxoffice/internal/jobs"
)

// Outbox job kinds of checkout.
const (
	// JobConfirmation emails the order's tickets as a PDF.
	JobConfirmation = "checkout.confirmation"
	// JobCapture captures a converted payment if the capture right after
	// the conversion did not happen.
	JobCapture = "checkout.capture"
)

type orderJob struct {
	OrderID string `json:"order_id"`
}

type paymentJob struct {
	PaymentID string `json:"payment_id"`
}

// RegisterJobs registers checkout's job handlers on r.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Register(JobConfirmation, func(ctx context.Context, raw json.RawMessage) error {
		var j orderJob
		if err := json.Unmarshal(raw, &j); err != nil {
			return err
		}
		return s.SendConfirmation(ctx, j.OrderID)
	})
	r.Register(JobNotice, s.sendNotice)
	r.Register(JobCapture, func(ctx context.Context, raw json.RawMessage) error {
		var j paymentJob
		if err := json.Unmarshal(raw, &j); err != nil {
			return err
		}
		return s.capture(ctx, j.PaymentID)
	})
	s.registerRefund(r)
	s.registerAdminRefund(r)
	s.registerPayouts(r)
	s.registerReminders(r)
}

// errNoMailer keeps confirmation jobs queued while no mailer is configured.
var errNoMailer = errors.New("checkout: no mailer configured")

// SendConfirmation emails an order's tickets with the PDF attached. It is
// idempotent: an order whose confirmation went out is skipped, and the
// Message-ID is fixed per order so a repeat after a crash between sending
// and recording is recognisable as the same message.
func (s *Service) SendConfirmation(ctx context.Context, orderID string) error {
	if s.mailer == nil {
		return errNoMailer
	}
	var sent *time.Time
	var email, name string
	err := s.db.QueryRow(ctx, `
		SELECT o.confirmation_sent_at, a.email, a.name FROM orders o JOIN accounts a ON a.id = o.account_id WHERE o.id = $1`,
		orderID).Scan(&sent, &email, &name)
	if err != nil {
		return fmt.Errorf("checkout: confirmation of %s: %w", orderID, err)
	}
	if sent != nil {
		return nil
	}
	o, err := s.order(ctx, s.db, `o.id = $1`, orderID)
	if err != nil {
		return err
	}
	// A confirmation delayed past a transfer or resale carries only what
	// the buyer still owns.
	o.Tickets = o.ownedTickets()
	pdf, err := s.ticketsPDF(o.Tickets)
	if err != nil {
		return err
	}
	m := mail.NewMsg()
	if err := m.From(s.cfg.MailFrom); err != nil {
		return fmt.Errorf("checkout: sender: %w", err)
	}
	if err := setRecipient(m, name, email); err != nil {
		return fmt.Errorf("checkout: recipient of %s: %w", orderID, err)
	}
	m.SetMessageIDWithValue("order-" + o.ID + "@boxoffice")
	m.Subject(fmt.Sprintf("Your tickets for %s", o.EventName))
	m.SetBodyString(mail.TypeTextPlain, confirmationText(o, s.cfg.BaseURL))
	if err := m.AttachReader("tickets-"+o.ID[:8]+".pdf", bytes.NewReader(pdf),
		mail.WithFileContentType(mail.ContentType("application/pdf"))); err != nil {
		return fmt.Errorf("checkout: attach PDF: %w", err)
	}
	if err := s.attachReceipt(ctx, m, o.ID); err != nil {
		return err
	}
	if err := s.mailer.Send(ctx, m); err != nil {
		return err
	}
	if _, err := s.db.Exec(ctx, `UPDATE orders SET confirmation_sent_at = now() WHERE id = $1`, orderID); err != nil {
		return fmt.Errorf("checkout: record confirmation of %s: %w", orderID, err)
	}
	return nil
}

func confirmationText(o Order, baseURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Thank you for your order.\n\n%s\n%s\n\n", o.EventName, venueTime(o.EventDate, o.TimeZone))
	for _, t := range o.Tickets {
		fmt.Fprintf(&b, "  %s\n    %s\n", seatLine(t.Seat), priceText(t.PriceTypeName, t.Breakdown, o.Currency))
	}
	fmt.Fprintf(&b, "\nTotal: %s %s\nOrder: %s\n", cents(o.TotalCents), strings.ToUpper(o.Currency), o.ID)
	if baseURL != "" {
		fmt.Fprintf(&b, "%s/orders/%s\n", strings.TrimRight(baseURL, "/"), o.ID)
	}
	if len(o.Tickets) > 0 && !o.Tickets[0].PrintAtHome {
		b.WriteString("\nYour tickets are attached as a PDF for your records. " + useTheApp(baseURL) + "\n")
	} else {
		b.WriteString("\nYour tickets are attached as a PDF; each QR code admits once.\n")
	}
	return b.String()
}
