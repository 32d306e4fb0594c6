package seatmap

import "math"

// Seat types a layout may use. The type picks the price when an event prices
// by seat type, and the seat map colours and labels it.
const (
	SeatStandard   = "standard"
	SeatVIP        = "vip"
	SeatAccessible = "accessible"
	// SeatCompanion is a seat beside a wheelchair space, for the person
	// coming with its fan; it sells like a standard seat.
	SeatCompanion = "companion"
	// SeatRestrictedView is a seat with a pillar or an overhang in the way;
	// an event usually prices it lower.
	SeatRestrictedView = "restricted_view"
)

// Layout is the static shape of a venue: its sections and every seat in them.
// It is generated from a preset (stadium, arena, arena-ga, theater) or uploaded by an
// admin as JSON, validated once, and copied into each event's seats, so an
// event never changes when its venue is edited later.
type Layout struct {
	Sections []Section  `json:"sections"`
	Seats    []SeatSpec `json:"seats"`
	// Stage is where the stage stands on the plan, when the venue says;
	// the seat map draws it there instead of a label above the seats.
	Stage *Area `json:"stage,omitempty"`
}

// Section kinds. A seated section lists its seats in Layout.Seats; a
// general-admission (ga) section lists none: it has a Capacity and an Area,
// and its places are made at event creation (see Layout.Places).
const (
	KindSeated = "seated"
	KindGA     = "ga"
)

// Section is a named block of seats. Tier is the price key shared by sections
// of one quality ("floor", "lower", "upper", ...); Rank orders sections from
// best (0) to worst for best-available.
type Section struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Tier string `json:"tier"`
	Rank int    `json:"rank"`
	// Kind is KindSeated (the default when empty) or KindGA.
	Kind string `json:"kind,omitempty"`
	// Capacity is how many fans a ga section admits (ga only).
	Capacity int `json:"capacity,omitempty"`
	// Area is where a ga section lies on the plan (ga only).
	Area Area `json:"area,omitzero"`
}

// Area is a rectangle of the plan, in layout coordinates.
type Area struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// IsGA reports whether the section is a general-admission area.
func (s Section) IsGA() bool { return s.Kind == KindGA }

// Places returns every place of the layout in idx order: the seats as
// listed, then the places of each ga section in section order. A ga place
// is a seat row with an empty Row (it has none to show) and Number its
// ordinal in the area, spread on a grid over the area so that a plain seat
// map still draws the area where it is. Being rows, ga places get the
// gate, the hold check, the sweeper, tickets, transfer and resale of seats
// unchanged; fans hold them by quantity (Service.Hold with GA).
func (l Layout) Places() []SeatSpec {
	n := len(l.Seats)
	for _, sec := range l.Sections {
		if sec.IsGA() {
			n += sec.Capacity
		}
	}
	out := make([]SeatSpec, 0, n)
	out = append(out, l.Seats...)
	for _, sec := range l.Sections {
		if !sec.IsGA() {
			continue
		}
		a := sec.Area
		// A grid of cols × rows cells about as square as the area allows.
		cols := max(1, int(math.Ceil(math.Sqrt(float64(sec.Capacity)*a.Width/max(a.Height, 1e-9)))))
		cols = min(cols, sec.Capacity)
		rows := (sec.Capacity + cols - 1) / cols
		for k := range sec.Capacity {
			c, r := k%cols, k/cols
			out = append(out, SeatSpec{
				Section: sec.ID,
				Number:  k + 1,
				X:       round2(a.X + (float64(c)+0.5)*a.Width/float64(cols)),
				Y:       round2(a.Y + (float64(r)+0.5)*a.Height/float64(rows)),
				Type:    SeatStandard,
				// Places of one area are equal; best-available never
				// offers them (it masks ga places), so rank only orders
				// them after every seat.
				Rank: math.MaxInt32,
			})
		}
	}
	return out
}

// SeatSpec is one seat of a layout. Seats are listed in index order: the
// position in Layout.Seats becomes the seat's dense idx in every event. Rank
// orders seats from best (lowest) to worst across the whole venue, and
// (Section, Row) with consecutive Numbers means physically adjacent seats.
type SeatSpec struct {
	Section string  `json:"section"`
	Row     string  `json:"row"`
	Number  int     `json:"number"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Type    string  `json:"type"`
	Rank    int     `json:"rank"`
}
