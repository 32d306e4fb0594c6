package seatmap_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/seatmap"
)

func diff(epoch string, seq int64, seats string) string {
	return fmt.Sprintf(`{"type":"seats","event":"1","epoch":%q,"from":%d,"to":%d,"seats":%s}`, epoch, seq-1, seq, seats)
}

// TestMergeFrames: contiguous diffs of one epoch merge into one frame over
// their whole seq range with the highest version per seat, in idx order; a
// gap or a new epoch keeps frames apart so the client sees it; what is not
// a diff passes through in place; a lone frame is not re-encoded.
func TestMergeFrames(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"lone", []string{diff("e", 1, `[[5, "h", 1]]`)}, []string{diff("e", 1, `[[5, "h", 1]]`)}},
		{"run", []string{diff("e", 2, `[[5,"h",3]]`), diff("e", 3, `[[6,"h",1]]`), diff("e", 4, `[[5,"a",2]]`)},
			[]string{`{"type":"seats","event":"1","epoch":"e","from":1,"to":4,"seats":[[5,"h",3],[6,"h",1]]}`}},
		{"gap", []string{diff("e", 6, `[[7,"h",1]]`), diff("e", 8, `[[8,"h",1]]`), diff("e", 9, `[[8,"s",2]]`)},
			[]string{diff("e", 6, `[[7,"h",1]]`), `{"type":"seats","event":"1","epoch":"e","from":7,"to":9,"seats":[[8,"s",2]]}`}},
		{"epoch", []string{diff("e", 6, `[[7,"h",1]]`), diff("f", 7, `[[8,"h",1]]`)},
			[]string{diff("e", 6, `[[7,"h",1]]`), diff("f", 7, `[[8,"h",1]]`)}},
		{"other", []string{diff("e", 1, `[[1,"h",1]]`), `{"type":"resync"}`, diff("e", 2, `[[2,"h",1]]`)},
			[]string{diff("e", 1, `[[1,"h",1]]`), `{"type":"resync"}`, diff("e", 2, `[[2,"h",1]]`)}},
	} {
		var in [][]byte
		for _, p := range tc.in {
			in = append(in, []byte(p))
		}
		var got []string
		for _, f := range seatmap.MergeFrames(in) {
			got = append(got, string(f))
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestSeatChangeJSON: a change is [idx,"letter",version] both ways; a state
// that is not one letter is refused.
func TestSeatChangeJSON(t *testing.T) {
	in := []seatmap.SeatChange{{Idx: 0, State: seatmap.StateHeld, Version: 1}, {Idx: 48999, State: seatmap.StateResale, Version: 1 << 40}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[[0,"h",1],[48999,"x",1099511627776]]`; string(b) != want {
		t.Errorf("marshal: %s, want %s", b, want)
	}
	var out []seatmap.SeatChange
	if err := json.Unmarshal(b, &out); err != nil || len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Errorf("round trip: %v %v", out, err)
	}
	for _, bad := range []string{`[1,"held",1]`, `[1,"",1]`, `[1,2,3]`, `{"idx":1}`} {
		var c seatmap.SeatChange
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("unmarshal %s: no error", bad)
		}
	}
}
