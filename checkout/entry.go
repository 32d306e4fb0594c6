package checkout

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/skip2/go-qrcode"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/seatmap"
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
	png, err := QRDataURL(code)
	if err != nil {
		return EntryCodeView{}, fmt.Errorf("checkout: QR code of ticket %s: %w", t.ID, err)
	}
	return EntryCodeView{Code: code, ExpiresAt: exp, QRPNG: png}, nil
}

// QRDataURL draws text as a QR code, a data: URL of a 256-pixel PNG, so a
// page shows it without a QR library (entry codes, TOTP enrolment).
func QRDataURL(text string) (string, error) {
	png, err := qrcode.Encode(text, qrcode.Medium, 256)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}

// Errors of check-in beyond the code itself.
var (
	// ErrWrongEvent: a genuine ticket, for another event than the door's.
	ErrWrongEvent = apperr.E(apperr.Conflict, "wrong_event", "this ticket is for another event")
	// ErrAppCodeRequired: the static code of the PDF or email at an event
	// that admits only the rotating code of the app (print_at_home off).
	ErrAppCodeRequired = apperr.E(apperr.Conflict, "app_code_required",
		"this event admits only the rotating code shown in the app; printed codes and screenshots do not admit")
)

// Admission is what a scanner shows after a successful check-in.
type Admission struct {
	Ticket      string     `json:"ticket"`
	Event       string     `json:"event"`
	EventName   string     `json:"event_name"`
	Seat        TicketSeat `json:"seat"`
	Holder      string     `json:"holder"`
	CheckedInAt time.Time  `json:"checked_in_at"`
	Entrance    string     `json:"entrance,omitempty"`
}

// CheckIn admits the ticket a code names at the door of eventID (and the
// entrance, free text the scanner names, recorded with the check-in),
// exactly once: one conditional UPDATE moves it from valid to checked_in at
// the code's version, so of any number of concurrent scans exactly one
// changes a row. The rotating code (±1 step) always admits; the static
// barcode of the PDF and email admits only at an event with print_at_home
// on (else ErrAppCodeRequired). A ticket of another event is ErrWrongEvent
// (naming the ticket's event), of a cancelled event ErrEventCancelled; a
// second scan is ErrAlreadyCheckedIn (409); a listed or transfer-pending
// ticket is a 409 too; anything else that does not admit is ErrInvalidCode
// (404).
func (s *Service) CheckIn(ctx context.Context, scannerID, eventID int64, entrance, code string) (Admission, error) {
	return s.CheckInScanned(ctx, scannerID, eventID, entrance, code, time.Now())
}

// MaxOfflineScanAge is how long after a scan a door that lost its network
// may still send it: the rotating code is checked at the time it was
// scanned, so a scan queued offline does not go stale while it waits.
const MaxOfflineScanAge = 30 * time.Minute

// offlineScanSkew is how far ahead of the server's clock a scanner's clock
// may run.
const offlineScanSkew = time.Minute

// ErrScanTooOld: a queued scan sent later than MaxOfflineScanAge after it
// was made, or dated in the future.
var ErrScanTooOld = apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").
	With("fields", map[string]string{"scanned_at": "must be within the last 30 minutes"})

// CheckInScanned is CheckIn for a scan made at scannedAt, a door's queue of
// scans sent once its network is back: the rotating code must have been
// current then. Admission is still exactly once: a ticket admitted since
// (by another door, or by this same scan sent twice) is
// ErrAlreadyCheckedIn.
func (s *Service) CheckInScanned(ctx context.Context, scannerID, eventID int64, entrance, code string, scannedAt time.Time) (Admission, error) {
	if now := time.Now(); scannedAt.Before(now.Add(-MaxOfflineScanAge)) || scannedAt.After(now.Add(offlineScanSkew)) {
		return Admission{}, ErrScanTooOld
	}
	rotating := strings.HasPrefix(code, entryPrefix+".")
	id, version, ok := verifyAnyCode(s.cfg.SecretKey, code, scannedAt)
	if !ok {
		return Admission{}, ErrInvalidCode
	}
	a := Admission{Entrance: entrance}
	err := s.db.QueryRow(ctx, `
		UPDATE tickets t SET status = 'checked_in', checked_in_at = now(), checked_in_by = $3, checked_in_entrance = nullif($7, '')
		FROM events e
		WHERE t.id = $1 AND t.version = $2 AND t.status = ANY($4) AND t.event_id = $5
		  AND e.id = t.event_id AND e.status <> 'cancelled' AND ($6 OR e.print_at_home)
		RETURNING t.id, t.checked_in_at`, id, version, scannerID, MoveFrom(MoveCheckIn), eventID, rotating, entrance).
		Scan(&a.Ticket, &a.CheckedInAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Admission{}, s.refusal(ctx, id, version, eventID, rotating)
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

// refusal says why a genuine code did not admit at eventID's door.
func (s *Service) refusal(ctx context.Context, id string, version, eventID int64, rotating bool) error {
	var status, entrance, eventStatus, eventName string
	var current, ticketEvent int64
	var at *time.Time
	var eventDate time.Time
	var printAtHome bool
	err := s.db.QueryRow(ctx, `
		SELECT t.status, t.version, t.checked_in_at, coalesce(t.checked_in_entrance, ''), t.event_id,
		       e.status, e.name, e.event_date, e.print_at_home
		FROM tickets t JOIN events e ON e.id = t.event_id WHERE t.id = $1`, id).
		Scan(&status, &current, &at, &entrance, &ticketEvent, &eventStatus, &eventName, &eventDate, &printAtHome)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrInvalidCode
	case err != nil:
		return fmt.Errorf("checkout: check-in state of %s: %w", id, err)
	case ticketEvent != eventID:
		// The scanner tells the fan which door to go to.
		return ErrWrongEvent.With("event", strconv.FormatInt(ticketEvent, 10)).With("event_name", eventName).
			With("event_date", eventDate.UTC().Format(time.RFC3339))
	case eventStatus == seatmap.StatusCancelled:
		return ErrEventCancelled
	case current != version || status == TicketVoid:
		return ErrInvalidCode
	case !rotating && !printAtHome:
		return ErrAppCodeRequired
	case status == TicketCheckedIn && at != nil:
		// The scanner can tell a door-hopper from its own retry.
		e := ErrAlreadyCheckedIn.With("checked_in_at", at.UTC().Format(time.RFC3339))
		if entrance != "" {
			e = e.With("entrance", entrance)
		}
		return e
	}
	if _, err := NextState(status, MoveCheckIn); err != nil {
		return err
	}
	return ErrIllegalMove // raced with a move back to valid: let the scanner try again
}
