package seatmap

import (
	"fmt"
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
			got := pickBest(l, st, tt.req, nil, 1)
			if !slices.Equal(got, tt.want) {
				t.Errorf("pickBest = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPickBestExcludes(t *testing.T) {
	l, st := rowLayout("aaaaaa")
	got := pickBest(l, st, BestRequest{Quantity: 2}, map[int32]bool{0: true, 1: true}, 1)
	if want := []int32{2, 3}; !slices.Equal(got, want) {
		t.Errorf("pickBest excluding 0,1 = %v, want %v", got, want)
	}
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
		if pickBest(l, st, BestRequest{Quantity: 2}, nil, 1) == nil {
			b.Fatal("nothing picked")
		}
	}
}
