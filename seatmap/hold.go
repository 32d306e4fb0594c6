package seatmap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Hold statuses, as GET /api/holds/{hold} reports them.
const (
	HoldActive         = "active"
	HoldPaymentPending = "payment_pending"
	HoldConverted      = "converted"
	HoldReleased       = "released"
	HoldExpired        = "expired"
)

// Errors of the hold path. Tests compare with errors.Is; details (the seats
// concerned) ride on copies made with With.
var (
	ErrSeatUnavailable = apperr.E(apperr.Conflict, "seat_unavailable", "some seats are no longer available")
	ErrUnknownSeats    = apperr.E(apperr.Invalid, "unknown_seats", "some seats are not seats of this event")
	ErrDuplicateSeats  = apperr.E(apperr.Invalid, "duplicate_seats", "a seat is named more than once")
	ErrSeatCount       = apperr.E(apperr.Invalid, "invalid_seat_count", "hold between 1 and the per-account limit of seats")
	ErrCapExceeded     = apperr.E(apperr.Invalid, "seat_cap_exceeded", "this would take you over the per-account seat limit for the event")
	ErrNotOnSale       = apperr.E(apperr.Conflict, "not_on_sale", "the event is not on sale")
	ErrHoldNotFound    = apperr.E(apperr.NotFound, "hold_not_found", "no such hold")
	ErrHoldNotActive   = apperr.E(apperr.Conflict, "hold_not_active", "the hold is no longer active")
	ErrHoldExpired     = apperr.E(apperr.Gone, "hold_expired", "the hold has expired")
	ErrNoSeatsFound    = apperr.E(apperr.Conflict, "seat_unavailable", "not enough available seats match")
)

// HoldRequest asks for seats of one event for one account: either SeatIDs,
// Best for the best available Quantity, or GA for a quantity of places of
// a general-admission area (ga.go).
type HoldRequest struct {
	EventID   int64
	AccountID int64
	SeatIDs   []int64
	Best      *BestRequest
	GA        *GARequest
	// Presale, when set, lets the hold through before the general sale
	// within that presale window (presale.go).
	Presale *PresaleAccess
	// Counter is a box office operator's hold (checkout.CounterSale): the
	// operator sells for many people, so the per-account cap gives way to
	// CounterCap seats per request and none in all.
	Counter bool
}

// CounterCap is the most seats one counter sale holds.
const CounterCap = 100

// BestRequest asks for the best Quantity available seats, adjacent in one
// row where possible, optionally in one Section and at most MaxPriceCents
// each (0: any price). Accessible (0..Quantity) of them are accessible
// seats, the rest companion seats beside them (accessible.go); the fan
// declares the need, nobody checks it.
type BestRequest struct {
	Quantity      int
	Section       string
	MaxPriceCents int64
	Accessible    int
}

// Hold is a set of seats kept for one account until ExpiresAt.
type Hold struct {
	ID      string     `json:"id"`
	EventID int64      `json:"event_id,string"`
	Status  string     `json:"status"`
	Seats   []SeatInfo `json:"seats"`
	// TotalCents is what the hold costs all-in: the sum of its lines.
	TotalCents int64 `json:"total_cents"`
	// Lines are its seats' prices with their breakdowns, in seat order: at
	// the first price type offered until checkout fixes the chosen ones.
	Lines     []PriceLine `json:"price_lines"`
	Currency  string      `json:"currency"`
	CreatedAt time.Time   `json:"created_at"`
	ExpiresAt time.Time   `json:"expires_at"`
	// ListingID is set on a resale hold (HoldResale): its total is the
	// listing's price, not the seat's face value.
	ListingID string `json:"listing_id,omitempty"`
	// Accessible is how many accessible seats the fan asked for (0: not an
	// accessible request); AccessibleNotice is then the notice they
	// accepted by asking.
	Accessible       int    `json:"accessible"`
	AccessibleNotice string `json:"accessible_notice,omitempty"`
	accountID        int64
	versions         []int64
}

// Hold takes seats for an account, all or nothing.
func (s *Service) Hold(ctx context.Context, req HoldRequest) (h Hold, err error) {
	defer func(start time.Time) {
		result := s.m.observeHold(start, err)
		s.holds.observe(req.EventID, time.Since(start), result)
		if err == nil {
			idx := make([]int32, len(h.Seats))
			for i, st := range h.Seats {
				idx[i] = st.Idx
			}
			s.recent.add(req.EventID, time.Now(), idx, s.recentKeep())
		}
	}(time.Now())
	return s.hold(ctx, req)
}

