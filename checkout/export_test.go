package checkout

import (
	"sync"
	"time"
)

// ReconcileBatch lets the tests know when one reconciler pass may have
// left due payments for the next.
const ReconcileBatch = reconcileBatch

// ConvertTogether runs start(0..n-1), each in its own goroutine, while the
// node's conversion queue is stalled, so that the n purchases they settle
// queue up; then it runs the rounds that carry them and returns their
// sizes (convert.go). Each start must reach a conversion.
func (s *Service) ConvertTogether(n int, start func(i int)) []int {
	if !s.converts.Stall() {
		panic("ConvertTogether: a conversion round is in flight")
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { start(i) })
	}
	for s.converts.Pending() < n {
		time.Sleep(time.Millisecond)
	}
	sizes := s.converts.Drain()
	wg.Wait()
	return sizes
}
