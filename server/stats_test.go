package server_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/realtime"
)

type statsBody struct {
	Status   string           `json:"status"`
	Capacity int              `json:"capacity"`
	Totals   map[string]int64 `json:"totals"`
	Sections []struct {
		ID     string           `json:"id"`
		Counts map[string]int64 `json:"counts"`
	} `json:"sections"`
	RevenueCents   int64            `json:"revenue_cents"`
	SeatsHeldTotal int64            `json:"seats_held_total"`
	SeatsSoldTotal int64            `json:"seats_sold_total"`
	QueueLength    int64            `json:"queue_length"`
	Results        map[string]int64 `json:"hold_results"`
	P99Ms          float64          `json:"p99_hold_ms"`
	Admins         int              `json:"admins"`
}

func (e *env) stats(event, token string) statsBody {
	e.t.Helper()
	r := e.do("GET", "/api/admin/events/"+event+"/stats", token, nil)
	if r.status != 200 {
		e.t.Fatalf("stats: %d %s", r.status, r.body)
	}
	var st statsBody
	r.json(e.t, &st)
	return st
}

// TestAdminStats: the dashboard figures follow holds and a sale through the
// diff stream (per section, revenue, hold results, latency), a stats frame
// reaches an admin's socket from the 1 Hz loop, and /metrics carries the
// same figures.
func TestAdminStats(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg(), metrics: true})
	event, seats := e.event(2, 1, 5) // S1: idx 0-4, S2: idx 5-9, 4200 each
	admin := e.admin()
	st := e.stats(event, admin)
	if st.Capacity != 10 || st.Totals["available"] != 10 || len(st.Sections) != 2 || st.Status != "on_sale" {
		t.Fatalf("initial stats %+v", st)
	}

	_, fan := e.signUp("fan")
	e.holdSeats(event, fan, seats[0], seats[1])
	sold := e.holdSeats(event, fan, seats[6])
	p := e.startCheckout(sold, fan)
	if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", fan, map[string]string{"card_number": "4242424242424242"}); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if _, ok := e.hold(event, fan, seats[0]); ok {
		t.Fatal("second hold of a held seat succeeded")
	}

	st = e.stats(event, admin)
	counts := map[string]map[string]int64{}
	for _, s := range st.Sections {
		counts[s.ID] = s.Counts
	}
	if counts["S1"]["held"] != 2 || counts["S1"]["available"] != 3 || counts["S2"]["sold"] != 1 || counts["S2"]["available"] != 4 {
		t.Errorf("section counts %v", counts)
	}
	if st.Totals["held"] != 2 || st.Totals["sold"] != 1 || st.RevenueCents != 4200 {
		t.Errorf("totals %v revenue %d, want held 2 sold 1 revenue 4200", st.Totals, st.RevenueCents)
	}
	if st.Results["ok"] != 2 || st.Results["conflict"] != 1 || st.P99Ms <= 0 {
		t.Errorf("hold results %v p99 %v", st.Results, st.P99Ms)
	}

	// The loop publishes for events an admin socket follows.
	ws := mustDialWS(t, e.base, admin)
	ws.subscribe(realtime.StatsTopic(mustInt(t, event)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.sales.Run(ctx)
	// The counters follow the diff stream asynchronously: on a loaded
	// machine the first frames may predate the last change, so read frames
	// (1 Hz) until one shows it, for at most ten of them.
	var f frame
	var fs statsBody
	for i := 0; i < 10; i++ {
		f = ws.next("stats")
		if err := json.Unmarshal(f.raw, &fs); err != nil {
			t.Fatal(err)
		}
		if fs.Totals["sold"] == 1 {
			break
		}
	}
	if f.Event != event || fs.Totals["sold"] != 1 || fs.Admins != 1 || len(fs.Sections) != 2 {
		t.Errorf("stats frame %s", f.raw)
	}

	// A scrape skips an event whose figures are being recomputed at that
	// instant (it never waits on the tracker), so scrape until the event
	// shows, for a few seconds at most.
	wants := []string{
		`boxoffice_event_seats{event="` + event + `",section="S1",status="held"} 2`,
		`boxoffice_event_revenue_cents{event="` + event + `"} 4200`,
		`boxoffice_event_holds_total{event="` + event + `",result="conflict"} 1`,
	}
	var missing []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		m := e.do("GET", "/metrics", "", nil)
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(string(m.body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("/metrics lacks %s", want)
	}
}

func mustInt(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
