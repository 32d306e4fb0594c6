package seatmap

import "context"

// Availability letters, one per seat in the snapshot and in diffs (the
// statuses string of GET /api/events/{event}/availability).
const (
	StateAvailable byte = 'a'
	StateHeld      byte = 'h'
	StateSold      byte = 's'
	StateReserved  byte = 'r'
	StateResale    byte = 'x'
)

// stateLetter is the availability letter of a seats.status value.
func stateLetter(status string) byte {
	switch status {
	case "available":
		return StateAvailable
	case "held":
		return StateHeld
	case "sold":
		return StateSold
	case "resale":
		return StateResale
	}
	return StateReserved
}

// SeatChange is the absolute new state of one seat after a committed
// transition. Receivers keep the change with the higher Version, so changes
// may arrive out of order or twice.
type SeatChange struct {
	Idx     int32
	State   byte
	Version int64
}

// Position is a place in an event's stream of seat changes: Epoch changes
// when the stream was lost (Redis restarted), Seq grows with every publish.
type Position struct {
	Epoch string `json:"epoch"`
	Seq   int64  `json:"seq"`
}

// Publisher receives every committed seat transition, after the commit. It
// must not block for long: it runs on the request path. An error is logged and
// otherwise ignored, since Postgres already holds the truth and clients
// resync from the snapshot.
type Publisher interface {
	PublishSeats(ctx context.Context, eventID int64, changes []SeatChange) error
	// Position is read before the snapshot's Postgres read, so a client that
	// applies diffs after it never misses a change.
	Position(ctx context.Context, eventID int64) (Position, error)
}

// NopPublisher publishes nothing; it serves one node without live updates
// and tests that do not look at diffs.
type NopPublisher struct{}

// PublishSeats does nothing.
func (NopPublisher) PublishSeats(context.Context, int64, []SeatChange) error { return nil }

// Position is always the zero position.
func (NopPublisher) Position(context.Context, int64) (Position, error) { return Position{}, nil }

var _ Publisher = NopPublisher{}
