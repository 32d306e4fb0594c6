package waitingroom

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/fairdraw"
)

// Fan states, as GET /api/events/{event}/queue/me reports them.
const (
	StatePrequeue = "prequeue" // joined before the shuffle; no number yet
	StateWaiting  = "waiting"  // numbered, behind the cursor
	StateAdmitted = "admitted" // holds a live admission token
	StateExpired  = "expired"  // passed: admitted and expired/finished, or skipped without heartbeat
)

// Status is a fan's place: the body of POST /queue (201) and GET /queue/me.
type Status struct {
	State string `json:"state"`
	// Number is the fan's fixed queue number (0 in the pre-queue).
	Number int64 `json:"number"`
	// Position is number - cursor while waiting; null in the pre-queue.
	Position *int64 `json:"position"`
	// ETASeconds is position ÷ the smoothed observed admit rate.
	ETASeconds *int64 `json:"eta_seconds"`
	// AdmissionToken and AdmissionExpiresAt are set once admitted.
	AdmissionToken     string     `json:"admission_token,omitempty"`
	AdmissionExpiresAt *time.Time `json:"admission_expires_at,omitempty"`
	// ProofHash is the fan's entry in the event's fairness proof
	// (GET /api/events/{event}/queue/proof), so they can find themselves in
	// it; empty in a presale window's room, which has no draw.
	ProofHash string `json:"proof_hash"`
	// Presale is the window whose room the fan is in (absent: the
	// general sale's room).
	Presale int64 `json:"presale,omitempty,string"`
}

// statusLua computes a fan's status from the queue keys; it is shared by the
// join and me scripts. KEYS: q pre seq cursor adm rate. It returns
// {state, number, cursor, admission expiry ms, rate}.
const statusLua = `
local function status(acct, now)
  local cursor = tonumber(redis.call('GET', KEYS[4]) or '0')
  local rate = redis.call('GET', KEYS[6]) or '-1'
  local num = redis.call('ZSCORE', KEYS[1], acct)
  if not num then
    if redis.call('ZSCORE', KEYS[2], acct) then return {'prequeue', 0, cursor, '0', rate} end
    return {'none', 0, cursor, '0', rate}
  end
  num = tonumber(num)
  if num > cursor then return {'waiting', num, cursor, '0', rate} end
  local exp = redis.call('ZSCORE', KEYS[5], acct)
  if exp and tonumber(exp) > tonumber(now) then return {'admitted', num, cursor, exp, rate} end
  return {'expired', num, cursor, '0', rate}
end
`

// joinScript takes a place for ARGV[1] unless it has one: in the pre-queue
// until the shuffle, else the next number. It counts joins per second and
// records a heartbeat and the first join time (for the velocity signals).
// A presale window's room (ARGV[4] = 1) has no pre-queue: fans join it
// only while the window is open, and take numbers in arrival order.
// KEYS: q pre seq cursor adm rate opened hb jps jt [pow]. With the eleventh
// key, the proof of work's challenge, it first spends the challenge (SET NX
// for ARGV[3] ms) and returns {'replayed'} if it was spent already: one
// round trip per join instead of two, and a challenge is spent only with
// the join it paid for.
var joinScript = redis.NewScript(statusLua + `
local acct, now = ARGV[1], ARGV[2]
if KEYS[11] and not redis.call('SET', KEYS[11], 1, 'NX', 'PX', ARGV[3]) then return {'replayed'} end
if not redis.call('ZSCORE', KEYS[1], acct) and not redis.call('ZSCORE', KEYS[2], acct) then
  if ARGV[4] == '1' or redis.call('EXISTS', KEYS[7]) == 1 then
    redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), acct)
  else
    redis.call('ZADD', KEYS[2], now, acct)
  end
  redis.call('INCR', KEYS[9])
  redis.call('EXPIRE', KEYS[9], 5)
  redis.call('HSETNX', KEYS[10], acct, now)
end
redis.call('ZADD', KEYS[8], now, acct)
return status(acct, now)
`)

// meScript records a heartbeat of a fan in the queue and returns its
// status. KEYS: q pre seq cursor adm rate hb.
var meScript = redis.NewScript(statusLua + `
local acct, now = ARGV[1], ARGV[2]
local st = status(acct, now)
if st[1] ~= 'none' then redis.call('ZADD', KEYS[7], now, acct) end
return st
`)

func (s *Service) statusKeys(k keys) []string {
	return []string{k.q, k.pre, k.seq, k.cursor, k.adm, k.rate}
}

// Join takes a place in the event's queue for account after checking its
// proof of work, and spends the challenge in the same Redis script. Joining
// again returns the same place.
func (s *Service) Join(ctx context.Context, eventID, accountID int64, sol Solution) (Status, error) {
	return s.JoinRoom(ctx, RoomKey{EventID: eventID}, accountID, sol)
}

