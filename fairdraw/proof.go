package fairdraw

import (
	"errors"
	"fmt"
	"time"
)

// Proof is what an operator publishes so that anyone can recompute a draw.
// Before the draw it carries the commitment and the beacon only; after it,
// the seed, the entries in arrival order and the order they were given.
type Proof struct {
	// Algorithm names the draw (Algorithm).
	Algorithm string `json:"algorithm"`
	// SeedCommitment is Commitment(seed, beacon), public from the start.
	SeedCommitment string `json:"seed_commitment"`
	// Beacon is the public value fixed before the first entry ("" if none).
	Beacon string `json:"beacon"`
	// CommittedAt is when the commitment was made.
	CommittedAt time.Time `json:"committed_at"`
	// DrawnAt is when the draw happened; nil before.
	DrawnAt *time.Time `json:"drawn_at,omitempty"`
	// Seed is the revealed hex seed, once drawn.
	Seed string `json:"seed,omitempty"`
	// Entries are the hashed ids in arrival order, once drawn (an empty
	// list when nobody was there: omitzero drops only a nil list).
	Entries []string `json:"entries,omitzero"`
	// Order is the entries as they were numbered: Order[0] got number 1.
	Order []string `json:"order,omitzero"`
}

// ErrNotDrawn: the proof has no seed yet, so there is nothing to recompute.
var ErrNotDrawn = errors.New("fairdraw: not drawn yet: the seed is revealed when the draw happens")

// Mismatch is a proof whose published order is not the recomputed one.
type Mismatch struct {
	// Number is the first queue number (1-based) that differs; 0 when only
	// the lengths differ.
	Number int
	// Published and Recomputed are the entries at Number.
	Published, Recomputed string
	// Differ counts the numbers that differ; PublishedLen and Want the
	// lengths of the published and recomputed orders.
	Differ, PublishedLen, Want int
}

func (m *Mismatch) Error() string {
	if m.Number == 0 {
		return fmt.Sprintf("fairdraw: the published order has %d entries, the recomputed one %d", m.PublishedLen, m.Want)
	}
	return fmt.Sprintf("fairdraw: number %d is %s in the published order but %s when recomputed (%d of %d numbers differ)",
		m.Number, abbrev(m.Published), abbrev(m.Recomputed), m.Differ, m.Want)
}

// Verify recomputes the draw from the proof's seed, beacon and entries and
// compares it with the published order. It returns the recomputed order
// (as hex entries) and nil when everything matches; ErrNotDrawn before the
// draw; a *Mismatch when the orders differ; another error when the proof
// itself is malformed (unknown algorithm, a seed that does not match the
// commitment, a bad or repeated entry).
func (p Proof) Verify() ([]string, error) {
	if p.Algorithm != Algorithm {
		return nil, fmt.Errorf("fairdraw: algorithm %q, this verifier knows %q", p.Algorithm, Algorithm)
	}
	if p.Seed == "" {
		return nil, ErrNotDrawn
	}
	if len(p.Beacon) > MaxBeaconLen {
		return nil, fmt.Errorf("fairdraw: the beacon is longer than %d bytes", MaxBeaconLen)
	}
	seed, err := ParseSeed(p.Seed, p.Beacon, p.SeedCommitment)
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, len(p.Entries))
	for i, s := range p.Entries {
		if entries[i], err = ParseEntry(s); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
	}
	order, err := Draw(seed, p.Beacon, entries)
	if err != nil {
		return nil, err
	}
	want := make([]string, len(order))
	for k, i := range order {
		want[k] = entries[i].String()
	}
	m := &Mismatch{PublishedLen: len(p.Order), Want: len(want)}
	for k := range min(len(want), len(p.Order)) {
		if p.Order[k] != want[k] {
			if m.Differ == 0 {
				m.Number, m.Published, m.Recomputed = k+1, p.Order[k], want[k]
			}
			m.Differ++
		}
	}
	if m.Differ > 0 || len(p.Order) != len(want) {
		return want, m
	}
	return want, nil
}
