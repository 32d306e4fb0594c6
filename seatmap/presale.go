package seatmap

import (
	"slices"
	"time"

	"github.com/boxoffice/boxoffice/internal/apperr"
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
}

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
