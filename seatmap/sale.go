package seatmap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// The sale transitions of a hold: active → payment_pending (StartPayment),
// payment_pending → converted with its seats sold (Convert) or → released
// with its seats free (FailPayment). They run inside the caller's
// transaction, so checkout writes its payment, order and tickets atomically
// with the seats, and keep the package's lock order: hold rows, account
// counters, seats by id. Work that must wait for the commit (gate marks,
// published changes) is returned as an Outcome for AfterCommit.

// ErrHoldLost is returned by Convert when the hold no longer owns its seats
// at the versions it saw: it was released, expired, or its seats moved on.
var ErrHoldLost = apperr.E(apperr.Conflict, "hold_lost", "the hold was lost before the payment completed; you have not been charged")

// PendingHold is a hold that StartPayment moved to payment_pending.
type PendingHold struct {
	ID              string
	EventID         int64
	AccountID       int64
	SeatIDs         []int64
	TotalCents      int64
	Lines           []PriceLine
	Currency        string
	ExpiresAt       time.Time
	PaymentDeadline time.Time
}

// StartPayment moves an active, unexpired hold of the account to
// payment_pending inside tx. From then on the sweeper leaves it alone: only
// Convert or FailPayment move it on, and its payment_deadline (expires_at +
// grace, on Postgres's clock) tells the reconciler when to give up on it.
// An expired hold is ErrHoldExpired (410), a missing or foreign one
// ErrHoldNotFound, any other state ErrHoldNotActive.
//
// It also fixes the hold's price lines: each seat at the price type types
// names for it (missing: the event's first), with the event's fees as
// they are now. The hold's total becomes their sum, the amount to charge.
// A resale hold keeps the listing's price. A price type the event does not
// offer is ErrUnknownPriceType, a seat not of the hold ErrUnknownSeats.
func (s *Service) StartPayment(ctx context.Context, tx pgx.Tx, accountID int64, holdID string, grace time.Duration,
	types map[int64]string) (PendingHold, error) {
	if _, err := uuid.Parse(holdID); err != nil {
		return PendingHold{}, ErrHoldNotFound
	}
	var h PendingHold
	var listingID string
	err := tx.QueryRow(ctx, `
		UPDATE holds SET status = 'payment_pending', payment_deadline = expires_at + make_interval(secs => $3)
		WHERE id = $1 AND account_id = $2 AND status = 'active' AND expires_at > now()
		RETURNING id, event_id, account_id, seat_ids, total_cents, currency, expires_at, payment_deadline,
		          coalesce(listing_id::text, '')`,
		holdID, accountID, grace.Seconds()).Scan(
		&h.ID, &h.EventID, &h.AccountID, &h.SeatIDs, &h.TotalCents, &h.Currency, &h.ExpiresAt, &h.PaymentDeadline,
		&listingID)
	if errors.Is(err, pgx.ErrNoRows) {
		var status string
		var expired bool
		err := tx.QueryRow(ctx, `SELECT status, expires_at <= now() FROM holds WHERE id = $1 AND account_id = $2`,
			holdID, accountID).Scan(&status, &expired)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return PendingHold{}, ErrHoldNotFound
		case err != nil:
			return PendingHold{}, fmt.Errorf("seatmap: start payment %s: %w", holdID, err)
		case status == HoldExpired || (status == HoldActive && expired):
			return PendingHold{}, ErrHoldExpired
		}
		return PendingHold{}, ErrHoldNotActive.With("status", status)
	}
	if err != nil {
		return PendingHold{}, fmt.Errorf("seatmap: start payment %s: %w", holdID, err)
	}
	if err := s.fixLines(ctx, tx, &h, listingID, types); err != nil {
		return PendingHold{}, err
	}
	return h, nil
}

