package seatmap

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

var presetNamesForTest = []string{"stadium", "arena", "theater"}

// generate is Generate for tests that need a valid preset.
func generate(t testing.TB, preset string) Layout {
	t.Helper()
	l, err := Generate(preset)
	if err != nil {
		t.Fatalf("Generate(%q): %v", preset, err)
	}
	return l
}

// pitchOf returns the seat pitch Generate promises for a preset.
func pitchOf(t testing.TB, preset string) float64 {
	t.Helper()
	p, ok := findPreset(preset)
	if !ok {
		t.Fatalf("no preset %q", preset)
	}
	return p.pitch
}

func TestGenerateSeatCounts(t *testing.T) {
	tests := []struct {
		preset   string
		min, max int
	}{
		{"stadium", 45_000, 55_000},
		{"arena", 12_000, 18_000},
		{"theater", 1_500, 2_500},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			l := generate(t, tt.preset)
			got := len(l.Seats)
			if got < tt.min || got > tt.max {
				t.Errorf("Generate(%q) has %d seats, want %d..%d", tt.preset, got, tt.min, tt.max)
			}
			t.Logf("%s: %d seats in %d sections", tt.preset, got, len(l.Sections))
		})
	}
}

func TestGenerateUnknownPreset(t *testing.T) {
	for _, preset := range []string{"", "Stadium", "opera", "stadium "} {
		t.Run(preset, func(t *testing.T) {
			l, err := Generate(preset)
			if !errors.Is(err, ErrUnknownPreset) {
				t.Fatalf("Generate(%q) error = %v, want ErrUnknownPreset", preset, err)
			}
			for _, name := range presetNamesForTest {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not list preset %q", err, name)
				}
			}
			if len(l.Seats) != 0 || len(l.Sections) != 0 {
				t.Errorf("Generate(%q) returned a layout with an error", preset)
			}
		})
	}
}

func TestGenerateDeterministic(t *testing.T) {
	for _, preset := range presetNamesForTest {
		t.Run(preset, func(t *testing.T) {
			a, b := generate(t, preset), generate(t, preset)
			if !slices.Equal(a.Sections, b.Sections) {
				t.Errorf("sections differ between two calls")
			}
			if i := firstDifference(a.Seats, b.Seats); i >= 0 {
				t.Errorf("seat %d differs between calls (-first +second):\n- %+v\n+ %+v", i, a.Seats[i], b.Seats[i])
			}
		})
	}
}

func firstDifference(a, b []SeatSpec) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestGenerateValidates(t *testing.T) {
	for _, preset := range presetNamesForTest {
		t.Run(preset, func(t *testing.T) {
			if err := generate(t, preset).Validate(); err != nil {
				t.Errorf("Generate(%q).Validate() = %v, want nil", preset, err)
			}
		})
	}
}

// TestGenerateGeometry checks that seats fit the 0..1000 plane, that no two
// seats are closer than the pitch, and that seats of different sections are
// at least two pitches apart (an aisle), so sections do not overlap. Seats go
// into grid cells two pitches wide, so only neighbouring cells are compared.
func TestGenerateGeometry(t *testing.T) {
	for _, preset := range presetNamesForTest {
		t.Run(preset, func(t *testing.T) {
			l := generate(t, preset)
			pitch := pitchOf(t, preset)
			cell := 2 * pitch
			type key struct{ x, y int }
			grid := make(map[key][]int, len(l.Seats))
			for i, s := range l.Seats {
				if s.X < 0 || s.X > 1000 || s.Y < 0 || s.Y > 1000 {
					t.Fatalf("seat %d at (%g, %g) is outside 0..1000", i, s.X, s.Y)
				}
				k := key{int(s.X / cell), int(s.Y / cell)}
				grid[k] = append(grid[k], i)
			}
			minSame, minCross := math.Inf(1), math.Inf(1)
			for i, s := range l.Seats {
				cx, cy := int(s.X/cell), int(s.Y/cell)
				for dx := -1; dx <= 1; dx++ {
					for dy := -1; dy <= 1; dy++ {
						for _, j := range grid[key{cx + dx, cy + dy}] {
							if j <= i {
								continue
							}
							o := l.Seats[j]
							d := math.Hypot(s.X-o.X, s.Y-o.Y)
							minSame = min(minSame, d)
							if d < pitch {
								t.Fatalf("seats %d %+v and %d %+v are %.3f apart, want >= %g", i, s, j, o, d, pitch)
							}
							if o.Section != s.Section {
								minCross = min(minCross, d)
								if d < cell {
									t.Fatalf("seats %d (section %s) and %d (section %s) are %.3f apart, want an aisle >= %g",
										i, s.Section, j, o.Section, d, cell)
								}
							}
						}
					}
				}
			}
			t.Logf("%s: closest seats %.3f apart, closest seats of different sections %.3f apart", preset, minSame, minCross)
		})
	}
}

