package seatmap

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// PresaleAccess lets one account hold before the general sale opens: the
// presale window it was let into (the presale package checks the access
// code and builds this). seatmap only applies it: inside the window, to
// the window's sections, under the window's per-account cap.
type PresaleAccess struct {
	ID       int64
	StartsAt time.Time
	EndsAt   time.Time
	// Sections are the sections the window sells; empty: all.
	Sections []string
	// MaxSeatsPerAccount caps the account's seats of the event (held and
	// sold, the same counter as the event's cap) while it shops in the
	// window; the event's own cap still applies when lower.
	MaxSeatsPerAccount int
	// Share is the most places the window sells, held and sold (0: no
	// cap but the sections'). The count lives in presale_shares, taken
	// and given back by the hold's own transactions (takeHold,
	// queueReturnShares).
	Share int
}

// ErrPresaleSoldOut refuses a presale hold once the window's share is
// taken: held or sold under the window. Places come back as its holds end
// unsold.
var ErrPresaleSoldOut = apperr.E(apperr.Conflict, "presale_sold_out",
	"this presale has no places left of its share: try again later or wait for the general sale")

// ErrPresaleSection refuses a presale hold outside the window's sections.
var ErrPresaleSection = apperr.E(apperr.Invalid, "presale_section",
	"this presale sells only some sections: choose seats in one of them")

// saleFor returns the event as a hold must see it. During the general sale
// it is unchanged and presale is false. Before it, an open window the
// account was let into lets the hold through with the window's cap
// (presale true); anything else is ErrNotOnSale, as without presales.
func saleFor(ev eventRow, p *PresaleAccess, now time.Time) (_ eventRow, presale bool, _ error) {
	switch effectiveStatus(ev.storedStatus, ev.paused, ev.SaleOpens, now) {
	case StatusOnSale:
		return ev, false, nil
	case StatusUpcoming:
		if p != nil && !now.Before(p.StartsAt) && now.Before(p.EndsAt) && p.MaxSeatsPerAccount > 0 {
			ev.MaxSeatsPerAccount = min(ev.MaxSeatsPerAccount, p.MaxSeatsPerAccount)
			if p.Share > 0 {
				ev.presaleShare = p.ID
			}
			return ev, true, nil
		}
	}
	return ev, false, ErrNotOnSale
}

// restrict keeps a presale hold within the window's sections. A
// best-available request without a section gets the window's only section;
// with several, the fan must pick one. Unknown seats are left to
// checkSeats, which names them.
func (p *PresaleAccess) restrict(req HoldRequest, l *eventLayout) (HoldRequest, error) {
	if len(p.Sections) == 0 {
		return req, nil
	}
	refuse := ErrPresaleSection.With("sections", p.Sections)
	switch {
	case req.Best != nil:
		b := *req.Best
		if b.Section == "" && len(p.Sections) == 1 {
			b.Section = p.Sections[0]
		}
		if !slices.Contains(p.Sections, b.Section) {
			return req, refuse
		}
		req.Best = &b
	case req.GA != nil:
		if !slices.Contains(p.Sections, req.GA.Section) {
			return req, refuse
		}
	default:
		for _, id := range req.SeatIDs {
			if idx, ok := l.byID[id]; ok && !slices.Contains(p.Sections, l.seats[idx].Section) {
				return req, refuse
			}
		}
	}
	return req, nil
}

// takeShareSQL takes $3 places of window $1's share for hold $2, only if
// they fit, and tags the hold with the window so its places come back when
// it ends unsold. No row: the share is used up.
const takeShareSQL = `
WITH took AS (
	UPDATE presale_shares SET used = used + $3 WHERE presale_id = $1 AND used + $3 <= places RETURNING presale_id)
INSERT INTO presale_share_holds (hold_id, presale_id, places) SELECT $2, presale_id, $3 FROM took`

// takeHold writes a round's holds with write, which runs holdSQL on q and
// reports whether they held. Most rounds run it straight on the pool. A
// hold under a presale window with a share goes in a round of its own
// (commitHold) that runs it in a transaction which then takes the hold's
// places from the window's counter row: both commit or neither, so
// concurrent presale holds never take more than the share. The counter is
// locked last, after the seats and the account's counter, the order
// release.go keeps when places come back.
func (s *Service) takeHold(ctx context.Context, share int64, holdID string, places int,
	write func(q pg.Querier) (bool, error)) error {
	if share == 0 {
		_, err := write(s.db)
		return err
	}
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		held, err := write(tx)
		if err != nil || !held {
			return err
		}
		tag, err := tx.Exec(ctx, takeShareSQL, share, holdID, places)
		if err != nil {
			return fmt.Errorf("seatmap: take presale %d share: %w", share, err)
		}
		if tag.RowsAffected() == 0 {
			return ErrPresaleSoldOut
		}
		return nil
	})
}

// queueReturnShares adds to batch the statement that gives presale windows
// back the places of ended holds that took some, and drops their tags so
// places come back once. Holds of no window match no tag: one indexed
// lookup in the batch the allowances already send.
func queueReturnShares(batch *pgx.Batch, ended []endedHold) {
	ids := make([]string, len(ended))
	for i, h := range ended {
		ids[i] = h.ID
	}
	batch.Queue(`
		WITH gone AS (DELETE FROM presale_share_holds WHERE hold_id = ANY($1::uuid[]) RETURNING presale_id, places),
		sums AS (SELECT presale_id, sum(places)::int AS places FROM gone GROUP BY presale_id)
		UPDATE presale_shares p SET used = p.used - sums.places FROM sums WHERE p.presale_id = sums.presale_id`, ids)
}
