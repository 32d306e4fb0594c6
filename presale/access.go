package presale

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Access decides what a hold of accountID on eventID may do before the
// general sale (an unknown event has no sale time, so none). code, when not empty, is entered first (Redeem). The
// answer is nil when presales do not apply (no window open, or the general
// sale is on): the hold then goes on as without presales. While a window
// is open, an account let into it gets its PresaleAccess and any other
// account ErrCodeRequired.
func (s *Service) Access(ctx context.Context, eventID, accountID int64, code string) (*seatmap.PresaleAccess, error) {
	ev, err := s.windows(ctx, eventID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if !now.Before(ev.saleOpens) {
		return nil, nil
	}
	if code != "" {
		if _, err := s.Redeem(ctx, eventID, accountID, code); err != nil {
			return nil, err
		}
	}
	var open []int64
	for _, w := range ev.windows {
		if !now.Before(w.StartsAt) && now.Before(w.EndsAt) {
			open = append(open, w.ID)
		}
	}
	if len(open) == 0 {
		return nil, nil
	}
	var id int64
	err = s.db.QueryRow(ctx, `SELECT presale_id FROM presale_access WHERE account_id = $1 AND presale_id = ANY($2)
		ORDER BY presale_id LIMIT 1`, accountID, open).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrCodeRequired
	}
	if err != nil {
		return nil, fmt.Errorf("presale: access of account %d to event %d: %w", accountID, eventID, err)
	}
	for _, w := range ev.windows {
		if w.ID == id {
			return w.access(), nil
		}
	}
	return nil, ErrCodeRequired
}

// Redeem enters an access code for an account: a shared code of the event
// or one of its single-use codes, of a window open now. A single-use code
// is bound to the first account that enters it, in one conditional
// UPDATE, so exactly one account gets it however many race for it; that
// account may enter it again. It returns the window the code opens.
func (s *Service) Redeem(ctx context.Context, eventID, accountID int64, code string) (Window, error) {
	code = NormalizeCode(code)
	if !validCode(code) {
		return Window{}, ErrCodeInvalid
	}
	var w Window
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var single bool
		var err error
		w, err = scanWindow(tx.QueryRow(ctx, `
			SELECT `+windowColumns+`, true FROM presales p
			WHERE event_id = $1 AND id = (SELECT presale_id FROM presale_codes WHERE code = $2)
			UNION ALL
			SELECT `+windowColumns+`, false FROM presales WHERE event_id = $1 AND shared_code = $2
			LIMIT 1`, eventID, code), &single)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrCodeInvalid
		}
		if err != nil {
			return fmt.Errorf("presale: find code: %w", err)
		}
		if err := windowOpen(w, time.Now()); err != nil {
			return err
		}
		if single {
			tag, err := tx.Exec(ctx, `UPDATE presale_codes SET account_id = $2, redeemed_at = coalesce(redeemed_at, now())
				WHERE code = $1 AND (account_id IS NULL OR account_id = $2)`, code, accountID)
			if err != nil {
				return fmt.Errorf("presale: redeem code: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return ErrCodeUsed
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO presale_access (presale_id, account_id, code) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, w.ID, accountID, code); err != nil {
			return fmt.Errorf("presale: grant access: %w", err)
		}
		return nil
	})
	if err != nil {
		return Window{}, err
	}
	w.setState(time.Now())
	return w, nil
}

// windowOpen explains why a code of w cannot be used now.
func windowOpen(w Window, now time.Time) error {
	switch {
	case now.Before(w.StartsAt):
		return ErrNotOpen.With("starts_at", w.StartsAt.UTC().Format(time.RFC3339))
	case !now.Before(w.EndsAt):
		return ErrCodeExpired.With("ended_at", w.EndsAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// windows returns an event's windows and sale time, cached for CacheTTL.
// An unknown event has none.
func (s *Service) windows(ctx context.Context, eventID int64) (eventWindows, error) {
	now := time.Now()
	s.mu.Lock()
	ev, ok := s.cache[eventID]
	s.mu.Unlock()
	if ok && now.Sub(ev.fetched) < s.cfg.CacheTTL {
		return ev, nil
	}
	ev = eventWindows{fetched: now}
	err := s.db.QueryRow(ctx, `SELECT sale_opens FROM events WHERE id = $1`, eventID).Scan(&ev.saleOpens)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventWindows{}, nil
	}
	if err != nil {
		return eventWindows{}, fmt.Errorf("presale: read event %d: %w", eventID, err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+windowColumns+` FROM presales WHERE event_id = $1 AND ends_at > now()
		ORDER BY starts_at, id`, eventID)
	if err != nil {
		return eventWindows{}, fmt.Errorf("presale: read windows of event %d: %w", eventID, err)
	}
	for rows.Next() {
		w, err := scanWindow(rows)
		if err != nil {
			return eventWindows{}, fmt.Errorf("presale: read windows of event %d: %w", eventID, err)
		}
		ev.windows = append(ev.windows, w)
	}
	if err := rows.Err(); err != nil {
		return eventWindows{}, fmt.Errorf("presale: read windows of event %d: %w", eventID, err)
	}
	s.mu.Lock()
	if len(s.cache) > 10_000 {
		clear(s.cache)
	}
	s.cache[eventID] = ev
	s.mu.Unlock()
	return ev, nil
}

// forget drops an event's cached windows after a change on this node.
func (s *Service) forget(eventID int64) {
	s.mu.Lock()
	delete(s.cache, eventID)
	s.mu.Unlock()
}
