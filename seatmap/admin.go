package seatmap

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Errors of the admin operations.
var (
	ErrInvalidLayout   = apperr.E(apperr.Invalid, "invalid_layout", "the layout is invalid")
	ErrIllegalStatus   = apperr.E(apperr.Conflict, "illegal_status_change", "the event cannot make this change from its current status")
	ErrUnknownAction   = apperr.E(apperr.Invalid, "unknown_action", "status must be open, pause, resume or cancel")
	ErrNothingReserved = apperr.E(apperr.Conflict, "nothing_reserved", "none of these seats is held back")
)

// FieldError is one problem of a layout or design in the API's 422: the
// JSON path of the offending value and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// invalidLayout turns a layout or design validation failure into the API's
// 422: field and detail name the first problem, errors lists them all.
func invalidLayout(err error) error {
	list := AsLayoutErrors(err)
	if list == nil {
		return err
	}
	all := make([]FieldError, len(list))
	for i, e := range list {
		all[i] = FieldError{Field: e.Field, Message: e.Message}
	}
	return ErrInvalidLayout.With("field", list[0].Field).With("detail", list[0].Message).With("errors", all).Wrap(err)
}

// Admin status actions (PATCH /api/admin/events/{event}).
const (
	ActionOpen   = "open"
	ActionPause  = "pause"
	ActionResume = "resume"
	ActionCancel = "cancel"
)

// ChangeStatus applies an admin action to an event: open starts the sale now,
// pause stops holds (and admissions) without losing the status, resume lifts
// a pause, cancel ends the event for good. It returns the event as it now is.
// Cancel's refunds are the checkout's job, triggered by the caller.
func (s *Service) ChangeStatus(ctx context.Context, eventID int64, action string) (EventDetail, error) {
	return s.ChangeStatusWith(ctx, eventID, action, nil)
}

// ChangeStatusWith is ChangeStatus with then run inside the same transaction
// after the status changed (and only if it did): cancelling an event voids
// its tickets and enqueues its refunds atomically with the status, so a
// cancelled event never lacks its refund jobs. seatmap does not know checkout;
// checkout passes then. An error from then rolls the change back.
func (s *Service) ChangeStatusWith(ctx context.Context, eventID int64, action string, then func(ctx context.Context, tx pgx.Tx) error) (EventDetail, error) {
	var sql string
	switch action {
	case ActionOpen:
		sql = `UPDATE events SET status = 'on_sale', paused = false, sale_opens = least(sale_opens, now())
		       WHERE id = $1 AND status IN ('upcoming', 'on_sale')`
	case ActionPause:
		sql = `UPDATE events SET paused = true WHERE id = $1 AND status <> 'cancelled'`
	case ActionResume:
		sql = `UPDATE events SET paused = false WHERE id = $1 AND status <> 'cancelled'`
	case ActionCancel:
		sql = `UPDATE events SET status = 'cancelled', paused = false WHERE id = $1 AND status <> 'cancelled'`
	default:
		return EventDetail{}, ErrUnknownAction
	}
	var changed bool
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, eventID)
		if err != nil {
			return fmt.Errorf("seatmap: %s event %d: %w", action, eventID, err)
		}
		changed = tag.RowsAffected() > 0
		if changed && then != nil {
			return then(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return EventDetail{}, err
	}
	s.ForgetEvent(eventID)
	if !changed {
		if _, err := s.event(ctx, eventID); err != nil {
			return EventDetail{}, err
		}
		return EventDetail{}, ErrIllegalStatus.With("action", action)
	}
	return s.Event(ctx, eventID)
}

// ReleaseRequest names held-back seats to put on sale: SeatIDs, or Count of
// the best reserved seats in Section (any section when empty), or every
// seat held back for Reason (a Reserve* constant; SeatIDs, Section and
// Count are then ignored).
type ReleaseRequest struct {
	EventID int64
	SeatIDs []int64
	Section string
	Count   int
	Reason  string
}

