package seatmap

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func testDesign() Design {
	return Design{
		Stage: &Area{X: 400, Y: 10, Width: 200, Height: 40},
		Sections: []DesignSection{
			{ID: "STALLS", Name: "Stalls", Rows: 3, SeatsPerRow: 5, X: 500, Y: 80, Curve: 8, SeatTypes: []SeatTypeRange{
				{Type: SeatVIP, Row: "A", From: 1, To: 5},
				{Type: SeatAccessible, Row: "A", From: 5, To: 5}, // later wins over the vip row
				{Type: SeatRestrictedView, From: 1, To: 1},
			}},
			{ID: "BALC", Name: "Balcony", Tier: "upper", Rows: 2, SeatsPerRow: 4, RowLabels: RowNumbers, X: 500, Y: 200},
			{ID: "PIT", Name: "Pit", Kind: KindGA, Capacity: 30, Area: Area{X: 100, Y: 80, Width: 100, Height: 50}},
		},
	}
}

// TestDesignBuild: rows × seats in order, labels by scheme, the curve
// setting row ends back, types by range (later wins), ga areas kept, seats
// and sections ranked from the stage, and the result a valid layout.
func TestDesignBuild(t *testing.T) {
	l, err := testDesign().Build()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range l.Seats {
		got = append(got, fmt.Sprintf("%s/%s%d/%s", s.Section, s.Row, s.Number, s.Type))
	}
	want := []string{
		"STALLS/A1/restricted_view", "STALLS/A2/vip", "STALLS/A3/vip", "STALLS/A4/vip", "STALLS/A5/accessible",
		"STALLS/B1/restricted_view", "STALLS/B2/standard", "STALLS/B3/standard", "STALLS/B4/standard", "STALLS/B5/standard",
		"STALLS/C1/restricted_view", "STALLS/C2/standard", "STALLS/C3/standard", "STALLS/C4/standard", "STALLS/C5/standard",
		"BALC/11/standard", "BALC/12/standard", "BALC/13/standard", "BALC/14/standard",
		"BALC/21/standard", "BALC/22/standard", "BALC/23/standard", "BALC/24/standard",
	}
	if !slices.Equal(got, want) {
		t.Errorf("seats:\n got %v\nwant %v", got, want)
	}
	// Row A: ends 8 behind the middle, middle at the front row's y.
	a1, a3, a5 := l.Seats[0], l.Seats[2], l.Seats[4]
	if a3.X != 500 || a3.Y != 80 || a1.Y != 88 || a5.Y != 88 || a1.X != 480 || a5.X != 520 {
		t.Errorf("row A: %+v %+v %+v", a1, a3, a5)
	}
	if !(a3.Rank < a1.Rank && a1.Rank < l.Seats[5].Rank) {
		t.Errorf("ranks: A3 %d, A1 %d, B1 %d: want the middle front seat first", a3.Rank, a1.Rank, l.Seats[5].Rank)
	}
	if l.Sections[0].Rank != 0 || l.Sections[0].Tier != "STALLS" || l.Sections[1].Tier != "upper" {
		t.Errorf("sections: %+v", l.Sections)
	}
	if pit := l.Sections[2]; !pit.IsGA() || pit.Capacity != 30 || len(l.Places()) != 23+30 {
		t.Errorf("pit: %+v, %d places", pit, len(l.Places()))
	}
	if l.Stage == nil || *l.Stage != (Area{X: 400, Y: 10, Width: 200, Height: 40}) {
		t.Errorf("stage: %v", l.Stage)
	}
}

// TestDesignErrors: each problem is reported at the path of its value, all
// of them at once.
func TestDesignErrors(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(d *Design)
		want  []string
	}{
		{"no sections", func(d *Design) { d.Sections = nil }, []string{"sections"}},
		{"bad stage", func(d *Design) { d.Stage.Width = 0 }, []string{"stage"}},
		{"many at once", func(d *Design) {
			d.Sections[0].SeatTypes[0].Row = "Z"
			d.Sections[0].SeatTypes[1].Type = "gold"
			d.Sections[0].SeatTypes[2].To = 6
			d.Sections[1].ID = "STALLS"
			d.Sections[1].RowLabels = "roman"
			d.Sections[2].Capacity = 0
		}, []string{"sections[0].seat_types[0].row", "sections[0].seat_types[1].type", "sections[0].seat_types[2].to",
			"sections[1].id", "sections[1].row_labels", "sections[2].capacity"}},
		{"seated with ga fields", func(d *Design) { d.Sections[0].Capacity = 3 }, []string{"sections[0].capacity"}},
		{"ga with rows", func(d *Design) { d.Sections[2].Rows = 3 }, []string{"sections[2].rows"}},
		{"off the plan", func(d *Design) { d.Sections[1].X = 5 }, []string{"sections[1]"}},
		{"overlap", func(d *Design) { d.Sections[1].Y = 90 }, []string{"sections[1]"}},
		{"over the stage", func(d *Design) { d.Sections[0].Y = 40 }, []string{"sections[0]"}},
		{"too many rows", func(d *Design) { d.Sections[0].Rows = maxDesignRows + 1 }, []string{"sections[0].rows"}},
		{"NaN curve", func(d *Design) { d.Sections[0].Curve = math.NaN() }, []string{"sections[0].curve"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := testDesign()
			c.spoil(&d)
			_, err := d.Build()
			var got []string
			for _, e := range AsLayoutErrors(err) {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("fields %q, want %q (%v)", got, c.want, err)
			}
		})
	}
}
