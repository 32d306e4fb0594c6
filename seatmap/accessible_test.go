package seatmap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// accessLayout is rowLayout with accessible seats: in a row string, 'A' is
// an available accessible seat, 'R' one held back for accessibility, 'r' a
// seat held back for another reason; seat n of row r sits at (n, 2r) on
// the plan.
func accessLayout(rows ...string) (*eventLayout, []byte) {
	plain := make([]string, len(rows))
	for r, row := range rows {
		b := []byte(row)
		for i, c := range b {
			switch c {
			case 'A':
				b[i] = StateAvailable
			case 'R':
				b[i] = StateReserved
			}
		}
		plain[r] = string(b)
	}
	l, st := rowLayout(plain...)
	k := 0
	for r, row := range rows {
		for n, c := range row {
			l.seats[k].X, l.seats[k].Y = float32(n), float32(2*r)
			if c == 'A' || c == 'R' {
				l.seats[k].Type = SeatAccessible
			} else {
				l.seats[k].Type = SeatStandard
			}
			k++
		}
	}
	return l, st
}

func TestPickFor(t *testing.T) {
	tests := []struct {
		name string
		rows []string
		req  BestRequest
		want []int32
	}{
		{"plain skips accessible seats on sale", []string{"Aaaa"}, BestRequest{Quantity: 2}, []int32{1, 2}},
		{"plain takes them when nothing else fits", []string{"Aah"}, BestRequest{Quantity: 2}, []int32{0, 1}},
		{"plain never takes held-back seats", []string{"Rhh"}, BestRequest{Quantity: 1}, nil},
		{"plain takes the others", []string{"Rah"}, BestRequest{Quantity: 1}, []int32{1}},
		{"accessible with companion beside it", []string{"aaRa"}, BestRequest{Quantity: 2, Accessible: 1}, []int32{1, 2}},
		{"accessible on sale counts", []string{"aaAa"}, BestRequest{Quantity: 2, Accessible: 1}, []int32{1, 2}},
		{"exactly the accessible asked for", []string{"RRaa", "aaaa"}, BestRequest{Quantity: 2, Accessible: 1}, []int32{1, 2}},
		{"companions in accessible spaces", []string{"RRRR"}, BestRequest{Quantity: 2, Accessible: 1}, []int32{0, 1}},
		{"all accessible", []string{"aRRa"}, BestRequest{Quantity: 2, Accessible: 2}, []int32{1, 2}},
		{"two accessible and a companion", []string{"RaRRa"}, BestRequest{Quantity: 3, Accessible: 2}, []int32{0, 1, 2}},
		{"companion nearest, a row away", []string{"hRhh", "aaaa"}, BestRequest{Quantity: 2, Accessible: 1}, []int32{1, 5}},
		{"other held-back seats are not for companions", []string{"rRrh"}, BestRequest{Quantity: 2, Accessible: 1}, nil},
		{"no accessible seat", []string{"aaaa"}, BestRequest{Quantity: 2, Accessible: 1}, nil},
		{"not enough seats", []string{"Rhhh"}, BestRequest{Quantity: 2, Accessible: 1}, nil},
		{"max price", []string{"aRaa", "aRaa"}, BestRequest{Quantity: 2, Accessible: 1, MaxPriceCents: 1000}, []int32{0, 1}},
		{"max price excludes", []string{"hhhh", "aRaa"}, BestRequest{Quantity: 2, Accessible: 1, MaxPriceCents: 1000}, nil},
		{"unknown section", []string{"aRaa"}, BestRequest{Quantity: 2, Accessible: 1, Section: "Z"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, st := accessLayout(tt.rows...)
			got := pickFor(l, st, tt.req, 1)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("pickFor(%v, %+v) = %v, want %v", tt.rows, tt.req, got, tt.want)
			}
		})
	}
}

// TestPickForProperties checks every pick on random layouts: the right
// number of distinct seats, each one the request may take; at least the
// accessible seats asked for; a plain request never takes a held-back seat,
// and takes an accessible seat on sale only when it could not be satisfied
// without one.
func TestPickForProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 2000 {
		rows := make([]string, 1+rng.IntN(4))
		for r := range rows {
			b := make([]byte, 1+rng.IntN(10))
			for i := range b {
				b[i] = "aaaahsrARR"[rng.IntN(10)]
			}
			rows[r] = string(b)
		}
		l, st := accessLayout(rows...)
		q := 1 + rng.IntN(4)
		req := BestRequest{Quantity: q, Accessible: rng.IntN(q + 1)}
		got := pickFor(l, st, req, 1+rng.IntN(3))
		if got == nil {
			continue
		}
		seen := map[int32]bool{}
		accs := 0
		for _, i := range got {
			isAcc := l.seats[i].Type == SeatAccessible
			ok := st[i] == StateAvailable || (req.Accessible > 0 && isAcc && st[i] == StateReserved)
			if seen[i] || !ok {
				t.Fatalf("round %d rows %v %+v: pick %v has seat %d (status %c), taken twice or not free", round, rows, req, got, i, st[i])
			}
			seen[i] = true
			if isAcc {
				accs++
			}
		}
		if len(got) != q || accs < req.Accessible {
			t.Fatalf("round %d rows %v %+v: pick %v has %d seats, %d accessible", round, rows, req, got, len(got), accs)
		}
		if req.Accessible == 0 && accs > 0 {
			masked := slices.Clone(st)
			for i := range l.seats {
				if l.seats[i].Type == SeatAccessible {
					masked[i] = StateHeld
				}
			}
			if alt := pickBest(l, masked, req, 1); alt != nil {
				t.Fatalf("round %d rows %v %+v: plain pick %v takes accessible seats, but %v fits without", round, rows, req, got, alt)
			}
		}
	}
}

func TestCheckAccessible(t *testing.T) {
	for _, b := range []BestRequest{{Quantity: 2, Accessible: 3}, {Quantity: 2, Accessible: -1}} {
		if err := checkAccessible(b); err == nil {
			t.Errorf("checkAccessible(%+v) = nil, want an error", b)
		}
	}
	for _, b := range []BestRequest{{Quantity: 2}, {Quantity: 2, Accessible: 2}} {
		if err := checkAccessible(b); err != nil {
			t.Errorf("checkAccessible(%+v) = %v", b, err)
		}
	}
}
