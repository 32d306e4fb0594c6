package seatmap

import (
	"testing"
)

// TestPickPlaces: picks are distinct free places of the area, marked held;
// a pick larger than what is free is nil and marks nothing; the sparse
// path (most places gone) still finds the last ones.
func TestPickPlaces(t *testing.T) {
	avail := make([]byte, 110)
	for i := range avail {
		avail[i] = StateAvailable
	}
	places := make([]int32, 100)
	for i := range places {
		places[i] = int32(10 + i)
	}
	for i := 10; i < 107; i++ { // 3 places left: 107, 108, 109
		avail[i] = StateSold
	}
	got := pickPlaces(places, avail, 2)
	if len(got) != 2 || got[0] == got[1] {
		t.Fatalf("picked %v, want 2 distinct places", got)
	}
	for _, idx := range got {
		if idx < 107 || avail[idx] != StateHeld {
			t.Errorf("picked %d (status %c), want a free place now marked held", idx, avail[idx])
		}
	}
	if got := pickPlaces(places, avail, 2); got != nil {
		t.Errorf("2 of 1 left: picked %v, want nil", got)
	}
	if n := countFree(avail[10:]); n != 1 {
		t.Errorf("%d places free after a refused pick, want 1 (nothing marked)", n)
	}
	if got := pickPlaces(places, avail, 1); len(got) != 1 {
		t.Errorf("the last place: picked %v", got)
	}
	for i := range 10 {
		if avail[i] != StateAvailable {
			t.Errorf("seat %d outside the area was touched", i)
		}
	}
}

func countFree(b []byte) int {
	n := 0
	for _, c := range b {
		if c == StateAvailable {
			n++
		}
	}
	return n
}
