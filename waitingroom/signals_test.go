package waitingroom

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestReviewSignals: each velocity, fingerprint or decline signal sends an order to
// review on its own, and a human-paced purchase trips none.
func TestReviewSignals(t *testing.T) {
	f := newFixture(t, false)
	s := f.service(nil, nil) // default thresholds: 3 s, 10 s, 6 holds/min, 5 accounts
	ctx := context.Background()
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true})
	bulkJoin(t, s, ev, []int64{1, 2, 3})
	joined := f.clock.Now()
	human := Fingerprint("Mozilla/5.0 human", "en", "gzip")
	farm := Fingerprint("Mozilla/5.0 farm", "en", "gzip")

	if err := s.RecordHold(ctx, ev, 1, human); err != nil {
		t.Fatal(err)
	}
	for acct := int64(10); acct < 16; acct++ { // six accounts, one fingerprint
		if err := s.RecordHold(ctx, ev, acct, farm); err != nil {
			t.Fatal(err)
		}
	}
	for range 7 {
		if err := s.RecordHold(ctx, ev, 3, human); err != nil {
			t.Fatal(err)
		}
	}
	// Two declines before paying are a fan correcting a card; three are
	// a card run.
	for acct, n := range map[int64]int{1: 2, 4: 3} {
		for range n {
			if err := s.RecordDecline(ctx, ev, acct); err != nil {
				t.Fatal(err)
			}
		}
	}
	at := func(d time.Duration) time.Time { return joined.Add(d) }
	tests := []struct {
		name       string
		acct       int64
		hold, paid time.Time
		want       []string
	}{
		{"human", 1, at(20 * time.Second), at(60 * time.Second), nil},
		{"join to hold too fast", 1, at(time.Second), at(60 * time.Second), []string{ReasonJoinToHold}},
		{"hold to pay too fast", 2, at(20 * time.Second), at(25 * time.Second), []string{ReasonHoldToPay}},
		{"holds per minute", 3, f.clock.Now(), f.clock.Now().Add(time.Minute), []string{ReasonJoinToHold, ReasonHoldsPerMinute}},
		{"shared fingerprint", 10, at(20 * time.Second), at(60 * time.Second), []string{ReasonSharedFingerprint}},
		{"declines", 4, at(20 * time.Second), at(60 * time.Second), []string{ReasonDeclines}},
	}
	for _, tt := range tests {
		got, err := s.Review(ctx, ev, tt.acct, tt.hold, tt.paid)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: reasons %v, want %v", tt.name, got, tt.want)
		}
	}
	// Without the room the rush the signals judge does not exist.
	closed := f.event(time.Now().Add(-time.Minute), Settings{})
	if got, err := s.Review(ctx, closed, 3, f.clock.Now(), f.clock.Now()); err != nil || got != nil {
		t.Errorf("an event without a room: reasons %v, %v; want none", got, err)
	}
	if Fingerprint("a", "b") == Fingerprint("ab", "") {
		t.Error("fingerprint fields run together")
	}
}

// TestNoteHoldBatches: holds queued by NoteHold from many requests at once
// reach the same signals as holds recorded one by one (the exact count of
// an account's holds in its minute, every account of a shared fingerprint,
// the account's fingerprint for Review), once FlushHolds returns.
func TestNoteHoldBatches(t *testing.T) {
	f := newFixture(t, false)
	s := f.service(nil, nil)
	ctx := context.Background()
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true})
	bulkJoin(t, s, ev, []int64{1, 3})
	joined := f.clock.Now()
	human := Fingerprint("Mozilla/5.0 human", "en", "gzip")
	farm := Fingerprint("Mozilla/5.0 farm", "en", "gzip")
	var wg sync.WaitGroup
	for acct := int64(10); acct < 16; acct++ { // six accounts, one fingerprint, three holds each
		for range 3 {
			wg.Go(func() { s.NoteHold(ev, acct, farm) })
		}
	}
	for range 7 {
		wg.Go(func() { s.NoteHold(ev, 3, human) })
	}
	wg.Go(func() { s.NoteHold(ev, 1, human) })
	wg.Wait()
	if err := s.FlushHolds(ctx); err != nil {
		t.Fatal(err)
	}
	drains, dropped := s.HoldSignalStats()
	t.Logf("26 holds written in %d pipelined round trips", drains)
	if dropped != 0 {
		t.Errorf("%d holds dropped from a queue of 26", dropped)
	}
	minute := strconv.FormatInt(f.clock.Now().Unix()/60, 10)
	if n, err := f.rdb.Get(ctx, s.keys(ev).base+"hpm:3:"+minute).Int(); err != nil || n != 7 {
		t.Errorf("account 3's holds this minute: %d (%v), want 7", n, err)
	}
	if n, err := f.rdb.SCard(ctx, s.keys(ev).base+"fp:"+farm).Result(); err != nil || n != 6 {
		t.Errorf("accounts behind the farm's fingerprint: %d (%v), want 6", n, err)
	}
	at := func(d time.Duration) time.Time { return joined.Add(d) }
	for _, tt := range []struct {
		name string
		acct int64
		want []string
	}{
		{"human", 1, nil},
		{"holds per minute", 3, []string{ReasonHoldsPerMinute}},
		{"shared fingerprint", 12, []string{ReasonSharedFingerprint}},
	} {
		hold := at(20 * time.Second)
		if tt.acct == 3 {
			hold = f.clock.Now()
		}
		got, err := s.Review(ctx, ev, tt.acct, hold, hold.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if tt.acct == 3 {
			got = slices.DeleteFunc(got, func(r string) bool { return r == ReasonJoinToHold })
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: reasons %v, want %v", tt.name, got, tt.want)
		}
	}
}

// BenchmarkHoldSignals compares the two ways a node records holds for the
// review signals: a goroutine and a pipelined round trip per hold (the
// server before NoteHold), and NoteHold's batched queue. 32 producers
// stand in for requests in flight: each makes one Redis round trip of its
// own (a PING, as a hold makes its gate call) and then records a hold, so
// holds arrive at the pace Redis answers, as in a sale. It reports this
// process's CPU per hold and the Redis round trips spent on the signals
// per hold.
func BenchmarkHoldSignals(b *testing.B) {
	for _, mode := range []string{"per-hold", "batched"} {
		b.Run(mode, func(b *testing.B) {
			f := newFixture(b, false)
			s := f.service(nil, nil)
			ctx := context.Background()
			ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true})
			fp := Fingerprint("Mozilla/5.0 bench", "en", "gzip")
			var next atomic.Int64
			var inflight sync.WaitGroup
			drains0, _ := s.HoldSignalStats()
			cpu0 := cpuTime()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range 32 {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if err := f.rdb.Ping(ctx).Err(); err != nil {
							b.Error(err)
							return
						}
						if mode == "batched" {
							s.NoteHold(ev, i%6000, fp)
							continue
						}
						inflight.Go(func() {
							if err := s.RecordHold(ctx, ev, i%6000, fp); err != nil {
								b.Error(err)
							}
						})
					}
				})
			}
			wg.Wait()
			inflight.Wait()
			if err := s.FlushHolds(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			trips := float64(b.N)
			if mode == "batched" {
				drains, _ := s.HoldSignalStats()
				trips = float64(drains - drains0)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-us/hold")
			b.ReportMetric(trips/float64(b.N), "signal-round-trips/hold")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "holds/s")
			b.ReportMetric(0, "ns/op") // the rate says it
		})
	}
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
