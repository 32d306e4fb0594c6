package seatmap

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// What makes events findable: where a venue is (city, time zone), what an
// event is (description, artist, genre, image), and the public list's
// search, filters and pages.

// Errors of the event list and the event's details.
var (
	ErrTimeZone = apperr.E(apperr.Invalid, "invalid_time_zone", "time_zone must be an IANA time zone name like Europe/London")
	ErrCursor   = apperr.E(apperr.Invalid, "invalid_cursor", "the cursor is not one this list gave")
)

// MediaPath is where the server serves event images; an event's image_url
// is this followed by the stored file name.
const MediaPath = "/api/media/"

// Place is where a venue is: its city and IANA time zone.
type Place struct {
	City     string
	TimeZone string // default "UTC"
}

// normalize checks the time zone against the tz database (Go's, embedded
// in the binary) and defaults it to UTC.
func (p Place) normalize() (Place, error) {
	p.City = strings.TrimSpace(p.City)
	if p.TimeZone == "" {
		p.TimeZone = "UTC"
	}
	if _, err := LoadTimeZone(p.TimeZone); err != nil {
		return Place{}, err
	}
	return p, nil
}

// LoadTimeZone loads an IANA time zone by name. "Local" and "" are refused:
// they mean the server's own zone, which no venue is in.
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, ErrTimeZone.With("time_zone", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, ErrTimeZone.With("time_zone", name)
	}
	return loc, nil
}

// EventInfo is what an event says about itself beyond its name and date.
// Description is plain text, paragraphs separated by blank lines; pages
// render it as text, never as HTML.
type EventInfo struct {
	Description string `json:"description"`
	Artist      string `json:"artist"`
	Genre       string `json:"genre"`
}

// InfoChange changes the named fields of an event's info; nil leaves one.
type InfoChange struct {
	Description, Artist, Genre *string
}

