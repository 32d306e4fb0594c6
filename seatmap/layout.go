package seatmap

// Seat types a layout may use. The type picks the price when an event prices
// by seat type, and the seat map colours and labels it.
const (
	SeatStandard   = "standard"
	SeatVIP        = "vip"
	SeatAccessible = "accessible"
)

// Layout is the static shape of a venue: its sections and every seat in them.
// It is generated from a preset (stadium, arena, theater) or uploaded by an
// admin as JSON, validated once, and copied into each event's seats, so an
// event never changes when its venue is edited later.
type Layout struct {
	Sections []Section  `json:"sections"`
	Seats    []SeatSpec `json:"seats"`
}

// Section is a named block of seats. Tier is the price key shared by sections
// of one quality ("floor", "lower", "upper", ...); Rank orders sections from
// best (0) to worst for best-available.
type Section struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Tier string `json:"tier"`
	Rank int    `json:"rank"`
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
