package waitingroom

import (
	"context"
	"errors"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/fairdraw"
)

// TestPrequeueDrawIsVerifiableAndFair joins a pre-queue in arrival order,
// opens the sale, then checks the published proof: it verifies, its order
// is the queue's real numbering (read from Redis), its entries are the
// fans' own proof hashes, and arriving early gave no advantage.
func TestPrequeueDrawIsVerifiableAndFair(t *testing.T) {
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
	const beacon = "public beacon round 4242"
	if _, err := s.SetBeacon(ctx, ev, beacon); err != nil {
		t.Fatal(err)
	}
	early, err := s.Proof(ctx, ev)
	if err != nil || early.Beacon != beacon || early.Seed != "" || early.Entries != nil || early.SeedCommitment == before.SeedCommitment {
		t.Fatalf("proof before the sale: %+v %v, want the beacon, a new commitment, no seed", early, err)
	}
	if _, err := early.Verify(); !errors.Is(err, fairdraw.ErrNotDrawn) {
		t.Errorf("verify before the sale: %v", err)
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
	if after.PrequeueSize == nil || *after.PrequeueSize != n || after.SeedCommitment != early.SeedCommitment {
		t.Fatalf("after the sale: %+v, want prequeue_size %d and the commitment published before", after, n)
	}
	proof, err := s.Proof(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proof.Verify(); err != nil {
		t.Fatalf("the published proof does not verify: %v", err)
	}
	if proof.SeedCommitment != early.SeedCommitment || proof.Beacon != beacon || proof.Seed != after.Seed || len(proof.Entries) != n {
		t.Fatalf("proof after the sale: commitment %s beacon %q, %d entries", proof.SeedCommitment, proof.Beacon, len(proof.Entries))
	}
	if _, err := s.SetBeacon(ctx, ev, "too late"); !errors.Is(err, ErrBeaconFixed) {
		t.Errorf("beacon after the sale opened: %v", err)
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
		if h := s.ProofHash(ev, got[i]).String(); proof.Order[i] != h {
			t.Fatalf("number %d is account %d (hash %s) in the queue but %s in the proof", i+1, got[i], h, proof.Order[i])
		}
	}
	hashes := make([]string, n)
	for i, id := range arrivals {
		hashes[i] = s.ProofHash(ev, id).String()
	}
	entries := slices.Clone(proof.Entries)
	slices.Sort(entries)
	slices.Sort(hashes)
	if !slices.Equal(entries, hashes) {
		t.Fatal("the proof's entries are not the pre-queued fans' proof hashes")
	}
	if st, err := s.Me(ctx, ev, got[0]); err != nil || st.ProofHash != proof.Order[0] || st.Number != 1 {
		t.Errorf("number 1's own status: %+v %v, want proof_hash %s", st, err, proof.Order[0])
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

// TestBeaconIsFixedByTheFirstJoin: the admin may set (and change) the
// beacon, each time with a fresh commitment, until the first fan joins;
// then it is refused and the commitment stays. A room opened with nobody
// in the pre-queue publishes an empty proof that verifies.
func TestBeaconIsFixedByTheFirstJoin(t *testing.T) {
	f := newFixture(t, false)
	s := f.service(nil, nil)
	ctx := context.Background()
	ev := f.event(time.Now().Add(time.Hour), Settings{Enabled: true, PowDifficulty: 1})
	first, err := s.SetBeacon(ctx, ev, "round 1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.SetBeacon(ctx, ev, "round 2")
	if err != nil || second.Beacon != "round 2" || second.SeedCommitment == first.SeedCommitment {
		t.Fatalf("changing the beacon before any join: %+v %v", second, err)
	}
	for _, bad := range []string{"two\nlines", string(make([]byte, fairdraw.MaxBeaconLen+1)), "\xff"} {
		if _, err := s.SetBeacon(ctx, ev, bad); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("beacon %.20q: %v, want validation_failed", bad, err)
		}
	}
	ch, err := s.Challenge(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Join(ctx, ev, 77, Solution{Challenge: ch.Challenge, Signature: ch.Signature, Solution: solve(t, ch)})
	if err != nil || st.ProofHash != s.ProofHash(ev, 77).String() || len(st.ProofHash) != 64 {
		t.Fatalf("join: %+v %v", st, err)
	}
	// Another node (its own cache) refuses too.
	if _, err := f.service(nil, nil).SetBeacon(ctx, ev, "round 3"); !errors.Is(err, ErrBeaconFixed) {
		t.Errorf("beacon after the first join: %v, want beacon_fixed", err)
	}
	if p, err := s.Proof(ctx, ev); err != nil || p.SeedCommitment != second.SeedCommitment || p.Beacon != "round 2" {
		t.Errorf("proof after the refused change: %+v %v", p, err)
	}

	empty := f.event(time.Now().Add(-time.Second), Settings{Enabled: true})
	if _, err := s.NewAdmitter(empty).Step(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := s.Proof(ctx, empty)
	if err != nil || p.Seed == "" || p.Entries == nil || len(p.Entries) != 0 {
		t.Fatalf("proof of an empty pre-queue: %+v %v", p, err)
	}
	if _, err := p.Verify(); err != nil {
		t.Errorf("the empty proof: %v", err)
	}
	if _, err := s.Proof(ctx, f.event(time.Now(), Settings{})); !errors.Is(err, ErrRoomOff) {
		t.Errorf("proof of an event without a room: %v", err)
	}
}
