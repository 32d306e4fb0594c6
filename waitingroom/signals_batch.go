package waitingroom

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Recording holds for the review signals without a Redis round trip per
// hold. NoteHold only appends to a bounded in-process queue; one writer
// per node drains it, and each drain is one pipelined round trip for every
// hold queued since the last, with the holds of one account in one minute
// merged into one INCRBY and the accounts of one fingerprint into one
// SADD. When holds are rare a drain carries one hold and starts at once,
// so the signals are written as soon as before; under a rush a drain
// carries the holds of a whole round trip. Review reads the same keys, so
// nothing it judges changes, only when a node's last few holds land:
// within a round trip, far below the seconds the rules measure.

// maxPendingHolds bounds the queue: past it a hold is not recorded (and
// counted), which only weakens the signals, as a Redis error always did.
// It takes tens of thousands of holds queued behind one stalled round
// trip to fill it.
const maxPendingHolds = 20_000

// maxHoldsPerDrain bounds one pipeline, so that one drain stays one
// modest write.
const maxHoldsPerDrain = 2_000

// holdSignalTimeout bounds one drain's round trip.
const holdSignalTimeout = time.Second

// heldSignal is one hold to record.
type heldSignal struct {
	eventID, accountID int64
	minute             int64 // the hold's minute (Unix minutes)
	fingerprint        string
}

// holdRecorder is the queue and its writer's state.
type holdRecorder struct {
	mu       sync.Mutex
	pending  []heldSignal
	draining bool
	idle     *sync.Cond // broadcast when a drain ends with nothing pending
	dropped  uint64
	reported uint64 // dropped as last logged
	drains   uint64
}

// NoteHold queues a successful hold for the review signals (holds per
// minute, accounts per fingerprint, the account's fingerprint) and returns
// at once: a writer goroutine, started when the queue stops being empty
// and ended when it is empty again, writes the queue in pipelined batches.
// It reports false when the queue was full and the hold went unrecorded.
func (s *Service) NoteHold(eventID, accountID int64, fingerprint string) bool {
	r := &s.holds
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) >= maxPendingHolds {
		r.dropped++
		return false
	}
	r.pending = append(r.pending, heldSignal{eventID: eventID, accountID: accountID,
		minute: s.cfg.Now().Unix() / 60, fingerprint: fingerprint})
	if !r.draining {
		r.draining = true
		go s.drainHolds()
	}
	return true
}

// drainHolds writes the queue until it is empty.
func (s *Service) drainHolds() {
	r := &s.holds
	for {
		r.mu.Lock()
		n := min(len(r.pending), maxHoldsPerDrain)
		if n == 0 {
			r.draining = false
			if r.idle != nil {
				r.idle.Broadcast()
			}
			r.mu.Unlock()
			return
		}
		if r.dropped > r.reported {
			s.log.Warn("waitingroom: holds not recorded for the review signals: queue full",
				"holds", r.dropped-r.reported)
			r.reported = r.dropped
		}
		batch := make([]heldSignal, n)
		copy(batch, r.pending)
		r.pending = append(r.pending[:0], r.pending[n:]...)
		r.drains++
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), holdSignalTimeout)
		if err := s.writeHolds(ctx, batch); err != nil {
			s.log.Warn("waitingroom: holds not recorded for the review signals", "holds", len(batch), "err", err)
		}
		cancel()
	}
}

// writeHolds records batch in one pipelined round trip, merging what
// can be merged: the counter of an account's minute takes the number of
// its holds at once, a fingerprint's set all its accounts.
func (s *Service) writeHolds(ctx context.Context, batch []heldSignal) error {
	counts := make(map[string]int64)
	fps := make(map[string][]any)
	latest := make(map[string]map[string]string) // afp key → account → fingerprint (the last one wins)
	var order []string                           // counters in first-seen order, for a stable pipeline
	for _, h := range batch {
		k := s.keys(h.eventID)
		acct := strconv.FormatInt(h.accountID, 10)
		hpm := k.base + "hpm:" + acct + ":" + strconv.FormatInt(h.minute, 10)
		if counts[hpm] == 0 {
			order = append(order, hpm)
		}
		counts[hpm]++
		if h.fingerprint == "" {
			continue
		}
		fp := k.base + "fp:" + h.fingerprint
		fps[fp] = append(fps[fp], h.accountID)
		afp := k.base + "afp"
		if latest[afp] == nil {
			latest[afp] = make(map[string]string)
		}
		latest[afp][acct] = h.fingerprint
	}
	pipe := s.rdb.Pipeline()
	for _, hpm := range order {
		pipe.IncrBy(ctx, hpm, counts[hpm])
		pipe.Expire(ctx, hpm, 2*time.Minute)
	}
	for fp, accts := range fps {
		pipe.SAdd(ctx, fp, accts...)
		pipe.Expire(ctx, fp, 24*time.Hour)
	}
	for afp, byAcct := range latest {
		pipe.HSet(ctx, afp, byAcct)
		pipe.Expire(ctx, afp, 24*time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("waitingroom: record %d holds: %w", len(batch), err)
	}
	return nil
}

// FlushHolds waits until every hold queued by NoteHold so far has been
// written (or failed to be), or ctx ends: for a graceful stop, and for
// tests that read the signals back.
func (s *Service) FlushHolds(ctx context.Context) error {
	r := &s.holds
	r.mu.Lock()
	if r.idle == nil {
		r.idle = sync.NewCond(&r.mu)
	}
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.idle.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	for r.draining && ctx.Err() == nil {
		r.idle.Wait()
	}
	r.mu.Unlock()
	return ctx.Err()
}

// HoldSignalStats reports how many hold batches this node wrote and how
// many holds it could not queue.
func (s *Service) HoldSignalStats() (drains, dropped uint64) {
	s.holds.mu.Lock()
	defer s.holds.mu.Unlock()
	return s.holds.drains, s.holds.dropped
}
