package main

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
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

// queuePublisher carries the waiting room's frames over realtime; each
// package keeps its own frame type, so neither imports the other.
type queuePublisher struct{ frames *realtime.Frames }

var _ waitingroom.Publisher = queuePublisher{}

// PublishQueue broadcasts the cursor on event:{e}:queue.
func (p queuePublisher) PublishQueue(ctx context.Context, eventID int64, f waitingroom.QueueFrame) error {
	return p.frames.PublishQueue(ctx, eventID, realtime.QueueFrame{
		Event: strconv.FormatInt(eventID, 10), Serving: f.Serving, AdmitRate: f.AdmitRate, QueueLength: f.QueueLength,
	})
}

// PublishAdmitted tells one fan on their own channel.
func (p queuePublisher) PublishAdmitted(ctx context.Context, accountID, eventID int64, f waitingroom.AdmittedFrame) error {
	return p.frames.PublishAdmitted(ctx, accountID, eventID, realtime.AdmittedFrame{
		Event: strconv.FormatInt(eventID, 10), AdmissionToken: f.AdmissionToken, ExpiresAt: f.ExpiresAt,
	})
}

// statsPublisher sends the admin stats frames with a short Redis lease per
// event: every node with an admin watching builds the frame each second,
// and the first to take the lease in a tick publishes it, so admins on
// several nodes get one frame a second, not one per node. When Redis does
// not answer the frame goes out anyway (the broker is Redis too, so it
// likely fails the same way).
type statsPublisher struct {
	frames *realtime.Frames
	rdb    redis.UniversalClient
	prefix string
}

// statsLease is a little under the 1 s tick, so the holder's next tick
// finds it free and keeps publishing; another node takes over within a
// tick when the holder stops.
const statsLease = 900 * time.Millisecond

// PublishStats publishes unless another node published this tick.
func (p statsPublisher) PublishStats(ctx context.Context, eventID int64, stats map[string]any) error {
	key := p.prefix + "ev:{" + strconv.FormatInt(eventID, 10) + "}:statslease"
	if ok, err := p.rdb.SetNX(ctx, key, "1", statsLease).Result(); err == nil && !ok {
		return nil
	}
	return p.frames.PublishStats(ctx, eventID, stats)
}
