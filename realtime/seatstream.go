package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// SeatStream is the seat-diff stream in Redis. cmd/boxoffice adapts it to
// seatmap.Publisher (realtime does not import seatmap, which brings pgx).
// Per event it keeps, under one {event} hash tag (one Redis Cluster slot):
//
//	ev:{E}:epoch   a random id, created when missing: if Redis lost the
//	               stream, the new epoch tells clients to refetch
//	ev:{E}:seq     the last sequence number
//	ev:{E}:diffs   a capped stream of the last MaxLen publishes, entry id
//	               "<seq>-0", field "s" = the JSON seat entries
//
// and publishes each change on the event's seats topic. One Lua script does
// all of it, so seq, stream and publish never disagree.
type SeatStream struct {
	rdb    redis.UniversalClient
	prefix string
	// lost holds the events whose last publish failed: their stream has a
	// change nobody can see (no seq was taken), so the next script run
	// starts a new epoch and clients refetch instead of missing it.
	lost sync.Map // int64 → struct{}
	// MaxLen caps the catch-up stream (approximately; default 5000
	// publishes). A client further behind refetches the snapshot.
	MaxLen int64
}

// NewSeatStream returns a stream whose keys and channels start with prefix
// (the same prefix as the RedisBroker's).
func NewSeatStream(rdb redis.UniversalClient, prefix string) *SeatStream {
	return &SeatStream{rdb: rdb, prefix: prefix, MaxLen: 5000}
}

func (p *SeatStream) keys(eventID int64) []string {
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

var publishScript = redis.NewScript(epochLua + `
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], tostring(seq) .. '-0', 's', ARGV[3])
local frame = '{"type":"seats","event":"' .. ARGV[6] .. '","epoch":"' .. epoch .. '","from":' ..
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
func (p *SeatStream) resetFlag(eventID int64) string {
	if _, ok := p.lost.Load(eventID); ok {
		return "1"
	}
	return "0"
}

// Publish appends one diff with the absolute states of entries (after
// their commit) and publishes it on the event's seats topic.
func (p *SeatStream) Publish(ctx context.Context, eventID int64, entries []SeatEntry) error {
	if len(entries) == 0 {
		return nil
	}
	seats, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("realtime: encode seats of event %d: %w", eventID, err)
	}
	id := strconv.FormatInt(eventID, 10)
	err = publishScript.Run(ctx, p.rdb, p.keys(eventID),
		newEpoch(), p.resetFlag(eventID), seats, p.MaxLen, p.prefix+SeatsTopic(eventID), id).Err()
	if err != nil {
		p.lost.Store(eventID, struct{}{})
		return fmt.Errorf("realtime: publish seats of event %d: %w", eventID, err)
	}
	p.lost.Delete(eventID)
	return nil
}

// Position returns the event's stream position, creating the epoch if
// Redis has none (the snapshot reads it before Postgres; the hub's
// heartbeats carry it: HubConfig.Positions).
func (p *SeatStream) Position(ctx context.Context, eventID int64) (Position, error) {
	return p.position(ctx, eventID)
}

func (p *SeatStream) position(ctx context.Context, eventID int64) (Position, error) {
	res, err := positionScript.Run(ctx, p.rdb, p.keys(eventID), newEpoch(), p.resetFlag(eventID)).Slice()
	if err != nil {
		return Position{}, fmt.Errorf("realtime: position of event %d: %w", eventID, err)
	}
	p.lost.Delete(eventID)
	return scriptPosition(res)
}

func scriptPosition(res []any) (Position, error) {
	if len(res) != 2 {
		return Position{}, fmt.Errorf("realtime: position: unexpected reply %v", res)
	}
	epoch, _ := res[0].(string)
	seq, _ := res[1].(int64)
	return Position{Epoch: epoch, Seq: seq}, nil
}

// ErrDiffsGone means the diffs asked for are no longer kept (trimmed, or
// from another epoch): refetch the snapshot.
var ErrDiffsGone = errors.New("realtime: diffs no longer kept")

// Diffs is a catch-up answer: the seats changed in (From, To], one entry
// per seat with its latest state.
type Diffs struct {
	Epoch string      `json:"epoch"`
	From  int64       `json:"from"`
	To    int64       `json:"to"`
	Seats []SeatEntry `json:"seats"`
}

// maxCatchUp bounds one catch-up read; further behind, a snapshot is
// cheaper.
const maxCatchUp = 5000

// Diffs returns the changes after seq from, merged per seat. epoch, when
// not empty, must be the current epoch. ErrDiffsGone when the stream no
// longer reaches back to from.
func (p *SeatStream) Diffs(ctx context.Context, eventID int64, epoch string, from int64) (Diffs, error) {
	keys := p.keys(eventID)
	pos, err := p.position(ctx, eventID)
	if err != nil {
		return Diffs{}, err
	}
	if (epoch != "" && epoch != pos.Epoch) || from > pos.Seq {
		return Diffs{}, ErrDiffsGone
	}
	out := Diffs{Epoch: pos.Epoch, From: from, To: from, Seats: []SeatEntry{}}
	if from == pos.Seq {
		return out, nil
	}
	if pos.Seq-from > maxCatchUp {
		return Diffs{}, ErrDiffsGone
	}
	msgs, err := p.rdb.XRange(ctx, keys[2], strconv.FormatInt(from+1, 10)+"-0", strconv.FormatInt(pos.Seq, 10)+"-0").Result()
	if err != nil {
		return Diffs{}, fmt.Errorf("realtime: diffs of event %d: %w", eventID, err)
	}
	want := from + 1
	var all []SeatEntry
	for _, m := range msgs {
		seq, err := strconv.ParseInt(m.ID[:len(m.ID)-2], 10, 64)
		if err != nil || seq != want {
			// The stream was trimmed past from (or lost an entry).
			return Diffs{}, ErrDiffsGone
		}
		want++
		raw, _ := m.Values["s"].(string)
		var es []SeatEntry
		if err := json.Unmarshal([]byte(raw), &es); err != nil {
			return Diffs{}, fmt.Errorf("realtime: diffs of event %d: entry %s: %w", eventID, m.ID, err)
		}
		all = append(all, es...)
	}
	if want != pos.Seq+1 {
		return Diffs{}, ErrDiffsGone
	}
	out.To = pos.Seq
	out.Seats = MergeSeats(all)
	return out, nil
}
