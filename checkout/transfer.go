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
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Transfers: the owner offers a ticket to another fan by email; the
// recipient accepts or declines; the owner may cancel while it is pending.
// An offer may go to any address: one with no account is stored against
// the normalized email (to_account null) and an invitation is emailed;
// whoever signs up with that address then sees and may accept it, since
// the recipient side matches an account by to_account or, while that is
// null, by its email. So an offer answers the same whether or not the
// address has an account. On acceptance, in one transaction: the transfer
// row (locked first), the seat's owner and the two accounts' counters
// (seatmap.TransferSeat, seats then counters), then the ticket, whose
// version grows, so every code the sender saw — static or rotating — stops
// admitting.

// Transfer statuses (the transfers table).
const (
	TransferPending   = "pending"
	TransferAccepted  = "accepted"
	TransferDeclined  = "declined"
	TransferCancelled = "cancelled"
)

// Errors of transfers.
var (
	ErrTransferNotFound   = apperr.E(apperr.NotFound, "transfer_not_found", "no such transfer")
	ErrTransferNotPending = apperr.E(apperr.Conflict, "transfer_not_pending", "the transfer is no longer pending")
	ErrSelfTransfer       = apperr.E(apperr.Invalid, "self_transfer", "you cannot transfer a ticket to yourself")
)

// TransferView is a transfer as the API shows it.
type TransferView struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	TicketID  string     `json:"ticket_id"`
	Direction string     `json:"direction"` // "incoming" or "outgoing" for the caller
	FromName  string     `json:"from_name"`
	ToEmail   string     `json:"to_email"`
	EventName string     `json:"event_name"`
	Seat      TicketSeat `json:"seat"`
	CreatedAt time.Time  `json:"created_at"`
}

// moveError explains why a ticket of the account could not make move m:
// not found (or someone else's), or the state machine's 409.
func moveError(ctx context.Context, q pg.Querier, accountID int64, ticketID string, m Move) error {
	var status string
	err := q.QueryRow(ctx, `SELECT status FROM tickets WHERE id = $1 AND account_id = $2`, ticketID, accountID).Scan(&status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrTicketNotFound
	case err != nil:
		return fmt.Errorf("checkout: ticket %s state: %w", ticketID, err)
	}
	if _, err := NextState(status, m); err != nil {
		return err
	}
	return ErrIllegalMove.With("status", status).With("move", string(m))
}

// moveTicket moves a ticket of the account by m with a conditional UPDATE
// (set is the SET list beyond status; its arguments follow $4) and returns
// a 404 or 409 when no row changed.
func moveTicket(ctx context.Context, tx pgx.Tx, accountID int64, ticketID string, m Move, set string, args ...any) error {
	to, _ := NextState(MoveFrom(m)[0], m)
	if set != "" {
		set = ", " + set
	}
	tag, err := tx.Exec(ctx, `UPDATE tickets SET status = $4`+set+` WHERE id = $1 AND account_id = $2 AND status = ANY($3)`,
		append([]any{ticketID, accountID, MoveFrom(m), to}, args...)...)
	if err != nil {
		return fmt.Errorf("checkout: %s ticket %s: %w", m, ticketID, err)
	}
	if tag.RowsAffected() == 0 {
		return moveError(ctx, tx, accountID, ticketID, m)
	}
	return nil
}

