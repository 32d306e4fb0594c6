package server_test

import (
	"context"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// BenchmarkHoldHTTP measures successful holds per second through the whole
// stack: HTTP, bearer auth, the Redis gate and the Postgres transaction. Each
// hold takes 2 seats no one else asks for, for one of 6,000 fans, with 32
// requests in flight. It needs -benchtime Nx with N ≤ 24,000 (the stadium's
// free seats); scripts/bench-holds.sh runs it next to pgbench.
func BenchmarkHoldHTTP(b *testing.B) {
	e := newEnv(b, envOpts{})
	ctx := context.Background()
	layout, err := seatmap.Generate("stadium")
	if err != nil {
		b.Fatal(err)
	}
	event, seats := e.eventFrom(ctx, layout, seatmap.DefaultPrices("stadium"))
	fans, err := account.NewService(e.db(), account.Config{HashCost: bcrypt.MinCost}).SeedFans(ctx, testkit.RandomHex(4), 6000, "bench-password")
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	path := "/api/events/" + event + "/holds"
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			if 2*i+1 >= len(seats) {
				b.Error("out of seats: use -benchtime Nx with N ≤ 24000")
				return
			}
			r := e.do("POST", path, fans[i%len(fans)].Token, map[string]any{"seat_ids": seats[2*i : 2*i+2]})
			if r.status != 201 {
				b.Errorf("hold %d: %d %s", i, r.status, r.body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "holds/s")
}
