package main

import (
	"context"

	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
)

// seatPublisher adapts the Redis seat-diff stream to the publisher seatmap
// declares: seatmap stays free of realtime, and realtime of seatmap (and
// the pgx it brings).
type seatPublisher struct{ stream *realtime.SeatStream }

var _ seatmap.Publisher = seatPublisher{}

// PublishSeats publishes the absolute states of committed changes.
func (p seatPublisher) PublishSeats(ctx context.Context, eventID int64, changes []seatmap.SeatChange) error {
	return p.stream.Publish(ctx, eventID, seatEntries(changes))
}

// Position is the stream position the snapshot reads before Postgres.
func (p seatPublisher) Position(ctx context.Context, eventID int64) (seatmap.Position, error) {
	pos, err := p.stream.Position(ctx, eventID)
	return seatmap.Position{Epoch: pos.Epoch, Seq: pos.Seq}, err
}

func seatEntries(changes []seatmap.SeatChange) []realtime.SeatEntry {
	out := make([]realtime.SeatEntry, len(changes))
	for i, c := range changes {
		out[i] = realtime.SeatEntry{Idx: int64(c.Idx), State: string(c.State), Version: c.Version}
	}
	return out
}