// OfferTransfer offers a ticket of the account to the fan with email to
// (normalized by the caller: account.NormalizeEmail): the ticket becomes
// transfer_pending and the recipient is emailed. An address without an
// account gets the same answer and an invitation instead (see above).
func (s *Service) OfferTransfer(ctx context.Context, accountID int64, ticketID, toEmail string) (TransferView, error) {
	if !validUUID(ticketID) {
		return TransferView{}, ErrTicketNotFound
	}
	var to *int64
	err := s.db.QueryRow(ctx, `SELECT id FROM accounts WHERE lower(email) = lower($1)`, toEmail).Scan(&to)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return TransferView{}, fmt.Errorf("checkout: transfer recipient: %w", err)
	}
	if to != nil && *to == accountID {
		return TransferView{}, ErrSelfTransfer
	}
	v := TransferView{ID: uuid.NewString(), Status: TransferPending, TicketID: ticketID, Direction: "outgoing", ToEmail: toEmail}
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		if err := moveTicket(ctx, tx, accountID, ticketID, MoveOfferTransfer, ""); err != nil {
			return err
		}
		t, err := s.ticketByID(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		v.EventName, v.Seat, v.FromName = t.EventName, t.Seat, t.HolderName
		if err := tx.QueryRow(ctx, `
			INSERT INTO transfers (id, ticket_id, event_id, from_account, to_account, to_email, status)
			VALUES ($1, $2, $3, $4, $5, lower($6), 'pending') RETURNING created_at`,
			v.ID, ticketID, t.eventID, accountID, to, toEmail).Scan(&v.CreatedAt); err != nil {
			return fmt.Errorf("checkout: write transfer: %w", err)
		}
		offer := fmt.Sprintf("%s wants to give you a ticket:\n\n%s\n%s\n\n", oneLine(t.HolderName), oneLine(t.EventName), seatLine(t.Seat))
		subject := "A ticket for " + t.EventName + " is waiting for you"
		if to == nil {
			return enqueueInvitation(ctx, tx, toEmail, "transfer-offer-"+v.ID, subject,
				offer+fmt.Sprintf("Sign up with this email address (%s) to accept or decline it under My tickets%s.\n"+
					"If you do not know the sender, ignore this email.\n", toEmail, s.link("/tickets")))
		}
		return enqueueNotice(ctx, tx, *to, "transfer-offer-"+v.ID, subject,
			offer+fmt.Sprintf("Accept or decline it under My tickets%s.\n", s.link("/tickets")))
	})
	if err != nil {
		return TransferView{}, err
	}
	return v, nil
}

// isRecipient is the SQL condition that the transfer x is offered to the
// account $2: by account, or, while no account had the address at offer
// time, by the account's (normalized) email.
const isRecipient = `(x.to_account = $2 OR (x.to_account IS NULL AND x.to_email = (SELECT lower(email) FROM accounts WHERE id = $2)))`

func seatLine(st TicketSeat) string {
	return fmt.Sprintf("Section %s, row %s, seat %d", st.Section, st.Row, st.Number)
}

// link is an absolute link for emails, or "" without a BaseURL.
func (s *Service) link(path string) string {
	if s.cfg.BaseURL == "" {
		return ""
	}
	return ": " + strings.TrimRight(s.cfg.BaseURL, "/") + path
}

// endTransfer moves a pending transfer to status for the account on the
// side who may do it (to_account for accept/decline, from_account for
// cancel), locking the row; it returns the transfer's ticket and accounts
// (to is 0 for an offer to an address nobody has signed up with yet).
func endTransfer(ctx context.Context, tx pgx.Tx, transferID string, accountID int64, side, status string) (ticketID string, from, to, eventID int64, err error) {
	who, claim := `x.from_account = $2`, ``
	if side == "to_account" {
		who, claim = isRecipient, `, to_account = $2` // an invitee's account claims the offer
	}
	var recipient *int64
	err = tx.QueryRow(ctx, `
		UPDATE transfers x SET status = $3, ended_at = now()`+claim+`
		WHERE x.id = $1 AND `+who+` AND x.status = 'pending'
		RETURNING x.ticket_id, x.from_account, x.to_account, x.event_id`, transferID, accountID, status).Scan(&ticketID, &from, &recipient, &eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		var cur string
		err := tx.QueryRow(ctx, `SELECT x.status FROM transfers x WHERE x.id = $1 AND (x.from_account = $2 OR `+isRecipient+`)`,
			transferID, accountID).Scan(&cur)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return "", 0, 0, 0, ErrTransferNotFound
		case err != nil:
			return "", 0, 0, 0, fmt.Errorf("checkout: transfer %s: %w", transferID, err)
		case cur == TransferPending:
			return "", 0, 0, 0, apperr.E(apperr.Forbidden, "forbidden", "only the other side of this transfer may do this")
		}
		return "", 0, 0, 0, ErrTransferNotPending.With("status", cur)
	}
	if err != nil {
		return "", 0, 0, 0, fmt.Errorf("checkout: end transfer %s: %w", transferID, err)
	}
	if recipient != nil {
		to = *recipient
	}
	return ticketID, from, to, eventID, nil
}