func (s *Service) hold(ctx context.Context, req HoldRequest) (Hold, error) {
	ev, err := s.event(ctx, req.EventID)
	if err != nil {
		return Hold{}, err
	}
	ev, presale, err := saleFor(ev, req.Presale, time.Now())
	if err != nil {
		return Hold{}, err
	}
	l, err := s.layout(ctx, req.EventID)
	if err != nil {
		return Hold{}, err
	}
	if presale {
		if req, err = req.Presale.restrict(req, l); err != nil {
			return Hold{}, err
		}
	}
	if req.Counter {
		ev.MaxSeatsPerAccount = math.MaxInt32
		n := len(req.SeatIDs)
		switch {
		case req.Best != nil:
			n = req.Best.Quantity
		case req.GA != nil:
			n = req.GA.Quantity
		}
		if n < 1 || n > CounterCap {
			return Hold{}, ErrSeatCount.With("max", CounterCap)
		}
	}
	if req.Best != nil {
		if err := checkAccessible(*req.Best); err != nil {
			return Hold{}, err
		}
		return s.holdBest(ctx, req, ev, l)
	}
	if req.GA != nil {
		return s.holdGA(ctx, req, ev, l)
	}
	if err := checkSeats(req.SeatIDs, ev.MaxSeatsPerAccount, l); err != nil {
		return Hold{}, err
	}
	return s.holdSeats(ctx, req.AccountID, ev, l, req.SeatIDs, 0)
}

// checkSeats validates a seat list against the event before any I/O.
func checkSeats(ids []int64, limit int, l *eventLayout) error {
	if len(ids) < 1 || len(ids) > limit {
		return ErrSeatCount.With("max", limit)
	}
	var unknown []string
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return ErrDuplicateSeats.With("seats", []string{fmt.Sprint(id)})
		}
		seen[id] = true
		if _, ok := l.byID[id]; !ok {
			unknown = append(unknown, fmt.Sprint(id))
		}
	}
	if len(unknown) > 0 {
		return ErrUnknownSeats.With("seats", unknown)
	}
	return nil
}

// holdSQL takes the holds of one round (holdbatch.go) in one statement, so
// a round costs one round trip to Postgres in its own implicit transaction,
// each hold all or nothing. The round's holds share no seat and no account
// (holdQueue.next), so each hold's part reads only its own rows:
//
//   - req, want: the holds (ord is their position in the round) and their
//     seats;
//   - locked: lock every requested seat in id order (FOR UPDATE re-reads a
//     row changed while it waited, so status is current) — seats first, then
//     the accounts' counters in account order, the package's lock order. A
//     seat is free when available, or, for an accessible request
//     (accessible > 0), when held back for accessibility (accessible.go);
//   - ok: the holds all of whose seats are free;
//   - cap: take each such hold's allowance, only if its account stays within
//     the hold's own cap (max_seats: the event's, a presale's or a counter
//     sale's);
//   - upd: mark the seats held of the holds whose allowance was taken. It
//     must not test s.status again: the UPDATE scans with the statement's
//     snapshot, taken before locked waited, and a seat freed meanwhile would
//     read as held there and be skipped. locked's status is the current one,
//     and the row locks keep it so;
//   - ins: record each hold with the versions its seats got, only if all
//     its seats were marked.
//
// For each hold either all four happen or none; one row per hold, in ord
// order, says which.
const holdSQL = `
WITH req AS (
	SELECT r.hold_id::uuid AS hold_id, r.account_id, r.max_seats, r.accessible, r.total, r.currency, r.nseats, r.ord::int AS ord
	FROM unnest($2::text[], $3::bigint[], $4::int[], $5::int[], $6::bigint[], $7::text[], $8::int[]) WITH ORDINALITY
	     AS r(hold_id, account_id, max_seats, accessible, total, currency, nseats, ord)),
want AS (
	SELECT w.ord, w.seat_id FROM unnest($9::int[], $10::bigint[]) AS w(ord, seat_id)),
locked AS MATERIALIZED (
	SELECT s.id, w.ord,
	       s.status = 'available' OR (r.accessible > 0 AND s.status = 'reserved' AND s.reserved_reason = 'accessibility') AS free
	FROM seats s JOIN want w ON w.seat_id = s.id JOIN req r ON r.ord = w.ord
	WHERE s.event_id = $1 AND s.id = ANY($10::bigint[]) ORDER BY s.id FOR UPDATE OF s),
ok AS (
	SELECT r.* FROM req r WHERE r.nseats = (SELECT count(*) FROM locked l WHERE l.ord = r.ord AND l.free)),
cap AS (
	INSERT INTO account_event_seats AS c (account_id, event_id, seats)
	SELECT account_id, $1, nseats FROM ok ORDER BY account_id
	ON CONFLICT (account_id, event_id) DO UPDATE SET seats = c.seats + EXCLUDED.seats
	WHERE c.seats + EXCLUDED.seats <= (SELECT ok.max_seats FROM ok WHERE ok.account_id = c.account_id)
	RETURNING account_id),
upd AS (
	UPDATE seats s SET status = 'held', hold_id = r.hold_id, holder_account_id = r.account_id, version = s.version + 1
	FROM locked l JOIN req r ON r.ord = l.ord
	WHERE s.id = l.id AND r.account_id IN (SELECT account_id FROM cap)
	RETURNING s.id, l.ord, s.version),
ins AS (
	INSERT INTO holds (id, event_id, account_id, status, seat_ids, seat_versions, total_cents, currency, expires_at,
	                   accessible)
	SELECT r.hold_id, $1, r.account_id, 'active', array_agg(u.id ORDER BY u.id), array_agg(u.version ORDER BY u.id),
	       r.total, r.currency, now() + make_interval(secs => $11), r.accessible
	FROM upd u JOIN req r ON r.ord = u.ord
	GROUP BY r.hold_id, r.account_id, r.total, r.currency, r.accessible, r.nseats
	HAVING count(*) = r.nseats
	RETURNING id, created_at, expires_at, seat_versions)
SELECT r.ord, r.ord IN (SELECT ord FROM ok),
       coalesce((SELECT array_agg(l.id ORDER BY l.id) FROM locked l WHERE l.ord = r.ord AND NOT l.free), '{}'),
       i.created_at, i.expires_at, i.seat_versions
FROM req r LEFT JOIN ins i ON i.id = r.hold_id ORDER BY r.ord`

