package seatmap

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// statsLayout is an in-memory layout of n seats over sections sections,
// each seat priced 1000 + its section index.
func statsLayout(n, sections int) *eventLayout {
	l := &eventLayout{}
	for s := range sections {
		id := fmt.Sprintf("S%d", s)
		l.sections = append(l.sections, SectionInfo{ID: id, Name: id})
	}
	for i := range n {
		s := i * sections / n
		l.seats = append(l.seats, SeatInfo{Idx: int32(i), Section: fmt.Sprintf("S%d", s), PriceCents: 1000 + int64(s)})
	}
	return l
}

func TestSeatCounterApply(t *testing.T) {
	l := statsLayout(10, 2) // S0: idx 0-4, S1: idx 5-9
	c := newSeatCounter(1, l, Position{Epoch: "e", Seq: 3}, []byte("aaaasrrraa"))
	if got := c.Figures().RevenueCents; got != 1000 {
		t.Fatalf("initial revenue = %d, want 1000", got)
	}
	c.Apply(Position{Epoch: "e", Seq: 4}, []SeatChange{
		{Idx: 0, State: StateHeld, Version: 2}, {Idx: 1, State: StateHeld, Version: 2},
		{Idx: 5, State: StateAvailable, Version: 2}, // released from reserve
	})
	c.Apply(Position{Epoch: "e", Seq: 5}, []SeatChange{
		{Idx: 0, State: StateSold, Version: 3},
		{Idx: 1, State: StateAvailable, Version: 3},
		{Idx: 0, State: StateHeld, Version: 2},      // stale: ignored
		{Idx: 4, State: StateAvailable, Version: 2}, // sale undone (void)
	})
	f := c.Figures()
	want := map[string]map[string]int64{
		"S0": {"available": 4, "held": 0, "sold": 1, "reserved": 0, "resale": 0},
		"S1": {"available": 3, "held": 0, "sold": 0, "reserved": 2, "resale": 0},
	}
	for _, sec := range f.Sections {
		for k, v := range want[sec.ID] {
			if sec.Counts[k] != v {
				t.Errorf("section %s %s = %d, want %d", sec.ID, k, sec.Counts[k], v)
			}
		}
	}
	if f.Totals["available"] != 7 || f.Totals["sold"] != 1 || f.Totals["reserved"] != 2 {
		t.Errorf("totals = %v", f.Totals)
	}
	if f.RevenueCents != 1000 || f.SeatsHeldTotal != 2 || f.SeatsSoldTotal != 1 || f.Seq != 5 {
		t.Errorf("revenue %d held %d sold %d seq %d, want 1000 2 1 5", f.RevenueCents, f.SeatsHeldTotal, f.SeatsSoldTotal, f.Seq)
	}
}

// BenchmarkStatsFrame measures one dashboard tick's seat part: apply a
// second's worth of diffs (50 changes) and build and encode the figures.
// Compare ns/op of seats=2000 and seats=50000: it should not grow with
// the seat count (it depends on changes and sections).
func BenchmarkStatsFrame(b *testing.B) {
	for _, n := range []int{2000, 50000} {
		b.Run(fmt.Sprintf("seats=%d", n), func(b *testing.B) {
			c := newSeatCounter(1, statsLayout(n, 40), Position{}, []byte(strings.Repeat("a", n)))
			batch := make([]SeatChange, 50)
			var seq, v int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				seq++
				v++
				for j := range batch {
					state := StateHeld
					if i%2 == 1 {
						state = StateSold
					}
					batch[j] = SeatChange{Idx: int32((i/2*50 + j) % n), State: state, Version: v}
				}
				c.Apply(Position{Seq: seq}, batch)
				if _, err := json.Marshal(c.Figures()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatsRecount is the approach the counter avoids, for contrast:
// counting every seat's status each tick grows with the seat count.
func BenchmarkStatsRecount(b *testing.B) {
	for _, n := range []int{2000, 50000} {
		b.Run(fmt.Sprintf("seats=%d", n), func(b *testing.B) {
			l, statuses := statsLayout(n, 40), []byte(strings.Repeat("a", n))
			for b.Loop() {
				if _, err := json.Marshal(newSeatCounter(1, l, Position{}, statuses).Figures()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
