package waitingroom

import (
	"context"
	"crypto/rand"
	"math"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestShuffleIsASeededPermutation(t *testing.T) {
	var seed, other [32]byte
	_, _ = rand.Read(seed[:])
	_, _ = rand.Read(other[:])
	ids := accounts(1000, 500)
	got := Shuffle(seed, ids)
	if !slices.Equal(got, Shuffle(seed, ids)) {
		t.Fatal("the same seed gave two orders")
	}
	reversed := slices.Clone(ids)
	slices.Reverse(reversed)
	if !slices.Equal(got, Shuffle(seed, reversed)) {
		t.Fatal("the order depends on the input order (arrival), not only on the seed and the ids")
	}
	if slices.Equal(got, Shuffle(other, ids)) {
		t.Fatal("two seeds gave the same order")
	}
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if !slices.Equal(sorted, ids) {
		t.Fatal("not a permutation of the ids")
	}
	if Commitment(seed) == Commitment(other) || len(Commitment(seed)) != 64 {
		t.Fatal("commitment")
	}
}

// TestPrequeueShuffleIsVerifiableAndFair joins a pre-queue in arrival order,
// opens the sale, then recomputes the numbering from the revealed seed and
// the account ids alone, and checks that arriving early gave no advantage.
func TestPrequeueShuffleIsVerifiableAndFair(t *testing.T) {
	f := newFixture(t, false)
	s := f.service(nil, nil)
	ctx := context.Background()
	opens := time.Now().Add(time.Hour)
	ev := f.event(opens, Settings{Enabled: true, AdmitPerMinute: 60})

	before, err := s.Fairness(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.SeedCommitment) != 64 || before.Seed != "" {
		t.Fatalf("before the sale: %+v, want a commitment and no seed", before)
	}

	// Arrival order is random account ids, so the sorted-ids step of the
	// shuffle and arrival order are unrelated.
	const n = 4000
	arrivals := make([]int64, n)
	for i, id := range mrand.Perm(n) {
		arrivals[i] = int64(100000 + id*7)
	}
	bulkJoin(t, s, ev, arrivals)
	st, err := s.Me(ctx, ev, arrivals[0])
	if err != nil || st.State != StatePrequeue || st.Position != nil {
		t.Fatalf("pre-queued fan: %+v %v", st, err)
	}

	f.clock.Advance(time.Hour + time.Second) // the sale opens
	if _, err := s.NewAdmitter(ev).Step(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.Fairness(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := ParseSeed(after.Seed, before.SeedCommitment)
	if err != nil {
		t.Fatalf("revealed seed: %v", err)
	}
	if after.PrequeueSize == nil || *after.PrequeueSize != n {
		t.Fatalf("prequeue_size %v, want %d", after.PrequeueSize, n)
	}

	zs, err := f.rdb.ZRangeWithScores(ctx, s.keys(ev).q, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int64, len(zs))
	for i, z := range zs {
		if z.Score != float64(i+1) {
			t.Fatalf("numbers are not 1..%d: %v at %d", n, z.Score, i)
		}
		got[i] = parseID(t, z.Member)
	}
	if want := Shuffle(seed, arrivals); !slices.Equal(got, want) {
		t.Fatal("the revealed seed does not reproduce the queue order")
	}

	// No early-joiner advantage: the mean number of the first half of
	// arrivals against the second half. For a uniform shuffle the
	// difference has a standard deviation of about n/sqrt(3n) = 36.5 at
	// n = 4000; the tolerance is 5 of them (183, 4.6% of the queue). Joining in
	// arrival order would differ by n/2 = 2000.
	number := make(map[int64]float64, n)
	for i, id := range got {
		number[id] = float64(i + 1)
	}
	var first, second float64
	for i, id := range arrivals {
		if i < n/2 {
			first += number[id]
		} else {
			second += number[id]
		}
	}
	diff := math.Abs(first-second) / (n / 2)
	tolerance := 5 * float64(n) / math.Sqrt(3*n)
	t.Logf("mean number: first half %.1f, second half %.1f, |diff| %.1f, tolerance %.1f",
		first/(n/2), second/(n/2), diff, tolerance)
	if diff > tolerance {
		t.Errorf("early joiners: mean number differs by %.1f between halves, tolerance %.1f", diff, tolerance)
	}

	// After the open, arrivals are appended in arrival order.
	late := []int64{9, 8, 7}
	bulkJoin(t, s, ev, late)
	for i, id := range late {
		st, err := s.Me(ctx, ev, id)
		if err != nil || st.Number != int64(n+i+1) || st.State != StateWaiting {
			t.Errorf("late joiner %d: %+v %v, want number %d", id, st, err, n+i+1)
		}
	}
}

func parseID(t testing.TB, m any) int64 {
	t.Helper()
	s, _ := m.(string)
	var id int64
	for _, c := range s {
		id = id*10 + int64(c-'0')
	}
	return id
}
