package seatmap

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Design is a venue as an admin builds it in the venue builder: each
// seated section is rows × seats at a position, with a row label scheme, a
// curve and seat types over ranges of seats; each ga section an area with a
// capacity; and the stage. Build turns it into the Layout events copy. The
// design is kept beside the layout so that the builder can open the venue
// again as it was built; export and import use the same JSON.
type Design struct {
	Stage    *Area           `json:"stage,omitempty"`
	Sections []DesignSection `json:"sections"`
}

// DesignSection is one section of a Design. The seated fields (Rows to
// SeatTypes) are for seated sections, Capacity and Area for ga sections.
type DesignSection struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Tier is the price key the section shares with others of its quality;
	// empty means the section's id.
	Tier string `json:"tier,omitempty"`
	// Kind is KindSeated (the default when empty) or KindGA.
	Kind string `json:"kind,omitempty"`

	Rows        int `json:"rows,omitempty"`
	SeatsPerRow int `json:"seats_per_row,omitempty"`
	// RowLabels is RowLetters (A, B, ... without I and O; the default) or
	// RowNumbers (1, 2, ...). Row one is the row nearest the stage.
	RowLabels string `json:"row_labels,omitempty"`
	// X and Y are the centre of the front row.
	X float64 `json:"x,omitempty"`
	Y float64 `json:"y,omitempty"`
	// Curve bends each row: its end seats sit Curve units further back
	// than its middle (negative: further forward). 0 is straight.
	Curve float64 `json:"curve,omitempty"`
	// Pitch is the distance between seat centres in a row (default 10);
	// RowSpacing the distance between rows (default 12).
	Pitch      float64         `json:"pitch,omitempty"`
	RowSpacing float64         `json:"row_spacing,omitempty"`
	SeatTypes  []SeatTypeRange `json:"seat_types,omitempty"`

	Capacity int  `json:"capacity,omitempty"`
	Area     Area `json:"area,omitzero"`
}

// SeatTypeRange gives seats From..To (numbers, inclusive) of Row, or of
// every row when Row is empty, the seat type Type. A later range wins over
// an earlier one where they overlap; seats no range names are standard.
type SeatTypeRange struct {
	Type string `json:"type"`
	Row  string `json:"row,omitempty"`
	From int    `json:"from"`
	To   int    `json:"to"`
}

// Row label schemes of a designed section.
const (
	RowLetters = "letters"
	RowNumbers = "numbers"
)

// Limits and defaults of a designed seated section. They keep one section
// printable and drawable; maxLayoutSeats bounds the venue as a whole.
const (
	maxDesignRows        = 200
	maxDesignSeatsPerRow = 500
	maxDesignSeatTypes   = 200
	defaultPitch         = 10
	defaultRowSpacing    = 12
	maxPitch             = 200
	maxCurve             = 2000
)

// LayoutErrors is every problem Design.Validate found, in the order of the
// design, so the builder can mark each offending field at once.
type LayoutErrors []*LayoutError

