package waitingroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrFenced means an admitter's lease passed to another: its step changed
// nothing.
var ErrFenced = errors.New("waitingroom: admitter lease lost (fenced)")

// leaseScript acquires or renews the admitter lease. A holder presenting its
// fencing token renews; otherwise a free lease is taken with a new token from
// the fence counter. Returns the token held, or 0. KEYS: lease fence.
// ARGV: token, ttl ms.
var leaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  if cur == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(cur)
  end
  return 0
end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], t, 'PX', ARGV[2])
return t
`)

// releaseScript gives the lease up if it is still ours. KEYS: lease.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// admitScript is one tick, fenced: it drops expired admissions, then moves
// the cursor over the queue admitting fans with a recent heartbeat (skipping
// the others) until the budget or the active-shopper limit is reached, and
// updates the smoothed rate. KEYS: lease q cursor hb adm seq rate.
// ARGV: token, now ms, admission expiry ms, budget, active limit, heartbeat
// cutoff ms, max scanned, elapsed s, smoothing alpha.
// Returns {cursor, seq, rate, active, {admitted accounts}}.
var admitScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[2])
local active = redis.call('ZCARD', KEYS[5])
local budget = math.min(tonumber(ARGV[4]), tonumber(ARGV[5]) - active)
local cutoff, maxScan = tonumber(ARGV[6]), tonumber(ARGV[7])
local cursor = tonumber(redis.call('GET', KEYS[3]) or '0')
local admitted, scanned = {}, 0
while #admitted < budget and scanned < maxScan do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. cursor, '+inf', 'WITHSCORES', 'LIMIT', 0, 512)
  if #batch == 0 then break end
  for i = 1, #batch, 2 do
    local acct = batch[i]
    cursor = tonumber(batch[i + 1])
    scanned = scanned + 1
    local hb = redis.call('ZSCORE', KEYS[4], acct)
    if hb and tonumber(hb) >= cutoff then
      redis.call('ZADD', KEYS[5], ARGV[3], acct)
      admitted[#admitted + 1] = acct
    end
    if #admitted >= budget or scanned >= maxScan then break end
  end
end
redis.call('SET', KEYS[3], string.format('%d', cursor))
local obs = #admitted / tonumber(ARGV[8])
local old = tonumber(redis.call('GET', KEYS[7]) or '-1')
local rate = obs
if old >= 0 then
  local a = tonumber(ARGV[9])
  rate = a * obs + (1 - a) * old
end
redis.call('SET', KEYS[7], string.format('%.6f', rate))
local seq = tonumber(redis.call('GET', KEYS[6]) or '0')
return {cursor, seq, string.format('%.6f', rate), active + #admitted, admitted}
`)

// Admitter admits fans of one event. Run one per event on every node: the
// lease makes exactly one of them act at a time, and another takes over
// within Config.LeaseTTL when it dies.
type Admitter struct {
	s         *Service
	eventID   int64
	presaleID int64 // a presale window's room; 0: the general room

	token  atomic.Int64 // fencing token while leader, else 0; read by Leader from any goroutine
	last   time.Time
	carry  float64
	opened bool

	// beforeAdmit, in tests, runs between taking the lease and the admit
	// script: it plays a leader that pauses there.
	beforeAdmit func()
}

// NewAdmitter returns the admitter of an event.
func (s *Service) NewAdmitter(eventID int64) *Admitter {
	return s.NewRoomAdmitter(RoomKey{EventID: eventID})
}

// NewRoomAdmitter returns the admitter of any room (presale.go).
func (s *Service) NewRoomAdmitter(room RoomKey) *Admitter {
	return &Admitter{s: s, eventID: room.EventID, presaleID: room.PresaleID}
}

func (a *Admitter) room() RoomKey { return RoomKey{EventID: a.eventID, PresaleID: a.presaleID} }

// Leader reports whether the last step held the lease, and its token.
func (a *Admitter) Leader() (bool, int64) {
	t := a.token.Load()
	return t != 0, t
}