// TestGenerateRowOrder checks the index order best-available relies on:
// sections in the order of Layout.Sections, each section and each of its rows
// one contiguous run, numbers 1..n ascending, and consecutive numbers one
// pitch apart, so they really sit side by side.
func TestGenerateRowOrder(t *testing.T) {
	for _, preset := range presetNamesForTest {
		t.Run(preset, func(t *testing.T) {
			l := generate(t, preset)
			pitch := pitchOf(t, preset)
			var sectionOrder []string
			doneSections := map[string]bool{}
			doneRows := map[[2]string]bool{}
			for i, s := range l.Seats {
				newSection := i == 0 || l.Seats[i-1].Section != s.Section
				newRow := newSection || l.Seats[i-1].Row != s.Row
				if newSection {
					if doneSections[s.Section] {
						t.Fatalf("seat %d: section %s appears in two runs", i, s.Section)
					}
					doneSections[s.Section] = true
					sectionOrder = append(sectionOrder, s.Section)
				}
				row := [2]string{s.Section, s.Row}
				if newRow {
					if doneRows[row] {
						t.Fatalf("seat %d: row %v appears in two runs", i, row)
					}
					doneRows[row] = true
					if s.Number != 1 {
						t.Fatalf("seat %d: row %v starts at number %d, want 1", i, row, s.Number)
					}
					continue
				}
				prev := l.Seats[i-1]
				if got, want := s.Number, prev.Number+1; got != want {
					t.Fatalf("seat %d: row %v number %d follows %d, want %d", i, row, got, prev.Number, want)
				}
				if d := math.Hypot(s.X-prev.X, s.Y-prev.Y); d < pitch || d > pitch+0.05 {
					t.Fatalf("seat %d: row %v numbers %d and %d are %.3f apart, want %g..%g",
						i, row, prev.Number, s.Number, d, pitch, pitch+0.05)
				}
			}
			var want []string
			for _, sec := range l.Sections {
				want = append(want, sec.ID)
			}
			if !slices.Equal(sectionOrder, want) {
				t.Errorf("seat sections in order (-want +got):\n- %v\n+ %v", want, sectionOrder)
			}
		})
	}
}

func TestGenerateSeatTypes(t *testing.T) {
	tests := []struct {
		preset string
		// The tiers where the special types may appear.
		vipTiers, accessibleTiers []string
	}{
		{"stadium", []string{"floor"}, []string{"lower"}},
		{"arena", []string{"floor"}, []string{"lower"}},
		{"theater", []string{"orchestra"}, []string{"orchestra"}},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			l := generate(t, tt.preset)
			tier := map[string]string{}
			for _, s := range l.Sections {
				tier[s.ID] = s.Tier
			}
			count := map[string]int{}
			rankSum := map[string]float64{}
			for i, s := range l.Seats {
				count[s.Type]++
				rankSum[s.Type] += float64(s.Rank)
				switch s.Type {
				case SeatVIP:
					if !slices.Contains(tt.vipTiers, tier[s.Section]) {
						t.Errorf("seat %d is vip in tier %q, want one of %v", i, tier[s.Section], tt.vipTiers)
					}
				case SeatAccessible:
					if !slices.Contains(tt.accessibleTiers, tier[s.Section]) {
						t.Errorf("seat %d is accessible in tier %q, want one of %v", i, tier[s.Section], tt.accessibleTiers)
					}
				}
			}
			n := float64(len(l.Seats))
			share := func(typ string) float64 { return float64(count[typ]) / n }
			if got := share(SeatVIP); got < 0.01 || got > 0.06 {
				t.Errorf("vip share = %.2f%%, want 1%%..6%%", 100*got)
			}
			if got := share(SeatAccessible); got < 0.005 || got > 0.02 {
				t.Errorf("accessible share = %.2f%%, want 0.5%%..2%%", 100*got)
			}
			if got := share(SeatStandard); got < 0.9 {
				t.Errorf("standard share = %.2f%%, want at least 90%%", 100*got)
			}
			// vip seats are the ones near the stage.
			vipMean := rankSum[SeatVIP] / float64(count[SeatVIP])
			allMean := (rankSum[SeatVIP] + rankSum[SeatAccessible] + rankSum[SeatStandard]) / n
			if vipMean >= allMean/2 {
				t.Errorf("vip mean rank = %.0f, want under half the venue mean %.0f", vipMean, allMean)
			}
			t.Logf("%s: %d standard, %d vip (%.1f%%), %d accessible (%.1f%%)", tt.preset,
				count[SeatStandard], count[SeatVIP], 100*share(SeatVIP), count[SeatAccessible], 100*share(SeatAccessible))
		})
	}
}

