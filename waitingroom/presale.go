package waitingroom

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// RoomKey names one queue of an event: its general sale's (PresaleID 0)
// or that of one presale window. A window's room has its own keys, order,
// cursor, admissions and tokens, so fans let in by a window's code queue
// only among themselves and are admitted at the window's own rate (or the
// event's); the general room is untouched by them. The event's settings
// (on or off, paused, active limit, admission TTL, difficulty) hold for
// every room of the event.
type RoomKey struct {
	EventID   int64
	PresaleID int64
}

// ErrPresaleRoomClosed refuses to queue in a window's room outside the
// window: a code is entered only while its window is open.
var ErrPresaleRoomClosed = apperr.E(apperr.Conflict, "presale_room_closed", "this presale is not open: its queue is closed")

// base is the room's Redis key prefix: a window's room under its own hash
// tag, so its scripts run on one slot as the event's do.
func (k RoomKey) base(prefix string) string {
	b := prefix + "{wr:" + strconv.FormatInt(k.EventID, 10)
	if k.PresaleID != 0 {
		b += ":p:" + strconv.FormatInt(k.PresaleID, 10)
	}
	return b + "}:"
}

// audience is what an admission token of the room is for: a window's
// token does not admit to the general sale, nor the other way round.
func (k RoomKey) audience() string {
	a := audience(k.EventID)
	if k.PresaleID != 0 {
		a += ":presale:" + strconv.FormatInt(k.PresaleID, 10)
	}
	return a
}

// presaleWindow is what a window's room needs of the presales row (owned
// by package presale): when it is open and its own admission rate.
type presaleWindow struct {
	startsAt, endsAt time.Time
	admitPerMinute   int
	fetched          time.Time
}

// roomOf returns the settings of a room: the event's, and for a window's
// room the window's times (it admits from starts_at, and nobody after
// ends_at) and rate. Windows are cached per node like settings.
func (s *Service) roomOf(ctx context.Context, k RoomKey) (room, error) {
	r, err := s.room(ctx, k.EventID)
	if err != nil || k.PresaleID == 0 {
		return r, err
	}
	now := time.Now()
	s.mu.Lock()
	w, ok := s.windows[k]
	s.mu.Unlock()
	if !ok || now.Sub(w.fetched) >= s.cfg.SettingsTTL {
		var rate *int
		err := s.db.QueryRow(ctx, `SELECT starts_at, ends_at, admit_per_minute FROM presales WHERE id = $1 AND event_id = $2`,
			k.PresaleID, k.EventID).Scan(&w.startsAt, &w.endsAt, &rate)
		if errors.Is(err, pgx.ErrNoRows) {
			return room{}, ErrEventNotFound
		}
		if err != nil {
			return room{}, fmt.Errorf("waitingroom: read presale %d: %w", k.PresaleID, err)
		}
		w.admitPerMinute, w.fetched = 0, now
		if rate != nil {
			w.admitPerMinute = *rate
		}
		s.mu.Lock()
		if len(s.windows) > 10_000 {
			clear(s.windows)
		}
		s.windows[k] = w
		s.mu.Unlock()
	}
	r.PresaleID, r.SaleOpens, r.closes = k.PresaleID, w.startsAt, w.endsAt
	if w.admitPerMinute > 0 {
		r.AdmitPerMinute = w.admitPerMinute
	}
	return r, nil
}

// windowsOf lists the presale windows of an event whose room is on (none
// when it is off: windows then have no rooms), cached per node for
// Config.SettingsTTL like the settings.
func (s *Service) windowsOf(ctx context.Context, eventID int64) ([]int64, error) {
	r, err := s.room(ctx, eventID)
	if err != nil || !r.Enabled {
		return nil, err
	}
	now := time.Now()
	s.mu.Lock()
	w, ok := s.eventWindows[eventID]
	s.mu.Unlock()
	if ok && now.Sub(w.fetched) < s.cfg.SettingsTTL {
		return w.ids, nil
	}
	rows, err := s.db.Query(ctx, `SELECT id FROM presales WHERE event_id = $1`, eventID)
	if err != nil {
		return nil, fmt.Errorf("waitingroom: presales of event %d: %w", eventID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("waitingroom: presales of event %d: %w", eventID, err)
	}
	s.mu.Lock()
	if len(s.eventWindows) > 10_000 {
		clear(s.eventWindows)
	}
	s.eventWindows[eventID] = eventWindows{ids: ids, fetched: now}
	s.mu.Unlock()
	return ids, nil
}

// eventWindows are an event's presale windows as windowsOf caches them.
type eventWindows struct {
	ids     []int64
	fetched time.Time
}

// EnabledRooms lists the rooms the admitter runner keeps an admitter for:
// every event whose room is on (EnabledEvents), and each of its presale
// windows open now.
func (s *Service) EnabledRooms(ctx context.Context) ([]RoomKey, error) {
	rows, err := s.db.Query(ctx, `
		WITH e AS (SELECT id FROM events
			WHERE waiting_room @> '{"enabled": true}' AND status <> 'cancelled' AND event_date > now())
		SELECT id, 0 FROM e
		UNION ALL
		SELECT p.event_id, p.id FROM presales p JOIN e ON e.id = p.event_id WHERE p.starts_at <= now() AND p.ends_at > now()
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("waitingroom: list enabled rooms: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RoomKey, error) {
		var k RoomKey
		err := r.Scan(&k.EventID, &k.PresaleID)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("waitingroom: list enabled rooms: %w", err)
	}
	return keys, nil
}

// CheckRoomAdmission is CheckAdmission for any room: nil when the event's
// room is off, else the token must admit account to this room.
func (s *Service) CheckRoomAdmission(ctx context.Context, k RoomKey, accountID int64, token string) error {
	r, err := s.room(ctx, k.EventID)
	if err != nil {
		return err
	}
	if !r.Enabled {
		return nil
	}
	return s.verifyToken(token, accountID, k.audience())
}
