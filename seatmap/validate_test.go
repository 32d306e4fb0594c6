package seatmap

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// smallLayout is a valid two-section layout each test case breaks in one way.
func smallLayout(t testing.TB) Layout {
	t.Helper()
	l := Layout{
		Sections: []Section{
			{ID: "A", Name: "Section A", Tier: "lower", Rank: 0},
			{ID: "FLOOR B", Name: "Floor B", Tier: "floor", Rank: 1},
		},
		Seats: []SeatSpec{
			{Section: "A", Row: "1", Number: 1, X: 10, Y: 10, Type: SeatVIP},
			{Section: "A", Row: "1", Number: 2, X: 20, Y: 10, Type: SeatStandard},
			{Section: "FLOOR B", Row: "AA", Number: 1, X: 10, Y: 30, Type: SeatAccessible},
			{Section: "FLOOR B", Row: "AA", Number: 2, X: 20, Y: 30, Type: SeatStandard},
		},
	}
	if err := l.Validate(); err != nil {
		t.Fatalf("smallLayout is invalid: %v", err)
	}
	return l
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(l *Layout)
		want   *LayoutError // nil: valid
	}{
		{"valid", func(l *Layout) {}, nil},
		{"no seats", func(l *Layout) { l.Seats = nil },
			&LayoutError{"seats", "a layout needs at least one seat or a ga section"}},
		{"ga only", func(l *Layout) {
			l.Seats = nil
			l.Sections[1] = Section{ID: "GA", Name: "Floor", Tier: "floor", Kind: KindGA, Capacity: 500, Area: Area{10, 10, 100, 50}}
		}, nil},
		{"ga beside seats", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Name: "Floor", Tier: "floor", Kind: KindGA, Capacity: MaxGACapacity - 4, Area: Area{0, 0, 10, 10}})
		}, nil},
		{"unknown kind", func(l *Layout) { l.Sections[0].Kind = "standing" },
			&LayoutError{"sections[0].kind", `unknown section kind "standing" (want "seated" or "ga")`}},
		{"ga without capacity", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Kind: KindGA, Area: Area{0, 0, 10, 10}})
		}, &LayoutError{"sections[2].capacity", "a ga section needs a capacity"}},
		{"ga capacity negative", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Kind: KindGA, Capacity: -1, Area: Area{0, 0, 10, 10}})
		}, &LayoutError{"sections[2].capacity", "capacity -1 is outside 1..100000"}},
		{"ga capacity too large", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Kind: KindGA, Capacity: MaxGACapacity + 1, Area: Area{0, 0, 10, 10}})
		}, &LayoutError{"sections[2].capacity", "capacity 100001 is outside 1..100000"}},
		{"places over the layout limit", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Kind: KindGA, Capacity: MaxGACapacity - 3, Area: Area{0, 0, 10, 10}})
		}, &LayoutError{"sections", "100001 places (seats and ga capacity), at most 100000 allowed"}},
		{"ga without area", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Kind: KindGA, Capacity: 10})
		}, &LayoutError{"sections[2].area", "a ga section needs an area (x, y, width, height) on the plan"}},
		{"ga area off the plan", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Kind: KindGA, Capacity: 10, Area: Area{9990, 0, 20, 10}})
		}, &LayoutError{"sections[2].area.x + width", "10010 is outside 0..10000"}},
		{"ga area NaN", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Kind: KindGA, Capacity: 10, Area: Area{0, math.NaN(), 20, 10}})
		}, &LayoutError{"sections[2].area.y", "not a finite number"}},
		{"ga area empty", func(l *Layout) {
			l.Sections = append(l.Sections, Section{ID: "GA", Kind: KindGA, Capacity: 10, Area: Area{5, 5, 0, 10}})
		}, &LayoutError{"sections[2].area", "width and height must be above 0"}},
		{"capacity on a seated section", func(l *Layout) { l.Sections[0].Capacity = 10 },
			&LayoutError{"sections[0].capacity", "capacity is for ga sections only (a seated section's size is its seats)"}},
		{"area on a seated section", func(l *Layout) { l.Sections[0].Area = Area{0, 0, 1, 1} },
			&LayoutError{"sections[0].area", "area is for ga sections only"}},
		{"seat in a ga section", func(l *Layout) {
			l.Sections[1] = Section{ID: "FLOOR B", Kind: KindGA, Capacity: 10, Area: Area{0, 0, 10, 10}}
		}, &LayoutError{"seats[2].section", `section "FLOOR B" is a ga area: its places come from its capacity, not from seats`}},
		{"too many seats", func(l *Layout) { l.Seats = make([]SeatSpec, 100_001) },
			&LayoutError{"seats", "100001 seats, at most 100000 allowed"}},
		{"too many sections", func(l *Layout) { l.Sections = make([]Section, 1001) },
			&LayoutError{"sections", "1001 sections, at most 1000 allowed"}},
		{"empty section id", func(l *Layout) { l.Sections[1].ID = "" },
			&LayoutError{"sections[1].id", "section id is empty"}},
		{"section id 32 chars", func(l *Layout) {
			id := strings.Repeat("x", 32)
			l.Sections[1].ID = id
			for i := range l.Seats {
				if l.Seats[i].Section == "FLOOR B" {
					l.Seats[i].Section = id
				}
			}
		}, nil},
		{"section id 33 chars", func(l *Layout) { l.Sections[0].ID = strings.Repeat("x", 33) },
			&LayoutError{"sections[0].id", `section id "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" is longer than 32 characters`}},
		{"section id with slash", func(l *Layout) { l.Sections[0].ID = "A/B" },
			&LayoutError{"sections[0].id", `section id "A/B" may only hold letters, digits, space, _ and -`}},
		{"section id with umlaut", func(l *Layout) { l.Sections[0].ID = "Süd" },
			&LayoutError{"sections[0].id", `section id "Süd" may only hold letters, digits, space, _ and -`}},
		{"duplicate section id", func(l *Layout) { l.Sections[1].ID = "A" },
			&LayoutError{"sections[1].id", `duplicate section id "A"`}},
		{"name 100 chars", func(l *Layout) { l.Sections[0].Name = strings.Repeat("ü", 100) }, nil},
		{"name 101 chars", func(l *Layout) { l.Sections[0].Name = strings.Repeat("x", 101) },
			&LayoutError{"sections[0].name", "101 characters, at most 100 allowed"}},
		{"name not UTF-8", func(l *Layout) { l.Sections[1].Name = "\xff" },
			&LayoutError{"sections[1].name", "not valid UTF-8"}},
		{"tier 101 chars", func(l *Layout) { l.Sections[1].Tier = strings.Repeat("x", 101) },
			&LayoutError{"sections[1].tier", "101 characters, at most 100 allowed"}},
		{"unknown section", func(l *Layout) { l.Seats[2].Section = "Z" },
			&LayoutError{"seats[2].section", `unknown section "Z"`}},
		{"unknown long section is cut", func(l *Layout) { l.Seats[0].Section = strings.Repeat("z", 1000) },
			&LayoutError{"seats[0].section", `unknown section "` + strings.Repeat("z", 40) + `"...`}},
		{"empty row", func(l *Layout) { l.Seats[1].Row = "" },
			&LayoutError{"seats[1].row", "row is empty"}},
		{"row 8 chars", func(l *Layout) { l.Seats[1].Row = "ÜÜÜÜÜÜÜÜ" }, nil},
		{"row 9 chars", func(l *Layout) { l.Seats[1].Row = "123456789" },
			&LayoutError{"seats[1].row", "9 characters, at most 8 allowed"}},
		{"row not UTF-8", func(l *Layout) { l.Seats[1].Row = "A\xc3" },
			&LayoutError{"seats[1].row", "not valid UTF-8"}},
		{"number 0", func(l *Layout) { l.Seats[0].Number = 0 },
			&LayoutError{"seats[0].number", "number 0 is outside 1..9999"}},
		{"number negative", func(l *Layout) { l.Seats[0].Number = -3 },
			&LayoutError{"seats[0].number", "number -3 is outside 1..9999"}},
		{"number 9999", func(l *Layout) { l.Seats[0].Number = 9999 }, nil},
		{"number 10000", func(l *Layout) { l.Seats[0].Number = 10000 },
			&LayoutError{"seats[0].number", "number 10000 is outside 1..9999"}},
		{"x NaN", func(l *Layout) { l.Seats[3].X = math.NaN() },
			&LayoutError{"seats[3].x", "not a finite number"}},
		{"y infinite", func(l *Layout) { l.Seats[3].Y = math.Inf(1) },
			&LayoutError{"seats[3].y", "not a finite number"}},
		{"x negative", func(l *Layout) { l.Seats[3].X = -0.5 },
			&LayoutError{"seats[3].x", "-0.5 is outside 0..10000"}},
		{"y too large", func(l *Layout) { l.Seats[3].Y = 10000.5 },
			&LayoutError{"seats[3].y", "10000.5 is outside 0..10000"}},
		{"corners of the plane", func(l *Layout) { l.Seats[0].X, l.Seats[0].Y, l.Seats[1].X, l.Seats[1].Y = 0, 0, 10000, 10000 }, nil},
		{"empty type", func(l *Layout) { l.Seats[1].Type = "" },
			&LayoutError{"seats[1].type", `unknown seat type "" (want "standard", "vip", "accessible", "companion", "restricted_view")`}},
		{"type in capitals", func(l *Layout) { l.Seats[1].Type = "VIP" },
			&LayoutError{"seats[1].type", `unknown seat type "VIP" (want "standard", "vip", "accessible", "companion", "restricted_view")`}},
		{"duplicate seat", func(l *Layout) { l.Seats[3].Number = 1 },
			&LayoutError{"seats[3]", `duplicate seat: section "FLOOR B" row "AA" number 1 is also seats[2]`}},
		{"same number in another row", func(l *Layout) { l.Seats[1].Row, l.Seats[1].Number = "2", 1 }, nil},
		{"first problem wins across seats", func(l *Layout) {
			l.Seats[1].Type = "gold"
			l.Seats[2].Section = "Z"
		}, &LayoutError{"seats[1].type", `unknown seat type "gold" (want "standard", "vip", "accessible", "companion", "restricted_view")`}},
		{"first problem wins within a seat", func(l *Layout) {
			l.Seats[2].Number = 0
			l.Seats[2].Row = ""
		}, &LayoutError{"seats[2].row", "row is empty"}},
		{"sections before seats", func(l *Layout) {
			l.Seats[0].Section = "Z"
			l.Sections[1].Name = strings.Repeat("x", 101)
		}, &LayoutError{"sections[1].name", "101 characters, at most 100 allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := smallLayout(t)
			tt.change(&l)
			err := l.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var got *LayoutError
			if !errors.As(err, &got) {
				t.Fatalf("Validate() = %v (%T), want a *LayoutError", err, err)
			}
			if *got != *tt.want {
				t.Errorf("Validate() mismatch (-want +got):\n- %+v\n+ %+v", *tt.want, *got)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want.Field) || !strings.Contains(msg, tt.want.Message) {
				t.Errorf("Error() = %q, want it to name field %q and message %q", msg, tt.want.Field, tt.want.Message)
			}
		})
	}
}