// TickResult is what one step did.
type TickResult struct {
	// At is the admitter's clock when it admitted (admissions expire
	// AdmissionTTL after it).
	At       time.Time
	Leader   bool
	Token    int64
	Cursor   int64
	Seq      int64
	Admitted []int64
	Active   int64
	Rate     float64
}

// Run steps every Config.Tick until ctx ends, then gives the lease up so a
// standby takes over at once.
func (a *Admitter) Run(ctx context.Context) {
	t := time.NewTicker(a.s.cfg.Tick)
	defer t.Stop()
	for {
		if _, err := a.Step(ctx); err != nil && ctx.Err() == nil {
			a.s.log.Warn("admitter step failed", "event", a.eventID, "err", err)
		}
		select {
		case <-ctx.Done():
			a.release()
			return
		case <-t.C:
		}
	}
}

func (a *Admitter) release() {
	tok := a.token.Load()
	if tok == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = releaseScript.Run(ctx, a.s.rdb, []string{a.s.roomKeys(a.room()).lease}, tok).Err()
	a.token.Store(0)
}

// Step takes or renews the lease and, as leader, runs one tick: opens the
// queue once the sale opened, admits within the rate budget and the active
// limit, moves the cursor, and publishes one cursor frame plus one admitted
// frame per admitted fan.
func (a *Admitter) Step(ctx context.Context) (TickResult, error) {
	s, k := a.s, a.s.roomKeys(a.room())
	tok, err := leaseScript.Run(ctx, s.rdb, []string{k.lease, k.fence}, a.token.Load(), s.cfg.LeaseTTL.Milliseconds()).Int64()
	if err != nil {
		a.token.Store(0)
		return TickResult{}, fmt.Errorf("waitingroom: lease of event %d: %w", a.eventID, err)
	}
	if tok != a.token.Load() {
		a.last, a.carry, a.opened = time.Time{}, 0, false // a new term starts afresh
	}
	a.token.Store(tok)
	if tok == 0 {
		return TickResult{}, nil
	}
	r, err := s.roomOf(ctx, a.room())
	if err != nil {
		return TickResult{Leader: true, Token: tok}, err
	}
	now := s.cfg.Now()
	elapsed := s.cfg.Tick
	if !a.last.IsZero() {
		// A late tick admits for the time that passed, so the rate holds
		// when ticks run long; a stall longer than the lease ends the term
		// anyway, which bounds the catch-up.
		elapsed = min(now.Sub(a.last), max(5*s.cfg.Tick, s.cfg.LeaseTTL))
	}
	a.last = now
	budget := 0.0
	// A window's room admits while the window is open; it has no
	// pre-queue to draw (JoinRoom).
	closed := a.presaleID != 0 && !now.Before(r.closes)
	if r.Enabled && !r.Paused && !r.stopped && !now.Before(r.SaleOpens) && !closed {
		if !a.opened && a.presaleID == 0 {
			if err := s.open(ctx, a.eventID); err != nil {
				return TickResult{Leader: true, Token: tok}, err
			}
			a.opened = true
		}
		budget = a.carry + float64(r.AdmitPerMinute)*elapsed.Seconds()/60
	}
	want := int64(math.Floor(budget))
	expires := now.Add(r.AdmissionTTL())
	maxScan := max(10*want, 1000)
	if a.beforeAdmit != nil {
		a.beforeAdmit()
	}
	alpha := 1 - math.Exp(-elapsed.Seconds()/(10*s.cfg.Tick.Seconds()))
	res, err := admitScript.Run(ctx, s.rdb, []string{k.lease, k.q, k.cursor, k.hb, k.adm, k.seq, k.rate},
		tok, now.UnixMilli(), expires.UnixMilli(), want, r.ActiveLimit,
		now.Add(-s.cfg.HeartbeatWindow).UnixMilli(), maxScan, max(elapsed.Seconds(), 1e-3), alpha).Slice()
	if err != nil {
		if strings.Contains(err.Error(), "FENCED") {
			a.token.Store(0)
			return TickResult{}, ErrFenced
		}
		return TickResult{Leader: true, Token: tok}, fmt.Errorf("waitingroom: admit in event %d: %w", a.eventID, err)
	}
	out := TickResult{At: now, Leader: true, Token: tok}
	out.Cursor, _ = res[0].(int64)
	out.Seq, _ = res[1].(int64)
	out.Rate, _ = strconv.ParseFloat(fmt.Sprint(res[2]), 64)
	out.Active, _ = res[3].(int64)
	list, _ := res[4].([]any)
	out.Admitted = make([]int64, 0, len(list))
	for _, m := range list {
		str, _ := m.(string)
		id, _ := strconv.ParseInt(str, 10, 64)
		out.Admitted = append(out.Admitted, id)
	}
	// Unused budget is banked only as the fraction of a fan, so an idle
	// queue or a full house never saves up a burst.
	if int64(len(out.Admitted)) == want {
		a.carry = budget - float64(want)
	} else {
		a.carry = 0
	}
	a.publish(ctx, out, expires)
	return out, nil
}

