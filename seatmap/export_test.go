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
	q := s.holdQueue(reqs[0].EventID)
	if !q.Stall() {
		panic("HoldTogether: a round of the event is already in flight")
	}
	holds, errs := make([]Hold, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { holds[i], errs[i] = s.Hold(ctx, r) })
		for q.Pending() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	rounds := q.Drain()
	wg.Wait()
	return holds, errs, rounds
}
