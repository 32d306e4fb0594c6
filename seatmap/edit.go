package seatmap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Errors of editing an event before its sale.
var (
	// ErrSaleStarted refuses a change of what fans may already have
	// bought against: once the sale is open (or paused, or a presale has
	// sold or held a seat), the name, times and prices stay as they are.
	ErrSaleStarted = apperr.E(apperr.Conflict, "sale_started",
		"the sale has started: the event's name, times and prices can no longer change")
	errEditDates = apperr.E(apperr.Invalid, "invalid_dates",
		"sale_opens must be in the future and before event_date")
	errEditName = apperr.E(apperr.Invalid, "invalid_name", "name must not be empty")
)

// layoutEditableTTL is how long a node serves the layout of an event whose
// prices may still change (its sale not yet open) before asking whether
// they did (events.prices_version): a reprice on another node reaches this
// one within it. Once the sale is open a layout is kept for good, as
// prices no longer change.
const layoutEditableTTL = 5 * time.Second

// DetailsChange names the details of an event to change before its sale;
// nil fields stay as they are.
type DetailsChange struct {
	Name      *string
	EventDate *time.Time
	SaleOpens *time.Time
}

// ChangeDetails changes an event's name, date or sale time while its sale
// has not started (ErrSaleStarted after). The sale time stays in the
// future and before the show: opening the sale now is the open action.
func (s *Service) ChangeDetails(ctx context.Context, eventID int64, c DetailsChange) error {
	if c.Name != nil && strings.TrimSpace(*c.Name) == "" {
		return errEditName
	}
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		date, opens, err := lockBeforeSale(ctx, tx, eventID)
		if err != nil {
			return err
		}
		if c.EventDate != nil {
			date = c.EventDate.UTC()
		}
		if c.SaleOpens != nil {
			opens = c.SaleOpens.UTC()
		}
		if !opens.After(time.Now()) || !opens.Before(date) {
			return errEditDates
		}
		_, err = tx.Exec(ctx, `UPDATE events SET name = coalesce($2, name), event_date = $3, sale_opens = $4 WHERE id = $1`,
			eventID, c.Name, date, opens)
		if err != nil {
			return fmt.Errorf("seatmap: change details of event %d: %w", eventID, err)
		}
		return nil
	})
	s.ForgetEvent(eventID)
	return err
}

// Reprice sets the face value of every seat of an event from a price map
// (as EventSpec.Prices: seat type over section over tier over "default"),
// while its sale has not started (ErrSaleStarted after). Every seat must
// get a price and every key must price some seat, as at creation.
func (s *Service) Reprice(ctx context.Context, eventID int64, prices map[string]int64) error {
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		if _, _, err := lockBeforeSale(ctx, tx, eventID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT s.id, s.section, s.seat_type, es.tier
			FROM seats s JOIN event_sections es ON es.event_id = s.event_id AND es.id = s.section
			WHERE s.event_id = $1 ORDER BY s.id`, eventID)
		if err != nil {
			return fmt.Errorf("seatmap: read seats of event %d: %w", eventID, err)
		}
		var ids, cents []int64
		var outline Layout // the sections and seat types, for checkPriceKeys
		seen := map[string]bool{}
		for rows.Next() {
			var id int64
			var seat SeatSpec
			var tier string
			if err := rows.Scan(&id, &seat.Section, &seat.Type, &tier); err != nil {
				rows.Close()
				return fmt.Errorf("seatmap: read seats of event %d: %w", eventID, err)
			}
			if !seen["s:"+seat.Section] {
				seen["s:"+seat.Section] = true
				outline.Sections = append(outline.Sections, Section{ID: seat.Section, Tier: tier})
			}
			if !seen["t:"+seat.Type] {
				seen["t:"+seat.Type] = true
				outline.Seats = append(outline.Seats, SeatSpec{Type: seat.Type})
			}
			price, ok := priceOf(prices, seat, tier)
			if !ok {
				rows.Close()
				return ErrNoPrice.With("section", seat.Section).With("type", seat.Type)
			}
			ids, cents = append(ids, id), append(cents, price)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("seatmap: read seats of event %d: %w", eventID, err)
		}
		if err := checkPriceKeys(prices, outline); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE seats s SET price_cents = u.price
			FROM unnest($2::bigint[], $3::bigint[]) AS u(id, price)
			WHERE s.event_id = $1 AND s.id = u.id AND s.price_cents <> u.price`, eventID, ids, cents)
		if err != nil {
			return fmt.Errorf("seatmap: reprice event %d: %w", eventID, err)
		}
		// Every node's cached seat map sees this number move (catalog.go).
		if _, err := tx.Exec(ctx, `UPDATE events SET prices_version = prices_version + 1 WHERE id = $1`, eventID); err != nil {
			return fmt.Errorf("seatmap: reprice event %d: %w", eventID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The layout carries the prices: reload it here at once (other nodes
	// within layoutEditableTTL, by prices_version).
	s.layouts.Delete(eventID)
	s.ForgetEvent(eventID)
	return nil
}

// lockBeforeSale locks an event's row inside tx and returns its date and
// sale time, or ErrSaleStarted when the sale has begun: the event is no
// longer upcoming (open, paused, sold out, cancelled) or a seat is held
// or sold (a presale).
func lockBeforeSale(ctx context.Context, tx pgx.Tx, eventID int64) (eventDate, saleOpens time.Time, err error) {
	var status string
	var paused, sold bool
	err = tx.QueryRow(ctx, `SELECT status, paused, event_date, sale_opens,
			EXISTS (SELECT 1 FROM seats WHERE event_id = $1 AND status NOT IN ('available', 'reserved'))
		FROM events WHERE id = $1 FOR UPDATE`, eventID).Scan(&status, &paused, &eventDate, &saleOpens, &sold)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, time.Time{}, ErrEventNotFound
	}
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("seatmap: lock event %d: %w", eventID, err)
	}
	if sold || effectiveStatus(status, paused, saleOpens, time.Now()) != StatusUpcoming {
		return time.Time{}, time.Time{}, ErrSaleStarted
	}
	return eventDate, saleOpens, nil
}