// JoinRoom is Join for any room of the event. The proof of work is the
// event's; a presale window's room takes fans only while the window is
// open and has no draw to seal.
func (s *Service) JoinRoom(ctx context.Context, room RoomKey, accountID int64, sol Solution) (Status, error) {
	eventID := room.EventID
	r, err := s.roomOf(ctx, room)
	if err != nil {
		return Status{}, err
	}
	if !r.Enabled {
		return Status{}, ErrRoomOff
	}
	now := s.cfg.Now()
	fifo := 0
	if room.PresaleID != 0 {
		if now.Before(r.SaleOpens) || !now.Before(r.closes) {
			return Status{}, ErrPresaleRoomClosed
		}
		fifo = 1
	}
	p, err := s.checkSolution(eventID, sol)
	if err != nil {
		return Status{}, err
	}
	if room.PresaleID == 0 {
		if err := s.seal(ctx, eventID); err != nil {
			return Status{}, err
		}
	}
	// The challenge stays spent until it expires, on every node.
	k := s.roomKeys(room)
	spent := p.expires.Sub(now) + time.Second
	jps := k.base + "jps:" + strconv.FormatInt(now.Unix(), 10)
	res, err := joinScript.Run(ctx, s.rdb, append(s.statusKeys(k), k.opened, k.hb, jps, k.base+"jt", k.base+"pow:"+p.nonce),
		accountID, now.UnixMilli(), spent.Milliseconds(), fifo).Slice()
	if err != nil {
		return Status{}, fmt.Errorf("waitingroom: join event %d: %w", eventID, err)
	}
	if len(res) == 1 && res[0] == "replayed" {
		return Status{}, ErrPowReplayed
	}
	return s.status(r, accountID, res)
}

// Me returns the fan's place and counts as a heartbeat.
func (s *Service) Me(ctx context.Context, eventID, accountID int64) (Status, error) {
	return s.MeRoom(ctx, RoomKey{EventID: eventID}, accountID)
}

// MeRoom is Me for any room of the event.
func (s *Service) MeRoom(ctx context.Context, room RoomKey, accountID int64) (Status, error) {
	eventID := room.EventID
	r, err := s.roomOf(ctx, room)
	if err != nil {
		return Status{}, err
	}
	k := s.roomKeys(room)
	res, err := meScript.Run(ctx, s.rdb, append(s.statusKeys(k), k.hb), accountID, s.cfg.Now().UnixMilli()).Slice()
	if err != nil {
		return Status{}, fmt.Errorf("waitingroom: status in event %d: %w", eventID, err)
	}
	return s.status(r, accountID, res)
}

