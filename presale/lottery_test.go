package presale_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/boxoffice/boxoffice/fairdraw"
	"github.com/boxoffice/boxoffice/presale"
)

// published is what a lottery makes public once drawn: the seed (its
// commitment was public before registration closed), the registrant list
// of hashed account ids, the target and the winners.
type published struct {
	Commitment  string   `json:"seed_commitment"`
	Seed        string   `json:"seed"`
	Registrants []string `json:"registrants"`
	Target      int      `json:"target"`
	Winners     []string `json:"winners"`
}

func registrants(n int) []string {
	key := []byte("lottery key of the test")
	out := make([]string, n)
	for i := range out {
		out[i] = presale.HashAccount(key, int64(1000+i))
	}
	return out
}

func seedOf(b byte) [32]byte {
	var s [32]byte
	for i := range s {
		s[i] = b + byte(i)
	}
	return s
}

// TestLotteryRecomputes: from the published JSON alone, a verifier checks
// the seed against its commitment and recomputes the same winners, in
// whatever order the registrant list is given.
func TestLotteryRecomputes(t *testing.T) {
	seed := seedOf(7)
	regs := registrants(200)
	pub := published{Commitment: fairdraw.Commitment(seed, ""), Seed: fmt.Sprintf("%x", seed[:]), Registrants: regs,
		Target: 20, Winners: mustDraw(t, seed, regs, 20)}
	raw, err := json.Marshal(pub)
	if err != nil {
		t.Fatal(err)
	}

	var got published
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	s, err := fairdraw.ParseSeed(got.Seed, "", got.Commitment)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(got.Registrants)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again := mustDraw(t, s, shuffled, got.Target)
	if !slices.Equal(again, got.Winners) {
		t.Fatalf("recomputed winners differ:\n got %v\nwant %v", again, got.Winners)
	}
	if len(again) != 20 || len(slices.Compact(slices.Sorted(slices.Values(again)))) != 20 {
		t.Fatalf("want 20 distinct winners, got %v", again)
	}
	for _, w := range again {
		if !slices.Contains(regs, w) {
			t.Fatalf("winner %s is not a registrant", w)
		}
	}
	if _, err := fairdraw.ParseSeed(fmt.Sprintf("%x", seedOf(8)), "", got.Commitment); err == nil {
		t.Error("another seed passed for the committed one")
	}
}

// TestLotteryEveryInputMatters: changing the seed (one bit), the
// registrants (one more, one fewer, one different) or the target changes
// the winners; repeats in the list do not.
func TestLotteryEveryInputMatters(t *testing.T) {
	seed, regs := seedOf(7), registrants(200)
	base := mustDraw(t, seed, regs, 20)
	flipped := seed
	flipped[31] ^= 1
	other := slices.Clone(regs)
	other[5] = presale.HashAccount([]byte("another key"), 1005)
	for _, c := range []struct {
		name string
		got  []string
	}{
		{"seed with one bit flipped", mustDraw(t, flipped, regs, 20)},
		{"one more registrant", mustDraw(t, seed, append(slices.Clone(regs), presale.HashAccount([]byte("k"), 1)), 20)},
		{"one registrant fewer", mustDraw(t, seed, regs[1:], 20)},
		{"one registrant replaced", mustDraw(t, seed, other, 20)},
		{"target 19", mustDraw(t, seed, regs, 19)},
		{"target 21", mustDraw(t, seed, regs, 21)},
	} {
		if slices.Equal(c.got, base) {
			t.Errorf("%s: the same winners", c.name)
		}
	}
	if got := mustDraw(t, seed, append(slices.Clone(regs), regs[:10]...), 20); !slices.Equal(got, base) {
		t.Errorf("repeats in the list changed the winners")
	}
	if got := mustDraw(t, seed, regs[:5], 20); len(got) != 5 {
		t.Errorf("target above the registrants: %d winners, want all 5", len(got))
	}
	if got := mustDraw(t, seed, regs, -1); len(got) != 0 {
		t.Errorf("negative target: %v", got)
	}
	if presale.HashAccount([]byte("k"), 1) == presale.HashAccount([]byte("k2"), 1) {
		t.Error("the hash ignores the lottery's key")
	}
}

func mustDraw(t *testing.T, seed [32]byte, registrants []string, target int) []string {
	t.Helper()
	winners, err := presale.Draw(seed, registrants, target)
	if err != nil {
		t.Fatal(err)
	}
	return winners
}
