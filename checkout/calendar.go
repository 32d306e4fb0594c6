package checkout

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// An order's "Add to calendar" file: one RFC 5545 VEVENT for the show.
// Times are written in UTC (the "Z" form), which every calendar converts
// to its owner's zone without the file carrying a VTIMEZONE.

// showLength is the calendar entry's length: events store when they start,
// not when they end, and three hours covers a concert with its support act.
const showLength = 3 * time.Hour

// OrderCalendar returns an order of the account as an iCalendar file;
// another account's order is ErrOrderNotFound.
func (s *Service) OrderCalendar(ctx context.Context, accountID int64, orderID string) ([]byte, error) {
	o, err := s.Order(ctx, accountID, orderID)
	if err != nil {
		return nil, err
	}
	var venue, city, description string
	err = s.db.QueryRow(ctx, `SELECT v.name, v.city, e.description FROM events e JOIN venues v ON v.id = e.venue_id
		WHERE e.id = $1::bigint`, o.Event).Scan(&venue, &city, &description)
	if err != nil {
		return nil, fmt.Errorf("checkout: calendar of %s: %w", orderID, err)
	}
	return orderICS(o, venue, city, description, s.cfg.BaseURL, time.Now()), nil
}

// orderICS writes the calendar file of an order.
func orderICS(o Order, venue, city, description, baseURL string, now time.Time) []byte {
	var seats []string
	for _, t := range o.ownedTickets() {
		seats = append(seats, seatLine(t.Seat))
	}
	text := "Order " + o.ID
	if len(seats) > 0 {
		text += "\n" + strings.Join(seats, "\n")
	}
	if description != "" {
		text += "\n\n" + description
	}
	location := venue
	if city != "" {
		location += ", " + city
	}
	status := "CONFIRMED"
	switch o.Status {
	case OrderReview:
		status = "TENTATIVE"
	case OrderRejected, OrderRefunded:
		status = "CANCELLED"
	}
	utc := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	var b strings.Builder
	line := func(name, value string) { b.WriteString(foldICS(name + ":" + value)) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Boxoffice//Tickets//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("BEGIN", "VEVENT")
	line("UID", "order-"+o.ID+"@boxoffice")
	line("DTSTAMP", utc(now))
	line("DTSTART", utc(o.EventDate))
	line("DTEND", utc(o.EventDate.Add(showLength)))
	line("SUMMARY", escapeICS(o.EventName))
	line("LOCATION", escapeICS(location))
	line("DESCRIPTION", escapeICS(text))
	if baseURL != "" {
		line("URL", strings.TrimRight(baseURL, "/")+"/orders/"+o.ID)
	}
	line("STATUS", status)
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return []byte(b.String())
}

// escapeICS escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon
// and comma get a backslash, a line break becomes \n, and other control
// characters are dropped.
func escapeICS(s string) string {
	var b strings.Builder
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r < 0x20 && r != '\t', r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// foldICS ends a content line with CRLF, folding it (RFC 5545 3.1) so no
// line is longer than 75 octets: a continuation starts with one space, and
// a UTF-8 character is never split.
func foldICS(line string) string {
	var b strings.Builder
	width := 0
	for _, r := range line {
		n := utf8.RuneLen(r)
		if width+n > 75 {
			b.WriteString("\r\n ")
			width = 1
		}
		b.WriteRune(r)
		width += n
	}
	b.WriteString("\r\n")
	return b.String()
}
