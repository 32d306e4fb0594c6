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
	sold  []*Sale
	ended ended
	moved []SeatMove
}

// Join returns an Outcome that does the work of both.
func (o Outcome) Join(p Outcome) Outcome {
	o.sold = append(o.sold, p.sold...)
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

// Convert sells the seats of a payment_pending hold inside tx: ConvertAll
// for one hold, whose loss is ErrHoldLost.
func (s *Service) Convert(ctx context.Context, tx pgx.Tx, holdID string) (Sale, Outcome, error) {
	sales, lost, out, err := s.ConvertAll(ctx, tx, []string{holdID})
	if err != nil {
		return Sale{}, Outcome{}, err
	}
	if lost[0] {
		return Sale{}, Outcome{}, ErrHoldLost
	}
	return sales[0], out, nil
}

// convertSQL converts, in one statement, every hold of $1 that is still
// payment_pending and still has each of its seats as it recorded them
// (held by it, at the recorded version): the hold becomes converted and
// its seats sold. A hold that lost any seat is left as it was. Holds are
// locked in id order, then seats in id order, as everywhere else. It
// returns each payment_pending hold with the seats it sold (none for a
// lost hold).
const convertSQL = `
	WITH h AS MATERIALIZED (
		SELECT id, event_id, account_id, seat_ids, seat_versions, total_cents, currency,
		       coalesce(listing_id::text, '') AS listing, prior_account_id, price_lines
		FROM holds WHERE id = ANY($1::uuid[]) AND status = 'payment_pending' ORDER BY id FOR UPDATE),
	want AS (
		SELECT h.id AS hold_id, f.id, f.version FROM h, unnest(h.seat_ids, h.seat_versions) AS f(id, version)),
	locked AS MATERIALIZED (
		SELECT s.id, s.version, s.status, s.hold_id FROM seats s
		WHERE s.id IN (SELECT id FROM want) ORDER BY s.id FOR UPDATE),
	intact AS MATERIALIZED (
		SELECT w.hold_id FROM want w
		LEFT JOIN locked l ON l.id = w.id AND l.version = w.version AND l.status = 'held' AND l.hold_id = w.hold_id
		GROUP BY w.hold_id HAVING bool_and(l.id IS NOT NULL)),
	converted AS (
		UPDATE holds SET status = 'converted', ended_at = now()
		WHERE id IN (SELECT hold_id FROM intact) AND status = 'payment_pending'),
	sold AS (
		UPDATE seats s SET status = 'sold', listing_id = NULL, version = s.version + 1
		FROM want w
		WHERE w.hold_id IN (SELECT hold_id FROM intact) AND s.id = w.id AND s.version = w.version
		  AND s.status = 'held' AND s.hold_id = w.hold_id
		RETURNING w.hold_id, s.id, s.version)
	SELECT h.id::text, h.event_id, h.account_id, h.seat_ids, h.total_cents, h.currency, h.listing,
	       h.prior_account_id, h.price_lines, coalesce(v.ids, '{}'), coalesce(v.versions, '{}')
	FROM h LEFT JOIN (SELECT hold_id, array_agg(id) AS ids, array_agg(version) AS versions
	                  FROM sold GROUP BY hold_id) v ON v.hold_id = h.id`

// ConvertAll sells the seats of payment_pending holds inside tx, each all
// or nothing: a converted hold's seats are all sold, fenced by the hold id
// and the seat versions the hold recorded; a hold that lost any seat (or
// is no longer payment_pending) changes nothing and is reported in lost,
// while the others go on. sales[i] is what holdIDs[i] sold; out is the
// after-commit work of all of them. The account counter already counts
// the seats (held and sold count alike), so it is not written. Sold seats
// keep hold_id and holder_account_id: they say which sale and which
// account own the seat. A resale hold (see resale.go) also gives the
// seller's counter back the seat that left them. An error is the
// statement's: the caller must roll back.
func (s *Service) ConvertAll(ctx context.Context, tx pgx.Tx, holdIDs []string) (sales []Sale, lost []bool, out Outcome, err error) {
	sales, lost = make([]Sale, len(holdIDs)), make([]bool, len(holdIDs))
	at := make(map[string]int, len(holdIDs))
	for i, id := range holdIDs {
		at[id], lost[i] = i, true
	}
	rows, err := tx.Query(ctx, convertSQL, holdIDs)
	if err != nil {
		return nil, nil, Outcome{}, fmt.Errorf("seatmap: convert %d holds: %w", len(holdIDs), err)
	}
	type converted struct {
		sale          Sale
		ids           []int64
		seller        *int64
		sold, version []int64
	}
	var got []converted
	for rows.Next() {
		var c converted
		if err := rows.Scan(&c.sale.HoldID, &c.sale.EventID, &c.sale.AccountID, &c.ids, &c.sale.TotalCents,
			&c.sale.Currency, &c.sale.ListingID, &c.seller, &c.sale.Lines, &c.sold, &c.version); err != nil {
			rows.Close()
			return nil, nil, Outcome{}, fmt.Errorf("seatmap: convert %d holds: %w", len(holdIDs), err)
		}
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, Outcome{}, fmt.Errorf("seatmap: convert %d holds: %w", len(holdIDs), err)
	}
	for _, c := range got {
		i, ok := at[c.sale.HoldID]
		if !ok {
			return nil, nil, Outcome{}, fmt.Errorf("seatmap: convert: hold %s was not asked for", c.sale.HoldID)
		}
		if len(c.sold) == 0 {
			continue // lost a seat: nothing written
		}
		if len(c.sold) != len(c.ids) {
			// Written in part: only a rollback undoes it.
			return nil, nil, Outcome{}, fmt.Errorf("seatmap: convert %s sold %d of its %d seats", c.sale.HoldID, len(c.sold), len(c.ids))
		}
		sale, err := s.soldSale(ctx, tx, c.sale, c.ids, c.seller, c.sold, c.version)
		if err != nil {
			return nil, nil, Outcome{}, err
		}
		sales[i], lost[i] = sale, false
		out.sold = append(out.sold, &sales[i])
	}
	return sales, lost, out, nil
}

// soldSale completes a converted hold's Sale: the seller's counter of a
// resale, each seat's details at its new version, and price lines for a
// hold from before they were recorded.
func (s *Service) soldSale(ctx context.Context, tx pgx.Tx, sale Sale, ids []int64, seller *int64, sold, versions []int64) (Sale, error) {
	if seller != nil {
		sale.Seller = *seller
		if _, err := tx.Exec(ctx, `UPDATE account_event_seats SET seats = seats - $3 WHERE account_id = $1 AND event_id = $2`,
			sale.Seller, sale.EventID, len(ids)); err != nil {
			return Sale{}, fmt.Errorf("seatmap: seller counter of %s: %w", sale.HoldID, err)
		}
	}
	l, err := s.layoutIn(ctx, tx, sale.EventID)
	if err != nil {
		return Sale{}, err
	}
	version := make(map[int64]int64, len(sold))
	for i, id := range sold {
		version[id] = versions[i]
	}
	for _, id := range ids {
		sale.Seats = append(sale.Seats, SoldSeat{SeatInfo: l.seats[l.byID[id]], Version: version[id]})
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
		return Sale{}, fmt.Errorf("seatmap: convert %s: %d price lines for %d seats", sale.HoldID, len(sale.Lines), len(sale.Seats))
	}
	return sale, nil
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
	// One gate call and one publish per event for all its sales.
	var events []int64
	ids, changes := map[int64][]int64{}, map[int64][]SeatChange{}
	for _, sale := range o.sold {
		if _, ok := ids[sale.EventID]; !ok {
			events = append(events, sale.EventID)
		}
		for _, st := range sale.Seats {
			ids[sale.EventID] = append(ids[sale.EventID], st.ID)
			changes[sale.EventID] = append(changes[sale.EventID], SeatChange{Idx: st.Idx, State: StateSold, Version: st.Version})
		}
	}
	for _, ev := range events {
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.GateTimeout)
		if err := s.gate.MarkSold(gctx, ev, ids[ev]); err != nil {
			s.log.Warn("seatmap: gate mark sold failed", "event", ev, "seats", len(ids[ev]), "err", err)
		}
		cancel()
		s.publish(ctx, ev, changes[ev])
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
