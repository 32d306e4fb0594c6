package seatmap

import (
	"context"
	"sync"
	"time"
)

// HoldTogether makes the holds of reqs (one event, each valid: it must
// reach the queue) arrive one after another while a round is in flight on
// this node, then runs the rounds that carry them (holdbatch.go). It
// returns each hold's answer and how many holds each round carried.
func (s *Service) HoldTogether(ctx context.Context, reqs []HoldRequest) ([]Hold, []error, []int) {
	eventID := reqs[0].EventID
	v, _ := s.holdQueues.LoadOrStore(eventID, &holdQueue{})
	q := v.(*holdQueue)
	q.mu.Lock()
	if q.rounds > 0 {
		q.mu.Unlock()
		panic("HoldTogether: a round of the event is already in flight")
	}
	q.rounds = s.cfg.HoldRounds // as if every round were in flight: the holds queue up
	q.mu.Unlock()
	holds, errs := make([]Hold, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { holds[i], errs[i] = s.Hold(ctx, r) })
		for queued := 0; queued < i+1; time.Sleep(time.Millisecond) {
			q.mu.Lock()
			queued = len(q.pending)
			q.mu.Unlock()
		}
	}
	var rounds []int
	for {
		batch := q.next(s.cfg.HoldBatch)
		if len(batch) == 0 {
			break
		}
		rounds = append(rounds, len(batch))
		s.commitHolds(ctx, eventID, batch)
	}
	q.mu.Lock()
	q.rounds = 0 // next ended the one round it saw end: the others too
	q.mu.Unlock()
	wg.Wait()
	return holds, errs, rounds
}
