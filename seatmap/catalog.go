package seatmap

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/pg"
)

// eventLayout is an event's static seat data, loaded once per node: the seat
// ids and facts by idx, the layout JSON served to browsers and its gzip form.
type eventLayout struct {
	eventID  int64
	seats    []SeatInfo      // by idx
	byID     map[int64]int32 // seat id → idx
	sections []SectionInfo   // by rank
	json     []byte
	gzip     []byte
	etag     string
	// ga lists the event's general-admission areas in section order, with
	// the idx of each place (ga.go).
	ga []gaArea
	// rows is best-available's compact per-seat index (best.go), built
	// on first use.
	rows     *rowIndex
	rowsOnce sync.Once
	// access lists the accessible seats (accessible.go), built on first use.
	access     *accessIndex
	accessOnce sync.Once
	// pricesVersion is the event's prices_version when loaded; staleAt
	// (unix nanoseconds, 0: never) is when to ask whether it moved, set
	// while the event's prices can still change (edit.go).
	pricesVersion int64
	staleAt       atomic.Int64
}

// fresh reports whether a cached layout may be served without asking
// whether its prices changed.
func (l *eventLayout) fresh() bool {
	at := l.staleAt.Load()
	return at == 0 || time.Now().UnixNano() < at
}

// reuse returns the cached layout of an event when it may still be
// served: fresh, or stale but with the prices it was loaded with (one
// row read through q, which then sets when to ask again).
func (s *Service) reuse(ctx context.Context, q pg.Querier, eventID int64) (*eventLayout, bool) {
	v, ok := s.layouts.Load(eventID)
	if !ok {
		return nil, false
	}
	l := v.(*eventLayout)
	if l.fresh() {
		return l, true
	}
	version, editable, err := pricesState(ctx, q, eventID)
	if err != nil || version != l.pricesVersion {
		return nil, false
	}
	l.staleAt.Store(staleAt(editable))
	return l, true
}

// pricesState reads an event's prices_version and whether its prices can
// still change (its sale has not started).
func pricesState(ctx context.Context, q pg.Querier, eventID int64) (version int64, editable bool, err error) {
	err = q.QueryRow(ctx, `SELECT prices_version, status = 'upcoming' AND NOT paused AND sale_opens > now()
		FROM events WHERE id = $1`, eventID).Scan(&version, &editable)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, ErrEventNotFound
	}
	if err != nil {
		return 0, false, fmt.Errorf("seatmap: prices of event %d: %w", eventID, err)
	}
	return version, editable, nil
}

// staleAt is when a layout loaded now should be checked again.
func staleAt(editable bool) int64 {
	if !editable {
		return 0
	}
	return time.Now().Add(layoutEditableTTL).UnixNano()
}

// SeatInfo is the static description of one seat of an event.
type SeatInfo struct {
	ID         int64   `json:"id,string"`
	Idx        int32   `json:"idx"`
	Section    string  `json:"section"`
	Row        string  `json:"row"`
	Number     int     `json:"number"`
	X          float32 `json:"x"`
	Y          float32 `json:"y"`
	Type       string  `json:"type"`
	Rank       int     `json:"-"`
	PriceCents int64   `json:"price_cents"`
}

