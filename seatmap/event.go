package seatmap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Event statuses as clients see them (GET /api/events). Paused is not stored as a
// status: it is a flag over the stored one, so resuming restores the status.
const (
	StatusUpcoming  = "upcoming"
	StatusOnSale    = "on_sale"
	StatusPaused    = "paused"
	StatusSoldOut   = "sold_out"
	StatusCancelled = "cancelled"
)

// Errors of the catalog.
var (
	ErrEventNotFound = apperr.E(apperr.NotFound, "event_not_found", "no such event")
	ErrVenueNotFound = apperr.E(apperr.NotFound, "venue_not_found", "no such venue")
	ErrNoPrice       = apperr.E(apperr.Invalid, "missing_price", "no price for some seats")
)

// Venue is a place with a layout.
type Venue struct {
	ID       int64  `json:"id,string"`
	Name     string `json:"name"`
	Capacity int    `json:"capacity"`
	City     string `json:"city"`
	// TimeZone is the venue's IANA time zone ("Europe/London"): every time
	// a fan sees is shown in it. UTC for venues made before it existed.
	TimeZone string `json:"time_zone"`
}

// Event is an event as fans see it.
type Event struct {
	ID                 int64           `json:"id,string"`
	Name               string          `json:"name"`
	Venue              Venue           `json:"venue"`
	EventDate          time.Time       `json:"event_date"`
	SaleOpens          time.Time       `json:"sale_opens"`
	Status             string          `json:"status"`
	Currency           string          `json:"currency"`
	Capacity           int             `json:"capacity"`
	MaxSeatsPerAccount int             `json:"max_seats_per_account"`
	WaitingRoom        json.RawMessage `json:"waiting_room"`
	// PrintAtHome says which code admits at the door: true, the static
	// code of the PDF and email too (once); false, only the rotating code
	// the app shows.
	PrintAtHome bool `json:"print_at_home"`
	// MinPriceCents and MaxPriceCents are the all-in prices (fees and tax
	// included) of the cheapest and dearest ticket of the event.
	MinPriceCents int64 `json:"min_price_cents"`
	MaxPriceCents int64 `json:"max_price_cents"`
	Available     int   `json:"available"`
	// Fees are the event's per-ticket fees and tax (fees.go).
	Fees Fees `json:"fees"`
	// PriceTypes the fan chooses among per ticket at checkout; empty means
	// every ticket is DefaultPriceType at the seat's price.
	PriceTypes []PriceType `json:"price_types"`
	// TimeZone is the venue's, repeated here so a page showing the event's
	// times needs nothing else.
	TimeZone string `json:"time_zone"`
	EventInfo
	// ImageURL is the event's image, at a content-hashed URL served for
	// good; empty when it has none.
	ImageURL string `json:"image_url,omitempty"`
}

// SectionInfo is one section of an event with its prices and size. In
// the event detail the prices are all-in; in the static layout they are
// face values.
type SectionInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Tier string `json:"tier"`
	Rank int    `json:"rank"`
	// Kind is KindSeated or KindGA: a ga section is drawn as one area and
	// held by quantity; its places have no row to show.
	Kind          string `json:"kind"`
	Capacity      int    `json:"capacity"`
	MinPriceCents int64  `json:"min_price_cents"`
	MaxPriceCents int64  `json:"max_price_cents"`
}

// EventDetail is an event with its sections and its accessible seating.
type EventDetail struct {
	Event
	Sections   []SectionInfo  `json:"sections"`
	Accessible AccessibleInfo `json:"accessible"`
	// Prices is the breakdown of every price a ticket of the event can
	// have: one per seat price (the face values of the seat map) and
	// price type, so the map's tooltip shows the all-in price and its
	// parts without computing anything.
	Prices []SeatPrice `json:"prices"`
}

// SeatPrice is what a ticket on a seat of price PriceCents costs as
// PriceType.
type SeatPrice struct {
	PriceCents int64     `json:"price_cents"`
	PriceType  string    `json:"price_type"`
	Breakdown  Breakdown `json:"price_breakdown"`
}

// effectiveStatus derives what clients see from what is stored: a paused
// flag over the status, and an upcoming event whose sale time has come is on
// sale even before the lifecycle job has written it.
func effectiveStatus(stored string, paused bool, saleOpens, now time.Time) string {
	switch {
	case stored == StatusCancelled:
		return StatusCancelled
	case paused:
		return StatusPaused
	case stored == StatusUpcoming && !now.Before(saleOpens):
		return StatusOnSale
	}
	return stored
}

// CreateVenue stores a venue with a validated layout, in UTC and no city;
// CreateVenueAt names them.
func (s *Service) CreateVenue(ctx context.Context, name string, layout Layout) (Venue, error) {
	return s.CreateVenueAt(ctx, name, Place{}, layout)
}

// CreateVenueAt stores a venue in a city and time zone with a validated
// layout.
func (s *Service) CreateVenueAt(ctx context.Context, name string, place Place, layout Layout) (Venue, error) {
	return s.CreateVenueFrom(ctx, VenueSpec{Name: name, Place: place, Layout: layout})
}

