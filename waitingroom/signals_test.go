package waitingroom

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestReviewSignals: each velocity, fingerprint or decline signal sends an order to
// review on its own, and a human-paced purchase trips none.
func TestReviewSignals(t *testing.T) {
	f := newFixture(t, false)
	s := f.service(nil, nil) // default thresholds: 3 s, 10 s, 6 holds/min, 5 accounts
	ctx := context.Background()
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true})
	bulkJoin(t, s, ev, []int64{1, 2, 3})
	joined := f.clock.Now()
	human := Fingerprint("Mozilla/5.0 human", "en", "gzip")
	farm := Fingerprint("Mozilla/5.0 farm", "en", "gzip")

	if err := s.RecordHold(ctx, ev, 1, human); err != nil {
		t.Fatal(err)
	}
	for acct := int64(10); acct < 16; acct++ { // six accounts, one fingerprint
		if err := s.RecordHold(ctx, ev, acct, farm); err != nil {
			t.Fatal(err)
		}
	}
	for range 7 {
		if err := s.RecordHold(ctx, ev, 3, human); err != nil {
			t.Fatal(err)
		}
	}
	// Two declines before paying are a fan correcting a card; three are
	// a card run.
	for acct, n := range map[int64]int{1: 2, 4: 3} {
		for range n {
			if err := s.RecordDecline(ctx, ev, acct); err != nil {
				t.Fatal(err)
			}
		}
	}
	at := func(d time.Duration) time.Time { return joined.Add(d) }
	tests := []struct {
		name       string
		acct       int64
		hold, paid time.Time
		want       []string
	}{
		{"human", 1, at(20 * time.Second), at(60 * time.Second), nil},
		{"join to hold too fast", 1, at(time.Second), at(60 * time.Second), []string{ReasonJoinToHold}},
		{"hold to pay too fast", 2, at(20 * time.Second), at(25 * time.Second), []string{ReasonHoldToPay}},
		{"holds per minute", 3, f.clock.Now(), f.clock.Now().Add(time.Minute), []string{ReasonJoinToHold, ReasonHoldsPerMinute}},
		{"shared fingerprint", 10, at(20 * time.Second), at(60 * time.Second), []string{ReasonSharedFingerprint}},
		{"declines", 4, at(20 * time.Second), at(60 * time.Second), []string{ReasonDeclines}},
	}
	for _, tt := range tests {
		got, err := s.Review(ctx, ev, tt.acct, tt.hold, tt.paid)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: reasons %v, want %v", tt.name, got, tt.want)
		}
	}
	// Without the room the rush the signals judge does not exist.
	closed := f.event(time.Now().Add(-time.Minute), Settings{})
	if got, err := s.Review(ctx, closed, 3, f.clock.Now(), f.clock.Now()); err != nil || got != nil {
		t.Errorf("an event without a room: reasons %v, %v; want none", got, err)
	}
	if Fingerprint("a", "b") == Fingerprint("ab", "") {
		t.Error("fingerprint fields run together")
	}
}