// publish sends the tick's frames: one admitted frame per admitted fan and
// exactly one cursor frame, whatever the queue's length.
func (a *Admitter) publish(ctx context.Context, res TickResult, expires time.Time) {
	s := a.s
	exp := time.UnixMilli(expires.UnixMilli()).UTC()
	for _, acct := range res.Admitted {
		tok, err := s.mintRoomToken(acct, a.room(), exp)
		if err == nil {
			// Plain values: Marshal cannot fail.
			f, _ := json.Marshal(AdmittedFrame{Type: "admitted", Event: a.eventID, Presale: a.presaleID, AdmissionToken: tok, ExpiresAt: exp})
			err = s.pub.PublishAdmitted(ctx, acct, f)
		}
		if err != nil {
			s.log.Warn("publish admitted", "event", a.eventID, "account", acct, "err", err)
		}
	}
	frame, _ := json.Marshal(QueueFrame{Type: "queue", Event: a.eventID, Presale: a.presaleID, Serving: res.Cursor, AdmitRate: res.Rate, QueueLength: res.Seq - res.Cursor})
	if err := s.pub.PublishQueue(ctx, a.eventID, frame); err != nil {
		s.log.Warn("publish queue frame", "event", a.eventID, "err", err)
	}
}

// RunAdmitters runs an admitter for every event whose room is on, checking
// for rooms turned on or off every Config.RunnerScan, until ctx ends.
func (s *Service) RunAdmitters(ctx context.Context) {
	type running struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	var mu sync.Mutex
	live := map[RoomKey]running{}
	scan := func() {
		ids, err := s.EnabledRooms(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("list waiting rooms", "err", err)
			}
			return
		}
		want := make(map[RoomKey]bool, len(ids))
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			want[id] = true
			if _, ok := live[id]; ok {
				continue
			}
			// Commit to the seed as soon as the room is seen, so the
			// commitment is public before the sale opens (a window's
			// room has no draw).
			if id.PresaleID == 0 {
				if _, err := s.commitment(ctx, id.EventID); err != nil {
					s.log.Warn("commit fairness seed", "event", id.EventID, "err", err)
				}
			}
			c, cancel := context.WithCancel(ctx)
			r := running{cancel: cancel, done: make(chan struct{})}
			live[id] = r
			go func() { defer close(r.done); s.NewRoomAdmitter(id).Run(c) }()
		}
		for id, r := range live {
			if !want[id] {
				r.cancel()
				<-r.done
				delete(live, id)
			}
		}
	}
	t := time.NewTicker(s.cfg.RunnerScan)
	defer t.Stop()
	for {
		scan()
		select {
		case <-ctx.Done():
			mu.Lock()
			for _, r := range live {
				r.cancel()
				<-r.done
			}
			mu.Unlock()
			return
		case <-t.C:
		}
	}
}
