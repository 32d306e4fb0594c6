package checkout

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestICSTextAndFolding: text values are escaped and long lines folded at
// 75 octets without splitting a character; unfolding gives the line back.
func TestICSTextAndFolding(t *testing.T) {
	if got, want := escapeICS("a\\b;c,d\r\ne\nf\x00g"), `a\\b\;c\,d\ne\nfg`; got != want {
		t.Errorf("escapeICS = %q, want %q", got, want)
	}
	line := "DESCRIPTION:" + strings.Repeat("Zoë · 東京 ", 20)
	folded := foldICS(line)
	if !strings.HasSuffix(folded, "\r\n") {
		t.Fatalf("no CRLF at the end: %q", folded)
	}
	parts := strings.Split(strings.TrimSuffix(folded, "\r\n"), "\r\n")
	if len(parts) < 3 {
		t.Fatalf("a %d-octet line folded into %d", len(line), len(parts))
	}
	for i, p := range parts {
		if len(p) > 75 || !utf8.ValidString(p) || (i > 0 && !strings.HasPrefix(p, " ")) {
			t.Errorf("part %d: %d octets, valid %v: %q", i, len(p), utf8.ValidString(p), p)
		}
	}
	if got := strings.ReplaceAll(strings.TrimSuffix(folded, "\r\n"), "\r\n ", ""); got != line {
		t.Errorf("unfolded = %q, want %q", got, line)
	}
	o := Order{ID: "11111111-2222-3333-4444-555555555555", Status: OrderReview, EventName: "Rock, Paper; Scissors",
		EventDate: time.Date(2027, 7, 4, 0, 30, 0, 0, time.UTC)}
	ics := string(orderICS(o, "Hall", "New York", "", "https://tickets.example/", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	for _, want := range []string{"SUMMARY:Rock\\, Paper\\; Scissors\r\n", "LOCATION:Hall\\, New York\r\n",
		"DTSTART:20270704T003000Z\r\n", "DTEND:20270704T033000Z\r\n", "STATUS:TENTATIVE\r\n",
		"URL:https://tickets.example/orders/" + o.ID + "\r\n"} {
		if !strings.Contains(ics, want) {
			t.Errorf("calendar lacks %q:\n%s", want, ics)
		}
	}
}