// Release ends an account's admission at once, freeing its active-shopper
// place: checkout calls it when an order is written (checkout.Config.
// Admissions); otherwise, and after a decline, the admission ends when its
// token expires, so the fan may still try again within it. The fan may
// have come in through the general room or a presale window's: the place
// is freed in each of the event's rooms (a room the fan is not admitted to
// has nothing to free). The token itself stays valid until its expiry (it
// is stateless); the per-account seat cap bounds what it can still do.
func (s *Service) Release(ctx context.Context, eventID, accountID int64) error {
	windows, err := s.windowsOf(ctx, eventID)
	if err != nil {
		return err
	}
	pipe := s.rdb.Pipeline()
	pipe.ZRem(ctx, s.keys(eventID).adm, accountID)
	for _, p := range windows {
		pipe.ZRem(ctx, s.roomKeys(RoomKey{EventID: eventID, PresaleID: p}).adm, accountID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("waitingroom: release admission: %w", err)
	}
	return nil
}

// status turns a status script's reply into a Status.
func (s *Service) status(r room, accountID int64, res []any) (Status, error) {
	if len(res) != 5 {
		return Status{}, fmt.Errorf("waitingroom: status reply %v", res)
	}
	state, _ := res[0].(string)
	number, _ := res[1].(int64)
	cursor, _ := res[2].(int64)
	expMS, _ := strconv.ParseInt(fmt.Sprint(res[3]), 10, 64)
	rate, _ := strconv.ParseFloat(fmt.Sprint(res[4]), 64)
	if rate <= 0 {
		rate = float64(r.AdmitPerMinute) / 60
	}
	st := Status{State: state, Number: number, Presale: r.PresaleID}
	if r.PresaleID == 0 {
		st.ProofHash = s.ProofHash(r.EventID, accountID).String()
	}
	switch state {
	case "none":
		return Status{}, ErrNotInQueue
	case StateWaiting:
		pos := number - cursor
		eta := int64(math.Ceil(float64(pos) / rate))
		st.Position, st.ETASeconds = &pos, &eta
	case StateAdmitted:
		zero := int64(0)
		st.Position, st.ETASeconds = &zero, &zero
		exp := time.UnixMilli(expMS).UTC()
		tok, err := s.mintRoomToken(accountID, RoomKey{EventID: r.EventID, PresaleID: r.PresaleID}, exp)
		if err != nil {
			return Status{}, fmt.Errorf("waitingroom: mint token: %w", err)
		}
		st.AdmissionToken, st.AdmissionExpiresAt = tok, &exp
	}
	return st, nil
}

// openScript numbers the drawn pre-queue 1..n and opens the queue, unless
// it is open already (-1) or the pre-queue changed since it was read (-2).
// In the same step it keeps the proof's entries, so whichever node opened,
// the proof published is the one the numbers came from. KEYS: q pre seq
// opened entries numbered. ARGV: expected size, the entries in join order
// and in number order (32 bytes each, concatenated), then accounts in
// number order.
var openScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
if redis.call('ZCARD', KEYS[2]) ~= tonumber(ARGV[1]) then return -2 end
redis.call('SET', KEYS[5], ARGV[2])
redis.call('SET', KEYS[6], ARGV[3])
local n = 0
local batch = {}
for i = 4, #ARGV do
  n = n + 1
  batch[#batch + 1] = n
  batch[#batch + 1] = ARGV[i]
  if #batch >= 1000 then
    redis.call('ZADD', KEYS[1], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('ZADD', KEYS[1], unpack(batch)) end
redis.call('SET', KEYS[3], n)
redis.call('SET', KEYS[4], n)
redis.call('DEL', KEYS[2])
return n
`)

// open draws the pre-queue's order with the event's seed and beacon
// (fairdraw.Draw over the fans' proof hashes in join order) and numbers it,
// once; then records in Postgres that the seed may be revealed, with the
// proof's entries. Joins racing with it land in the pre-queue and make the
// script retry with them included.
func (s *Service) open(ctx context.Context, eventID int64) error {
	k := s.keys(eventID)
	// Sealed first: the beacon cannot change between this read and the draw.
	if err := s.seal(ctx, eventID); err != nil {
		return err
	}
	row, err := s.readSeed(ctx, s.db, eventID, false)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		size, err := s.rdb.Get(ctx, k.opened).Int()
		if err == nil {
			return s.markOpened(ctx, eventID, size)
		}
		if !errors.Is(err, redis.Nil) {
			return fmt.Errorf("waitingroom: read opened flag: %w", err)
		}
		// Join order: by join time (ms), ties by account id as text.
		members, err := s.rdb.ZRange(ctx, k.pre, 0, -1).Result()
		if err != nil {
			return fmt.Errorf("waitingroom: read pre-queue: %w", err)
		}
		ids := make([]int64, len(members))
		entries := make([]fairdraw.Entry, len(members))
		joined := make([]byte, 0, 32*len(members))
		for i, m := range members {
			if ids[i], err = strconv.ParseInt(m, 10, 64); err != nil {
				return fmt.Errorf("waitingroom: pre-queue member %q: %w", m, err)
			}
			entries[i] = s.ProofHash(eventID, ids[i])
			joined = append(joined, entries[i][:]...)
		}
		order, err := fairdraw.Draw(row.seed, row.beacon, entries)
		if err != nil {
			return fmt.Errorf("waitingroom: draw event %d: %w", eventID, err)
		}
		numbered := make([]byte, 0, len(joined))
		for _, i := range order {
			numbered = append(numbered, entries[i][:]...)
		}
		args := append(make([]any, 0, len(order)+3), len(order), joined, numbered)
		for _, i := range order {
			args = append(args, ids[i])
		}
		n, err := openScript.Run(ctx, s.rdb, []string{k.q, k.pre, k.seq, k.opened, k.proofEntries, k.proofNumbered}, args...).Int()
		if err != nil {
			return fmt.Errorf("waitingroom: open queue of event %d: %w", eventID, err)
		}
		if n >= 0 {
			s.log.Info("waiting room opened", "event", eventID, "prequeue", n)
			return s.markOpened(ctx, eventID, n)
		}
		if attempt > 20 {
			return fmt.Errorf("waitingroom: open queue of event %d: pre-queue keeps changing", eventID)
		}
	}
}

// markOpened reveals the seed: it copies the proof's entries that the open
// script kept into Postgres and sets opened_at (once; the first node wins).
func (s *Service) markOpened(ctx context.Context, eventID int64, size int) error {
	k := s.keys(eventID)
	blobs, err := s.rdb.MGet(ctx, k.proofEntries, k.proofNumbered).Result()
	if err != nil {
		return fmt.Errorf("waitingroom: read proof of event %d: %w", eventID, err)
	}
	var entries, numbered []byte
	if e, ok := blobs[0].(string); ok {
		entries = []byte(e)
	}
	if n, ok := blobs[1].(string); ok {
		numbered = []byte(n)
	}
	_, err = s.db.Exec(ctx, `UPDATE waiting_room_seeds SET opened_at = now(), prequeue_size = $2, entries = $3, numbered = $4
		WHERE event_id = $1 AND opened_at IS NULL`, eventID, size, entries, numbered)
	if err != nil {
		return fmt.Errorf("waitingroom: mark event %d opened: %w", eventID, err)
	}
	// Postgres has the proof now (from this node or an earlier one): the
	// Redis copy only took up memory.
	if err := s.rdb.Del(ctx, k.proofEntries, k.proofNumbered).Err(); err != nil {
		s.log.Warn("drop the Redis copy of the queue proof", "event", eventID, "err", err)
	}
	return nil
}