func TestGenerateRanks(t *testing.T) {
	for _, preset := range presetNamesForTest {
		t.Run(preset, func(t *testing.T) {
			l := generate(t, preset)
			type stats struct {
				sum      float64
				n        int
				firstRow string
				rows     map[string][2]float64 // row → {rank sum, count}
			}
			bySection := map[string]*stats{}
			for _, s := range l.Seats {
				st := bySection[s.Section]
				if st == nil {
					st = &stats{firstRow: s.Row, rows: map[string][2]float64{}}
					bySection[s.Section] = st
				}
				st.sum += float64(s.Rank)
				st.n++
				r := st.rows[s.Row]
				st.rows[s.Row] = [2]float64{r[0] + float64(s.Rank), r[1] + 1}
			}
			// Section ranks are 0..n-1 and follow the mean seat rank.
			byRank := make([]Section, len(l.Sections))
			for _, sec := range l.Sections {
				if sec.Rank < 0 || sec.Rank >= len(byRank) || byRank[sec.Rank].ID != "" {
					t.Fatalf("section %s has rank %d, want a unique rank in 0..%d", sec.ID, sec.Rank, len(byRank)-1)
				}
				byRank[sec.Rank] = sec
			}
			mean := func(id string) float64 { return bySection[id].sum / float64(bySection[id].n) }
			for i := 1; i < len(byRank); i++ {
				if a, b := byRank[i-1], byRank[i]; mean(a.ID) > mean(b.ID) {
					t.Errorf("section %s (rank %d, mean seat rank %.0f) ranks before %s (mean %.0f)",
						a.ID, a.Rank, mean(a.ID), b.ID, mean(b.ID))
				}
			}
			// Within a section the first row is better than the last.
			for _, sec := range l.Sections {
				st := bySection[sec.ID]
				var lastRow string
				for i := len(l.Seats) - 1; i >= 0; i-- {
					if l.Seats[i].Section == sec.ID {
						lastRow = l.Seats[i].Row
						break
					}
				}
				first, last := st.rows[st.firstRow], st.rows[lastRow]
				if first[0]/first[1] >= last[0]/last[1] {
					t.Errorf("section %s: row %s mean rank %.0f, not better than back row %s %.0f",
						sec.ID, st.firstRow, first[0]/first[1], lastRow, last[0]/last[1])
				}
			}
			if got := l.Sections[0].Tier; got == "" {
				t.Errorf("section %s has no tier", l.Sections[0].ID)
			}
		})
	}
}

func TestDefaultPrices(t *testing.T) {
	for _, preset := range presetNamesForTest {
		t.Run(preset, func(t *testing.T) {
			prices := DefaultPrices(preset)
			keys := []string{SeatVIP, SeatAccessible}
			for _, sec := range generate(t, preset).Sections {
				keys = append(keys, sec.Tier)
			}
			for _, k := range keys {
				if got := prices[k]; got <= 0 {
					t.Errorf("DefaultPrices(%q)[%q] = %d, want a positive price", preset, k, got)
				}
			}
			// The caller owns the map.
			prices[SeatVIP] = -1
			if got := DefaultPrices(preset)[SeatVIP]; got <= 0 {
				t.Errorf("changing a returned map changed the next call: vip = %d", got)
			}
		})
	}
	if got := DefaultPrices("opera"); got != nil {
		t.Errorf("DefaultPrices(%q) = %v, want nil", "opera", got)
	}
}

func TestRowLabels(t *testing.T) {
	tests := []struct {
		label func(int) string
		i     int
		want  string
	}{
		{letterRow, 0, "A"},
		{letterRow, 7, "H"},
		{letterRow, 8, "J"},  // no I
		{letterRow, 13, "P"}, // no O
		{letterRow, 23, "Z"},
		{letterRow, 24, "AA"},
		{letterRow, 25, "BB"},
		{numberRow, 0, "1"},
		{numberRow, 39, "40"},
	}
	for _, tt := range tests {
		if got := tt.label(tt.i); got != tt.want {
			t.Errorf("label(%d) = %q, want %q", tt.i, got, tt.want)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, preset := range presetNamesForTest {
		b.Run(preset, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Generate(preset); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
