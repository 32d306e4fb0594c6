package checkout

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/skip2/go-qrcode"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// ErrInvalidCode is any code that does not admit: unknown, forged, stale
// (an older version or a step outside the window) or of a void ticket.
var ErrInvalidCode = apperr.E(apperr.NotFound, "invalid_code", "this code is not a valid ticket")

// EntryCodeView is the rotating code of a ticket as the app shows it.
type EntryCodeView struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
	// QRPNG is the code drawn as a QR code, a data: URL of a PNG, so the
	// page needs no QR library.
	QRPNG string `json:"qr_png,omitempty"`
}

// TicketCode returns the current rotating entry code of a ticket of the
// account. Only a valid ticket has one: a listed, transfer-pending,
// checked-in or void ticket is a 409 saying why.
func (s *Service) TicketCode(ctx context.Context, accountID int64, ticketID string) (EntryCodeView, error) {
	t, err := s.Ticket(ctx, accountID, ticketID)
	if err != nil {
		return EntryCodeView{}, err
	}
	if _, err := NextState(t.Status, MoveCheckIn); err != nil {
		return EntryCodeView{}, err
	}
	code, exp := EntryCode(s.cfg.SecretKey, t.ID, t.version, time.Now())
	png, err := qrcode.Encode(code, qrcode.Medium, 256)
	if err != nil {
		return EntryCodeView{}, fmt.Errorf("checkout: QR code of ticket %s: %w", t.ID, err)
	}
	return EntryCodeView{Code: code, ExpiresAt: exp, QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)}, nil
}

// Admission is what a scanner shows after a successful check-in.
type Admission struct {
	Ticket      string     `json:"ticket"`
	Event       string     `json:"event"`
	EventName   string     `json:"event_name"`
	Seat        TicketSeat `json:"seat"`
	Holder      string     `json:"holder"`
	CheckedInAt time.Time  `json:"checked_in_at"`
}

// CheckIn admits the ticket a code names, exactly once: one conditional
// UPDATE moves it from valid to checked_in at the code's version, so of
// any number of concurrent scans exactly one changes a row. It accepts the
// rotating code (±1 step) and the static barcode of the PDF. A second scan
// is ErrAlreadyCheckedIn (409); a listed or transfer-pending ticket is a
// 409 too; anything else that does not admit is ErrInvalidCode (404).
func (s *Service) CheckIn(ctx context.Context, scannerID int64, code string) (Admission, error) {
	id, version, ok := verifyAnyCode(s.cfg.SecretKey, code, time.Now())
	if !ok {
		return Admission{}, ErrInvalidCode
	}
	var a Admission
	err := s.db.QueryRow(ctx, `
		UPDATE tickets SET status = 'checked_in', checked_in_at = now(), checked_in_by = $3
		WHERE id = $1 AND version = $2 AND status = ANY($4)
		RETURNING id, checked_in_at`, id, version, scannerID, MoveFrom(MoveCheckIn)).Scan(&a.Ticket, &a.CheckedInAt)
	if errors.Is(err, pgx.ErrNoRows) {
		var status string
		var current int64
		var at *time.Time
		err := s.db.QueryRow(ctx, `SELECT status, version, checked_in_at FROM tickets WHERE id = $1`, id).Scan(&status, &current, &at)
		switch {
		case errors.Is(err, pgx.ErrNoRows), err == nil && (current != version || status == TicketVoid):
			return Admission{}, ErrInvalidCode
		case err != nil:
			return Admission{}, fmt.Errorf("checkout: check-in state of %s: %w", id, err)
		}
		if status == TicketCheckedIn && at != nil {
			// The scanner can tell a door-hopper from its own retry.
			return Admission{}, ErrAlreadyCheckedIn.With("checked_in_at", at.UTC().Format(time.RFC3339))
		}
		_, err = NextState(status, MoveCheckIn)
		if err == nil {
			err = ErrIllegalMove // raced with a move back to valid: let the scanner try again
		}
		return Admission{}, err
	}
	if err != nil {
		return Admission{}, fmt.Errorf("checkout: check in %s: %w", id, err)
	}
	t, err := s.ticketByID(ctx, s.db, id)
	if err != nil {
		return Admission{}, err
	}
	a.Event, a.EventName, a.Seat, a.Holder = t.Event, t.EventName, t.Seat, t.HolderName
	return a, nil
}
