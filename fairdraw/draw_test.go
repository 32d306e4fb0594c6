package fairdraw

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// testProof draws n entries hashed from ids 1..n and returns the proof an
// operator would publish.
func testProof(t testing.TB, n int, beacon string) Proof {
	t.Helper()
	var seed [32]byte
	copy(seed[:], "a seed that is 32 bytes long....")
	entries := make([]Entry, n)
	p := Proof{Algorithm: Algorithm, SeedCommitment: Commitment(seed, beacon), Beacon: beacon,
		CommittedAt: time.Unix(0, 0).UTC(), Seed: fmt.Sprintf("%x", seed[:])}
	for i := range entries {
		entries[i] = HashID([]byte("key"), "event:7", int64(i+1))
		p.Entries = append(p.Entries, entries[i].String())
	}
	order, err := Draw(seed, beacon, entries)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range order {
		p.Order = append(p.Order, entries[i].String())
	}
	return p
}

// TestDrawVector pins the algorithm to numbers docs/fairness.md prints and
// the browser verifier's test checks: a reimplementation that gets these
// right agrees with the server.
func TestDrawVector(t *testing.T) {
	p := testProof(t, 5, "drand round 1000")
	if got, want := p.SeedCommitment, "bdff9aa1e23c1a964460b4c16ebc60b9a1b3fb9be0abdcdde7db103e2fccdf35"; got != want {
		t.Errorf("commitment %s, want %s", got, want)
	}
	if got, want := p.Entries[0], "7d12e6ee640d8e35e185b36a6e5262479c7b005a3bd3ff7a46bbd22598089387"; got != want {
		t.Errorf("HashID(key, event:7, 1) = %s, want %s", got, want)
	}
	var seed [32]byte
	copy(seed[:], "a seed that is 32 bytes long....")
	entries := make([]Entry, len(p.Entries))
	for i, s := range p.Entries {
		entries[i], _ = ParseEntry(s)
	}
	d := DrawSeed(seed, p.Beacon, entries)
	if got, want := fmt.Sprintf("%x", d), "79e7dfa02b59864f6076161fb310ee8566dd48f8492bc7bd4e5e6d7aeb3f860d"; got != want {
		t.Errorf("draw seed %s, want %s", got, want)
	}
	// The fifth arrival is number 1, the first arrival number 5.
	order, _ := Draw(seed, p.Beacon, entries)
	if want := []int{4, 2, 1, 3, 0}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
}

func TestDrawIsAPermutationOfDistinctEntries(t *testing.T) {
	p := testProof(t, 1000, "")
	sorted := slices.Clone(p.Order)
	slices.Sort(sorted)
	entries := slices.Clone(p.Entries)
	slices.Sort(entries)
	if !slices.Equal(sorted, entries) {
		t.Fatal("the order is not a permutation of the entries")
	}
	if slices.Equal(p.Order, p.Entries) {
		t.Fatal("the order is the arrival order")
	}
	dup := []Entry{HashID(nil, "e", 1), HashID(nil, "e", 2), HashID(nil, "e", 1)}
	if _, err := Draw([32]byte{}, "", dup); err == nil || !strings.Contains(err.Error(), "entries 1 and 3") {
		t.Errorf("a repeated entry: %v", err)
	}
	if order, err := Draw([32]byte{}, "", nil); err != nil || len(order) != 0 {
		t.Errorf("no entries: %v %v", order, err)
	}
}

