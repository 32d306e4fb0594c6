package seatmap

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// ErrUnknownPreset is returned (wrapped) by Generate for a preset name it does
// not know, so the admin API can answer 422 with the list of valid presets
// instead of a 500.
var ErrUnknownPreset = errors.New("seatmap: unknown layout preset")

// Generate builds the layout of a demo venue so that a fresh install, the
// seed command and load tests have a realistic seat map without an admin
// drawing one. The presets are:
//
//   - "stadium": about 50,000 seats in floor blocks, a lower, a club and an
//     upper bowl around a field with the stage at its north end;
//   - "arena": about 15,000 seats in floor blocks and a lower and upper bowl;
//   - "theater": about 2,000 seats in orchestra, mezzanine and balcony;
//   - "arena-ga": the arena's bowls around a standing floor in front of the
//     stage, a general-admission area of 5,000 places instead of the
//     seated floor blocks.
//
// Coordinates lie in 0..1000 both ways with the stage at the top (small y), so
// a canvas can draw any preset at one scale. Rows run along arcs or lines and
// no two seat centres are closer than the preset's seat pitch (stadium 2.5,
// arena 4, theater 9 units); sections are separated by aisles at least twice
// that wide. The result is the same on every call: events copy it, and a
// re-seed must produce the same seat indexes.
func Generate(preset string) (Layout, error) {
	p, ok := findPreset(preset)
	if !ok {
		return Layout{}, fmt.Errorf("seatmap: generate %q: %w (valid presets: %s)",
			preset, ErrUnknownPreset, presetNames())
	}
	b := &builder{pitch: p.pitch + roundingSlack, depth: p.depth}
	b.layout.Sections = make([]Section, 0, 64)
	b.layout.Seats = make([]SeatSpec, 0, p.capacityHint)
	p.build(b)
	b.rankSections()
	return b.layout, nil
}

// DefaultPrices returns prices in cents for a demo event on a preset venue:
// one per section tier plus the seat types "vip" and "accessible", which are
// the keys an event's price map accepts besides section ids. It returns nil
// for an unknown preset. The map is the caller's to change.
func DefaultPrices(preset string) map[string]int64 {
	p, ok := findPreset(preset)
	if !ok {
		return nil
	}
	return maps.Clone(p.prices)
}

// preset is one venue Generate knows. pitch is the distance between seat
// centres along a row and depth the distance between rows; pitch <= depth, so
// pitch is also the minimum distance between any two seats of the venue.
type preset struct {
	name         string
	pitch        float64
	depth        float64
	capacityHint int
	build        func(*builder)
	prices       map[string]int64
}

// presets is a slice, not a map, so that error messages list the names in a
// stable order.
var presets = []preset{
	{
		name: "stadium", pitch: 2.5, depth: 3.2, capacityHint: 52000,
		build: buildStadium,
		prices: map[string]int64{
			"floor": 25000, "lower": 15000, "club": 18000, "upper": 8000,
			SeatVIP: 45000, SeatAccessible: 8000,
		},
	},
	{
		name: "arena", pitch: 4, depth: 5, capacityHint: 16000,
		build: buildArena,
		prices: map[string]int64{
			"floor": 18000, "lower": 12000, "upper": 6500,
			SeatVIP: 35000, SeatAccessible: 6500,
		},
	},
	{
		name: "arena-ga", pitch: 4, depth: 5, capacityHint: 14000,
		build: buildArenaGA,
		prices: map[string]int64{
			"floor": 9500, "lower": 12000, "upper": 6500,
			SeatVIP: 35000, SeatAccessible: 6500,
		},
	},
	{
		name: "theater", pitch: 9, depth: 12, capacityHint: 2200,
		build: buildTheater,
		prices: map[string]int64{
			"orchestra": 12000, "mezzanine": 9000, "balcony": 5500,
			SeatVIP: 20000, SeatAccessible: 5500,
		},
	},
}

func findPreset(name string) (preset, bool) {
	for _, p := range presets {
		if p.name == name {
			return p, true
		}
	}
	return preset{}, false
}

