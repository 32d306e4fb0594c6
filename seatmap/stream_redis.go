package seatmap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// RedisStream is an event's stream of seat changes in Redis: the Publisher
// and StreamReader of a deployment with Redis. Per event it keeps, under
// one {event} hash tag (one Redis Cluster slot):
//
//	ev:{E}:epoch   a random id, created when missing: if Redis lost the
//	               stream, the new epoch tells clients to refetch
//	ev:{E}:seq     the last sequence number
//	ev:{E}:diffs   a capped stream of the last MaxLen publishes, entry id
//	               "<seq>-0", field "s" = the JSON seat changes
//
// and publishes each change as a diff frame (frame.go) on the event's
// channel, behind the stream-position header realtime's RedisBroker reads:
// __p1:<seq>:<epoch>__. One Lua script does all of it, so seq, stream and
// publish never disagree and publish order is seq order.
type RedisStream struct {
	rdb    redis.UniversalClient
	prefix string
	// channel names the Redis channel of an event's seat diffs.
	channel func(eventID int64) string
	// lost holds the events whose last publish failed: their stream has a
	// change nobody can see (no seq was taken), so the next script run
	// starts a new epoch and clients refetch instead of missing it.
	lost sync.Map // int64 → struct{}
	// MaxLen caps the catch-up stream (approximately; default 5000
	// publishes). A client further behind refetches the snapshot.
	MaxLen int64
}

var (
	_ Publisher    = (*RedisStream)(nil)
	_ StreamReader = (*RedisStream)(nil)
)

// NewRedisStream returns a stream whose keys start with prefix and which
// publishes an event's diffs on channel(eventID) (cmd names it after the
// broker's seats topic).
func NewRedisStream(rdb redis.UniversalClient, prefix string, channel func(eventID int64) string) *RedisStream {
	return &RedisStream{rdb: rdb, prefix: prefix, channel: channel, MaxLen: 5000}
}

func (p *RedisStream) keys(eventID int64) []string {
	tag := p.prefix + "ev:{" + strconv.FormatInt(eventID, 10) + "}:"
	return []string{tag + "epoch", tag + "seq", tag + "diffs"}
}

// epochLua makes sure the epoch exists; a new epoch drops seq and stream,
// which belonged to a lost one.
const epochLua = `
local epoch = redis.call('GET', KEYS[1])
if ARGV[2] == '1' then epoch = false end
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('DEL', KEYS[2], KEYS[3])
end
`

// publishScript writes the frame that seatFrame decodes, behind the
// broker's position header.
var publishScript = redis.NewScript(epochLua + `
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], tostring(seq) .. '-0', 's', ARGV[3])
local frame = '__p1:' .. tostring(seq) .. ':' .. epoch .. '__' ..
  '{"type":"seats","event":"' .. ARGV[6] .. '","epoch":"' .. epoch .. '","from":' ..
  tostring(seq - 1) .. ',"to":' .. tostring(seq) .. ',"seats":' .. ARGV[3] .. '}'
redis.call('PUBLISH', ARGV[5], frame)
return {epoch, seq}
`)

var positionScript = redis.NewScript(epochLua + `
return {epoch, tonumber(redis.call('GET', KEYS[2]) or '0')}
`)

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// resetFlag is "1" when the event's stream must start a new epoch.
func (p *RedisStream) resetFlag(eventID int64) string {
	if _, ok := p.lost.Load(eventID); ok {
		return "1"
	}
	return "0"
}

// PublishSeats appends one diff with the absolute states of changes (after
// their commit) and publishes it on the event's channel.
func (p *RedisStream) PublishSeats(ctx context.Context, eventID int64, changes []SeatChange) error {
	if len(changes) == 0 {
		return nil
	}
	seats := appendChanges(make([]byte, 0, 16*len(changes)), changes)
	id := strconv.FormatInt(eventID, 10)
	err := publishScript.Run(ctx, p.rdb, p.keys(eventID),
		newEpoch(), p.resetFlag(eventID), seats, p.MaxLen, p.channel(eventID), id).Err()
	if err != nil {
		p.lost.Store(eventID, struct{}{})
		return fmt.Errorf("seatmap: publish seats of event %d: %w", eventID, err)
	}
	p.lost.Delete(eventID)
	return nil
}

// Position returns the event's stream position, creating the epoch if
// Redis has none (the snapshot reads it before Postgres).
func (p *RedisStream) Position(ctx context.Context, eventID int64) (Position, error) {
	res, err := positionScript.Run(ctx, p.rdb, p.keys(eventID), newEpoch(), p.resetFlag(eventID)).Slice()
	if err != nil {
		return Position{}, fmt.Errorf("seatmap: stream position of event %d: %w", eventID, err)
	}
	p.lost.Delete(eventID)
	if len(res) != 2 {
		return Position{}, fmt.Errorf("seatmap: stream position of event %d: unexpected reply %v", eventID, res)
	}
	epoch, _ := res[0].(string)
	seq, _ := res[1].(int64)
	return Position{Epoch: epoch, Seq: seq}, nil
}

// Head is Position as realtime's hub asks for it (HubConfig.Positions), so
// its heartbeats carry the stream's own position, not only the last one
// the node heard.
func (p *RedisStream) Head(ctx context.Context, eventID int64) (epoch string, seq int64, err error) {
	pos, err := p.Position(ctx, eventID)
	return pos.Epoch, pos.Seq, err
}

// maxCatchUp bounds one catch-up read; further behind, a snapshot is
// cheaper.
const maxCatchUp = 5000

// Diffs returns the changes after a position, merged per seat. An empty
// after.Epoch accepts the current epoch; ErrStreamGone when the stream is of
// another epoch or no longer reaches back to after.Seq.
func (p *RedisStream) Diffs(ctx context.Context, eventID int64, after Position) (Diffs, error) {
	pos, err := p.Position(ctx, eventID)
	if err != nil {
		return Diffs{}, err
	}
	from := after.Seq
	if (after.Epoch != "" && after.Epoch != pos.Epoch) || from > pos.Seq {
		return Diffs{}, ErrStreamGone
	}
	out := Diffs{Epoch: pos.Epoch, From: from, To: from, Seats: []SeatChange{}}
	if from == pos.Seq {
		return out, nil
	}
	if pos.Seq-from > maxCatchUp {
		return Diffs{}, ErrStreamGone
	}
	msgs, err := p.rdb.XRange(ctx, p.keys(eventID)[2], strconv.FormatInt(from+1, 10)+"-0", strconv.FormatInt(pos.Seq, 10)+"-0").Result()
	if err != nil {
		return Diffs{}, fmt.Errorf("seatmap: diffs of event %d: %w", eventID, err)
	}
	want := from + 1
	var all []SeatChange
	for _, m := range msgs {
		seq, err := strconv.ParseInt(m.ID[:len(m.ID)-2], 10, 64)
		if err != nil || seq != want {
			// The stream was trimmed past from (or lost an entry).
			return Diffs{}, ErrStreamGone
		}
		want++
		raw, _ := m.Values["s"].(string)
		var cs []SeatChange
		if err := json.Unmarshal([]byte(raw), &cs); err != nil {
			return Diffs{}, fmt.Errorf("seatmap: diffs of event %d: entry %s: %w", eventID, m.ID, err)
		}
		all = append(all, cs...)
	}
	if want != pos.Seq+1 {
		return Diffs{}, ErrStreamGone
	}
	out.To = pos.Seq
	out.Seats = MergeChanges(all)
	return out, nil
}
