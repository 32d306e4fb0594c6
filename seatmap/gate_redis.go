package seatmap

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisGate keeps one key per held seat, valued with the hold id. All keys of
// an event share the {event} hash tag, so each script runs on one Redis
// Cluster slot.
type RedisGate struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Gate = (*RedisGate)(nil)

// NewRedisGate returns a gate on rdb whose keys start with prefix.
func NewRedisGate(rdb redis.UniversalClient, prefix string) *RedisGate {
	return &RedisGate{rdb: rdb, prefix: prefix}
}

// acquireScript marks all seats or none: it returns the 1-based positions
// of keys that already exist, and sets every key only when there are none.
var acquireScript = redis.NewScript(`
local taken = {}
for i, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then taken[#taken + 1] = i end
end
if #taken == 0 then
  for _, k in ipairs(KEYS) do redis.call('SET', k, ARGV[1], 'PX', ARGV[2]) end
end
return taken
`)

// acquireBatchScript is acquireScript for several holds, one after
// another, each all or nothing: KEYS are every hold's seat keys in a row,
// ARGV the expiry, then per hold its id and how many keys it has. It
// returns, per hold, the 1-based positions of its keys already set (by
// earlier holds of the call too).
var acquireBatchScript = redis.NewScript(`
local px = ARGV[1]
local out = {}
local k = 0
for h = 1, (#ARGV - 1) / 2 do
  local id, n = ARGV[2 * h], tonumber(ARGV[2 * h + 1])
  local taken = {}
  for i = 1, n do
    if redis.call('EXISTS', KEYS[k + i]) == 1 then taken[#taken + 1] = i end
  end
  if #taken == 0 then
    for i = 1, n do redis.call('SET', KEYS[k + i], id, 'PX', px) end
  end
  out[h] = taken
  k = k + n
end
return out
`)

// releaseScript deletes the keys still valued with this hold id: a key that
// a later hold took over is left alone.
var releaseScript = redis.NewScript(`
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k); n = n + 1 end
end
return n
`)

// gateMargin keeps a gate key alive a little past its hold, so the key
// never expires before Postgres lets the seat go (one clock: Postgres).
const gateMargin = 5 * time.Second

func (g *RedisGate) keys(eventID int64, seatIDs []int64) []string {
	keys := make([]string, len(seatIDs))
	tag := g.prefix + "ev:{" + strconv.FormatInt(eventID, 10) + "}:seat:"
	for i, id := range seatIDs {
		keys[i] = tag + strconv.FormatInt(id, 10)
	}
	return keys
}

// Acquire implements Gate.
func (g *RedisGate) Acquire(ctx context.Context, eventID int64, seatIDs []int64, holdID string, ttl time.Duration) ([]int64, error) {
	res, err := acquireScript.Run(ctx, g.rdb, g.keys(eventID, seatIDs), holdID, (ttl + gateMargin).Milliseconds()).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("seatmap: gate acquire: %w", err)
	}
	var taken []int64
	for _, pos := range res {
		if pos >= 1 && int(pos) <= len(seatIDs) {
			taken = append(taken, seatIDs[pos-1])
		}
	}
	return taken, nil
}

var _ batchGate = (*RedisGate)(nil)

// AcquireBatch is Acquire for the holds of a round (holdbatch.go), in one
// script call: each hold in turn, all or nothing, so a hold that wants a
// seat an earlier one of the round took is refused as if they had come
// one after the other.
func (g *RedisGate) AcquireBatch(ctx context.Context, eventID int64, holds []gateHold, ttl time.Duration) ([][]int64, error) {
	var keys []string
	args := make([]any, 1, 1+2*len(holds))
	args[0] = (ttl + gateMargin).Milliseconds()
	for _, h := range holds {
		keys = append(keys, g.keys(eventID, h.seatIDs)...)
		args = append(args, h.holdID, len(h.seatIDs))
	}
	res, err := acquireBatchScript.Run(ctx, g.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("seatmap: gate acquire: %w", err)
	}
	if len(res) != len(holds) {
		return nil, fmt.Errorf("seatmap: gate acquire: %d answers for %d holds", len(res), len(holds))
	}
	taken := make([][]int64, len(holds))
	for i, r := range res {
		pos, _ := r.([]any)
		for _, p := range pos {
			if p, ok := p.(int64); ok && p >= 1 && int(p) <= len(holds[i].seatIDs) {
				taken[i] = append(taken[i], holds[i].seatIDs[p-1])
			}
		}
	}
	return taken, nil
}

// Release implements Gate.
func (g *RedisGate) Release(ctx context.Context, eventID int64, seatIDs []int64, holdID string) error {
	if err := releaseScript.Run(ctx, g.rdb, g.keys(eventID, seatIDs), holdID).Err(); err != nil {
		return fmt.Errorf("seatmap: gate release: %w", err)
	}
	return nil
}

// soldMark is the value of a sold seat's key; it matches no hold id, so
// Release never deletes it.
const soldMark = "sold"

// MarkSold implements Gate: plain SETs without expiry, one round trip.
func (g *RedisGate) MarkSold(ctx context.Context, eventID int64, seatIDs []int64) error {
	pipe := g.rdb.Pipeline()
	for _, k := range g.keys(eventID, seatIDs) {
		pipe.Set(ctx, k, soldMark, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("seatmap: gate mark sold: %w", err)
	}
	return nil
}

// ReturnSold implements Gate: the release script, matching the sold mark
// instead of a hold id, so a key some hold took since is left alone.
func (g *RedisGate) ReturnSold(ctx context.Context, eventID int64, seatIDs []int64) error {
	if err := releaseScript.Run(ctx, g.rdb, g.keys(eventID, seatIDs), soldMark).Err(); err != nil {
		return fmt.Errorf("seatmap: gate return sold: %w", err)
	}
	return nil
}

// Holders implements Gate: one MGET.
func (g *RedisGate) Holders(ctx context.Context, eventID int64, seatIDs []int64) ([]string, error) {
	vals, err := g.rdb.MGet(ctx, g.keys(eventID, seatIDs)...).Result()
	if err != nil {
		return nil, fmt.Errorf("seatmap: gate holders: %w", err)
	}
	out := make([]string, len(seatIDs))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = s
		}
	}
	return out, nil
}

// Healthy implements Gate.
func (g *RedisGate) Healthy(ctx context.Context) error { return g.rdb.Ping(ctx).Err() }