// TestVerifyCatchesEveryChangedInput publishes a proof, then changes one
// input at a time: the seed, the beacon, one entry, the arrival order, the
// published order. Each must fail verification; the untouched proof passes.
func TestVerifyCatchesEveryChangedInput(t *testing.T) {
	const n = 200
	good := testProof(t, n, "beacon fixed in advance")
	if want, err := good.Verify(); err != nil || !slices.Equal(want, good.Order) {
		t.Fatalf("the published proof: %v", err)
	}
	var mismatch *Mismatch
	tests := []struct {
		name   string
		change func(p *Proof)
		want   func(error) bool
	}{
		{"another seed", func(p *Proof) { p.Seed = strings.Repeat("0", 64) }, isCommitment},
		{"another beacon", func(p *Proof) { p.Beacon = "a beacon chosen later" }, isCommitment},
		{"the seed recommitted with another beacon", func(p *Proof) {
			// An operator who republishes a commitment for another beacon
			// still gets another order: the beacon feeds the draw too.
			var seed [32]byte
			copy(seed[:], "a seed that is 32 bytes long....")
			p.Beacon, p.SeedCommitment = "a beacon chosen later", Commitment(seed, "a beacon chosen later")
		}, func(err error) bool { return errors.As(err, &mismatch) }},
		{"one entry changed", func(p *Proof) { p.Entries[n/2] = HashID([]byte("key"), "event:7", n+1).String() },
			func(err error) bool { return errors.As(err, &mismatch) }},
		{"one entry dropped", func(p *Proof) { p.Entries = p.Entries[1:] },
			func(err error) bool { return errors.As(err, &mismatch) }},
		{"two joins swapped", func(p *Proof) { p.Entries[3], p.Entries[n-4] = p.Entries[n-4], p.Entries[3] },
			func(err error) bool { return errors.As(err, &mismatch) && mismatch.Differ > n/2 }},
		{"the last joiner changed", func(p *Proof) { p.Entries[n-1] = HashID([]byte("key"), "event:7", 999).String() },
			func(err error) bool { return errors.As(err, &mismatch) && mismatch.Differ > n/2 }},
		{"two numbers swapped", func(p *Proof) { p.Order[0], p.Order[9] = p.Order[9], p.Order[0] },
			func(err error) bool { return errors.As(err, &mismatch) && mismatch.Number == 1 && mismatch.Differ == 2 }},
		{"an entry repeated", func(p *Proof) { p.Entries[1] = p.Entries[0] }, hasText("are the same")},
		{"an entry that is not hex", func(p *Proof) { p.Entries[4] = "zz" }, hasText("entry 5")},
		{"another algorithm", func(p *Proof) { p.Algorithm = "boxoffice-draw-v0" }, hasText("algorithm")},
		{"not drawn", func(p *Proof) { p.Seed, p.Entries, p.Order = "", nil, nil },
			func(err error) bool { return errors.Is(err, ErrNotDrawn) }},
	}
	for _, tt := range tests {
		p := good
		p.Entries, p.Order = slices.Clone(good.Entries), slices.Clone(good.Order)
		tt.change(&p)
		if _, err := p.Verify(); err == nil || !tt.want(err) {
			t.Errorf("%s: Verify() = %v", tt.name, err)
		}
	}
}

func isCommitment(err error) bool { return hasText("commitment")(err) }

func hasText(s string) func(error) bool {
	return func(err error) bool { return err != nil && strings.Contains(err.Error(), s) }
}

// TestArrivingEarlyGivesNoAdvantage: over many draws (seeds), the first of
// 10 arrivals is number 1 about a tenth of the time. With 20,000 draws the
// count has a standard deviation of about 42; the tolerance is 5 of them.
// Numbering in arrival order would give 20,000.
func TestArrivingEarlyGivesNoAdvantage(t *testing.T) {
	const n, draws = 10, 20000
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = HashID([]byte("k"), "s", int64(i))
	}
	first := 0
	for d := range draws {
		var seed [32]byte
		copy(seed[:], fmt.Sprint(d))
		order, err := Draw(seed, "", entries)
		if err != nil {
			t.Fatal(err)
		}
		if order[0] == 0 {
			first++
		}
	}
	t.Logf("the first arrival drew number 1 in %d of %d draws (expected %d)", first, draws, draws/n)
	if first < draws/n-210 || first > draws/n+210 {
		t.Errorf("the first arrival drew number 1 in %d of %d draws, want %d ± 210", first, draws, draws/n)
	}
}

// TestProofJSON: a drawn proof of an empty pre-queue still carries its
// (empty) lists, so a client can tell "drawn, nobody there" from "not drawn".
func TestProofJSON(t *testing.T) {
	drawn, _ := json.Marshal(Proof{Seed: "00", Entries: []string{}, Order: []string{}})
	before, _ := json.Marshal(Proof{})
	if !strings.Contains(string(drawn), `"entries":[],"order":[]`) || strings.Contains(string(before), "entries") {
		t.Errorf("drawn: %s; before: %s", drawn, before)
	}
}
