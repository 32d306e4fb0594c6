package waitingroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Settings are an event's waiting-room settings, stored as the JSON object
// events.waiting_room (set by the admin event body and by
// PUT /api/admin/events/{event}/queue).
// Missing fields take the defaults named.
type Settings struct {
	// Enabled turns the room on: joining needs proof of work and holds need
	// an admission token.
	Enabled bool `json:"enabled"`
	// AdmitPerMinute is the admission rate (default 600).
	AdmitPerMinute int `json:"admit_per_minute,omitempty"`
	// ActiveLimit caps fans holding a live admission at once (default 2000).
	ActiveLimit int `json:"active_limit,omitempty"`
	// Paused stops admission; the queue keeps growing.
	Paused bool `json:"paused"`
	// PowDifficulty is the proof-of-work difficulty in leading zero bits
	// (default DefaultDifficulty; 0 is the default, a load test sets 1).
	PowDifficulty int `json:"pow_difficulty,omitempty"`
	// AdmissionTTLSeconds is how long an admission lasts (default 600).
	AdmissionTTLSeconds int `json:"admission_ttl_seconds,omitempty"`
	// RequireVerifiedEmail: a hold needs an account whose address is
	// verified. Unset, it follows Enabled: a sale big enough for a room is
	// one where throwaway accounts are worth refusing.
	RequireVerifiedEmail *bool `json:"require_verified_email,omitempty"`
}

// Defaults of Settings.
const (
	DefaultAdmitPerMinute = 600
	DefaultActiveLimit    = 2000
	DefaultAdmissionTTL   = 10 * time.Minute
	// DefaultDifficulty: about 65,000 hashes, a fraction of a second in a
	// browser worker and milliseconds to verify (docs/benchmarks.md, "Proof of work").
	DefaultDifficulty = 16
	// MaxDifficulty bounds per-event and surge difficulties.
	MaxDifficulty = 28
)

func (s Settings) withDefaults() Settings {
	if s.AdmitPerMinute <= 0 {
		s.AdmitPerMinute = DefaultAdmitPerMinute
	}
	if s.ActiveLimit <= 0 {
		s.ActiveLimit = DefaultActiveLimit
	}
	if s.PowDifficulty <= 0 {
		s.PowDifficulty = DefaultDifficulty
	}
	if s.PowDifficulty > MaxDifficulty {
		s.PowDifficulty = MaxDifficulty
	}
	if s.AdmissionTTLSeconds <= 0 {
		s.AdmissionTTLSeconds = int(DefaultAdmissionTTL / time.Second)
	}
	return s
}

// AdmissionTTL is how long an admission lasts.
func (s Settings) AdmissionTTL() time.Duration {
	return time.Duration(s.withDefaults().AdmissionTTLSeconds) * time.Second
}

// Validate refuses settings an admin should not be able to store.
func (s Settings) Validate() error {
	bad := map[string]string{}
	if s.AdmitPerMinute < 0 || s.AdmitPerMinute > 10_000_000 {
		bad["admit_per_minute"] = "must be between 1 and 10000000 (0: the default)"
	}
	if s.ActiveLimit < 0 || s.ActiveLimit > 10_000_000 {
		bad["active_limit"] = "must be between 1 and 10000000"
	}
	if s.PowDifficulty < 0 || s.PowDifficulty > MaxDifficulty {
		bad["pow_difficulty"] = fmt.Sprintf("must be between 1 and %d", MaxDifficulty)
	}
	if s.AdmissionTTLSeconds < 0 || s.AdmissionTTLSeconds > 3600 {
		bad["admission_ttl_seconds"] = "must be between 1 and 3600 (0: the default, 600)"
	}
	if len(bad) > 0 {
		return apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").With("fields", bad)
	}
	return nil
}

// room is what the service knows of one event: its settings and sale time.
type room struct {
	Settings
	EventID int64
	// PresaleID is the window of a window's room (0: the general room),
	// whose SaleOpens is the window's start and closes its end (presale.go).
	PresaleID int64
	SaleOpens time.Time
	closes    time.Time
	stopped   bool // the event is paused, cancelled or sold out
	fetched   time.Time
}

// room returns an event's settings, cached per node for Config.SettingsTTL
// (holds consult it on every request).
func (s *Service) room(ctx context.Context, eventID int64) (room, error) {
	now := time.Now()
	s.mu.Lock()
	r, ok := s.rooms[eventID]
	s.mu.Unlock()
	if ok && now.Sub(r.fetched) < s.cfg.SettingsTTL {
		return r, nil
	}
	v, err, _ := s.flight.Do(fmt.Sprint(eventID), func() (any, error) {
		var raw []byte
		var stopped bool
		r := room{EventID: eventID, fetched: now}
		// A paused, cancelled or sold-out event admits nobody, whatever the
		// room's own settings say: pausing a sale stops admissions too.
		err := s.db.QueryRow(ctx, `SELECT sale_opens, waiting_room, paused OR status IN ('cancelled', 'sold_out')
			FROM events WHERE id = $1`, eventID).Scan(&r.SaleOpens, &raw, &stopped)
		if errors.Is(err, pgx.ErrNoRows) {
			return room{}, ErrEventNotFound
		}
		if err != nil {
			return room{}, fmt.Errorf("waitingroom: read event %d: %w", eventID, err)
		}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &r.Settings); err != nil {
				return room{}, fmt.Errorf("waitingroom: decode settings of event %d: %w", eventID, err)
			}
		}
		r.Settings = r.withDefaults()
		r.stopped = stopped
		s.mu.Lock()
		s.rooms[eventID] = r
		s.mu.Unlock()
		return r, nil
	})
	if err != nil {
		return room{}, err
	}
	return v.(room), nil
}