// ReleaseReserved puts held-back seats on sale at once and publishes them.
// It returns how many seats it released.
func (s *Service) ReleaseReserved(ctx context.Context, req ReleaseRequest) (int, error) {
	l, err := s.layout(ctx, req.EventID)
	if err != nil {
		return 0, err
	}
	var unknown []int64
	for _, id := range req.SeatIDs {
		if _, ok := l.byID[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return 0, ErrUnknownSeats.With("seats", idStrings(unknown))
	}
	var changes []SeatChange
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		changes, err = s.releaseSeats(ctx, tx, req)
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(changes) == 0 {
		return 0, ErrNothingReserved
	}
	s.publish(ctx, req.EventID, changes)
	return len(changes), nil
}

// releaseSeats makes the reserved seats req names available inside tx and
// returns their changes, to publish once committed. Releasing by Reason
// also drops the reason from the seats of that reason that are held or
// sold meanwhile (accessible seats an accessible request took: they keep
// the reason so that they come back held back; accessible.go), so they
// come back on general sale instead; their state does not change, so they
// are not among the changes. Released seats are offered to the waiting
// list first (waitlist.go).
func (s *Service) releaseSeats(ctx context.Context, tx pgx.Tx, req ReleaseRequest) ([]SeatChange, error) {
	var changes map[int64][]SeatChange
	var err error
	if req.Reason != "" {
		changes, err = setSeats(ctx, tx, `
			WITH locked AS MATERIALIZED (
				SELECT id, status FROM seats WHERE event_id = $1 AND reserved_reason = $2 ORDER BY id FOR UPDATE)
			UPDATE seats s SET reserved_reason = NULL,
			       status = CASE WHEN locked.status = 'reserved' THEN 'available' ELSE s.status END,
			       version = s.version + CASE WHEN locked.status = 'reserved' THEN 1 ELSE 0 END
			FROM locked WHERE s.id = locked.id
			RETURNING s.event_id, s.idx, s.version, s.status`,
			req.EventID, req.Reason)
		if err != nil {
			return nil, err
		}
		released := changes[req.EventID][:0]
		for _, c := range changes[req.EventID] {
			if c.State == StateAvailable {
				released = append(released, c)
			}
		}
		return released, s.offerFreed(ctx, tx, map[int64][]SeatChange{req.EventID: released})
	}
	pick, args := `SELECT id FROM seats WHERE event_id = $1 AND id = ANY($2::bigint[]) AND status = 'reserved'
		ORDER BY id FOR UPDATE`, []any{req.EventID, req.SeatIDs}
	if len(req.SeatIDs) == 0 {
		pick, args = `SELECT id FROM seats WHERE event_id = $1 AND status = 'reserved' AND ($2 = '' OR section = $2)
			ORDER BY rank, id LIMIT $3 FOR UPDATE SKIP LOCKED`, []any{req.EventID, req.Section, req.Count}
	}
	changes, err = setSeats(ctx, tx, fmt.Sprintf(`
		WITH picked AS MATERIALIZED (%s)
		UPDATE seats s SET status = 'available', reserved_reason = NULL, version = s.version + 1
		FROM picked WHERE s.id = picked.id AND s.status = 'reserved'
		RETURNING s.event_id, s.idx, s.version, s.status`, pick), args...)
	if err != nil {
		return nil, err
	}
	return changes[req.EventID], s.offerFreed(ctx, tx, changes)
}

// EndSales ends every sale of an event still under way, inside the tx of
// its cancellation (ChangeStatusWith): every active or payment_pending hold
// is released (a resale hold's seat goes back to resale first), then every
// resale seat is taken off resale (sold to its owner, listing cleared), so
// no hold of a cancelled event can convert and no listing can be held.
// Holds are locked after whatever payment rows the caller locked, as on
// every sale path. Pass the Outcome to AfterCommit once committed.
func (s *Service) EndSales(ctx context.Context, tx pgx.Tx, eventID int64) (Outcome, error) {
	done, err := s.endHolds(ctx, tx, HoldReleased, `
		SELECT id FROM holds WHERE event_id = $1 AND status IN ('active', 'payment_pending') ORDER BY id FOR UPDATE`, eventID)
	if err != nil {
		return Outcome{}, err
	}
	unlisted, err := setSeats(ctx, tx, `
		WITH locked AS MATERIALIZED (
			SELECT id FROM seats WHERE event_id = $1 AND status = 'resale' ORDER BY id FOR UPDATE)
		UPDATE seats s SET status = 'sold', listing_id = NULL, version = s.version + 1
		FROM locked WHERE s.id = locked.id AND s.status = 'resale'
		RETURNING s.event_id, s.idx, s.version, s.status`, eventID)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{ended: done}
	for ev, changes := range unlisted {
		for _, c := range changes {
			out.moved = append(out.moved, SeatMove{EventID: ev, Idx: c.Idx, Version: c.Version, State: c.State})
		}
	}
	return out, nil
}

// SetPrintAtHome sets which code admits at an event's door: on, the
// static code of the PDF and email as well as the app's rotating code; off,
// the rotating code only. It applies to every ticket of the event at once,
// including tickets already sold.
func (s *Service) SetPrintAtHome(ctx context.Context, eventID int64, on bool) error {
	tag, err := s.db.Exec(ctx, `UPDATE events SET print_at_home = $2 WHERE id = $1`, eventID, on)
	if err != nil {
		return fmt.Errorf("seatmap: print_at_home of event %d: %w", eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrEventNotFound
	}
	s.ForgetEvent(eventID)
	return nil
}

// SetPricing changes an event's fees, its price types or both (nil leaves
// one as it is). Holds already being paid keep the prices they were
// charged at; holds not yet checked out are priced anew at checkout.
func (s *Service) SetPricing(ctx context.Context, eventID int64, fees *Fees, types []PriceType) error {
	if fees != nil {
		if err := fees.Validate(); err != nil {
			return err
		}
	}
	if types != nil {
		if err := ValidatePriceTypes(types); err != nil {
			return err
		}
	}
	tag, err := s.db.Exec(ctx, `UPDATE events SET fees = coalesce($2, fees), price_types = coalesce($3, price_types) WHERE id = $1`,
		eventID, fees, types)
	if err != nil {
		return fmt.Errorf("seatmap: pricing of event %d: %w", eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrEventNotFound
	}
	s.ForgetEvent(eventID)
	return nil
}
