package seatmap_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/boxoffice/boxoffice/seatmap"
)

// BenchmarkHold measures successful 2-seat holds per second through the
// inventory alone (Redis gate + Postgres transaction, no HTTP), 32 in
// flight, over a 48,000-seat event. Use -benchtime Nx with N ≤ 24,000.
func BenchmarkHold(b *testing.B) {
	f := newFixture(b, fixtureOpts{layout: smallLayout(40, 40, 30)})
	runHolds(b, f, func(i int) seatmap.HoldRequest {
		return seatmap.HoldRequest{SeatIDs: f.seats[2*i : 2*i+2]}
	})
}

// BenchmarkHoldGA is BenchmarkHold for a general-admission area: successful
// holds of 2 places picked at random from one standing floor of 48,000
// places, 32 in flight, the same fans and cap. Beside BenchmarkHold in one
// run (-bench 'Hold$|HoldGA$') it gives the cost of ga picking (a snapshot
// read, a pick among the area's places) over a numbered seat's hold. Use
// -benchtime Nx with N ≤ 24,000.
func BenchmarkHoldGA(b *testing.B) {
	f := newFixture(b, fixtureOpts{layout: gaLayout(48_000)})
	runHolds(b, f, func(int) seatmap.HoldRequest {
		return seatmap.HoldRequest{GA: &seatmap.GARequest{Section: "FLOOR", Quantity: 2}}
	})
}

// runHolds makes b.N holds of 2 seats, 32 in flight, for 6,000 fans; req
// gives the i-th request's seats (event and account are filled in).
func runHolds(b *testing.B, f *fixture, req func(i int) seatmap.HoldRequest) {
	accts := f.accounts(6000)
	var next atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			if 2*i+1 >= len(f.seats) {
				b.Error("out of seats: use -benchtime Nx with N ≤ 24000")
				return
			}
			r := req(i)
			r.EventID, r.AccountID = f.event, accts[i%len(accts)]
			if _, err := f.svc.Hold(context.Background(), r); err != nil {
				b.Errorf("hold %d: %v", i, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "holds/s")
}
