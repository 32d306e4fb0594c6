package seatmap

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestTsPrefixQuery: what a fan types becomes prefix terms of letters and
// digits only, so no input can be tsquery syntax.
func TestTsPrefixQuery(t *testing.T) {
	for in, want := range map[string]string{
		"Coldplay":               "coldplay:*",
		"cold  LON":              "cold:* & lon:*",
		"AC/DC":                  "ac:* & dc:*",
		"Zoë 東京":                 "zoë:* & 東京:*",
		`'); DROP | !x & y`:      "drop:* & x:* & y:*",
		"!!! :* ()":              "",
		"":                       "",
		strings.Repeat("a ", 20): strings.TrimSuffix(strings.Repeat("a:* & ", 8), " & "),
	} {
		if got := tsPrefixQuery(in); got != want {
			t.Errorf("tsPrefixQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCursor: a cursor the list gave decodes to what it encoded; any other
// string is ErrCursor or a valid position, never a panic.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(time.Date(2027, 7, 4, 20, 30, 0, 123000, time.UTC), 42))
	f.Add("")
	f.Add("!!")
	f.Add("MTIzLg")
	f.Fuzz(func(t *testing.T, c string) {
		at, id, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrCursor) {
				t.Fatalf("decodeCursor(%q): %v", c, err)
			}
			return
		}
		if got := encodeCursor(at, id); got != c {
			if a2, i2, err := decodeCursor(got); err != nil || !a2.Equal(at) || i2 != id {
				t.Fatalf("round trip of %q: %q", c, got)
			}
		}
	})
}
