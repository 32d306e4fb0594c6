package main

import (
	"slices"
	"testing"
)

// TestParseFrame: the reader finds the changes of a Boxoffice frame, of a
// merged one (several publishes, several versions) and of a Centrifugo
// push, and how many publishes each covers; anything else is no frame.
func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		name     string
		line     string
		versions []int64
		covered  int64
	}{
		{"boxoffice", string(diffFrame(7, 1000, 4)), []int64{1000}, 1},
		{"merged", `{"type":"seats","event":"1","epoch":"e","from":3,"to":6,"seats":[[1,"h",10],[2,"h",10],[5,"h",12],[9,"a",11]]}`, []int64{10, 12, 11}, 3},
		{"centrifugo push", `{"push":{"channel":"seats","pub":{"data":` + string(diffFrame(2, 55, 2)) + `,"offset":2}}}`, []int64{55}, 1},
		{"heartbeat", `{"type":"heartbeat","positions":{"event:1:seats":{"epoch":"e","seq":3}}}`, nil, 0},
	} {
		got, covered := parseFrame([]byte(tc.line), nil)
		if !slices.Equal(got, tc.versions) || covered != tc.covered {
			t.Errorf("%s: versions %v covering %d, want %v covering %d", tc.name, got, covered, tc.versions, tc.covered)
		}
	}
	if !isPing([]byte("{}")) || isPing([]byte(`{"push":{}}`)) {
		t.Error("isPing")
	}
}