// holdSeats is the hold path: the gate turns known losers away, then one
// statement takes the seats and the account's allowance and records the hold,
// in a round with the event's other holds on this node (holdbatch.go).
// accessible is the number of accessible seats the fan asked for (0: not an
// accessible request, which may not take seats held back for accessibility).
func (s *Service) holdSeats(ctx context.Context, accountID int64, ev eventRow, l *eventLayout, ids []int64, accessible int) (Hold, error) {
	c, err := prepareHold(accountID, ev, l, ids, accessible)
	if err != nil {
		return Hold{}, err
	}
	if err := s.commitHold(ctx, c); err != nil {
		return Hold{}, err
	}
	return *c.h, nil
}

// prepareHold is a hold ready for its round: seats sorted, priced, not
// yet written.
func prepareHold(accountID int64, ev eventRow, l *eventLayout, ids []int64, accessible int) (*holdCall, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	h := &Hold{ID: uuid.NewString(), EventID: ev.ID, Status: HoldActive, Currency: ev.Currency, accountID: accountID}
	for _, id := range ids {
		h.Seats = append(h.Seats, l.seats[l.byID[id]])
	}
	var err error
	if h.Lines, h.TotalCents, err = linesFor(ev.Event, h.Seats, nil); err != nil {
		return nil, err
	}
	h.setAccessible(accessible)
	return &holdCall{h: h, ids: ids, maxSeats: ev.MaxSeatsPerAccount, share: ev.presaleShare}, nil
}

// gateRelease unmarks seats in the gate; a failure only costs the next
// holder of those seats an extra Postgres attempt, so it is logged.
func (s *Service) gateRelease(ctx context.Context, eventID int64, ids []int64, holdID string) {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.GateTimeout)
	defer cancel()
	if err := s.gate.Release(gctx, eventID, ids, holdID); err != nil {
		s.log.Warn("seatmap: gate release failed", "event", eventID, "hold", holdID, "err", err)
	}
}

func (s *Service) publish(ctx context.Context, eventID int64, changes []SeatChange) {
	if len(changes) == 0 {
		return
	}
	if err := s.pub.PublishSeats(context.WithoutCancel(ctx), eventID, changes); err != nil {
		s.log.Warn("seatmap: publish seat changes failed", "event", eventID, "count", len(changes), "err", err)
	}
}