func presetNames() string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

// point is a position in the layout plane. The y axis points down, as on a
// canvas, so angles grow clockwise on screen: 0° points right, 90° down and
// -90° up towards the stage.
type point struct{ x, y float64 }

func (p point) dist(q point) float64 { return math.Hypot(p.x-q.x, p.y-q.y) }

// builder appends sections and their seats in index order. Seat rank is the
// distance to focus, the front centre of the stage: the simplest measure
// fans agree on, and good enough for best-available to start near the stage.
type builder struct {
	layout Layout
	pitch  float64
	depth  float64
	focus  point
}

// rowStyle decides row labels and which rows carry the special seat types.
type rowStyle struct {
	label func(i int) string // i counts from 0, nearest the stage
	// vipRows rows nearest the stage are vip: the premium package of a show.
	vipRows int
	// accessibleBack makes the back row wheelchair spaces: in a bowl it opens
	// onto the concourse, in a theater onto the cross-aisle, so no steps.
	accessibleBack bool
	// accessibleEnds, when above 0, keeps the wheelchair spaces to that many
	// seats at each end of the back row, next to the aisles.
	accessibleEnds int
}

// seatType gives the type of seat k (from 0) of the n seats in a row.
func (s rowStyle) seatType(row, rows, k, n int) string {
	switch {
	case row < s.vipRows:
		return SeatVIP
	case s.accessibleBack && row == rows-1 &&
		(s.accessibleEnds == 0 || k < s.accessibleEnds || k >= n-s.accessibleEnds):
		return SeatAccessible
	}
	return SeatStandard
}

func (b *builder) addSection(id, name, tier string) {
	b.layout.Sections = append(b.layout.Sections, Section{ID: id, Name: name, Tier: tier})
}

func (b *builder) addSeat(section, row string, number int, at point, typ string) {
	b.layout.Seats = append(b.layout.Seats, SeatSpec{
		Section: section,
		Row:     row,
		Number:  number,
		X:       round2(at.x),
		Y:       round2(at.y),
		Type:    typ,
		Rank:    int(math.Round(at.dist(b.focus) * 10)),
	})
}

// roundingSlack widens the pitch seats are placed at, because round2 moves
// each coordinate by up to 0.005 and so a distance by up to 0.0142: without
// it two neighbours could end up closer than the pitch Generate promises.
const roundingSlack = 0.02

// round2 keeps the JSON short (the seat map is fetched by every fan) without
// moving a seat by more than a rounding error of the pitch.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// arc lays out one section as rows along concentric arcs around centre,
// inside the wedge between angles from and to (radians). Seats are numbered
// from the `from` edge towards `to`, so numbering follows the walking
// direction chosen by the caller. Every row keeps aisle/2 clear at both wedge
// edges, so neighbouring wedges are at least an aisle apart, and its seats
// are centred in the wedge.
func (b *builder) arc(id string, centre point, from, to, r0 float64, rows int, aisle float64, style rowStyle) {
	dir := 1.0
	if to < from {
		dir = -1
	}
	mid := (from + to) / 2
	wedge := math.Abs(to - from)
	for row := range rows {
		r := r0 + float64(row)*b.depth
		// The angle whose chord is exactly one pitch: seats on a tight inner
		// arc are still a pitch apart.
		step := 2 * math.Asin(b.pitch/(2*r))
		span := wedge - aisle/r
		if span < 0 {
			continue
		}
		n := int(span/step) + 1
		label := style.label(row)
		for k := range n {
			phi := mid + dir*(float64(k)-float64(n-1)/2)*step
			at := point{centre.x + r*math.Cos(phi), centre.y + r*math.Sin(phi)}
			b.addSeat(id, label, k+1, at, style.seatType(row, rows, k, n))
		}
	}
}