// Error names the first problem and how many there are.
func (e LayoutErrors) Error() string {
	if len(e) == 1 {
		return e[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", e[0].Error(), len(e)-1)
}

// Build validates the design and generates its layout: rows left to right
// from seat 1, row one nearest the stage, seats ranked by their distance to
// the front of the stage (the top centre of the seats when there is no
// stage), sections ranked by the mean of their seats, as Generate does. It
// returns ErrInvalidLayout listing every problem by its path in the design
// ("sections[2].seat_types[0].row"); AsLayoutErrors gets the list back.
func (d Design) Build() (Layout, error) {
	if errs := d.check(); len(errs) > 0 {
		return Layout{}, invalidLayout(errs)
	}
	b := &builder{}
	b.layout.Sections = make([]Section, 0, len(d.Sections))
	for _, s := range d.Sections {
		sec := Section{ID: s.ID, Name: s.Name, Tier: s.tier()}
		if s.Kind == KindGA {
			sec.Kind, sec.Capacity, sec.Area = KindGA, s.Capacity, s.Area
		}
		b.layout.Sections = append(b.layout.Sections, sec)
	}
	b.focus = d.focus()
	for _, s := range d.Sections {
		if s.Kind != KindGA {
			s.place(func(row string, number int, at point) {
				b.addSeat(s.ID, row, number, at, s.typeOf(row, number))
			})
		}
	}
	b.rankSections()
	if d.Stage != nil {
		stage := *d.Stage
		b.layout.Stage = &stage
	}
	l := b.layout
	if err := l.Validate(); err != nil {
		return Layout{}, invalidLayout(err)
	}
	return l, nil
}

// check returns every problem of the design, section by section; the
// geometry (bounds, overlaps) only once each section is sound on its own.
func (d Design) check() LayoutErrors {
	var errs LayoutErrors
	add := func(err *LayoutError) {
		if err != nil && len(errs) < 100 {
			errs = append(errs, err)
		}
	}
	if d.Stage != nil {
		add(checkArea("stage", *d.Stage))
	}
	switch {
	case len(d.Sections) == 0:
		add(layoutErr("sections", "add at least one section"))
	case len(d.Sections) > maxLayoutSections:
		add(layoutErr("sections", "%d sections, at most %d allowed", len(d.Sections), maxLayoutSections))
		return errs
	}
	ids := make(map[string]int, len(d.Sections))
	places := 0
	sound := true
	for i, s := range d.Sections {
		field := func(name string) string { return fmt.Sprintf("sections[%d].%s", i, name) }
		n := len(errs)
		if msg := checkSectionID(s.ID); msg != "" {
			add(layoutErr(field("id"), "%s", msg))
		} else if j, dup := ids[s.ID]; dup {
			add(layoutErr(field("id"), "duplicate section id %s: sections[%d] has it too", quote(s.ID), j))
		} else {
			ids[s.ID] = i
		}
		if msg := checkText(s.Name, maxNameLen); msg != "" {
			add(layoutErr(field("name"), "%s", msg))
		}
		if msg := checkText(s.Tier, maxNameLen); msg != "" {
			add(layoutErr(field("tier"), "%s", msg))
		}
		switch s.Kind {
		case "", KindSeated:
			for _, e := range s.checkSeated(field) {
				add(e)
			}
			places += s.Rows * s.SeatsPerRow
		case KindGA:
			for _, e := range s.checkGA(field) {
				add(e)
			}
			places += s.Capacity
		default:
			add(layoutErr(field("kind"), "unknown section kind %s (want %q or %q)", quote(s.Kind), KindSeated, KindGA))
		}
		sound = sound && len(errs) == n
	}
	if places > maxLayoutSeats {
		add(layoutErr("sections", "%d places (seats and ga capacity), at most %d allowed", places, maxLayoutSeats))
	}
	if sound && len(errs) == 0 {
		for _, e := range d.checkGeometry() {
			add(e)
		}
	}
	return errs
}

// checkSeated checks a seated section's shape and seat types.
func (s DesignSection) checkSeated(field func(string) string) []*LayoutError {
	var errs []*LayoutError
	if s.Capacity != 0 {
		errs = append(errs, layoutErr(field("capacity"), "capacity is for ga sections only (a seated section's size is rows × seats)"))
	}
	if s.Area != (Area{}) {
		errs = append(errs, layoutErr(field("area"), "area is for ga sections only"))
	}
	if s.Rows < 1 || s.Rows > maxDesignRows {
		errs = append(errs, layoutErr(field("rows"), "rows %d is outside 1..%d", s.Rows, maxDesignRows))
	}
	if s.SeatsPerRow < 1 || s.SeatsPerRow > maxDesignSeatsPerRow {
		errs = append(errs, layoutErr(field("seats_per_row"), "seats per row %d is outside 1..%d", s.SeatsPerRow, maxDesignSeatsPerRow))
	}
	switch s.RowLabels {
	case "", RowLetters, RowNumbers:
	default:
		errs = append(errs, layoutErr(field("row_labels"), "unknown row labels %s (want %q or %q)", quote(s.RowLabels), RowLetters, RowNumbers))
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"x", s.X}, {"y", s.Y}} {
		if msg := checkCoordinate(c.v); msg != "" {
			errs = append(errs, layoutErr(field(c.name), "%s", msg))
		}
	}
	for _, c := range []struct {
		name   string
		v, max float64
	}{{"pitch", s.Pitch, maxPitch}, {"row_spacing", s.RowSpacing, maxPitch}} {
		if math.IsNaN(c.v) || c.v < 0 || c.v > c.max {
			errs = append(errs, layoutErr(field(c.name), "%g is outside 0..%g (0: the default)", c.v, c.max))
		}
	}
	if math.IsNaN(s.Curve) || math.Abs(s.Curve) > maxCurve {
		errs = append(errs, layoutErr(field("curve"), "%g is outside -%d..%d", s.Curve, maxCurve, maxCurve))
	}
	if len(s.SeatTypes) > maxDesignSeatTypes {
		return append(errs, layoutErr(field("seat_types"), "%d ranges, at most %d allowed", len(s.SeatTypes), maxDesignSeatTypes))
	}
	for j, r := range s.SeatTypes {
		at := func(name string) string { return field(fmt.Sprintf("seat_types[%d].%s", j, name)) }
		if !knownSeatType(r.Type) {
			errs = append(errs, layoutErr(at("type"), "unknown seat type %s (want %s)", quote(r.Type), seatTypeNames))
		}
		if r.Row != "" && s.Rows >= 1 && s.Rows <= maxDesignRows && !slices.Contains(s.rowLabels(), r.Row) {
			errs = append(errs, layoutErr(at("row"), "no row %s in this section (rows %s to %s)",
				quote(r.Row), s.rowLabel(0), s.rowLabel(s.Rows-1)))
		}
		switch {
		case r.From < 1 || r.From > s.SeatsPerRow:
			errs = append(errs, layoutErr(at("from"), "seat %d is outside 1..%d", r.From, s.SeatsPerRow))
		case r.To < r.From || r.To > s.SeatsPerRow:
			errs = append(errs, layoutErr(at("to"), "seat %d is outside %d..%d", r.To, r.From, s.SeatsPerRow))
		}
	}
	return errs
}

// checkGA checks a ga section: a capacity and an area, none of the seated
// fields.
func (s DesignSection) checkGA(field func(string) string) []*LayoutError {
	var errs []*LayoutError
	if s.Rows != 0 || s.SeatsPerRow != 0 || len(s.SeatTypes) > 0 {
		errs = append(errs, layoutErr(field("rows"), "rows, seats per row and seat types are for seated sections only"))
	}
	switch {
	case s.Capacity < 1 || s.Capacity > MaxGACapacity:
		errs = append(errs, layoutErr(field("capacity"), "capacity %d is outside 1..%d", s.Capacity, MaxGACapacity))
	case s.Area == (Area{}):
		errs = append(errs, layoutErr(field("area"), "a ga section needs an area (x, y, width, height) on the plan"))
	}
	if s.Area != (Area{}) {
		if err := checkArea(field("area"), s.Area); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// checkGeometry refuses a section whose seats leave the plan, and two
// sections (or a section and the stage) that overlap: on the fans' map they
// would draw over each other.
func (d Design) checkGeometry() []*LayoutError {
	var errs []*LayoutError
	boxes := make([]Area, len(d.Sections))
	for i, s := range d.Sections {
		boxes[i] = s.box()
		if s.Kind == KindGA {
			continue
		}
		b := boxes[i]
		for _, c := range []float64{b.X, b.Y, b.X + b.Width, b.Y + b.Height} {
			if msg := checkCoordinate(c); msg != "" {
				errs = append(errs, layoutErr(fmt.Sprintf("sections[%d]", i),
					"its seats reach beyond the plan (%s): move the section or make it smaller", msg))
				break
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for i := range boxes {
		if d.Stage != nil && overlaps(boxes[i], *d.Stage) {
			errs = append(errs, layoutErr(fmt.Sprintf("sections[%d]", i), "overlaps the stage"))
		}
		for j := range i {
			if overlaps(boxes[i], boxes[j]) {
				errs = append(errs, layoutErr(fmt.Sprintf("sections[%d]", i), "overlaps sections[%d] (%s)", j, quote(d.Sections[j].ID)))
			}
		}
	}
	return errs
}

func overlaps(a, b Area) bool {
	return a.X < b.X+b.Width && b.X < a.X+a.Width && a.Y < b.Y+b.Height && b.Y < a.Y+a.Height
}

// box is the rectangle a section covers: its area, or its seats with half
// a pitch (half a row) around each.
func (s DesignSection) box() Area {
	if s.Kind == KindGA {
		return s.Area
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	s.place(func(_ string, _ int, at point) {
		minX, maxX = min(minX, at.x), max(maxX, at.x)
		minY, maxY = min(minY, at.y), max(maxY, at.y)
	})
	px, py := s.pitch()/2, s.rowSpacing()/2
	return Area{X: minX - px, Y: minY - py, Width: maxX - minX + 2*px, Height: maxY - minY + 2*py}
}

// place calls seat for every seat of a seated section, row by row from
// the front, left to right. A row's seat at offset dx from the middle sits
// Curve × (dx / half the row)² behind the middle one.
func (s DesignSection) place(seat func(row string, number int, at point)) {
	pitch, spacing := s.pitch(), s.rowSpacing()
	half := max(float64(s.SeatsPerRow-1)/2*pitch, 1)
	for r := range s.Rows {
		label := s.rowLabel(r)
		for k := range s.SeatsPerRow {
			dx := (float64(k) - float64(s.SeatsPerRow-1)/2) * pitch
			dy := float64(r)*spacing + s.Curve*(dx/half)*(dx/half)
			seat(label, k+1, point{s.X + dx, s.Y + dy})
		}
	}
}

func (s DesignSection) pitch() float64      { return cmpOr(s.Pitch, defaultPitch) }
func (s DesignSection) rowSpacing() float64 { return cmpOr(s.RowSpacing, defaultRowSpacing) }

func cmpOr(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func (s DesignSection) tier() string {
	if s.Tier == "" {
		return s.ID
	}
	return s.Tier
}

func (s DesignSection) rowLabel(i int) string {
	if s.RowLabels == RowNumbers {
		return numberRow(i)
	}
	return letterRow(i)
}

func (s DesignSection) rowLabels() []string {
	out := make([]string, s.Rows)
	for i := range out {
		out[i] = s.rowLabel(i)
	}
	return out
}

// typeOf is the type the last range naming the seat gives it.
func (s DesignSection) typeOf(row string, number int) string {
	for _, r := range slices.Backward(s.SeatTypes) {
		if (r.Row == "" || r.Row == row) && r.From <= number && number <= r.To {
			return r.Type
		}
	}
	return SeatStandard
}

// focus is where seats are ranked from: the front centre of the stage, or
// the top centre of all the sections when there is none.
func (d Design) focus() point {
	if st := d.Stage; st != nil {
		return point{st.X + st.Width/2, st.Y + st.Height}
	}
	minX, minY, maxX := math.Inf(1), math.Inf(1), math.Inf(-1)
	for _, s := range d.Sections {
		b := s.box()
		minX, minY, maxX = min(minX, b.X), min(minY, b.Y), max(maxX, b.X+b.Width)
	}
	return point{(minX + maxX) / 2, minY}
}

// AsLayoutErrors returns the problems of a Build or Validate error as a
// list (one for Validate's first problem), or nil when err is neither.
func AsLayoutErrors(err error) LayoutErrors {
	var list LayoutErrors
	if errors.As(err, &list) {
		return list
	}
	var one *LayoutError
	if errors.As(err, &one) {
		return LayoutErrors{one}
	}
	return nil
}