// fixLines prices a hold whose payment starts and records the lines and
// total on it, inside tx.
func (s *Service) fixLines(ctx context.Context, tx pgx.Tx, h *PendingHold, listingID string, types map[int64]string) error {
	inHold := make(map[int64]bool, len(h.SeatIDs))
	for _, id := range h.SeatIDs {
		inHold[id] = true
	}
	var foreign []int64
	for id := range types {
		if !inHold[id] {
			foreign = append(foreign, id)
		}
	}
	if len(foreign) > 0 {
		return ErrUnknownSeats.With("seats", idStrings(foreign))
	}
	if listingID != "" && len(h.SeatIDs) == 1 {
		h.Lines = []PriceLine{resaleLine(h.SeatIDs[0], h.TotalCents)}
	} else {
		ev, err := s.eventIn(ctx, tx, h.EventID)
		if err != nil {
			return err
		}
		l, err := s.layoutIn(ctx, tx, h.EventID)
		if err != nil {
			return err
		}
		seats := make([]SeatInfo, len(h.SeatIDs))
		for i, id := range h.SeatIDs {
			seats[i] = l.seats[l.byID[id]]
		}
		if h.Lines, h.TotalCents, err = linesFor(ev.Event, seats, types); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE holds SET price_lines = $2, total_cents = $3 WHERE id = $1`,
		h.ID, h.Lines, h.TotalCents); err != nil {
		return fmt.Errorf("seatmap: price lines of %s: %w", h.ID, err)
	}
	return nil
}

// SoldSeat is a seat that Convert sold.
type SoldSeat struct {
	SeatInfo
	Version int64
}

// Sale is what Convert sold: the hold, its account and seats.
type Sale struct {
	HoldID     string
	EventID    int64
	AccountID  int64
	TotalCents int64
	Currency   string
	Seats      []SoldSeat
	// Lines are the seats' prices fixed when the payment started, in the
	// order of Seats; their totals add up to TotalCents.
	Lines []PriceLine
	// ListingID is set when the hold was a resale hold (HoldResale);
	// Seller is then the account the seat was bought from.
	ListingID string
	Seller    int64
}

// Outcome is the after-commit work of a sale transition; pass it to
// AfterCommit once the caller's transaction committed, never before.
type Outcome struct {
	sold  *Sale
	ended ended
	moved []SeatMove
}

// Join returns an Outcome that does the work of both.
func (o Outcome) Join(p Outcome) Outcome {
	if o.sold == nil {
		o.sold = p.sold
	}
	o.ended.holds = append(o.ended.holds, p.ended.holds...)
	if len(p.ended.changes) > 0 {
		m := make(map[int64][]SeatChange)
		for k, v := range o.ended.changes {
			m[k] = append(m[k], v...)
		}
		for k, v := range p.ended.changes {
			m[k] = append(m[k], v...)
		}
		o.ended.changes = m
	}
	o.moved = append(o.moved, p.moved...)
	return o
}

// Convert sells the seats of a payment_pending hold inside tx: the hold
// becomes converted and each of its seats becomes sold, fenced by the hold
// id and the seat versions the hold recorded, so a hold that lost any seat
// changes nothing and returns ErrHoldLost (the caller must roll back). The
// account counter already counts the seats (held and sold count alike), so
// it is not written. Sold seats keep hold_id and holder_account_id: they say
// which sale and which account own the seat. A resale hold (see resale.go)
// also gives the seller's counter back the seat that left them.
func (s *Service) Convert(ctx context.Context, tx pgx.Tx, holdID string) (Sale, Outcome, error) {
	var sale Sale
	var ids, versions []int64
	var seller *int64
	err := tx.QueryRow(ctx, `
		UPDATE holds SET status = 'converted', ended_at = now()
		WHERE id = $1 AND status = 'payment_pending'
		RETURNING id, event_id, account_id, seat_ids, seat_versions, total_cents, currency,
		          coalesce(listing_id::text, ''), prior_account_id, price_lines`, holdID).Scan(
		&sale.HoldID, &sale.EventID, &sale.AccountID, &ids, &versions, &sale.TotalCents, &sale.Currency,
		&sale.ListingID, &seller, &sale.Lines)
	if errors.Is(err, pgx.ErrNoRows) {
		return Sale{}, Outcome{}, ErrHoldLost
	}
	if err != nil {
		return Sale{}, Outcome{}, fmt.Errorf("seatmap: convert %s: %w", holdID, err)
	}
	rows, err := tx.Query(ctx, `
		WITH locked AS MATERIALIZED (
			SELECT id FROM seats WHERE event_id = $1 AND id = ANY($3) ORDER BY id FOR UPDATE)
		UPDATE seats s SET status = 'sold', listing_id = NULL, version = s.version + 1
		FROM locked, unnest($3::bigint[], $4::bigint[]) AS f(id, version)
		WHERE s.id = locked.id AND s.id = f.id AND s.version = f.version
		  AND s.status = 'held' AND s.hold_id = $2
		RETURNING s.id, s.version`, sale.EventID, holdID, ids, versions)
	if err != nil {
		return Sale{}, Outcome{}, fmt.Errorf("seatmap: sell seats of %s: %w", holdID, err)
	}
	got := make(map[int64]int64, len(ids))
	for rows.Next() {
		var id, v int64
		if err := rows.Scan(&id, &v); err != nil {
			return Sale{}, Outcome{}, fmt.Errorf("seatmap: sell seats of %s: %w", holdID, err)
		}
		got[id] = v
	}
	if err := rows.Err(); err != nil {
		return Sale{}, Outcome{}, fmt.Errorf("seatmap: sell seats of %s: %w", holdID, err)
	}
	if len(got) != len(ids) {
		return Sale{}, Outcome{}, ErrHoldLost
	}
	if seller != nil {
		sale.Seller = *seller
		if _, err := tx.Exec(ctx, `UPDATE account_event_seats SET seats = seats - $3 WHERE account_id = $1 AND event_id = $2`,
			sale.Seller, sale.EventID, len(ids)); err != nil {
			return Sale{}, Outcome{}, fmt.Errorf("seatmap: seller counter of %s: %w", holdID, err)
		}
	}
	l, err := s.layoutIn(ctx, tx, sale.EventID)
	if err != nil {
		return Sale{}, Outcome{}, err
	}
	for _, id := range ids {
		sale.Seats = append(sale.Seats, SoldSeat{SeatInfo: l.seats[l.byID[id]], Version: got[id]})
	}
	if sale.Lines == nil {
		// A payment started before holds had price lines: its seats at
		// the face value it was charged, without fees.
		for _, st := range sale.Seats {
			sale.Lines = append(sale.Lines, PriceLine{SeatID: st.ID, PriceType: DefaultPriceType,
				Breakdown: Breakdown{FaceCents: st.PriceCents, TotalCents: st.PriceCents}})
		}
		if sale.ListingID != "" && len(sale.Seats) == 1 {
			sale.Lines = []PriceLine{resaleLine(sale.Seats[0].ID, sale.TotalCents)}
		}
	}
	if len(sale.Lines) != len(sale.Seats) {
		return Sale{}, Outcome{}, fmt.Errorf("seatmap: convert %s: %d price lines for %d seats", holdID, len(sale.Lines), len(sale.Seats))
	}
	return sale, Outcome{sold: &sale}, nil
}

// FailPayment releases a payment_pending hold inside tx: its seats are free
// at once (not at the TTL) and the account gets its allowance back. A hold
// that is no longer payment_pending is left alone and released reports
// false.
func (s *Service) FailPayment(ctx context.Context, tx pgx.Tx, holdID string) (released bool, out Outcome, err error) {
	done, err := s.endHolds(ctx, tx, HoldReleased, `
		SELECT id FROM holds WHERE id = $1 AND status = 'payment_pending' FOR UPDATE`, holdID)
	if err != nil {
		return false, Outcome{}, err
	}
	return len(done.holds) > 0, Outcome{ended: done}, nil
}

// AfterCommit does what a committed sale transition leaves to do: sold
// seats are marked in the gate without expiry (so later requests for them
// stop at Redis) and every change is published. Marking after the commit
// matters: a mark made before a commit that then failed would outlive the
// hold and turn fans away from a seat Postgres has freed.
func (s *Service) AfterCommit(ctx context.Context, o Outcome) {
	if sale := o.sold; sale != nil {
		ids := make([]int64, len(sale.Seats))
		changes := make([]SeatChange, len(sale.Seats))
		for i, st := range sale.Seats {
			ids[i] = st.ID
			changes[i] = SeatChange{Idx: st.Idx, State: StateSold, Version: st.Version}
		}
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.GateTimeout)
		if err := s.gate.MarkSold(gctx, sale.EventID, ids); err != nil {
			s.log.Warn("seatmap: gate mark sold failed", "event", sale.EventID, "hold", sale.HoldID, "err", err)
		}
		cancel()
		s.publish(ctx, sale.EventID, changes)
	}
	s.publishEnded(ctx, HoldReleased, o.ended)
	for _, m := range o.moved {
		s.publish(ctx, m.EventID, []SeatChange{{Idx: m.Idx, State: m.State, Version: m.Version}})
	}
}

// Unsell puts the seats of a converted hold back on sale inside tx: the
// order it paid for was rejected on review. The hold becomes released, its
// seats (still sold by it to its account: tickets under review cannot move)
// become available (held back again if accessible and the accessible
// hold-back has not ended: accessible.go), the account gets its allowance back, and the seats'
// sold marks leave the gate while the rows are locked (as endHolds does).
// A hold that is not converted, or a seat that moved on, is an error and
// changes nothing once the caller rolls back.
func (s *Service) Unsell(ctx context.Context, tx pgx.Tx, holdID string) (Outcome, error) {
	var h endedHold
	err := tx.QueryRow(ctx, `
		UPDATE holds SET status = 'released', ended_at = now()
		WHERE id = $1 AND status = 'converted'
		RETURNING id, event_id, account_id, seat_ids`, holdID).Scan(&h.ID, &h.EventID, &h.AccountID, &h.SeatIDs)
	if errors.Is(err, pgx.ErrNoRows) {
		return Outcome{}, ErrHoldNotActive.With("hold", holdID)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("seatmap: unsell %s: %w", holdID, err)
	}
	changes, err := setSeats(ctx, tx, `
		WITH locked AS MATERIALIZED (
			SELECT id FROM seats WHERE event_id = $1 AND id = ANY($3::bigint[]) ORDER BY id FOR UPDATE)
		UPDATE seats s SET status = CASE WHEN s.reserved_reason IS NULL THEN 'available' ELSE 'reserved' END,
		       hold_id = NULL, holder_account_id = NULL, listing_id = NULL, version = s.version + 1
		FROM locked
		WHERE s.id = locked.id AND s.status = 'sold' AND s.hold_id = $2 AND s.holder_account_id = $4
		RETURNING s.event_id, s.idx, s.version, s.status`, h.EventID, holdID, h.SeatIDs, h.AccountID)
	if err != nil {
		return Outcome{}, err
	}
	if n := len(changes[h.EventID]); n != len(h.SeatIDs) {
		return Outcome{}, fmt.Errorf("seatmap: unsell %s: %d of its %d seats are still sold by it", holdID, n, len(h.SeatIDs))
	}
	if err := s.offerFreed(ctx, tx, changes); err != nil {
		return Outcome{}, err
	}
	if err := returnAllowances(ctx, tx, []endedHold{h}); err != nil {
		return Outcome{}, err
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.GateTimeout)
	defer cancel()
	if err := s.gate.ReturnSold(gctx, h.EventID, h.SeatIDs); err != nil {
		// Until the marks go, the gate turns fans away from these seats:
		// refuse rather than put seats on sale that nobody can hold.
		return Outcome{}, fmt.Errorf("seatmap: unsell %s: %w", holdID, err)
	}
	return Outcome{ended: ended{holds: []endedHold{h}, changes: changes}}, nil
}