// rect lays out one section as straight rows, left to right, the first row
// at top (nearest the stage).
func (b *builder) rect(id string, topLeft point, perRow, rows int, style rowStyle) {
	for row := range rows {
		label := style.label(row)
		y := topLeft.y + float64(row)*b.depth
		for k := range perRow {
			at := point{topLeft.x + float64(k)*b.pitch, y}
			b.addSeat(id, label, k+1, at, style.seatType(row, rows, k, perRow))
		}
	}
}

// floor fills the box [x0,x1]×[y0,y1] in front of the stage with cols×bands
// blocks named FLOOR A, B, ... left to right, front to back, with aisle
// between blocks. The front band gets vipRows vip rows.
func (b *builder) floor(x0, y0, x1, y1 float64, cols, bands int, aisle float64, vipRows int) {
	w := (x1 - x0 - float64(cols-1)*aisle) / float64(cols)
	h := (y1 - y0 - float64(bands-1)*aisle) / float64(bands)
	perRow := int(w/b.pitch) + 1
	rows := int(h/b.depth) + 1
	for band := range bands {
		for col := range cols {
			letter := string(rune('A' + band*cols + col))
			id := "FLOOR " + letter
			b.addSection(id, "Floor "+letter, "floor")
			style := rowStyle{label: numberRow}
			if band == 0 {
				style.vipRows = vipRows
			}
			origin := point{x0 + float64(col)*(w+aisle), y0 + float64(band)*(h+aisle)}
			b.rect(id, origin, perRow, rows, style)
		}
	}
}

// bowl is one ring of a stadium or arena: n equal wedges around centre that
// leave the stage end (gap either side of straight up) empty, because seats
// behind the stage see nothing. Sections are numbered first, first+1, ...
// clockwise on the plan from beside the stage, as stadium maps usually run.
func (b *builder) bowl(tier string, first, n int, centre point, gap, r0 float64, rows int, aisle float64, style rowStyle) {
	start := -math.Pi/2 + gap
	width := (2*math.Pi - 2*gap) / float64(n)
	for i := range n {
		id := fmt.Sprint(first + i)
		b.addSection(id, "Section "+id, tier)
		from := start + float64(i)*width
		b.arc(id, centre, from, from+width, r0, rows, aisle, style)
	}
}

func buildStadium(b *builder) {
	// The field is a circle of radius 175 around the centre; the stage
	// (x 440..560, y 330..380) stands at its north end.
	centre := point{500, 500}
	b.focus = point{500, 380}
	// Six floor blocks between the stage barrier and the mixing desk, kept
	// inside the field circle (the corners are 167 from the centre, the
	// lower bowl starts at 185).
	b.floor(370, 395, 630, 605, 3, 2, 8, 12)
	deg := math.Pi / 180
	b.bowl("lower", 101, 20, centre, 40*deg, 185, 26, 7.5,
		rowStyle{label: letterRow, accessibleBack: true})
	b.bowl("club", 201, 16, centre, 40*deg, 285, 8, 7.5,
		rowStyle{label: letterRow})
	b.bowl("upper", 301, 24, centre, 36*deg, 325, 40, 7.5,
		rowStyle{label: numberRow})
}

func buildArena(b *builder) {
	// The arena floor is a circle of radius 150; the stage (x 440..560,
	// y 355..395) stands at its north end.
	centre := point{500, 500}
	b.focus = point{500, 395}
	b.floor(400, 410, 600, 590, 3, 2, 12, 8)
	deg := math.Pi / 180
	b.bowl("lower", 101, 18, centre, 40*deg, 165, 18, 12,
		rowStyle{label: letterRow, accessibleBack: true, accessibleEnds: 4})
	b.bowl("upper", 201, 24, centre, 36*deg, 275, 28, 12,
		rowStyle{label: numberRow})
}