// EventSpec describes an event to create.
type EventSpec struct {
	VenueID   int64
	Name      string
	EventDate time.Time
	SaleOpens time.Time
	// Prices maps a seat type ("vip", "accessible"), a section id, a tier or
	// "default" to cents; a seat takes the first of those that is present.
	Prices   map[string]int64
	Currency string // default "usd"
	// ReserveShare of seats (0..1) is held back as reserved at creation.
	ReserveShare float64
	// MaxSeatsPerAccount; 0 means the service's cap.
	MaxSeatsPerAccount int
	// WaitingRoom settings as JSON; nil means {}.
	WaitingRoom json.RawMessage
	// ResaleCapPercent caps resale prices at this percentage of face value
	// (0 means the default, 100: face value).
	ResaleCapPercent int
	// PrintAtHome lets the static code of the PDF and email admit (default
	// false: only the rotating code of the app admits).
	PrintAtHome bool
	// Fees are the per-ticket fees and tax (zero: none).
	Fees Fees
	// PriceTypes offered at checkout (nil: none, every ticket at the
	// seat's price).
	PriceTypes []PriceType
	// SeedKey, when set, makes creation idempotent: an event with the same
	// key is returned instead of creating another.
	SeedKey string
	// AccessibleReleaseAt, when set, schedules the end of the accessible
	// hold-back (ScheduleAccessibleRelease) with the event.
	AccessibleReleaseAt *time.Time
	// Info is what the event list shows and searches beside the name.
	Info EventInfo
}

// priceOf resolves a seat's price from an event's price map: the seat's
// type ("standard", "vip", "accessible") wins over its section, the section
// over its tier, the tier over "default".
func priceOf(prices map[string]int64, seat SeatSpec, tier string) (int64, bool) {
	for _, k := range []string{seat.Type, seat.Section, tier, "default"} {
		if p, ok := prices[k]; ok {
			return p, true
		}
	}
	return 0, false
}

