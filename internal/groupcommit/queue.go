// Package groupcommit runs concurrent callers' writes in rounds. While a
// round is in flight, the callers that arrive queue up, and the next round
// carries all of them in one transaction or statement. A caller that
// arrives while fewer rounds than the limit are in flight starts one at
// once: batching never adds a delay, it only fills the round trips a busy
// node would make anyway. The seat holds of an event (seatmap) and the
// conversions of paid purchases (checkout) are written this way.
package groupcommit

import (
	"context"
	"slices"
	"sync"
)

// Queue is a stream of items written in rounds. Each round carries at most
// Limit items and no two items that share a key: an item whose key is
// already in the round waits for a later one, so it sees the earlier's
// result.
type Queue[T any, K comparable] struct {
	limit, maxRounds int
	keys             func(T) []K
	run              func(ctx context.Context, items []T)

	mu      sync.Mutex
	rounds  int // in flight
	pending []*entry[T, K]
}

type entry[T any, K comparable] struct {
	ctx  context.Context
	item T
	keys []K
	err  error // the caller left before its round
	done chan struct{}
}

// New returns a queue whose rounds carry up to limit items, at most
// maxRounds of them in flight at once. run writes one round; it must give
// each item its own answer (in the item, which is why T is usually a
// pointer). keys are what two items of one round must not share.
func New[T any, K comparable](limit, maxRounds int, keys func(T) []K, run func(ctx context.Context, items []T)) *Queue[T, K] {
	return &Queue[T, K]{limit: max(limit, 1), maxRounds: max(maxRounds, 1), keys: keys, run: run}
}

// Do queues item and returns once a round has written it: nil, and the
// item holds its answer. If ctx ends before the item's round began, Do
// returns ctx's error and the item was not written.
func (q *Queue[T, K]) Do(ctx context.Context, item T) error {
	// The keys once, outside the lock: an item left for a later round is
	// looked at again by every round until it goes.
	e := &entry[T, K]{ctx: ctx, item: item, keys: q.keys(item), done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, e)
	lead := q.rounds < q.maxRounds
	if lead {
		q.rounds++
	}
	q.mu.Unlock()
	if lead {
		q.round()
	}
	select {
	case <-e.done:
		return e.err
	case <-ctx.Done():
		if q.withdraw(e) {
			return ctx.Err()
		}
		// In a round already: its answer is on its way.
		<-e.done
		return e.err
	}
}

// round runs the next round, then hands the one after to a new goroutine,
// so the caller that ran this one gets its answer now.
func (q *Queue[T, K]) round() {
	if q.runNext() == 0 {
		return
	}
	if q.more() {
		go q.round()
	}
}

// runNext runs one round, if any item is pending, and returns its size.
func (q *Queue[T, K]) runNext() int {
	batch := q.next()
	if len(batch) == 0 {
		return 0
	}
	items := make([]T, len(batch))
	for i, e := range batch {
		items[i] = e.item
	}
	// The round outlives any one caller's cancellation: the others wait on it.
	q.run(context.WithoutCancel(batch[0].ctx), items)
	for _, e := range batch {
		close(e.done)
	}
	return len(batch)
}

// next takes the items of a round in arrival order. An item whose caller
// has gone is answered with its context's error. With nothing to take the
// round ends.
func (q *Queue[T, K]) next() []*entry[T, K] {
	q.mu.Lock()
	defer q.mu.Unlock()
	var batch []*entry[T, K]
	taken := make(map[K]bool)
	rest := q.pending[:0]
	for _, e := range q.pending {
		if err := e.ctx.Err(); err != nil {
			e.err = err
			close(e.done)
			continue
		}
		if len(batch) >= q.limit || slices.ContainsFunc(e.keys, func(k K) bool { return taken[k] }) {
			rest = append(rest, e)
			continue
		}
		batch = append(batch, e)
		for _, k := range e.keys {
			taken[k] = true
		}
	}
	clear(q.pending[len(rest):])
	q.pending = rest
	if len(batch) == 0 {
		q.rounds--
	}
	return batch
}

// more reports whether items wait for another round, and ends the round
// when none do.
func (q *Queue[T, K]) more() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.rounds--
		return false
	}
	return true
}

// withdraw removes an item whose caller gave up before its round began.
func (q *Queue[T, K]) withdraw(e *entry[T, K]) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := slices.Index(q.pending, e)
	if i < 0 {
		return false
	}
	q.pending = slices.Delete(q.pending, i, i+1)
	return true
}

// Stall makes the queue act as if all its rounds were in flight, so that
// items queue up until Drain; tests use it to build a round of their
// choosing. It reports false, changing nothing, while a round is in flight.
func (q *Queue[T, K]) Stall() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.rounds > 0 {
		return false
	}
	q.rounds = q.maxRounds
	return true
}

// Pending is how many items wait for a round.
func (q *Queue[T, K]) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Drain ends a Stall: it runs rounds in this goroutine until no item is
// pending and returns how many items each carried.
func (q *Queue[T, K]) Drain() []int {
	var sizes []int
	for n := q.runNext(); n > 0; n = q.runNext() {
		sizes = append(sizes, n)
	}
	q.mu.Lock()
	q.rounds = 0
	q.mu.Unlock()
	return sizes
}
