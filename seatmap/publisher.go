package seatmap

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
)

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
// may arrive out of order or twice. In JSON (diff frames, catch-up) it is
// [idx,"state letter",version].
type SeatChange struct {
	Idx     int32
	State   byte
	Version int64
}

// MarshalJSON encodes [idx,"s",version].
func (c SeatChange) MarshalJSON() ([]byte, error) { return c.appendJSON(make([]byte, 0, 24)), nil }

func (c SeatChange) appendJSON(b []byte) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(c.Idx), 10)
	b = append(b, ',', '"', c.State, '"', ',')
	b = strconv.AppendInt(b, c.Version, 10)
	return append(b, ']')
}

var errBadChange = errors.New("seatmap: a seat change is [idx,\"state letter\",version]")

// UnmarshalJSON decodes [idx,"s",version]; the state is one letter.
func (c *SeatChange) UnmarshalJSON(b []byte) error {
	var raw [3]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var state string
	if err := json.Unmarshal(raw[0], &c.Idx); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &state); err != nil {
		return err
	}
	if len(state) != 1 {
		return errBadChange
	}
	c.State = state[0]
	return json.Unmarshal(raw[2], &c.Version)
}

// MergeChanges keeps, per seat, the change with the highest version, in idx
// order. Changes may come in any order and more than once.
func MergeChanges(changes []SeatChange) []SeatChange {
	best := make(map[int32]SeatChange, len(changes))
	for _, c := range changes {
		if old, ok := best[c.Idx]; !ok || c.Version > old.Version {
			best[c.Idx] = c
		}
	}
	out := make([]SeatChange, 0, len(best))
	for _, c := range best {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b SeatChange) int { return int(a.Idx - b.Idx) })
	return out
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
