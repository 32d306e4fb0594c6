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

// Resale: the owner lists a valid ticket at no more than the event's cap
// (resale_cap_percent of face value, 100 by default); the seat turns
// 'resale' on the map (seatmap.ListSeat). A buyer holds the listing
// (seatmap.HoldResale: the seat, fenced by the version it got when listed)
// and pays through the ordinary checkout. In the conversion transaction
// (settle), after seatmap.Convert sold the seat to the buyer: the listing
// becomes sold, the seller's ticket void (version + 1: its codes die), the
// buyer's order and new ticket are written, and the seller's payout (price
// minus ResaleFeeBasisPoints) goes into the payouts ledger; both get emails.
//
// Lock order, as everywhere in checkout: payment, hold rows, seats,
// counters, then listing, ticket and transfer rows. Listing and withdrawing
// lock the seat first for the same reason.

// Errors of resale.
var (
	ErrListingNotFound = apperr.E(apperr.NotFound, "listing_not_found", "no such listing")
	ErrAboveCap        = apperr.E(apperr.Invalid, "price_above_cap", "the price is above the resale cap for this event")
	ErrBadPrice        = apperr.E(apperr.Invalid, "invalid_price", "the price must be a positive number of cents")
	ErrListingHeld     = apperr.E(apperr.Conflict, "listing_held", "a buyer is paying for this listing right now; try again in a few minutes")
)

// Listing is a resale listing as the API shows it.
type Listing struct {
	ID         string     `json:"id"`
	TicketID   string     `json:"ticket_id,omitempty"`
	Event      string     `json:"event"`
	Seat       TicketSeat `json:"seat"`
	Idx        int32      `json:"idx"`
	PriceCents int64      `json:"price_cents"`
	Currency   string     `json:"currency"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
}

// ListTicket lists a ticket of the account for resale at priceCents.
func (s *Service) ListTicket(ctx context.Context, accountID int64, ticketID string, priceCents int64) (Listing, error) {
	if !validUUID(ticketID) {
		return Listing{}, ErrTicketNotFound
	}
	if priceCents <= 0 {
		return Listing{}, ErrBadPrice
	}
	if err := s.requirePayoutAccount(ctx, accountID); err != nil {
		return Listing{}, err
	}
	var out seatmap.Outcome
	var l Listing
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		t, err := s.ticketByID(ctx, tx, ticketID)
		if err != nil || t.accountID != accountID {
			return ErrTicketNotFound
		}
		var capPercent int64
		if err := tx.QueryRow(ctx, `SELECT resale_cap_percent, currency FROM events WHERE id = $1`, t.eventID).
			Scan(&capPercent, &l.Currency); err != nil {
			return fmt.Errorf("checkout: resale cap of %d: %w", t.eventID, err)
		}
		if limit := t.Seat.PriceCents * capPercent / 100; priceCents > limit {
			return ErrAboveCap.With("cap_cents", limit)
		}
		if _, err := NextState(t.Status, MoveList); err != nil {
			return err
		}
		l = Listing{ID: uuid.NewString(), TicketID: ticketID, Event: t.Event, Seat: t.Seat, PriceCents: priceCents,
			Currency: l.Currency, Status: "active"}
		o, err := s.seats.ListSeat(ctx, tx, t.eventID, t.seatID, accountID, l.ID)
		if errors.Is(err, seatmap.ErrSeatNotOwned) {
			return moveError(ctx, tx, accountID, ticketID, MoveList)
		}
		if err != nil {
			return err
		}
		out = o
		if err := moveTicket(ctx, tx, accountID, ticketID, MoveList, ""); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			INSERT INTO listings (id, ticket_id, event_id, seat_id, seller_account_id, price_cents, currency, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'active') RETURNING created_at, (SELECT idx FROM seats WHERE id = $4)`,
			l.ID, ticketID, t.eventID, t.seatID, accountID, priceCents, l.Currency).Scan(&l.CreatedAt, &l.Idx)
	})
	if err != nil {
		return Listing{}, err
	}
	s.seats.AfterCommit(ctx, out)
	return l, nil
}