// TestValidateJSON checks an upload as the admin API receives it.
func TestValidateJSON(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *LayoutError
	}{
		{"valid", `{"sections":[{"id":"101","name":"Section 101","tier":"lower"}],
			"seats":[{"section":"101","row":"A","number":1,"x":1.5,"y":2,"type":"standard","rank":3}]}`, nil},
		{"missing type", `{"sections":[{"id":"101"}],"seats":[{"section":"101","row":"A","number":1}]}`,
			&LayoutError{"seats[0].type", `unknown seat type "" (want "standard", "vip", "accessible", "companion", "restricted_view")`}},
		{"empty", `{}`, &LayoutError{"seats", "a layout needs at least one seat or a ga section"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Layout
			if err := json.Unmarshal([]byte(tt.body), &l); err != nil {
				t.Fatalf("json.Unmarshal: %v", err)
			}
			err := l.Validate()
			var got *LayoutError
			if errors.As(err, &got) != (tt.want != nil) || (got != nil && *got != *tt.want) {
				t.Errorf("Validate() mismatch (-want +got):\n- %v\n+ %v", tt.want, err)
			}
		})
	}
}

func FuzzLayoutValidate(f *testing.F) {
	seeds := []string{
		`{"sections":[{"id":"101","name":"Section 101","tier":"lower","rank":0}],
		  "seats":[{"section":"101","row":"A","number":1,"x":10,"y":20,"type":"standard","rank":5},
		           {"section":"101","row":"A","number":2,"x":12.5,"y":20,"type":"vip","rank":5}]}`,
		`{"sections":[{"id":"A"}],"seats":[{"section":"B","row":"1","number":1,"type":"standard"}]}`,
		`{"sections":[{"id":"A"},{"id":"A"}],"seats":[]}`,
		`{"sections":[{"id":"A"}],"seats":[{"section":"A","row":"1","number":1,"type":"accessible"},{"section":"A","row":"1","number":1,"type":"accessible"}]}`,
		`{"sections":[{"id":"A"}],"seats":[{"section":"A","row":"\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff","number":99999,"x":-1e308,"y":1e999,"type":"x"}]}`,
		`{"sections":null,"seats":null}`,
		`{}`,
		`[]`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l Layout
		if err := json.Unmarshal(data, &l); err != nil {
			return
		}
		err := l.Validate()
		if err != nil {
			var le *LayoutError
			if !errors.As(err, &le) {
				t.Fatalf("Validate() = %v (%T), want a *LayoutError", err, err)
			}
			if le.Field == "" || le.Message == "" {
				t.Fatalf("Validate() = %+v, want a field and a message", le)
			}
			return
		}
		// A layout that passes keeps the promises the rest of seatmap relies on.
		if len(l.Seats) == 0 || len(l.Seats) > maxLayoutSeats {
			t.Fatalf("valid layout has %d seats", len(l.Seats))
		}
		ids := map[string]bool{}
		for _, s := range l.Sections {
			ids[s.ID] = true
		}
		for i, s := range l.Seats {
			if !ids[s.Section] || s.Row == "" || s.Number < 1 || s.Number > maxSeatNumber ||
				!(s.X >= 0 && s.X <= maxCoordinate && s.Y >= 0 && s.Y <= maxCoordinate) {
				t.Fatalf("valid layout has bad seat %d: %+v", i, s)
			}
		}
	})
}
