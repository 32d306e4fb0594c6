package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/seatmap"
)

// bestFans is how many fans press "best available" at once in
// BenchmarkBestHTTP, each with no think time.
const bestFans = 400

// BenchmarkBestHTTP is a rush for best available through HTTP: bestFans
// fans press "best available, 2 seats" on a fresh ~2,000-seat theater, each
// again as soon as it has its answer, until the server says no pair is
// left. It reports the success share of the requests made while seats
// remained (success-%), the seats held twice (oversold, must be 0) and
// holds/s. Run it with -benchtime 1x: each iteration sells out a theater.
//
// A refusal counts against the success share when seats provably remained:
// some request that started after the refusal came back still got seats
// (nothing is released during the run, so those seats were free all
// along). The refusals at the very end are legitimate; the run also fails
// if seats are left over when every fan has been told none are.
func BenchmarkBestHTTP(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	layout, err := seatmap.Generate("theater")
	if err != nil {
		b.Fatal(err)
	}
	// Each fan signs in as one of four accounts in turn, so no account
	// reaches the per-account cap before the theater sells out.
	fans := e.benchFans(ctx, 4*bestFans)
	e.warmSessions(fans)
	var share, oversold, rate float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		event, seats := e.eventFrom(ctx, layout, seatmap.DefaultPrices("theater"))
		b.StartTimer()
		r := e.bestRush(b, event, fans, len(seats))
		share, oversold, rate = r.share(), float64(r.oversold), float64(r.seats/2)/r.elapsed.Seconds()
		b.Logf("theater of %d seats: %d requests, %d held %d seats, %d refused while seats remained, %d refused at the end, %d seats left; oversold %d",
			len(seats), r.requests, r.held, r.seats, r.failed, r.refusedAtEnd, r.left, r.oversold)
	}
	b.StopTimer()
	b.ReportMetric(share, "success-%")
	b.ReportMetric(oversold, "oversold")
	b.ReportMetric(rate, "holds/s")
	b.ReportMetric(0, "ns/op")
}

// rushResult is what bestRush saw.
type rushResult struct {
	requests, held, seats int
	failed                int // refusals while seats remained, and errors
	refusedAtEnd          int
	oversold              int  // seats returned to two holds, or held in no hold
	left                  int  // seats still available at the end
	bounded               bool // the run hit its request bound
	elapsed               time.Duration
}

// share is the success share of the requests made while seats remained, in
// percent.
func (r rushResult) share() float64 {
	if r.held+r.failed == 0 {
		return 0
	}
	return 100 * float64(r.held) / float64(r.held+r.failed)
}

// bestRush runs one rush of bestFans fans for pairs on event; capacity is
// its seat count.
func (e *env) bestRush(b *testing.B, event string, fans []account.Fan, capacity int) rushResult {
	type outcome struct {
		start, end time.Time
		status     int
		seats      []string
		noneLeft   bool
	}
	var (
		mu   sync.Mutex
		outs []outcome
		wg   sync.WaitGroup
		sent atomic.Int64
	)
	// Bound the run: a server that never says "none left" still ends.
	maxRequests := int64(20 * capacity)
	path := "/api/events/" + event + "/holds"
	start := time.Now()
	for f := range bestFans {
		wg.Go(func() {
			for k := 0; sent.Add(1) <= maxRequests; k++ {
				fan := fans[f+bestFans*(k%4)]
				o := outcome{start: time.Now()}
				r := e.do("POST", path, fan.Token, map[string]any{"best_available": map[string]any{"quantity": 2}})
				o.end, o.status = time.Now(), r.status
				switch r.status {
				case 201:
					var h struct {
						Seats []struct {
							ID string `json:"id"`
						} `json:"seats"`
					}
					if err := json.Unmarshal(r.body, &h); err != nil {
						b.Error(err)
					}
					for _, s := range h.Seats {
						o.seats = append(o.seats, s.ID)
					}
				case 409:
					o.noneLeft = strings.Contains(string(r.body), seatmap.ErrNoSeatsFound.Message)
				default:
					b.Errorf("best available: %d %s", r.status, r.body)
				}
				mu.Lock()
				outs = append(outs, o)
				mu.Unlock()
				if o.noneLeft {
					return
				}
			}
		})
	}
	wg.Wait()
	res := rushResult{requests: len(outs), elapsed: time.Since(start), bounded: sent.Load() > maxRequests}
	var lastWinStart time.Time
	for _, o := range outs {
		if o.status == 201 && o.start.After(lastWinStart) {
			lastWinStart = o.start
		}
	}
	var got []string
	for _, o := range outs {
		switch {
		case o.status == 201:
			res.held++
			res.seats += len(o.seats)
			got = append(got, o.seats...)
		case o.status == 409 && !o.end.Before(lastWinStart):
			res.refusedAtEnd++
		default:
			res.failed++
		}
	}
	slices.Sort(got)
	res.oversold = len(got) - len(slices.Compact(got))
	// Every seat a fan was given is held in Postgres, and no pair is left
	// when every fan has been told so (a pair is two seats of one section,
	// side by side or not).
	var held, left, pairs int
	err := e.pool.QueryRow(context.Background(), `
		SELECT coalesce(sum(held), 0), coalesce(sum(free), 0), count(*) FILTER (WHERE free >= 2)
		FROM (SELECT count(*) FILTER (WHERE status = 'held') AS held, count(*) FILTER (WHERE status = 'available') AS free
		      FROM seats WHERE event_id = $1 GROUP BY section) s`, eventID(b, event)).Scan(&held, &left, &pairs)
	if err != nil {
		b.Fatal(err)
	}
	if held != res.seats {
		res.oversold += max(held-res.seats, res.seats-held)
	}
	res.left = left
	if pairs > 0 && !res.bounded {
		// Every fan stopped on "none left" while a pair was left: those
		// answers were wrong.
		res.failed += res.refusedAtEnd
		res.refusedAtEnd = 0
	}
	return res
}