// WithdrawListing takes a ticket of the account off resale. While a buyer
// holds the listing it is ErrListingHeld: the seat is theirs until their
// hold ends.
func (s *Service) WithdrawListing(ctx context.Context, accountID int64, ticketID string) error {
	if !validUUID(ticketID) {
		return ErrTicketNotFound
	}
	var out seatmap.Outcome
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var listingID string
		var eventID, seatID int64
		err := tx.QueryRow(ctx, `
			SELECT id, event_id, seat_id FROM listings
			WHERE ticket_id = $1 AND seller_account_id = $2 AND status = 'active'`, ticketID, accountID).
			Scan(&listingID, &eventID, &seatID)
		if errors.Is(err, pgx.ErrNoRows) {
			return moveError(ctx, tx, accountID, ticketID, MoveUnlist)
		}
		if err != nil {
			return fmt.Errorf("checkout: listing of %s: %w", ticketID, err)
		}
		out, err = s.seats.UnlistSeat(ctx, tx, eventID, seatID, accountID, listingID)
		if errors.Is(err, seatmap.ErrSeatNotOwned) {
			return ErrListingHeld
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE listings SET status = 'withdrawn', ended_at = now() WHERE id = $1 AND status = 'active'`, listingID)
		if err != nil {
			return fmt.Errorf("checkout: withdraw listing %s: %w", listingID, err)
		}
		if tag.RowsAffected() != 1 {
			return ErrListingNotFound
		}
		return moveTicket(ctx, tx, accountID, ticketID, MoveUnlist, "")
	})
	if err != nil {
		return err
	}
	s.seats.AfterCommit(ctx, out)
	return nil
}

const listingSelect = `
	SELECT l.id, l.event_id::text, s.id::text, s.section, s.row_label, s.number, s.price_cents, s.idx,
	       l.price_cents, l.currency, l.status, l.created_at, l.seller_account_id, l.seat_id, l.event_id
	FROM listings l JOIN seats s ON s.id = l.seat_id `

type listingRow struct {
	Listing
	seller, seatID, eventID int64
}

func scanListing(r pgx.Row) (listingRow, error) {
	var l listingRow
	err := r.Scan(&l.ID, &l.Event, &l.Seat.ID, &l.Seat.Section, &l.Seat.Row, &l.Seat.Number, &l.Seat.PriceCents, &l.Idx,
		&l.PriceCents, &l.Currency, &l.Status, &l.CreatedAt, &l.seller, &l.seatID, &l.eventID)
	return l, err
}

// Listings returns the event's listings a buyer can hold now (active, and
// no other buyer holds the seat), cheapest first.
func (s *Service) Listings(ctx context.Context, eventID int64) ([]Listing, error) {
	rows, err := s.db.Query(ctx, listingSelect+`
		WHERE l.event_id = $1 AND l.status = 'active' AND s.status = 'resale' AND s.listing_id = l.id
		ORDER BY l.price_cents, s.idx LIMIT 1000`, eventID)
	if err != nil {
		return nil, fmt.Errorf("checkout: listings of %d: %w", eventID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Listing, error) {
		l, err := scanListing(r)
		return l.Listing, err
	})
	if err != nil {
		return nil, fmt.Errorf("checkout: listings of %d: %w", eventID, err)
	}
	if out == nil {
		out = []Listing{}
	}
	return out, nil
}

// ListingEvent returns the event of a listing, for the checks a hold
// needs before it is taken (the waiting room's admission).
func (s *Service) ListingEvent(ctx context.Context, listingID string) (int64, error) {
	if !validUUID(listingID) {
		return 0, ErrListingNotFound
	}
	var eventID int64
	err := s.db.QueryRow(ctx, `SELECT event_id FROM listings WHERE id = $1`, listingID).Scan(&eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrListingNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("checkout: listing %s: %w", listingID, err)
	}
	return eventID, nil
}

// HoldListing holds a listing's seat for the buyer (seatmap.HoldResale);
// the hold is then checked out like any other. The seller cannot buy their
// own listing (ErrOwnListing, 403); a listing another buyer holds, or that
// was withdrawn or sold, is seatmap.ErrListingUnavailable (409).
func (s *Service) HoldListing(ctx context.Context, buyer int64, listingID string) (seatmap.Hold, error) {
	if !validUUID(listingID) {
		return seatmap.Hold{}, ErrListingNotFound
	}
	l, err := scanListing(s.db.QueryRow(ctx, listingSelect+`WHERE l.id = $1`, listingID))
	if errors.Is(err, pgx.ErrNoRows) {
		return seatmap.Hold{}, ErrListingNotFound
	}
	if err != nil {
		return seatmap.Hold{}, fmt.Errorf("checkout: listing %s: %w", listingID, err)
	}
	if l.seller == buyer {
		return seatmap.Hold{}, seatmap.ErrOwnListing
	}
	if l.Status != "active" {
		return seatmap.Hold{}, seatmap.ErrListingUnavailable
	}
	return s.seats.HoldResale(ctx, seatmap.ResaleHoldRequest{EventID: l.eventID, AccountID: buyer, ListingID: l.ID,
		SeatID: l.seatID, Seller: l.seller, PriceCents: l.PriceCents})
}

// completeResale is the resale part of the conversion transaction, before
// the buyer's order is written: the listing is sold and the seller's ticket
// void with a new version, so no code of the seller admits any more.
func completeResale(ctx context.Context, tx pgx.Tx, sale seatmap.Sale) (ticketID string, err error) {
	var seller int64
	err = tx.QueryRow(ctx, `
		UPDATE listings SET status = 'sold', ended_at = now() WHERE id = $1 AND status = 'active'
		RETURNING ticket_id, seller_account_id`, sale.ListingID).Scan(&ticketID, &seller)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", seatmap.ErrListingUnavailable.With("listing", sale.ListingID)
	}
	if err != nil {
		return "", fmt.Errorf("checkout: sell listing %s: %w", sale.ListingID, err)
	}
	if err := moveTicket(ctx, tx, seller, ticketID, MoveSell, "version = version + 1"); err != nil {
		return "", fmt.Errorf("checkout: void sold ticket %s: %w", ticketID, err)
	}
	return ticketID, nil
}

// recordPayout writes the seller's payout row and the seller's email in the
// conversion transaction, after the buyer's order.
func (s *Service) recordPayout(ctx context.Context, tx pgx.Tx, sale seatmap.Sale, orderID string) error {
	gross := sale.TotalCents
	fee := gross * int64(s.cfg.ResaleFeeBasisPoints) / 10000
	payoutID := uuid.NewString()
	if _, err := tx.Exec(ctx, `
		INSERT INTO payouts (id, listing_id, event_id, seller_account_id, order_id, gross_cents, fee_cents, net_cents, currency)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		payoutID, sale.ListingID, sale.EventID, sale.Seller, orderID, gross, fee, gross-fee, sale.Currency); err != nil {
		return fmt.Errorf("checkout: payout of %s: %w", sale.ListingID, err)
	}
	if err := s.schedulePayout(ctx, tx, payoutID); err != nil {
		return err
	}
	var event string
	if err := tx.QueryRow(ctx, `SELECT name FROM events WHERE id = $1`, sale.EventID).Scan(&event); err != nil {
		return fmt.Errorf("checkout: event of %s: %w", sale.ListingID, err)
	}
	cur := strings.ToUpper(sale.Currency)
	return enqueueNotice(ctx, tx, sale.Seller, "resale-sold-"+sale.ListingID, "Your ticket for "+event+" was sold",
		fmt.Sprintf("Your resale listing sold.\n\n%s\n%s\n\nPrice: %s %s\nFee: %s %s\nYour payout: %s %s\n\nThe ticket is no longer yours; its codes no longer admit anyone.\n",
			event, seatLine(TicketSeat{Section: sale.Seats[0].Section, Row: sale.Seats[0].Row, Number: sale.Seats[0].Number}),
			cents(gross), cur, cents(fee), cur, cents(gross-fee), cur))
}

func cents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