// AcceptTransfer gives the recipient the ticket: the seat and the ticket
// change owner, the ticket's version grows (old codes die), both accounts
// are emailed.
func (s *Service) AcceptTransfer(ctx context.Context, accountID int64, transferID string) (Ticket, error) {
	if !validUUID(transferID) {
		return Ticket{}, ErrTransferNotFound
	}
	var out seatmap.Outcome
	var t Ticket
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		ticketID, from, to, eventID, err := endTransfer(ctx, tx, transferID, accountID, "to_account", TransferAccepted)
		if err != nil {
			return err
		}
		if t, err = s.ticketByID(ctx, tx, ticketID); err != nil {
			return err
		}
		if out, err = s.seats.TransferSeat(ctx, tx, eventID, t.seatID, from, to); err != nil {
			return fmt.Errorf("checkout: transfer seat of %s: %w", ticketID, err)
		}
		if err := moveTicket(ctx, tx, from, ticketID, MoveAcceptTransfer,
			`account_id = $5, holder_name = (SELECT name FROM accounts WHERE id = $5), version = version + 1`, to); err != nil {
			return err
		}
		if t, err = s.ticketByID(ctx, tx, ticketID); err != nil {
			return err
		}
		if err := enqueueNotice(ctx, tx, to, "transfer-accepted-"+transferID+"-to", "Your ticket for "+t.EventName,
			fmt.Sprintf("The ticket is yours now:\n\n%s\n%s\n\nYour entry code is under My tickets%s.\n",
				t.EventName, seatLine(t.Seat), s.link("/tickets"))); err != nil {
			return err
		}
		return enqueueNotice(ctx, tx, from, "transfer-accepted-"+transferID+"-from", "Your ticket transfer was accepted",
			fmt.Sprintf("%s accepted your ticket:\n\n%s\n%s\n\nIts old codes no longer admit anyone.\n",
				t.HolderName, t.EventName, seatLine(t.Seat)))
	})
	if err != nil {
		return Ticket{}, err
	}
	s.seats.AfterCommit(ctx, out)
	return t, nil
}

// DeclineTransfer refuses a transfer offered to the account; the sender
// keeps the ticket and is emailed.
func (s *Service) DeclineTransfer(ctx context.Context, accountID int64, transferID string) error {
	return s.dropTransfer(ctx, accountID, transferID, "to_account", TransferDeclined, MoveDeclineTransfer)
}

// CancelTransfer withdraws a pending transfer the account offered.
func (s *Service) CancelTransfer(ctx context.Context, accountID int64, transferID string) error {
	return s.dropTransfer(ctx, accountID, transferID, "from_account", TransferCancelled, MoveCancelTransfer)
}

func (s *Service) dropTransfer(ctx context.Context, accountID int64, transferID, side, status string, m Move) error {
	if !validUUID(transferID) {
		return ErrTransferNotFound
	}
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		ticketID, from, _, _, err := endTransfer(ctx, tx, transferID, accountID, side, status)
		if err != nil {
			return err
		}
		if err := moveTicket(ctx, tx, from, ticketID, m, ""); err != nil {
			return err
		}
		if status != TransferDeclined {
			return nil
		}
		t, err := s.ticketByID(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		return enqueueNotice(ctx, tx, from, "transfer-declined-"+transferID, "Your ticket transfer was declined",
			fmt.Sprintf("The recipient declined your ticket; it is still yours:\n\n%s\n%s\n", t.EventName, seatLine(t.Seat)))
	})
}

// Transfers lists the account's pending transfers, both ways, newest first.
func (s *Service) Transfers(ctx context.Context, accountID int64) ([]TransferView, error) {
	rows, err := s.db.Query(ctx, `
		SELECT x.id, x.status, x.ticket_id, CASE WHEN x.from_account = $2 THEN 'outgoing' ELSE 'incoming' END,
		       f.name, x.to_email, e.name, s.id::text, s.section, s.row_label, s.number, s.price_cents, x.created_at
		FROM transfers x JOIN accounts f ON f.id = x.from_account
		JOIN tickets t ON t.id = x.ticket_id JOIN seats s ON s.id = t.seat_id JOIN events e ON e.id = x.event_id
		WHERE x.status = $1 AND (x.from_account = $2 OR `+isRecipient+`)
		ORDER BY x.created_at DESC LIMIT 200`, TransferPending, accountID)
	if err != nil {
		return nil, fmt.Errorf("checkout: list transfers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TransferView, error) {
		var v TransferView
		err := r.Scan(&v.ID, &v.Status, &v.TicketID, &v.Direction, &v.FromName, &v.ToEmail, &v.EventName,
			&v.Seat.ID, &v.Seat.Section, &v.Seat.Row, &v.Seat.Number, &v.Seat.PriceCents, &v.CreatedAt)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("checkout: list transfers: %w", err)
	}
	if out == nil {
		out = []TransferView{}
	}
	return out, nil
}
