package seatmap

import (
	"sync"
	"time"
)

// recentHolds remembers the seats this node held in the last moments, per
// event, so best-available does not pick seats that its snapshot (up to
// SnapshotTTL old) still shows free but a fan on this node took since.
// Without it, in a storm on one node, many fans pick the same "best" block
// from the same snapshot and all but one get a 409 and retry. Holds made on
// other nodes still show up only with the next snapshot; retries (which
// spread at random) cover those.
type recentHolds struct {
	mu      sync.Mutex
	byEvent map[int64][]recentHold
	// last is when this node last held seats of each event (the stream
	// repair follows those events).
	last map[int64]time.Time
}

type recentHold struct {
	at  time.Time // after the hold committed
	idx []int32
}

// add records a committed hold's seats; entries older than keep go.
func (r *recentHolds) add(eventID int64, at time.Time, idx []int32, keep time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byEvent == nil {
		r.byEvent = make(map[int64][]recentHold)
		r.last = make(map[int64]time.Time)
	}
	r.last[eventID] = at
	list := r.byEvent[eventID]
	drop := 0
	for drop < len(list) && at.Sub(list[drop].at) > keep {
		drop++
	}
	r.byEvent[eventID] = append(list[drop:], recentHold{at, idx})
}

// activeSince returns the events this node held seats of since t, and
// forgets the others.
func (r *recentHolds) activeSince(t time.Time) map[int64]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[int64]bool)
	for ev, at := range r.last {
		if at.Before(t) {
			delete(r.last, ev)
			continue
		}
		out[ev] = true
	}
	return out
}

// mark sets to held, in avail, the seats of holds recorded at or after
// since (the snapshot's time: a hold recorded before it committed before
// it, so the snapshot has it).
func (r *recentHolds) mark(eventID int64, since time.Time, avail []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.byEvent[eventID]
	for k := len(list) - 1; k >= 0 && !list[k].at.Before(since); k-- {
		for _, i := range list[k].idx {
			if int(i) < len(avail) {
				avail[i] = StateHeld
			}
		}
	}
}
