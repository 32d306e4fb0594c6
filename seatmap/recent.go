package seatmap

import (
	"sync"
	"time"
)

// recentHolds is what this node knows about an event's seats that its
// snapshot (up to SnapshotTTL old) does not: the seats it held since, the
// seats the gate or Postgres refused it since (another node's holds), and
// the seats its best-available requests are claiming right now.
// Best-available picks and claims in one step under the event's lock
// (pick), so two requests on one node never go for the same seats: without
// it, in a storm on one node, every fan picks the same "best" block from
// the same snapshot and all but one are refused. Holds made on other nodes
// show up with the next snapshot or when the gate refuses them.
type recentHolds struct {
	mu      sync.Mutex
	byEvent map[int64]*eventRecent
	// last is when this node last held seats of each event (the stream
	// repair follows those events).
	last map[int64]time.Time
}

// refusedHide is how long seats a refusal named stay hidden from picks on
// this node whatever the snapshot says: long enough for the hold that has
// them to commit or fail.
const refusedHide = 250 * time.Millisecond

// eventRecent is one event's part; its own lock serialises the picks of
// that event only.
type eventRecent struct {
	mu sync.Mutex
	// gone are seats held or found taken, oldest first.
	gone []recentHold
	// claimed are the seats picked by requests still in flight, by idx.
	claimed map[int32]struct{}
}

type recentHold struct {
	at  time.Time // after the hold committed, or the refusal came
	idx []int32
	// held: a hold of this node committed; otherwise a refusal named the
	// seats, whose holder may still fail and free them.
	held bool
}

// event returns the event's part, creating it.
func (r *recentHolds) event(eventID int64) *eventRecent {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byEvent == nil {
		r.byEvent = make(map[int64]*eventRecent)
	}
	e := r.byEvent[eventID]
	if e == nil {
		e = &eventRecent{claimed: make(map[int32]struct{})}
		r.byEvent[eventID] = e
	}
	return e
}

// add records a committed hold's seats, which stop being claimed (a
// best-available claim becomes a hold with no moment in between); entries
// older than keep go.
func (r *recentHolds) add(eventID int64, at time.Time, idx []int32, keep time.Duration) {
	r.mu.Lock()
	if r.last == nil {
		r.last = make(map[int64]time.Time)
	}
	r.last[eventID] = at
	r.mu.Unlock()
	r.record(eventID, recentHold{at, idx, true}, keep)
}

// refused records seats a refusal at at named taken, like add but without
// counting as this node's activity.
func (r *recentHolds) refused(eventID int64, at time.Time, idx []int32, keep time.Duration) {
	r.record(eventID, recentHold{at, idx, false}, keep)
}

func (r *recentHolds) record(eventID int64, h recentHold, keep time.Duration) {
	e := r.event(eventID)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, i := range h.idx {
		delete(e.claimed, i)
	}
	drop := 0
	for drop < len(e.gone) && h.at.Sub(e.gone[drop].at) > keep {
		drop++
	}
	e.gone = append(e.gone[drop:], h)
}

// pick runs choose over a private copy of statuses (a snapshot taken at
// since) in which the seats gone since and the seats claimed are marked
// held, and claims what it chose, all under the event's lock: the choice
// and the claim are one step on this node. The caller must unclaim the
// seats, or add them once held.
func (r *recentHolds) pick(eventID int64, since time.Time, statuses []byte, choose func(avail []byte) []int32) []int32 {
	e := r.event(eventID)
	e.mu.Lock()
	defer e.mu.Unlock()
	picked := choose(e.avail(since, statuses, true))
	for _, i := range picked {
		e.claimed[i] = struct{}{}
	}
	return picked
}

// mayFree reports whether choose finds seats once only the holds this node
// committed since are marked: seats that claims and refusals hide, whose
// holds are still in flight and may fail.
func (r *recentHolds) mayFree(eventID int64, since time.Time, statuses []byte, choose func(avail []byte) []int32) bool {
	e := r.event(eventID)
	e.mu.Lock()
	defer e.mu.Unlock()
	return choose(e.avail(since, statuses, false)) != nil
}

// avail copies statuses with the seats gone since marked held: all of
// them, claims included, or only this node's committed holds. A hold
// recorded before since committed before the snapshot was read, so the
// snapshot has it.
func (e *eventRecent) avail(since time.Time, statuses []byte, all bool) []byte {
	avail := make([]byte, len(statuses))
	copy(avail, statuses)
	// A refusal hides its seats for refusedHide even from a newer
	// snapshot: the hold that has them may not have committed yet.
	hide := time.Now().Add(-refusedHide)
	for k := len(e.gone) - 1; k >= 0 && (!e.gone[k].at.Before(since) || e.gone[k].at.After(hide)); k-- {
		if !all && !e.gone[k].held {
			continue
		}
		for _, i := range e.gone[k].idx {
			if int(i) < len(avail) {
				avail[i] = StateHeld
			}
		}
	}
	if all {
		for i := range e.claimed {
			if int(i) < len(avail) {
				avail[i] = StateHeld
			}
		}
	}
	return avail
}

// unclaim gives back seats a request picked and did not hold.
func (r *recentHolds) unclaim(eventID int64, idx []int32) {
	e := r.event(eventID)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, i := range idx {
		delete(e.claimed, i)
	}
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
