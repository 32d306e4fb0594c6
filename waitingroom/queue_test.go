package waitingroom

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestQueueAtScale joins N fans after the sale opened and runs the admitter
// with short ticks until every fan is admitted. It checks that numbers are
// unique and in arrival order, the cursor never goes back, every fan is
// admitted exactly once, each tick costs exactly one cursor frame whether 10
// or 100,000 fans wait, and (at 100,000) that the observed admit rate is
// within ±10% of the setting.
func TestQueueAtScale(t *testing.T) {
	for _, n := range []int{10, 100_000} {
		t.Run(itoa(n), func(t *testing.T) {
			if n > 1000 && testing.Short() {
				t.Skip("-short")
			}
			testQueueAtScale(t, n)
		})
	}
}

func testQueueAtScale(t *testing.T, n int) {
	f := newFixture(t, true) // a private Redis: this test is heavy
	rec := newRecorder()
	// A long lease: on a loaded machine a tick may outlast a short one, and
	// this test is about one admitter's rate, not handover.
	s := f.service(rec, func(c *Config) { c.LeaseTTL = 30 * time.Second })
	ctx := context.Background()
	// 50,000 fans a second: 100,000 fans in about two seconds.
	const perMinute = 3_000_000
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true, AdmitPerMinute: perMinute, ActiveLimit: 1_000_000})
	adm := s.NewAdmitter(ev)
	if _, err := adm.Step(ctx); err != nil { // opens the (empty) pre-queue
		t.Fatal(err)
	}

	fans := accounts(1, n)
	start := time.Now()
	bulkJoin(t, s, ev, fans)
	t.Logf("%d joins in %v", n, time.Since(start))

	zs, err := f.rdb.ZRangeWithScores(ctx, s.keys(ev).q, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(zs) != n {
		t.Fatalf("%d places for %d fans", len(zs), n)
	}
	seen := make(map[float64]bool, n)
	for i, z := range zs {
		if seen[z.Score] || z.Score != float64(i+1) || parseID(t, z.Member) != fans[i] {
			t.Fatalf("place %d: %v %v, want numbers 1..n unique in arrival order", i, z.Member, z.Score)
		}
		seen[z.Score] = true
	}

	// A fresh admitter for the run, so the first tick's budget is one tick
	// and not the time the joins took.
	adm.release()
	adm = s.NewAdmitter(ev)
	steps := 1
	tick := time.NewTicker(s.cfg.Tick)
	defer tick.Stop()
	deadline := time.Now().Add(60 * time.Second)
	var cursor int64
	var ticks []TickResult
	for cursor < int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("cursor %d of %d after a minute", cursor, n)
		}
		<-tick.C
		res, err := adm.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		steps++
		cursor = res.Cursor
		ticks = append(ticks, res)
	}
	// A few idle ticks still cost one frame each.
	for range 3 {
		if _, err := adm.Step(ctx); err != nil {
			t.Fatal(err)
		}
		steps++
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.queue) != steps {
		t.Errorf("%d cursor frames for %d ticks with %d fans, want one per tick", len(rec.queue), steps, n)
	}
	for i := 1; i < len(rec.queue); i++ {
		if rec.queue[i].Serving < rec.queue[i-1].Serving {
			t.Fatalf("cursor went back: %d then %d", rec.queue[i-1].Serving, rec.queue[i].Serving)
		}
	}
	if last := rec.queue[len(rec.queue)-1]; last.Serving != int64(n) || last.QueueLength != 0 {
		t.Errorf("last frame %+v, want serving %d and an empty queue", last, n)
	}
	if len(rec.admitted) != n {
		t.Errorf("%d fans admitted, want %d", len(rec.admitted), n)
	}
	for acct, times := range rec.admitted {
		if times != 1 {
			t.Fatalf("account %d admitted %d times", acct, times)
		}
	}
	if n < 1000 {
		return
	}
	// Observed rate: the fans admitted after the first admitting tick up
	// to the last full one, over the time between those admissions (each
	// tick's admission instant, the clock its admissions expire by). The
	// wall time between the frames is logged too: it adds the jitter of
	// how long each tick took to publish.
	first, last := -1, -1
	for i, tr := range ticks {
		if len(tr.Admitted) > 0 && first < 0 {
			first = i
		}
		if tr.Cursor < int64(n) {
			last = i
		}
	}
	var count int
	for i := first + 1; i <= last; i++ {
		count += len(ticks[i].Admitted)
	}
	secs := ticks[last].At.Sub(ticks[first].At).Seconds()
	observed, want := float64(count)/secs*60, float64(perMinute)
	t.Logf("%d fans admitted in %d ticks; observed %.0f/min over %.2fs, setting %.0f/min", n, steps, observed, secs, want)
	t.Logf("by frame publish times: %.0f/min", float64(count)/rec.queueAt[last+1].Sub(rec.queueAt[first+1]).Seconds()*60)
	if math.Abs(observed-want)/want > 0.10 {
		t.Errorf("observed admit rate %.0f/min, want within ±10%% of %.0f/min", observed, want)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