// RequiresVerifiedEmail reports whether a hold at the event needs a
// verified address (Settings.RequireVerifiedEmail), from the per-node
// settings cache.
func (s *Service) RequiresVerifiedEmail(ctx context.Context, eventID int64) (bool, error) {
	r, err := s.room(ctx, eventID)
	if err != nil {
		return false, err
	}
	if r.RequireVerifiedEmail != nil {
		return *r.RequireVerifiedEmail, nil
	}
	return r.Enabled, nil
}

// Settings returns an event's settings with defaults filled in.
func (s *Service) Settings(ctx context.Context, eventID int64) (Settings, error) {
	r, err := s.room(ctx, eventID)
	return r.Settings, err
}

// Configure stores an event's settings. Enabling the room commits to the
// fairness seed at once, so the commitment is public before the sale opens.
func (s *Service) Configure(ctx context.Context, eventID int64, set Settings) error {
	if err := set.Validate(); err != nil {
		return err
	}
	raw, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("waitingroom: encode settings: %w", err)
	}
	tag, err := s.db.Exec(ctx, `UPDATE events SET waiting_room = $2 WHERE id = $1`, eventID, raw)
	if err != nil {
		return fmt.Errorf("waitingroom: store settings of event %d: %w", eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrEventNotFound
	}
	s.forget(eventID)
	if set.Enabled {
		if _, err := s.commitment(ctx, eventID); err != nil {
			return err
		}
	}
	return nil
}

// SettingsPatch is a partial update of Settings: only the fields that are
// set change (PUT /api/admin/events/{event}/queue). An admin raising the
// admission rate mid-sale must not switch the room off or reset its other
// settings to their defaults.
type SettingsPatch struct {
	Enabled              *bool `json:"enabled"`
	AdmitPerMinute       *int  `json:"admit_per_minute"`
	ActiveLimit          *int  `json:"active_limit"`
	Paused               *bool `json:"paused"`
	PowDifficulty        *int  `json:"pow_difficulty"`
	AdmissionTTLSeconds  *int  `json:"admission_ttl_seconds"`
	RequireVerifiedEmail *bool `json:"require_verified_email"`
}

// apply returns s with the patch's set fields.
func (p SettingsPatch) apply(s Settings) Settings {
	set := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	if p.Enabled != nil {
		s.Enabled = *p.Enabled
	}
	if p.Paused != nil {
		s.Paused = *p.Paused
	}
	if p.RequireVerifiedEmail != nil {
		s.RequireVerifiedEmail = p.RequireVerifiedEmail
	}
	set(&s.AdmitPerMinute, p.AdmitPerMinute)
	set(&s.ActiveLimit, p.ActiveLimit)
	set(&s.PowDifficulty, p.PowDifficulty)
	set(&s.AdmissionTTLSeconds, p.AdmissionTTLSeconds)
	return s
}

// Update changes the fields of an event's settings that the patch names
// and returns the settings as stored, defaults filled in. The read and the
// write are one transaction with the event's row locked, so two admins'
// updates of different fields both stick.
func (s *Service) Update(ctx context.Context, eventID int64, patch SettingsPatch) (Settings, error) {
	var set Settings
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var raw []byte
		err := tx.QueryRow(ctx, `SELECT waiting_room FROM events WHERE id = $1 FOR UPDATE`, eventID).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrEventNotFound
		}
		if err != nil {
			return fmt.Errorf("waitingroom: read settings of event %d: %w", eventID, err)
		}
		set = Settings{}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &set); err != nil {
				return fmt.Errorf("waitingroom: decode settings of event %d: %w", eventID, err)
			}
		}
		set = patch.apply(set)
		if err := set.Validate(); err != nil {
			return err
		}
		if raw, err = json.Marshal(set); err != nil {
			return fmt.Errorf("waitingroom: encode settings: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE events SET waiting_room = $2 WHERE id = $1`, eventID, raw)
		if err != nil {
			return fmt.Errorf("waitingroom: store settings of event %d: %w", eventID, err)
		}
		return nil
	})
	if err != nil {
		return Settings{}, err
	}
	s.forget(eventID)
	if set.Enabled {
		if _, err := s.commitment(ctx, eventID); err != nil {
			return Settings{}, err
		}
	}
	return s.Settings(ctx, eventID)
}

// forget drops the cached settings of an event on this node.
func (s *Service) forget(eventID int64) {
	s.mu.Lock()
	delete(s.rooms, eventID)
	s.mu.Unlock()
}

// EnabledEvents lists the events whose room is on and whose date has not
// passed, for the admitter runner.
func (s *Service) EnabledEvents(ctx context.Context) ([]int64, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id FROM events
		WHERE waiting_room @> '{"enabled": true}' AND status <> 'cancelled' AND event_date > now()
		ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("waitingroom: list enabled events: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("waitingroom: list enabled events: %w", err)
	}
	return ids, nil
}