// buildArenaGA is the arena with a standing floor: one ga area where the
// seated floor blocks stand, its capacity the usual standing density of
// about 2.5 fans per square metre of a floor that size.
func buildArenaGA(b *builder) {
	centre := point{500, 500}
	b.focus = point{500, 395}
	b.layout.Sections = append(b.layout.Sections, Section{
		ID: "FLOOR", Name: "Standing floor", Tier: "floor", Kind: KindGA, Capacity: 5000,
		Area: Area{X: 400, Y: 410, Width: 200, Height: 180},
	})
	deg := math.Pi / 180
	b.bowl("lower", 101, 18, centre, 40*deg, 165, 18, 12,
		rowStyle{label: letterRow, accessibleBack: true, accessibleEnds: 4})
	b.bowl("upper", 201, 24, centre, 36*deg, 275, 28, 12,
		rowStyle{label: numberRow})
}

func buildTheater(b *builder) {
	// Rows curve around a point just behind the stage (x 330..670, y 40..110),
	// as in a proscenium house. The mezzanine and balcony really hang above
	// the back of the orchestra; the plan lays them out behind it so that no
	// two sections overlap on screen.
	centre := point{500, 40}
	b.focus = point{500, 110}
	deg := math.Pi / 180
	type part struct {
		tier, id, name string
		r0             float64
		rows           int
		// edges are the wedge boundaries, house left to house right.
		edges []float64
		style func(i int) rowStyle
	}
	parts := []part{
		{"orchestra", "ORCH", "Orchestra", 120, 20, []float64{140, 114, 66, 40}, func(i int) rowStyle {
			s := rowStyle{label: letterRow, accessibleBack: true, accessibleEnds: 3}
			if i == 1 { // the centre block's front rows
				s.vipRows = 5
			}
			return s
		}},
		{"mezzanine", "MEZZ", "Mezzanine", 400, 9, []float64{128, 105, 75, 52}, func(int) rowStyle {
			return rowStyle{label: letterRow}
		}},
		{"balcony", "BALC", "Balcony", 540, 11, []float64{122, 102, 78, 58}, func(int) rowStyle {
			return rowStyle{label: letterRow}
		}},
	}
	sides := []struct{ id, name string }{{"L", "Left"}, {"C", "Centre"}, {"R", "Right"}}
	for _, p := range parts {
		for i, side := range sides {
			id := p.id + " " + side.id
			b.addSection(id, p.name+" "+side.name, p.tier)
			// Seats are numbered from house left, the usual theater order.
			b.arc(id, centre, p.edges[i]*deg, p.edges[i+1]*deg, p.r0, p.rows, 3*b.pitch, p.style(i))
		}
	}
}

// rankSections orders sections by the mean rank of their seats, so that the
// section order best-available walks agrees with the seat order.
func (b *builder) rankSections() {
	sum := make(map[string]float64, len(b.layout.Sections))
	count := make(map[string]int, len(b.layout.Sections))
	for _, s := range b.layout.Seats {
		sum[s.Section] += float64(s.Rank)
		count[s.Section]++
	}
	// A ga area has no seats: its rank is the distance from the centre of
	// its area to the focus, as a seat's would be.
	for _, sec := range b.layout.Sections {
		if sec.IsGA() {
			a := sec.Area
			sum[sec.ID] = point{a.X + a.Width/2, a.Y + a.Height/2}.dist(b.focus) * 10
			count[sec.ID] = 1
		}
	}
	mean := func(id string) float64 {
		if count[id] == 0 {
			return math.Inf(1)
		}
		return sum[id] / float64(count[id])
	}
	order := make([]int, len(b.layout.Sections))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		return cmp.Compare(mean(b.layout.Sections[i].ID), mean(b.layout.Sections[j].ID))
	})
	for rank, i := range order {
		b.layout.Sections[i].Rank = rank
	}
}

// rowLetters skips I and O, which read as 1 and 0 on a ticket.
const rowLetters = "ABCDEFGHJKLMNPQRSTUVWXYZ"

// letterRow labels rows A..Z, then AA, BB, ... as theaters and lower bowls do.
func letterRow(i int) string {
	n := len(rowLetters)
	return strings.Repeat(string(rowLetters[i%n]), i/n+1)
}

// numberRow labels rows 1, 2, ... as floors and upper bowls do.
func numberRow(i int) string { return fmt.Sprint(i + 1) }
