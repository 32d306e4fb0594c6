package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
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

var _ seatmap.StreamReader = seatPublisher{}

// Published reads back the changes after a position, merged per seat, for
// seatmap's stream repair.
func (p seatPublisher) Published(ctx context.Context, eventID int64, after seatmap.Position) ([]seatmap.SeatChange, seatmap.Position, error) {
	d, err := p.stream.Diffs(ctx, eventID, after.Epoch, after.Seq)
	if errors.Is(err, realtime.ErrDiffsGone) {
		return nil, after, seatmap.ErrStreamGone
	}
	if err != nil {
		return nil, after, err
	}
	out := make([]seatmap.SeatChange, 0, len(d.Seats))
	for _, e := range d.Seats {
		if len(e.State) == 1 {
			out = append(out, seatmap.SeatChange{Idx: int32(e.Idx), State: e.State[0], Version: e.Version})
		}
	}
	return out, seatmap.Position{Epoch: d.Epoch, Seq: d.To}, nil
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

// statsPublisher sends the admin stats frames under a Redis lease per
// event held by one node: every node with an admin watching builds the
// frame each second, and only the lease holder publishes it, so admins on
// several nodes get one frame a second, not one per node. The holder keeps
// the lease as long as it publishes (a late tick followed by a quick one
// must not lose a frame: the lost frame was the one carrying the holds of
// its second); another node takes over once the holder has been silent for
// statsLease. When Redis does not answer the frame goes out anyway (the
// broker is Redis too, so it likely fails the same way).
type statsPublisher struct {
	frames *realtime.Frames
	rdb    redis.UniversalClient
	prefix string
	node   string // this node's lease value
	lease  time.Duration
}

func newStatsPublisher(frames *realtime.Frames, rdb redis.UniversalClient, prefix, node string) statsPublisher {
	return statsPublisher{frames: frames, rdb: rdb, prefix: prefix, node: node, lease: statsLease}
}

// statsLease is how long a silent holder keeps the lease: two ticks.
const statsLease = 2 * time.Second

// statsLeaseScript takes or renews the lease for ARGV[1]: 1 when this node
// holds it now.
var statsLeaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// PublishStats publishes when this node holds the event's lease.
func (p statsPublisher) PublishStats(ctx context.Context, eventID int64, stats map[string]any) error {
	key := p.prefix + "ev:{" + strconv.FormatInt(eventID, 10) + "}:statslease"
	if n, err := statsLeaseScript.Run(ctx, p.rdb, []string{key}, p.node, p.lease.Milliseconds()).Int(); err == nil && n == 0 {
		return nil
	}
	return p.frames.PublishStats(ctx, eventID, stats)
}

// nodeID names this process among the nodes sharing a Redis: the host name
// and a random suffix (two nodes may share a host).
func nodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}