// CreateEvent creates an event and copies the venue's layout into its seats,
// holding back ReserveShare of them as reserved; a large event's seat rows
// are then made ready for a rush (readySeats).
func (s *Service) CreateEvent(ctx context.Context, spec EventSpec) (int64, error) {
	if spec.Currency == "" {
		spec.Currency = "usd"
	}
	if spec.MaxSeatsPerAccount == 0 || spec.MaxSeatsPerAccount > s.cfg.MaxSeatsPerAccount {
		spec.MaxSeatsPerAccount = s.cfg.MaxSeatsPerAccount
	}
	if spec.WaitingRoom == nil {
		spec.WaitingRoom = json.RawMessage(`{}`)
	}
	if spec.ReserveShare < 0 || spec.ReserveShare > 1 || math.IsNaN(spec.ReserveShare) {
		return 0, apperr.E(apperr.Invalid, "invalid_reserve_share", "reserve_share must be between 0 and 1")
	}
	if err := spec.Fees.Validate(); err != nil {
		return 0, err
	}
	if err := ValidatePriceTypes(spec.PriceTypes); err != nil {
		return 0, err
	}
	if spec.PriceTypes == nil {
		spec.PriceTypes = []PriceType{}
	}
	var eventID int64
	created := 0 // seats copied; 0 when a seeded event already existed
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		created = 0
		if spec.SeedKey != "" {
			err := tx.QueryRow(ctx, `SELECT id FROM events WHERE seed_key = $1`, spec.SeedKey).Scan(&eventID)
			if err == nil {
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("seatmap: find seeded event: %w", err)
			}
		}
		var raw []byte
		// FOR KEY SHARE: an edit of the venue (UpdateVenue) waits for this
		// event, or this event for the edit, never both at once.
		err := tx.QueryRow(ctx, `SELECT layout FROM venues WHERE id = $1 FOR KEY SHARE`, spec.VenueID).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrVenueNotFound
		}
		if err != nil {
			return fmt.Errorf("seatmap: read venue %d: %w", spec.VenueID, err)
		}
		var layout Layout
		if err := json.Unmarshal(raw, &layout); err != nil {
			return fmt.Errorf("seatmap: decode venue %d layout: %w", spec.VenueID, err)
		}
		if err := checkPriceKeys(spec.Prices, layout); err != nil {
			return err
		}
		places := layout.Places()
		var seedKey *string
		if spec.SeedKey != "" {
			seedKey = &spec.SeedKey
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO events (venue_id, name, seed_key, event_date, sale_opens, currency, capacity,
			                    max_seats_per_account, reserve_share, waiting_room, resale_cap_percent, print_at_home,
			                    fees, price_types, description, artist, genre)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce(nullif($11, 0), 100), $12, $13, $14, $15, $16, $17) RETURNING id`,
			spec.VenueID, spec.Name, seedKey, spec.EventDate, spec.SaleOpens, spec.Currency,
			len(places), spec.MaxSeatsPerAccount, spec.ReserveShare, spec.WaitingRoom, spec.ResaleCapPercent,
			spec.PrintAtHome, spec.Fees, spec.PriceTypes, spec.Info.Description, spec.Info.Artist, spec.Info.Genre).Scan(&eventID)
		if err != nil {
			return fmt.Errorf("seatmap: insert event: %w", err)
		}
		created = len(places)
		if err := insertSeats(ctx, tx, eventID, layout, places, spec); err != nil {
			return err
		}
		if spec.AccessibleReleaseAt != nil {
			_, err = scheduleAccessible(ctx, tx, eventID, *spec.AccessibleReleaseAt)
		}
		return err
	})
	if err == nil {
		s.readySeats(ctx, eventID, created)
	}
	return eventID, err
}

// ErrUnknownPriceKey is a price key that names no seat type, section or
// tier of the venue (nor "default"): a typo would otherwise be ignored.
var ErrUnknownPriceKey = apperr.E(apperr.Invalid, "unknown_price_key", "a price key names no seat type, section or tier of the venue")

// checkPriceKeys refuses price keys that price no seat of the layout.
func checkPriceKeys(prices map[string]int64, layout Layout) error {
	known := map[string]bool{"default": true, SeatStandard: true, SeatVIP: true, SeatAccessible: true}
	for _, sec := range layout.Sections {
		known[sec.ID], known[sec.Tier] = true, true
	}
	for _, seat := range layout.Seats {
		known[seat.Type] = true
	}
	for k := range prices {
		if !known[k] {
			return ErrUnknownPriceKey.With("key", k)
		}
	}
	return nil
}

// insertSeats copies a layout's sections and places (Layout.Places) into an
// event. Only seats are held back by ReserveShare: a ga area sells whole.
func insertSeats(ctx context.Context, tx pgx.Tx, eventID int64, layout Layout, places []SeatSpec, spec EventSpec) error {
	tiers := make(map[string]string, len(layout.Sections))
	secRows := make([][]any, len(layout.Sections))
	for i, sec := range layout.Sections {
		tiers[sec.ID] = sec.Tier
		kind, capacity := KindSeated, (*int32)(nil)
		if sec.IsGA() {
			c := int32(sec.Capacity)
			kind, capacity = KindGA, &c
		}
		secRows[i] = []any{eventID, sec.ID, sec.Name, sec.Tier, sec.Rank, kind, capacity}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"event_sections"},
		[]string{"event_id", "id", "name", "tier", "rank", "kind", "capacity"}, pgx.CopyFromRows(secRows)); err != nil {
		return fmt.Errorf("seatmap: insert sections: %w", err)
	}
	reasons := reserveReasons(layout.Seats, spec.ReserveShare)
	rows := make([][]any, len(places))
	for i, seat := range places {
		price, ok := priceOf(spec.Prices, seat, tiers[seat.Section])
		if !ok {
			return ErrNoPrice.With("section", seat.Section).With("type", seat.Type)
		}
		status, reason := "available", (*string)(nil)
		if r, ok := reasons[i]; ok {
			status, reason = "reserved", &r
		}
		rows[i] = []any{eventID, int32(i), seat.Section, seat.Row, int32(seat.Number), float32(seat.X), float32(seat.Y),
			seat.Type, int32(seat.Rank), price, status, reason}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"seats"},
		[]string{"event_id", "idx", "section", "row_label", "number", "x", "y", "seat_type", "rank",
			"price_cents", "status", "reserved_reason"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("seatmap: insert seats: %w", err)
	}
	return nil
}

// Reasons a seat is held back from the public sale.
const (
	ReserveAccessibility = "accessibility"
	ReserveArtist        = "artist"
	ReserveDayOf         = "day_of"
)

// reserveReasons picks round(share × capacity) seats to hold back, by seat
// index: accessible seats first (sold through a separate channel), then a
// fifth of the rest from the best seats for the artist, then seats spread
// evenly over the venue for the day-of sale.
func reserveReasons(seats []SeatSpec, share float64) map[int]string {
	want := int(math.Round(share * float64(len(seats))))
	out := make(map[int]string, want)
	for i, seat := range seats {
		if len(out) == want {
			return out
		}
		if seat.Type == SeatAccessible {
			out[i] = ReserveAccessibility
		}
	}
	rest := want - len(out)
	byRank := make([]int, 0, len(seats))
	for i := range seats {
		if _, ok := out[i]; !ok {
			byRank = append(byRank, i)
		}
	}
	sort.SliceStable(byRank, func(a, b int) bool { return seats[byRank[a]].Rank < seats[byRank[b]].Rank })
	artist := rest / 5
	for _, i := range byRank[:artist] {
		out[i] = ReserveArtist
	}
	dayOf := want - len(out)
	if dayOf <= 0 {
		return out
	}
	stride := float64(len(seats)) / float64(dayOf)
	for k, pos := 0, 0.0; k < dayOf && pos < float64(len(seats)); pos += stride {
		for i := int(pos); i < len(seats); i++ {
			if _, ok := out[i]; !ok {
				out[i] = ReserveDayOf
				k++
				break
			}
		}
	}
	return out
}
