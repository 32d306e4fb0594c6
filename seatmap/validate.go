package seatmap

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on an uploaded layout. They bound the memory and time one admin
// upload can cost, keep ids safe in URLs, price keys and Redis keys, and
// keep labels short enough to print on a ticket.
const (
	maxLayoutSeats = 100_000
	// MaxGACapacity bounds one general-admission area; every place of a
	// layout, seats and ga places together, counts against maxLayoutSeats.
	MaxGACapacity     = 100_000
	maxLayoutSections = 1_000
	maxSectionIDLen   = 32
	maxNameLen        = 100
	maxRowLen         = 8
	maxSeatNumber     = 9999
	maxCoordinate     = 10_000
	// maxQuoted caps how much of an offending value an error message
	// repeats, so a megabyte-long id does not come back in the response.
	maxQuoted = 40
)

// LayoutError reports the first problem Validate found in a layout, in a form
// the admin API can show as a 422 without leaking anything: Field is the JSON
// path of the offending value (for example "seats[12].section") and Message
// says what is wrong with it.
type LayoutError struct {
	Field   string
	Message string
}

// Error formats the problem with its field so that logs name the culprit.
func (e *LayoutError) Error() string {
	return "seatmap: invalid layout: " + e.Field + ": " + e.Message
}

func layoutErr(field, format string, args ...any) *LayoutError {
	return &LayoutError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks a layout before it becomes a venue, because uploaded
// layouts are untrusted JSON and every event copies the venue's seats. It
// returns a *LayoutError for the first problem, looking at the counts first,
// then sections in order, then seats in order, and within one element at its
// fields in declaration order; a duplicate seat is reported at its second
// occurrence. Generated layouts always pass.
func (l Layout) Validate() error {
	// Counts first, so that an oversized upload is refused before anything
	// is allocated for it.
	switch {
	case len(l.Seats) > maxLayoutSeats:
		return layoutErr("seats", "%d seats, at most %d allowed", len(l.Seats), maxLayoutSeats)
	case len(l.Sections) > maxLayoutSections:
		return layoutErr("sections", "%d sections, at most %d allowed", len(l.Sections), maxLayoutSections)
	}

	sections := make(map[string]struct{}, len(l.Sections))
	ga := make(map[string]struct{})
	places := len(l.Seats)
	for i, s := range l.Sections {
		if msg := checkSectionID(s.ID); msg != "" {
			return layoutErr(fmt.Sprintf("sections[%d].id", i), "%s", msg)
		}
		if _, dup := sections[s.ID]; dup {
			return layoutErr(fmt.Sprintf("sections[%d].id", i), "duplicate section id %s", quote(s.ID))
		}
		sections[s.ID] = struct{}{}
		if msg := checkText(s.Name, maxNameLen); msg != "" {
			return layoutErr(fmt.Sprintf("sections[%d].name", i), "%s", msg)
		}
		// Tier is a price key an admin types in; the same bound as a name
		// keeps price maps and responses small.
		if msg := checkText(s.Tier, maxNameLen); msg != "" {
			return layoutErr(fmt.Sprintf("sections[%d].tier", i), "%s", msg)
		}
		if err := checkKind(i, s); err != nil {
			return err
		}
		if s.IsGA() {
			ga[s.ID] = struct{}{}
			places += s.Capacity
		}
	}
	if l.Stage != nil {
		if err := checkArea("stage", *l.Stage); err != nil {
			return err
		}
	}
	// Capacities are bounded above, so the sum cannot overflow.
	switch {
	case places == 0:
		return layoutErr("seats", "a layout needs at least one seat or a ga section")
	case places > maxLayoutSeats:
		return layoutErr("sections", "%d places (seats and ga capacity), at most %d allowed", places, maxLayoutSeats)
	}

	type seatKey struct {
		section, row string
		number       int
	}
	seen := make(map[seatKey]int, len(l.Seats))
	for i, s := range l.Seats {
		field := func(name string) string { return fmt.Sprintf("seats[%d].%s", i, name) }
		if _, ok := sections[s.Section]; !ok {
			return layoutErr(field("section"), "unknown section %s", quote(s.Section))
		}
		if _, ok := ga[s.Section]; ok {
			return layoutErr(field("section"), "section %s is a ga area: its places come from its capacity, not from seats", quote(s.Section))
		}
		if s.Row == "" {
			return layoutErr(field("row"), "row is empty")
		}
		if msg := checkText(s.Row, maxRowLen); msg != "" {
			return layoutErr(field("row"), "%s", msg)
		}
		if s.Number < 1 || s.Number > maxSeatNumber {
			return layoutErr(field("number"), "number %d is outside 1..%d", s.Number, maxSeatNumber)
		}
		if msg := checkCoordinate(s.X); msg != "" {
			return layoutErr(field("x"), "%s", msg)
		}
		if msg := checkCoordinate(s.Y); msg != "" {
			return layoutErr(field("y"), "%s", msg)
		}
		if !knownSeatType(s.Type) {
			return layoutErr(field("type"), "unknown seat type %s (want %s)", quote(s.Type), seatTypeNames)
		}
		key := seatKey{s.Section, s.Row, s.Number}
		if j, dup := seen[key]; dup {
			return layoutErr(fmt.Sprintf("seats[%d]", i),
				"duplicate seat: section %s row %s number %d is also seats[%d]",
				quote(s.Section), quote(s.Row), s.Number, j)
		}
		seen[key] = i
	}
	return nil
}

// checkKind checks a section's kind and the fields that go with it: a ga
// section needs a capacity in 1..MaxGACapacity and an area on the plan; a
// seated one has neither.
func checkKind(i int, s Section) error {
	field := func(name string) string { return fmt.Sprintf("sections[%d].%s", i, name) }
	switch s.Kind {
	case "", KindSeated:
		if s.Capacity != 0 {
			return layoutErr(field("capacity"), "capacity is for ga sections only (a seated section's size is its seats)")
		}
		if s.Area != (Area{}) {
			return layoutErr(field("area"), "area is for ga sections only")
		}
		return nil
	case KindGA:
	default:
		return layoutErr(field("kind"), "unknown section kind %s (want %q or %q)", quote(s.Kind), KindSeated, KindGA)
	}
	switch {
	case s.Capacity == 0:
		return layoutErr(field("capacity"), "a ga section needs a capacity")
	case s.Capacity < 1 || s.Capacity > MaxGACapacity:
		return layoutErr(field("capacity"), "capacity %d is outside 1..%d", s.Capacity, MaxGACapacity)
	case s.Area == (Area{}):
		return layoutErr(field("area"), "a ga section needs an area (x, y, width, height) on the plan")
	}
	if err := checkArea(field("area"), s.Area); err != nil {
		return err
	}
	return nil
}

// checkArea checks a rectangle of the plan (a ga area, the stage) at field.
func checkArea(field string, a Area) *LayoutError {
	for _, c := range []struct {
		name string
		v    float64
	}{{"x", a.X}, {"y", a.Y}, {"width", a.Width}, {"height", a.Height}, {"x + width", a.X + a.Width}, {"y + height", a.Y + a.Height}} {
		if msg := checkCoordinate(c.v); msg != "" {
			return layoutErr(field+"."+c.name, "%s", msg)
		}
	}
	if a.Width <= 0 || a.Height <= 0 {
		return layoutErr(field, "width and height must be above 0")
	}
	return nil
}

// seatTypes are the seat types a layout may use, in the order error
// messages list them.
var seatTypes = []string{SeatStandard, SeatVIP, SeatAccessible, SeatCompanion, SeatRestrictedView}

var seatTypeNames = func() string {
	q := make([]string, len(seatTypes))
	for i, t := range seatTypes {
		q[i] = strconv.Quote(t)
	}
	return strings.Join(q, ", ")
}()

func knownSeatType(t string) bool { return slices.Contains(seatTypes, t) }

// checkSectionID returns what is wrong with a section id, or "". The id ends
// up in price maps, URLs and log lines, hence the plain character set.
func checkSectionID(id string) string {
	if id == "" {
		return "section id is empty"
	}
	if len(id) > maxSectionIDLen {
		return fmt.Sprintf("section id %s is longer than %d characters", quote(id), maxSectionIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == ' ' || c == '_' || c == '-'
		if !ok {
			return fmt.Sprintf("section id %s may only hold letters, digits, space, _ and -", quote(id))
		}
	}
	return ""
}

// checkText returns what is wrong with a label, or "". Length counts
// characters, not bytes, so that "Rang Loge Süd" counts as 13.
func checkText(s string, limit int) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Sprintf("%d characters, at most %d allowed", n, limit)
	}
	return ""
}

func checkCoordinate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "not a finite number"
	}
	if v < 0 || v > maxCoordinate {
		return fmt.Sprintf("%g is outside 0..%d", v, maxCoordinate)
	}
	return ""
}

// quote quotes an untrusted value for an error message, cut to maxQuoted
// characters.
func quote(s string) string {
	n := 0
	for i := range s {
		if n == maxQuoted {
			return fmt.Sprintf("%q...", s[:i])
		}
		n++
	}
	return fmt.Sprintf("%q", s)
}