// ChangeInfo updates an event's description, artist or genre.
func (s *Service) ChangeInfo(ctx context.Context, eventID int64, c InfoChange) error {
	tag, err := s.db.Exec(ctx, `UPDATE events SET description = coalesce($2, description),
		artist = coalesce($3, artist), genre = coalesce($4, genre) WHERE id = $1`,
		eventID, c.Description, c.Artist, c.Genre)
	if err != nil {
		return fmt.Errorf("seatmap: change info of event %d: %w", eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrEventNotFound
	}
	s.ForgetEvent(eventID)
	return nil
}

// SetImage records the stored file name of an event's image.
func (s *Service) SetImage(ctx context.Context, eventID int64, file string) error {
	tag, err := s.db.Exec(ctx, `UPDATE events SET image = $2 WHERE id = $1`, eventID, file)
	if err != nil {
		return fmt.Errorf("seatmap: set image of event %d: %w", eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrEventNotFound
	}
	s.ForgetEvent(eventID)
	return nil
}

// EventQuery selects a page of the event list. The zero value is the first
// page of every event not yet past, by date.
type EventQuery struct {
	// Status keeps only events with this status as clients see it.
	Status string
	// Text is a full-text search over the event's name, artist, genre and
	// description and its venue's name and city: every word must match
	// the start of a word there ("cold lon" finds Coldplay in London).
	Text string
	// City keeps the events of venues in this city (any case).
	City string
	// From and To bound the event date: From defaults to now, so past
	// events drop out; To is open when zero.
	From, To time.Time
	// Limit is the page size: DefaultEventsLimit when 0.
	Limit int
	// After is the cursor of the previous page's Next.
	After string
}

// Page sizes of the event list.
const (
	DefaultEventsLimit = 50
	MaxEventsLimit     = 500
)

// EventPage is one page of the event list and the cursor of the next one
// ("" on the last page).
type EventPage struct {
	Events []Event
	Next   string
}

// searchWord is a word of a search: letters and digits, as Postgres's text
// parser splits them, so each becomes a safe prefix term of a tsquery.
var searchWord = regexp.MustCompile(`[\p{L}\p{N}]+`)

// tsPrefixQuery turns what a fan typed into a tsquery that matches events
// having every word as the start of one of theirs; "" when no word.
func tsPrefixQuery(text string) string {
	words := searchWord.FindAllString(strings.ToLower(text), 8)
	for i, w := range words {
		words[i] = w + ":*"
	}
	return strings.Join(words, " & ")
}

// Events lists a page of events by date (then id), filtered in the query
// so a page is always full when more events match.
func (s *Service) Events(ctx context.Context, q EventQuery) (EventPage, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultEventsLimit
	}
	q.Limit = min(q.Limit, MaxEventsLimit)
	now := time.Now()
	if q.From.IsZero() {
		q.From = now
	}
	where := []string{"e.event_date >= $1"}
	args := []any{q.From}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !q.To.IsZero() {
		where = append(where, "e.event_date < "+arg(q.To))
	}
	if tsq := tsPrefixQuery(q.Text); tsq != "" {
		where = append(where, "e.search @@ to_tsquery('simple', "+arg(tsq)+")")
	}
	if q.City != "" {
		where = append(where, "lower(v.city) = lower("+arg(strings.TrimSpace(q.City))+")")
	}
	if cond := statusCondition(q.Status, arg); cond != "" {
		where = append(where, cond)
	} else if q.Status != "" {
		return EventPage{}, fmt.Errorf("seatmap: list events: unknown status %q", q.Status)
	}
	if q.After != "" {
		at, id, err := decodeCursor(q.After)
		if err != nil {
			return EventPage{}, err
		}
		where = append(where, "(e.event_date, e.id) > ("+arg(at)+", "+arg(id)+")")
	}
	rows, err := s.db.Query(ctx, `SELECT `+eventColumns+`
		FROM events e JOIN venues v ON v.id = e.venue_id
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY e.event_date, e.id LIMIT `+arg(q.Limit+1), args...)
	if err != nil {
		return EventPage{}, fmt.Errorf("seatmap: list events: %w", err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventRow, error) { return scanEvent(r) })
	if err != nil {
		return EventPage{}, fmt.Errorf("seatmap: list events: %w", err)
	}
	page := EventPage{Events: make([]Event, 0, min(len(evs), q.Limit))}
	if len(evs) > q.Limit {
		evs = evs[:q.Limit]
		last := evs[len(evs)-1]
		page.Next = encodeCursor(last.EventDate, last.ID)
	}
	for _, e := range evs {
		ev, err := s.fill(ctx, e)
		if err != nil {
			return EventPage{}, err
		}
		page.Events = append(page.Events, ev)
	}
	return page, nil
}

// statusCondition is the SQL for effectiveStatus == status, so the filter
// runs before the page is cut; "" for an unknown status.
func statusCondition(status string, arg func(any) string) string {
	switch status {
	case "":
		return "true"
	case StatusCancelled:
		return "e.status = 'cancelled'"
	case StatusPaused:
		return "e.status <> 'cancelled' AND e.paused"
	case StatusSoldOut:
		return "e.status = 'sold_out' AND NOT e.paused"
	case StatusOnSale:
		return "NOT e.paused AND (e.status = 'on_sale' OR (e.status = 'upcoming' AND e.sale_opens <= " + arg(time.Now()) + "))"
	case StatusUpcoming:
		return "NOT e.paused AND e.status = 'upcoming' AND e.sale_opens > " + arg(time.Now())
	}
	return ""
}

// A cursor is the last event of a page, (date in µs, id), base64url: the
// next page starts after it, so events added meanwhile neither repeat nor
// shift a page.
func encodeCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", at.UnixMicro(), id))
}

func decodeCursor(c string) (time.Time, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, ErrCursor
	}
	us, idText, ok := strings.Cut(string(raw), ".")
	micros, err1 := strconv.ParseInt(us, 10, 64)
	id, err2 := strconv.ParseInt(idText, 10, 64)
	if !ok || errors.Join(err1, err2) != nil {
		return time.Time{}, 0, ErrCursor
	}
	return time.UnixMicro(micros), id, nil
}
