package seatmap

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// rowLayout builds one section of rows given as strings of statuses, for
// example "aahaa": seats numbered from 1, rank = row×100 + number.
func rowLayout(rows ...string) (*eventLayout, []byte) {
	l := &eventLayout{byID: map[int64]int32{}, sections: []SectionInfo{{ID: "A", Rank: 0}}}
	var statuses []byte
	for r, row := range rows {
		for n := range len(row) {
			idx := int32(len(l.seats))
			l.seats = append(l.seats, SeatInfo{ID: int64(idx + 1), Idx: idx, Section: "A", Row: fmt.Sprint(r + 1),
				Number: n + 1, Rank: r*100 + n, PriceCents: int64(1000 * (r + 1))})
			statuses = append(statuses, row[n])
		}
	}
	return l, statuses
}

func TestPickBest(t *testing.T) {
	tests := []struct {
		name string
		rows []string
		req  BestRequest
		want []int32
	}{
		{"first seats of the best row", []string{"aaaaaa", "aaaaaa"}, BestRequest{Quantity: 2}, []int32{0, 1}},
		{"skips held seats", []string{"hhaaaa"}, BestRequest{Quantity: 2}, []int32{2, 3}},
		// Run of 3 free seats: taking 2 would orphan one, so row 2 wins.
		{"leaves no orphan", []string{"haaah", "aaaaa"}, BestRequest{Quantity: 2}, []int32{5, 6}},
		{"orphan only when nothing else", []string{"haaah", "hhhhh"}, BestRequest{Quantity: 2}, []int32{1, 2}},
		{"needs adjacency", []string{"ahaha", "aaaha"}, BestRequest{Quantity: 3}, []int32{5, 6, 7}},
		{"scattered when no block fits", []string{"ahaha"}, BestRequest{Quantity: 3}, []int32{0, 2, 4}},
		{"max price", []string{"aaaa", "aaaa"}, BestRequest{Quantity: 2, MaxPriceCents: 1000}, []int32{0, 1}},
		{"max price excludes", []string{"hhhh", "aaaa"}, BestRequest{Quantity: 2, MaxPriceCents: 1000}, nil},
		{"not enough", []string{"ahhh"}, BestRequest{Quantity: 2}, nil},
		{"unknown section", []string{"aaaa"}, BestRequest{Quantity: 1, Section: "Z"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, st := rowLayout(tt.rows...)
			got := pickBest(l, st, tt.req, 1)
			if !slices.Equal(got, tt.want) {
				t.Errorf("pickBest = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPickBestRowBreaks: seats next to each other by idx but in another
// row, another section or with a gap in the numbers are not a block.
func TestPickBestRowBreaks(t *testing.T) {
	l, st := rowLayout("aaa", "aaa")
	l.seats[2].Number = 5 // a gap (an aisle) before seat 3 of row 1
	l.seats[5].Section = "B"
	if got, want := pickBest(l, st, BestRequest{Quantity: 3}, 1), []int32{0, 1, 3}; slices.Equal(got, want) || got == nil {
		t.Errorf("pickBest across a gap = %v", got)
	}
	if got, want := pickBest(l, st, BestRequest{Quantity: 2}, 1), []int32{0, 1}; !slices.Equal(got, want) {
		t.Errorf("pickBest = %v, want %v", got, want)
	}
}

// TestPickBestMatchesNaive compares pickBest with a direct search (every
// window of every row, scored from scratch) on random busy layouts.
func TestPickBestMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		rows := make([]string, 1+rng.IntN(5))
		for r := range rows {
			b := make([]byte, 1+rng.IntN(12))
			for i := range b {
				b[i] = "aaah"[rng.IntN(4)]
			}
			rows[r] = string(b)
		}
		l, st := rowLayout(rows...)
		q := 1 + rng.IntN(4)
		got := pickBest(l, st, BestRequest{Quantity: q}, 1)
		want := naiveBest(l, st, q)
		if want != nil && (got == nil || score(l, got) != score(l, want)) {
			t.Fatalf("round %d rows %v q %d: pickBest %v (score %d), naive %v (score %d)", round, rows, q, got, score(l, got), want, score(l, want))
		}
	}
}

func score(l *eventLayout, idx []int32) int {
	s := 0
	for _, i := range idx {
		s += l.seats[i].Rank
	}
	return s
}

// naiveBest is the best orphan-free block, else the best block, by brute
// force (nil when no block fits; scattered picks are not compared).
func naiveBest(l *eventLayout, st []byte, q int) []int32 {
	var clean, any []int32
	for start := range l.seats {
		var blk []int32
		for k := start; k < start+q && k < len(l.seats) && st[k] == StateAvailable; k++ {
			if k > start && !(l.seats[k].Row == l.seats[k-1].Row && l.seats[k].Number == l.seats[k-1].Number+1) {
				break
			}
			blk = append(blk, int32(k))
		}
		if len(blk) != q {
			continue
		}
		free := func(i int) bool {
			return i >= 0 && i < len(l.seats) && st[i] == StateAvailable && l.seats[i].Row == l.seats[start].Row
		}
		orphan := (free(start-1) && !free(start-2)) || (free(start+q) && !free(start+q+1))
		if any == nil || score(l, blk) < score(l, any) {
			any = blk
		}
		if !orphan && (clean == nil || score(l, blk) < score(l, clean)) {
			clean = blk
		}
	}
	if clean != nil {
		return clean
	}
	return any
}

func BenchmarkPickBestStadium(b *testing.B) {
	layout, err := Generate("stadium")
	if err != nil {
		b.Fatal(err)
	}
	l := &eventLayout{byID: map[int64]int32{}}
	for i, s := range layout.Seats {
		l.seats = append(l.seats, SeatInfo{ID: int64(i + 1), Idx: int32(i), Section: s.Section, Row: s.Row, Number: s.Number, Rank: s.Rank})
	}
	for _, s := range layout.Sections {
		l.sections = append(l.sections, SectionInfo{ID: s.ID, Rank: s.Rank})
	}
	st := make([]byte, len(l.seats))
	for i := range st {
		st[i] = "aahs"[i%4] // a busy sale: half the seats gone, in short runs
	}
	b.ResetTimer()
	for b.Loop() {
		if pickBest(l, st, BestRequest{Quantity: 2}, 1) == nil {
			b.Fatal("nothing picked")
		}
	}
}
