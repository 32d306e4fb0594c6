package seatmap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Resale and transfer of sold seats.
//
// A sold seat whose ticket is listed for resale has status 'resale' (the
// availability letter x) and names its listing in listing_id. It still
// belongs to its owner (hold_id names the hold that sold it,
// holder_account_id the owner) and counts as sold for conservation. Listing
// and unlisting are conditional updates sold ↔ resale fenced by the owner
// and the listing id; a seat a buyer holds is 'held', so it cannot be
// unlisted under them.
//
// A resale hold is an ordinary hold row (status active → payment_pending →
// converted, the same sweeper, StartPayment, Convert and FailPayment) over
// exactly one resale seat, with three extra columns: listing_id, and
// prior_hold_id and prior_account_id, what the seat returns to if the hold
// ends without a sale. Taking it is one statement like holdSQL and in the
// same lock order (seats by id, then the buyer's counter):
//
//   - the seat must be 'resale' under this listing id and owned by the
//     seller, and the buyer must not be the seller (a seat withdrawn and
//     listed again has a new listing id, so an old listing cannot be held);
//   - the buyer's counter takes one seat under the event's cap (the cap
//     rule applies to resale purchases like any other);
//   - the seat becomes 'held' by the new hold (version + 1), so a second
//     buyer's statement, which waits on the row lock, finds it held and
//     gets ErrListingUnavailable: two racing buyers, one hold;
//   - the hold row records the listing and the seat's previous hold and
//     owner. The seat keeps its listing_id while held.
//
// The gate (Redis) is not consulted: resale seats stay marked sold there,
// so normal holds keep stopping at Redis, and resale holds are rare enough
// to go to Postgres directly. Nothing here writes an event-wide row.
//
// Convert needs no special case for the seats: the seat is 'held' by the
// hold at the versions it recorded, becomes 'sold' (listing_id cleared) and
// keeps the buyer as holder. It additionally gives the seller's counter its seat back (the seat
// left the seller) — the counter is the last lock, as always. When a resale
// hold ends without a sale (release, expiry, failed payment), endHolds puts
// the seat back to 'resale' with its prior hold and owner instead of
// freeing it (same listing id, a new version), and the buyer's counter is
// returned as for any hold.
//
// A transfer moves a sold seat's holder from one account to another and
// moves one seat between their counters (no cap: a gift is not a purchase).

// Errors of resale and transfer.
var (
	ErrListingUnavailable = apperr.E(apperr.Conflict, "listing_unavailable", "this listing is no longer available")
	ErrOwnListing         = apperr.E(apperr.Forbidden, "own_listing", "you cannot buy your own listing")
	ErrSeatNotOwned       = apperr.E(apperr.Conflict, "seat_not_owned", "the seat is not sold to this account in the expected state")
)

// SeatMove is the new state of one seat after a resale or transfer write,
// for AfterCommit to publish.
type SeatMove struct {
	EventID int64
	Idx     int32
	Version int64
	State   byte
}

// moveSeat runs a conditional update of one seat that returns (idx,
// version); no row is ErrSeatNotOwned.
func moveSeat(ctx context.Context, tx pgx.Tx, state byte, sql string, args ...any) (Outcome, error) {
	var m SeatMove
	err := tx.QueryRow(ctx, sql, args...).Scan(&m.EventID, &m.Idx, &m.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return Outcome{}, ErrSeatNotOwned
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("seatmap: move seat: %w", err)
	}
	m.State = state
	return Outcome{moved: []SeatMove{m}}, nil
}

// ListSeat offers a sold seat of owner for resale under listingID inside
// tx and returns the Outcome to publish (x).
func (s *Service) ListSeat(ctx context.Context, tx pgx.Tx, eventID, seatID, owner int64, listingID string) (Outcome, error) {
	return moveSeat(ctx, tx, StateResale, `
		UPDATE seats SET status = 'resale', listing_id = $4, version = version + 1
		WHERE event_id = $1 AND id = $2 AND status = 'sold' AND holder_account_id = $3
		RETURNING event_id, idx, version`, eventID, seatID, owner, listingID)
}

// UnlistSeat puts a resale seat back to sold inside tx, only if it is still
// offered under listingID and no buyer holds it.
func (s *Service) UnlistSeat(ctx context.Context, tx pgx.Tx, eventID, seatID, owner int64, listingID string) (Outcome, error) {
	return moveSeat(ctx, tx, StateSold, `
		UPDATE seats SET status = 'sold', listing_id = NULL, version = version + 1
		WHERE event_id = $1 AND id = $2 AND status = 'resale' AND holder_account_id = $3 AND listing_id = $4
		RETURNING event_id, idx, version`, eventID, seatID, owner, listingID)
}

