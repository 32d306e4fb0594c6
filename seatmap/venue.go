package seatmap

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

// ErrVenueInUse refuses to change the layout of a venue an event uses. The
// event copied the seats when it was made, so changing the venue would not
// change the event anyway; refusing keeps the venue and its events telling
// the same story. A changed venue is a new venue.
var ErrVenueInUse = apperr.E(apperr.Conflict, "venue_in_use",
	"an event uses this venue, so its layout can no longer change: create a new venue instead")

// VenueUse is a venue with how many events use it and so whether it can
// still be edited.
type VenueUse struct {
	Venue
	Events    int       `json:"events"`
	Editable  bool      `json:"editable"`
	CreatedAt time.Time `json:"created_at"`
}

// VenueSummary is a venue in the admin's list: its use, and what an
// event's prices can name (its sections and the seat types it has).
type VenueSummary struct {
	VenueUse
	Sections  []Section `json:"sections"`
	SeatTypes []string  `json:"seat_types"`
}

// VenueDetail is a venue with its layout and, when the venue builder made
// it, the design it was built from: what an admin exports and edits.
type VenueDetail struct {
	VenueUse
	Layout Layout  `json:"layout"`
	Design *Design `json:"design"`
}

// maxVenueList bounds the admin's venue list; a deployment has tens of
// venues, not thousands.
const maxVenueList = 500

// Venues lists the venues, newest first.
func (s *Service) Venues(ctx context.Context) ([]VenueSummary, error) {
	rows, err := s.db.Query(ctx, `
		SELECT v.id, v.name, v.capacity, v.city, v.time_zone, v.created_at,
		       (SELECT count(*) FROM events e WHERE e.venue_id = v.id),
		       coalesce(v.layout->'sections', '[]'::jsonb),
		       coalesce((SELECT array_agg(DISTINCT seat->>'type' ORDER BY seat->>'type')
		                 FROM jsonb_array_elements(coalesce(v.layout->'seats', '[]'::jsonb)) seat), '{}')
		FROM venues v ORDER BY v.id DESC LIMIT $1`, maxVenueList)
	if err != nil {
		return nil, fmt.Errorf("seatmap: list venues: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (VenueSummary, error) {
		var v VenueSummary
		err := row.Scan(&v.ID, &v.Name, &v.Capacity, &v.City, &v.TimeZone, &v.CreatedAt, &v.Events, &v.Sections, &v.SeatTypes)
		v.Editable = v.Events == 0
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("seatmap: list venues: %w", err)
	}
	for i := range out {
		for j := range out[i].Sections {
			if out[i].Sections[j].Kind == "" {
				out[i].Sections[j].Kind = KindSeated
			}
		}
	}
	return out, nil
}

// VenueDetail returns one venue with its layout and design.
func (s *Service) VenueDetail(ctx context.Context, id int64) (VenueDetail, error) {
	var v VenueDetail
	var layout, design []byte
	err := s.db.QueryRow(ctx, `
		SELECT v.id, v.name, v.capacity, v.city, v.time_zone, v.created_at, v.layout, v.design,
		       (SELECT count(*) FROM events e WHERE e.venue_id = v.id)
		FROM venues v WHERE v.id = $1`, id).
		Scan(&v.ID, &v.Name, &v.Capacity, &v.City, &v.TimeZone, &v.CreatedAt, &layout, &design, &v.Events)
	if errors.Is(err, pgx.ErrNoRows) {
		return VenueDetail{}, ErrVenueNotFound
	}
	if err != nil {
		return VenueDetail{}, fmt.Errorf("seatmap: read venue %d: %w", id, err)
	}
	v.Editable = v.Events == 0
	if err := json.Unmarshal(layout, &v.Layout); err != nil {
		return VenueDetail{}, fmt.Errorf("seatmap: decode venue %d layout: %w", id, err)
	}
	if design != nil {
		v.Design = new(Design)
		if err := json.Unmarshal(design, v.Design); err != nil {
			return VenueDetail{}, fmt.Errorf("seatmap: decode venue %d design: %w", id, err)
		}
	}
	return v, nil
}

// VenueSpec is what a venue is made of: a name, a place and a layout, and
// the design the layout was built from when the builder made it.
type VenueSpec struct {
	Name   string
	Place  Place
	Layout Layout
	Design *Design
}

// CreateVenueFrom stores a new venue, with its design when it has one.
func (s *Service) CreateVenueFrom(ctx context.Context, spec VenueSpec) (Venue, error) {
	return s.storeVenue(ctx, 0, spec)
}

// UpdateVenue replaces a venue's name, place and layout, until an event
// uses it (ErrVenueInUse). The venue row is locked FOR UPDATE, which waits
// for an event being created on it (CreateEvent reads the layout FOR KEY
// SHARE), so a new event either sees the new layout or blocks the change.
func (s *Service) UpdateVenue(ctx context.Context, id int64, spec VenueSpec) (Venue, error) {
	return s.storeVenue(ctx, id, spec)
}

// storeVenue inserts a venue (id 0) or replaces one.
func (s *Service) storeVenue(ctx context.Context, id int64, spec VenueSpec) (Venue, error) {
	place, err := spec.Place.normalize()
	if err != nil {
		return Venue{}, err
	}
	if err := spec.Layout.Validate(); err != nil {
		return Venue{}, invalidLayout(err)
	}
	raw, err := json.Marshal(spec.Layout)
	if err != nil {
		return Venue{}, fmt.Errorf("seatmap: encode layout: %w", err)
	}
	var design []byte
	if spec.Design != nil {
		if design, err = json.Marshal(spec.Design); err != nil {
			return Venue{}, fmt.Errorf("seatmap: encode design: %w", err)
		}
	}
	v := Venue{ID: id, Name: spec.Name, Capacity: len(spec.Layout.Places()), City: place.City, TimeZone: place.TimeZone}
	if id == 0 {
		err = s.db.QueryRow(ctx, `INSERT INTO venues (name, layout, capacity, city, time_zone, design) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			spec.Name, raw, v.Capacity, v.City, v.TimeZone, design).Scan(&v.ID)
		if err != nil {
			return Venue{}, fmt.Errorf("seatmap: create venue %q: %w", spec.Name, err)
		}
		return v, nil
	}
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		// Lock first, then look for events in a statement of its own: its
		// snapshot, taken after the lock was granted, sees an event whose
		// creation the lock waited for.
		_, err := tx.Exec(ctx, `SELECT 1 FROM venues WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return fmt.Errorf("seatmap: lock venue %d: %w", id, err)
		}
		var exists, used bool
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM venues WHERE id = $1), EXISTS (SELECT 1 FROM events WHERE venue_id = $1)`, id).Scan(&exists, &used)
		switch {
		case err != nil:
			return fmt.Errorf("seatmap: venue %d in use: %w", id, err)
		case !exists:
			return ErrVenueNotFound
		case used:
			return ErrVenueInUse
		}
		_, err = tx.Exec(ctx, `UPDATE venues SET name = $2, layout = $3, capacity = $4, city = $5, time_zone = $6, design = $7 WHERE id = $1`,
			id, spec.Name, raw, v.Capacity, v.City, v.TimeZone, design)
		if err != nil {
			return fmt.Errorf("seatmap: update venue %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Venue{}, err
	}
	return v, nil
}