// layout returns the event's static layout, loading it on first use; many
// concurrent first uses share one load.
func (s *Service) layout(ctx context.Context, eventID int64) (*eventLayout, error) {
	if l, ok := s.layouts.Load(eventID); ok && l.(*eventLayout).fresh() {
		return l.(*eventLayout), nil
	}
	v, err, _ := s.flight.Do(fmt.Sprintf("layout:%d", eventID), func() (any, error) {
		if l, ok := s.reuse(context.WithoutCancel(ctx), s.db, eventID); ok {
			return l, nil
		}
		l, err := s.loadLayout(context.WithoutCancel(ctx), s.db, eventID)
		if err != nil {
			return nil, err
		}
		s.layouts.Store(eventID, l)
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*eventLayout), nil
}

// layoutIn is layout for a caller inside a transaction: a layout not yet
// cached is read through tx, since waiting for a second connection of the
// pool while holding one can exhaust the pool under load.
func (s *Service) layoutIn(ctx context.Context, tx pg.Querier, eventID int64) (*eventLayout, error) {
	if l, ok := s.reuse(ctx, tx, eventID); ok {
		return l, nil
	}
	l, err := s.loadLayout(ctx, tx, eventID)
	if err != nil {
		return nil, err
	}
	s.layouts.Store(eventID, l)
	return l, nil
}

func (s *Service) loadLayout(ctx context.Context, q pg.Querier, eventID int64) (*eventLayout, error) {
	l := &eventLayout{eventID: eventID, byID: make(map[int64]int32)}
	version, editable, err := pricesState(ctx, q, eventID)
	if err != nil {
		return nil, err
	}
	l.pricesVersion = version
	l.staleAt.Store(staleAt(editable))
	rows, err := q.Query(ctx, `
		SELECT id, name, tier, rank, kind FROM event_sections WHERE event_id = $1 ORDER BY rank, id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("seatmap: load sections of %d: %w", eventID, err)
	}
	for rows.Next() {
		var sec SectionInfo
		if err := rows.Scan(&sec.ID, &sec.Name, &sec.Tier, &sec.Rank, &sec.Kind); err != nil {
			return nil, fmt.Errorf("seatmap: scan section: %w", err)
		}
		l.sections = append(l.sections, sec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seatmap: load sections of %d: %w", eventID, err)
	}
	if len(l.sections) == 0 {
		return nil, ErrEventNotFound
	}
	rows, err = q.Query(ctx, `
		SELECT id, idx, section, row_label, number, x, y, seat_type, rank, price_cents
		FROM seats WHERE event_id = $1 ORDER BY idx`, eventID)
	if err != nil {
		return nil, fmt.Errorf("seatmap: load seats of %d: %w", eventID, err)
	}
	for rows.Next() {
		var st SeatInfo
		if err := rows.Scan(&st.ID, &st.Idx, &st.Section, &st.Row, &st.Number, &st.X, &st.Y, &st.Type, &st.Rank, &st.PriceCents); err != nil {
			return nil, fmt.Errorf("seatmap: scan seat: %w", err)
		}
		l.byID[st.ID] = st.Idx
		l.seats = append(l.seats, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seatmap: load seats of %d: %w", eventID, err)
	}
	secIndex := make(map[string]int, len(l.sections))
	for i := range l.sections {
		secIndex[l.sections[i].ID] = i
	}
	for _, st := range l.seats {
		sec := &l.sections[secIndex[st.Section]]
		if sec.Capacity == 0 || st.PriceCents < sec.MinPriceCents {
			sec.MinPriceCents = st.PriceCents
		}
		if st.PriceCents > sec.MaxPriceCents {
			sec.MaxPriceCents = st.PriceCents
		}
		sec.Capacity++
	}
	l.ga = gaAreas(l.sections, l.seats)
	// The stage is the venue's: its layout cannot change once an event
	// uses it (UpdateVenue refuses), so it need not be copied.
	var stage *Area
	if err := q.QueryRow(ctx, `SELECT v.layout->'stage' FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = $1`,
		eventID).Scan(&stage); err != nil {
		return nil, fmt.Errorf("seatmap: stage of %d: %w", eventID, err)
	}
	raw, err := json.Marshal(struct {
		EventID  int64         `json:"event_id,string"`
		Sections []SectionInfo `json:"sections"`
		Seats    []SeatInfo    `json:"seats"`
		Stage    *Area         `json:"stage,omitempty"`
	}{eventID, l.sections, l.seats, stage})
	if err != nil {
		return nil, fmt.Errorf("seatmap: encode layout: %w", err)
	}
	sum := sha256.Sum256(raw)
	l.json, l.gzip, l.etag = raw, gzipBytes(raw), `"`+hex.EncodeToString(sum[:12])+`"`
	return l, nil
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// LayoutJSON is an event's static seat map as served: the JSON, its gzip
// form and a strong ETag. The bytes are shared; callers must not modify them.
type LayoutJSON struct {
	JSON []byte
	Gzip []byte
	ETag string
}

// Layout returns the static seat map of an event.
func (s *Service) Layout(ctx context.Context, eventID int64) (LayoutJSON, error) {
	l, err := s.layout(ctx, eventID)
	if err != nil {
		return LayoutJSON{}, err
	}
	return LayoutJSON{JSON: l.json, Gzip: l.gzip, ETag: l.etag}, nil
}

// eventRow is the mutable part of an event the hold path needs, cached per
// node for at most eventCacheTTL so a pause takes effect within it.
type eventRow struct {
	Event
	storedStatus string
	paused       bool
	// accessibleReleaseAt is when the accessible hold-back ends (ended);
	// nil while none is scheduled (accessible.go).
	accessibleReleaseAt *time.Time
	// presaleShare is the presale window whose share a hold takes its
	// places from (0: none); saleFor sets it (presale.go).
	presaleShare int64
}

type cachedEvent struct {
	row     eventRow
	fetched time.Time
}

const eventCacheTTL = time.Second

const eventColumns = `
	e.id, e.name, v.id, v.name, v.capacity, e.event_date, e.sale_opens, e.status, e.paused,
	e.currency, e.capacity, e.max_seats_per_account, e.waiting_room, e.print_at_home, e.accessible_release_at,
	e.fees, e.price_types, v.city, v.time_zone, e.description, e.artist, e.genre, e.image`

func scanEvent(row pgx.Row) (eventRow, error) {
	var e eventRow
	var image *string
	err := row.Scan(&e.ID, &e.Name, &e.Venue.ID, &e.Venue.Name, &e.Venue.Capacity, &e.EventDate, &e.SaleOpens,
		&e.storedStatus, &e.paused, &e.Currency, &e.Capacity, &e.MaxSeatsPerAccount, &e.WaitingRoom, &e.PrintAtHome,
		&e.accessibleReleaseAt, &e.Fees, &e.PriceTypes, &e.Venue.City, &e.Venue.TimeZone, &e.Description, &e.Artist, &e.Genre, &image)
	e.TimeZone = e.Venue.TimeZone
	if image != nil {
		e.ImageURL = MediaPath + *image
	}
	return e, err
}

// event returns an event's current row, from the per-node cache when fresh.
func (s *Service) event(ctx context.Context, eventID int64) (eventRow, error) {
	return s.eventIn(ctx, s.db, eventID)
}

// eventIn is event for a caller inside a transaction, which reads through
// q (its tx): waiting for a second connection of the pool while holding
// one deadlocks once every connection is held that way.
func (s *Service) eventIn(ctx context.Context, q pg.Querier, eventID int64) (eventRow, error) {
	now := time.Now()
	s.mu.Lock()
	c, ok := s.events[eventID]
	s.mu.Unlock()
	if ok && now.Sub(c.fetched) < eventCacheTTL {
		return c.row, nil
	}
	e, err := scanEvent(q.QueryRow(ctx, `SELECT `+eventColumns+`
		FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = $1`, eventID))
	if errors.Is(err, pgx.ErrNoRows) {
		return eventRow{}, ErrEventNotFound
	}
	if err != nil {
		return eventRow{}, fmt.Errorf("seatmap: read event %d: %w", eventID, err)
	}
	s.mu.Lock()
	s.events[eventID] = cachedEvent{row: e, fetched: now}
	s.mu.Unlock()
	return e, nil
}

// ForgetEvent drops the cached row of an event, so a change made on this
// node (a pause, say) takes effect here at once.
func (s *Service) ForgetEvent(eventID int64) {
	s.mu.Lock()
	delete(s.events, eventID)
	s.mu.Unlock()
}

// fill completes an event with its derived fields.
func (s *Service) fill(ctx context.Context, e eventRow) (Event, error) {
	ev := e.Event
	l, err := s.layout(ctx, e.ID)
	if err != nil {
		return Event{}, err
	}
	for i, sec := range allInSections(e.Event, l.sections) {
		if i == 0 || sec.MinPriceCents < ev.MinPriceCents {
			ev.MinPriceCents = sec.MinPriceCents
		}
		if sec.MaxPriceCents > ev.MaxPriceCents {
			ev.MaxPriceCents = sec.MaxPriceCents
		}
	}
	snap, err := s.Snapshot(ctx, e.ID)
	if err != nil {
		return Event{}, err
	}
	ev.Available = snap.Available
	// The status last: a first load of a stadium's layout can take
	// seconds, and the status must be that of the moment of the answer.
	ev.Status = effectiveStatus(e.storedStatus, e.paused, e.SaleOpens, time.Now())
	return ev, nil
}

// Event returns one event with its sections.
func (s *Service) Event(ctx context.Context, eventID int64) (EventDetail, error) {
	e, err := s.event(ctx, eventID)
	if err != nil {
		return EventDetail{}, err
	}
	ev, err := s.fill(ctx, e)
	if err != nil {
		return EventDetail{}, err
	}
	l, err := s.layout(ctx, eventID)
	if err != nil {
		return EventDetail{}, err
	}
	snap, err := s.Snapshot(ctx, eventID)
	if err != nil {
		return EventDetail{}, err
	}
	return EventDetail{Event: ev, Sections: allInSections(e.Event, l.sections), Prices: seatPrices(e.Event, l),
		Accessible: accessibleInfo(l, snap.Statuses, e.accessibleReleaseAt)}, nil
}

// priceTypesOf returns the price types a ticket of the event can have:
// those offered, or DefaultPriceType alone.
func priceTypesOf(ev Event) []PriceType {
	if len(ev.PriceTypes) > 0 {
		return ev.PriceTypes
	}
	t, _ := priceTypeOf(nil, "")
	return []PriceType{t}
}

// allInRange is the all-in price range of seats priced lo..hi over every
// price type of the event (the all-in price grows with the face value).
func allInRange(ev Event, lo, hi int64) (minCents, maxCents int64) {
	for i, t := range priceTypesOf(ev) {
		a, b := ev.Fees.Price(t.Face(lo)).TotalCents, ev.Fees.Price(t.Face(hi)).TotalCents
		if i == 0 || a < minCents {
			minCents = a
		}
		maxCents = max(maxCents, b)
	}
	return minCents, maxCents
}

// allInSections copies the layout's sections with all-in price ranges.
func allInSections(ev Event, secs []SectionInfo) []SectionInfo {
	out := make([]SectionInfo, len(secs))
	for i, sec := range secs {
		sec.MinPriceCents, sec.MaxPriceCents = allInRange(ev, sec.MinPriceCents, sec.MaxPriceCents)
		out[i] = sec
	}
	return out
}

// seatPrices lists the breakdown of every distinct seat price of the
// layout under every price type of the event, cheapest seat first.
func seatPrices(ev Event, l *eventLayout) []SeatPrice {
	seen := make(map[int64]bool)
	var prices []int64
	for _, st := range l.seats {
		if !seen[st.PriceCents] {
			seen[st.PriceCents] = true
			prices = append(prices, st.PriceCents)
		}
	}
	slices.Sort(prices)
	out := make([]SeatPrice, 0, len(prices))
	for _, p := range prices {
		for _, t := range priceTypesOf(ev) {
			out = append(out, SeatPrice{PriceCents: p, PriceType: t.Key, Breakdown: ev.Fees.Price(t.Face(p))})
		}
	}
	return out
}

// linesFor prices the seats of a hold of the event, one line per seat:
// types maps a seat id to its price type (missing: the first offered).
func linesFor(ev Event, seats []SeatInfo, types map[int64]string) ([]PriceLine, int64, error) {
	lines := make([]PriceLine, len(seats))
	var total int64
	for i, st := range seats {
		t, err := priceTypeOf(ev.PriceTypes, types[st.ID])
		if err != nil {
			return nil, 0, err
		}
		lines[i] = PriceLine{SeatID: st.ID, PriceType: t.Key, Breakdown: ev.Fees.Price(t.Face(st.PriceCents))}
		total += lines[i].TotalCents
	}
	return lines, total, nil
}
