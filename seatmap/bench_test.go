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
			_, err := f.svc.Hold(context.Background(), seatmap.HoldRequest{EventID: f.event, AccountID: accts[i%len(accts)], SeatIDs: f.seats[2*i : 2*i+2]})
			if err != nil {
				b.Errorf("hold %d: %v", i, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "holds/s")
}

// BenchmarkHoldGA is BenchmarkHold for a general-admission area: successful
// holds of 2 places picked at random from one standing floor of 48,000
// places, 32 in flight, the same fans and cap. Beside BenchmarkHold in one
// run (-bench 'Hold$|HoldGA$') it gives the cost of ga picking (a snapshot
// read, a private copy of the statuses, a scan of the area) over a
// numbered seat's hold. Use -benchtime Nx with N ≤ 24,000.
func BenchmarkHoldGA(b *testing.B) {
	f := newFixture(b, fixtureOpts{layout: gaLayout(48_000)})
	accts := f.accounts(6000)
	var next atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			if 2*i+1 >= 48_000 {
				b.Error("out of places: use -benchtime Nx with N ≤ 24000")
				return
			}
			_, err := f.svc.Hold(context.Background(), seatmap.HoldRequest{EventID: f.event, AccountID: accts[i%len(accts)],
				GA: &seatmap.GARequest{Section: "FLOOR", Quantity: 2}})
			if err != nil {
				b.Errorf("ga hold %d: %v", i, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "holds/s")
}