// TransferSeat moves a sold seat from one account to another inside tx, and
// one seat between their counters (in account order, after the seat).
func (s *Service) TransferSeat(ctx context.Context, tx pgx.Tx, eventID, seatID, from, to int64) (Outcome, error) {
	out, err := moveSeat(ctx, tx, StateSold, `
		UPDATE seats SET holder_account_id = $4, version = version + 1
		WHERE event_id = $1 AND id = $2 AND status = 'sold' AND holder_account_id = $3
		RETURNING event_id, idx, version`, eventID, seatID, from, to)
	if err != nil {
		return Outcome{}, err
	}
	first, second, d1, d2 := from, to, -1, 1
	if to < from {
		first, second, d1, d2 = to, from, 1, -1
	}
	for _, c := range []struct {
		account int64
		delta   int
	}{{first, d1}, {second, d2}} {
		if _, err := tx.Exec(ctx, `
			INSERT INTO account_event_seats AS c (account_id, event_id, seats) VALUES ($1, $2, greatest($3, 0))
			ON CONFLICT (account_id, event_id) DO UPDATE SET seats = c.seats + $3`, c.account, eventID, c.delta); err != nil {
			return Outcome{}, fmt.Errorf("seatmap: transfer counters: %w", err)
		}
	}
	return out, nil
}

// ResaleHoldRequest asks for the seat of a listing. The listing itself
// belongs to checkout; it passes what the hold is fenced by.
type ResaleHoldRequest struct {
	EventID    int64
	AccountID  int64 // the buyer
	ListingID  string
	SeatID     int64
	Seller     int64
	PriceCents int64
}

// holdResaleSQL takes a resale hold in one statement; see the comment at
// the top of this file. Like holdSQL, upd does not test the status again:
// locked's row lock keeps the status it read current.
const holdResaleSQL = `
WITH locked AS MATERIALIZED (
	SELECT id, status, listing_id, hold_id, holder_account_id FROM seats WHERE event_id = $1 AND id = $2 FOR UPDATE),
ok AS (
	SELECT 1 FROM locked WHERE status = 'resale' AND listing_id = $3 AND holder_account_id = $4 AND holder_account_id <> $5),
cap AS (
	INSERT INTO account_event_seats AS c (account_id, event_id, seats)
	SELECT $5, $1, 1 FROM ok
	ON CONFLICT (account_id, event_id) DO UPDATE SET seats = c.seats + 1 WHERE c.seats + 1 <= $7
	RETURNING 1),
upd AS (
	UPDATE seats s SET status = 'held', hold_id = $6, holder_account_id = $5, version = s.version + 1
	FROM locked WHERE s.id = locked.id AND EXISTS (SELECT 1 FROM cap)
	RETURNING s.id, s.version, locked.hold_id AS prior_hold),
ins AS (
	INSERT INTO holds (id, event_id, account_id, status, seat_ids, seat_versions, total_cents, currency, expires_at,
	                   listing_id, prior_hold_id, prior_account_id)
	SELECT $6, $1, $5, 'active', ARRAY[id], ARRAY[version], $8, $9, now() + make_interval(secs => $10),
	       $3, prior_hold, $4
	FROM upd
	RETURNING created_at, expires_at, seat_versions)
SELECT EXISTS (SELECT 1 FROM ok), (SELECT created_at FROM ins), (SELECT expires_at FROM ins), (SELECT seat_versions FROM ins)`

// HoldResale holds the seat of a listing for a buyer, through the same hold
// rows, TTL, sweeper and checkout as any hold.
func (s *Service) HoldResale(ctx context.Context, req ResaleHoldRequest) (Hold, error) {
	if req.AccountID == req.Seller {
		return Hold{}, ErrOwnListing
	}
	ev, err := s.event(ctx, req.EventID)
	if err != nil {
		return Hold{}, err
	}
	if st := effectiveStatus(ev.storedStatus, ev.paused, ev.SaleOpens, time.Now()); st != StatusOnSale && st != StatusSoldOut {
		return Hold{}, ErrNotOnSale
	}
	l, err := s.layout(ctx, req.EventID)
	if err != nil {
		return Hold{}, err
	}
	pos, ok := l.byID[req.SeatID]
	if !ok {
		return Hold{}, ErrListingUnavailable
	}
	h := Hold{ID: uuid.NewString(), EventID: ev.ID, Status: HoldActive, Currency: ev.Currency, accountID: req.AccountID,
		ListingID: req.ListingID}
	err = pg.Retry(ctx, func() error {
		var okSeat bool
		var createdAt, expiresAt *time.Time
		err := s.db.QueryRow(ctx, holdResaleSQL, ev.ID, req.SeatID, req.ListingID, req.Seller, req.AccountID, h.ID,
			ev.MaxSeatsPerAccount, req.PriceCents, ev.Currency, s.cfg.HoldTTL.Seconds()).
			Scan(&okSeat, &createdAt, &expiresAt, &h.versions)
		switch {
		case err != nil:
			return fmt.Errorf("seatmap: hold resale seat %d: %w", req.SeatID, err)
		case !okSeat:
			return ErrListingUnavailable
		case expiresAt == nil:
			return ErrCapExceeded.With("max", ev.MaxSeatsPerAccount)
		}
		h.CreatedAt, h.ExpiresAt = *createdAt, *expiresAt
		return nil
	})
	if err != nil {
		return Hold{}, err
	}
	st := l.seats[pos]
	h.Seats = []SeatInfo{st}
	h.TotalCents = req.PriceCents
	h.Lines = []PriceLine{resaleLine(st.ID, req.PriceCents)}
	s.publish(ctx, ev.ID, []SeatChange{{Idx: st.Idx, State: StateHeld, Version: h.versions[0]}})
	return h, nil
}