// takenError refuses a hold because some of its seats are taken: it reads
// as ErrSeatUnavailable naming them, and keeps their ids for
// best-available to pick around (best.go).
type takenError struct {
	ids []int64
	err *apperr.Error
}

func seatsTaken(ids []int64) error {
	return &takenError{ids: ids, err: ErrSeatUnavailable.With("seats", idStrings(ids))}
}

func (e *takenError) Error() string { return e.err.Error() }
func (e *takenError) Unwrap() error { return e.err }

func idStrings(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprint(id)
	}
	return out
}

// GetHold returns a hold of the account. Another account's hold is not
// found. An active hold past its expiry reads as expired even before the
// sweeper has freed its seats.
func (s *Service) GetHold(ctx context.Context, accountID int64, holdID string) (Hold, error) {
	if _, err := uuid.Parse(holdID); err != nil {
		return Hold{}, ErrHoldNotFound
	}
	var h Hold
	var ids []int64
	err := s.db.QueryRow(ctx, `
		SELECT id, event_id, account_id,
		       CASE WHEN status = 'active' AND expires_at <= now() THEN 'expired' ELSE status END,
		       seat_ids, seat_versions, total_cents, currency, created_at, expires_at, coalesce(listing_id::text, ''),
		       accessible, price_lines
		FROM holds WHERE id = $1 AND account_id = $2`, holdID, accountID).Scan(
		&h.ID, &h.EventID, &h.accountID, &h.Status, &ids, &h.versions, &h.TotalCents, &h.Currency, &h.CreatedAt, &h.ExpiresAt,
		&h.ListingID, &h.Accessible, &h.Lines)
	if errors.Is(err, pgx.ErrNoRows) {
		return Hold{}, ErrHoldNotFound
	}
	if err != nil {
		return Hold{}, fmt.Errorf("seatmap: get hold %s: %w", holdID, err)
	}
	h.setAccessible(h.Accessible)
	l, err := s.layout(ctx, h.EventID)
	if err != nil {
		return Hold{}, err
	}
	for _, id := range ids {
		h.Seats = append(h.Seats, l.seats[l.byID[id]])
	}
	if h.Lines == nil {
		// Not being paid yet: its seats at the price it was held at.
		ev, err := s.event(ctx, h.EventID)
		if err != nil {
			return Hold{}, err
		}
		h.Lines = defaultLines(ev.Event, h)
	}
	return h, nil
}

// defaultLines prices a hold's seats before checkout fixes its lines: a
// resale hold's one seat at the listing's price (resale carries no event
// fees: the listing price is what the buyer pays), any other seat at the
// event's first price type.
func defaultLines(ev Event, h Hold) []PriceLine {
	if h.ListingID != "" && len(h.Seats) == 1 {
		return []PriceLine{resaleLine(h.Seats[0].ID, h.TotalCents)}
	}
	lines, _, err := linesFor(ev, h.Seats, nil)
	if err != nil {
		return []PriceLine{}
	}
	return lines
}

// resaleLine is the line of a resale purchase: the listing's price, all
// of it face value.
func resaleLine(seatID, price int64) PriceLine {
	return PriceLine{SeatID: seatID, PriceType: DefaultPriceType, Breakdown: Breakdown{FaceCents: price, TotalCents: price}}
}

// Release frees an active hold of the account at once.
func (s *Service) Release(ctx context.Context, accountID int64, holdID string) error {
	if _, err := uuid.Parse(holdID); err != nil {
		return ErrHoldNotFound
	}
	var done ended
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		done, err = s.endHolds(ctx, tx, HoldReleased, `
			SELECT id FROM holds WHERE id = $1 AND account_id = $2 AND status = 'active' FOR UPDATE`,
			holdID, accountID)
		if err != nil {
			return err
		}
		if len(done.holds) == 0 {
			return holdStateError(ctx, tx, accountID, holdID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.publishEnded(ctx, HoldReleased, done)
	return nil
}

// holdStateError explains why a hold could not be changed.
func holdStateError(ctx context.Context, q pg.Querier, accountID int64, holdID string) error {
	var status string
	err := q.QueryRow(ctx, `SELECT status FROM holds WHERE id = $1 AND account_id = $2`, holdID, accountID).Scan(&status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrHoldNotFound
	case err != nil:
		return fmt.Errorf("seatmap: hold %s state: %w", holdID, err)
	case status == HoldExpired:
		return ErrHoldExpired
	default:
		return ErrHoldNotActive.With("status", status)
	}
}
