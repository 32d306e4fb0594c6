package waitingroom

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/bits"
	mrand "math/rand/v2"
	"slices"
	"time"
)

// Shuffle is the public, reproducible pre-queue order: the account ids
// sorted ascending (so arrival order plays no part), then a Fisher–Yates
// shuffle drawing from ChaCha8 seeded with the 32-byte seed, with unbiased
// bounded draws (Lemire's method). The first id returned gets number 1.
// Anyone holding the revealed seed and the list of pre-queued accounts can
// recompute it; it depends on nothing else (not on Go's rand.Shuffle, whose
// algorithm could change between releases).
func Shuffle(seed [32]byte, accounts []int64) []int64 {
	out := slices.Clone(accounts)
	slices.Sort(out)
	src := mrand.NewChaCha8(seed)
	for i := len(out) - 1; i > 0; i-- {
		j := boundedDraw(src, uint64(i+1))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// boundedDraw returns a uniform number in [0, n) (Lemire, "Fast Random
// Integer Generation in an Interval", 2019).
func boundedDraw(src *mrand.ChaCha8, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// Commitment is hex(SHA-256(seed)), published before the sale opens.
func Commitment(seed [32]byte) string {
	sum := sha256.Sum256(seed[:])
	return hex.EncodeToString(sum[:])
}

// Fairness is the body of GET /api/events/{event}/queue/fairness.
type Fairness struct {
	// SeedCommitment is hex(SHA-256(seed)).
	SeedCommitment string `json:"seed_commitment"`
	// Seed is the hex seed, revealed once the pre-queue was shuffled.
	Seed string `json:"seed,omitempty"`
	// OpenedAt is when the pre-queue was shuffled; PrequeueSize how many
	// fans it held.
	OpenedAt     *time.Time `json:"opened_at,omitempty"`
	PrequeueSize *int       `json:"prequeue_size,omitempty"`
	// Algorithm names the shuffle, so a client knows how to recompute it.
	Algorithm string `json:"algorithm"`
}

// ShuffleAlgorithm describes Shuffle for the fairness document.
const ShuffleAlgorithm = "sort account ids ascending; Fisher-Yates from the end with ChaCha8(seed) and Lemire bounded draws; first is number 1"

// commitment makes sure the event has a seed (creating one on first use)
// and returns the row.
func (s *Service) commitment(ctx context.Context, eventID int64) (Fairness, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return Fairness{}, fmt.Errorf("waitingroom: seed: %w", err)
	}
	_, err := s.db.Exec(ctx, `INSERT INTO waiting_room_seeds (event_id, seed, commitment) VALUES ($1, $2, $3)
		ON CONFLICT (event_id) DO NOTHING`, eventID, seed[:], Commitment(seed))
	if err != nil {
		return Fairness{}, fmt.Errorf("waitingroom: commit seed of event %d: %w", eventID, err)
	}
	var f Fairness
	var stored []byte
	err = s.db.QueryRow(ctx, `SELECT seed, commitment, opened_at, prequeue_size FROM waiting_room_seeds WHERE event_id = $1`,
		eventID).Scan(&stored, &f.SeedCommitment, &f.OpenedAt, &f.PrequeueSize)
	if err != nil {
		return Fairness{}, fmt.Errorf("waitingroom: read seed of event %d: %w", eventID, err)
	}
	f.Algorithm = ShuffleAlgorithm
	if f.OpenedAt != nil {
		f.Seed = hex.EncodeToString(stored)
	}
	return f, nil
}

// seed returns the secret seed (for the shuffle only).
func (s *Service) seed(ctx context.Context, eventID int64) ([32]byte, error) {
	if _, err := s.commitment(ctx, eventID); err != nil {
		return [32]byte{}, err
	}
	var raw []byte
	var seed [32]byte
	if err := s.db.QueryRow(ctx, `SELECT seed FROM waiting_room_seeds WHERE event_id = $1`, eventID).Scan(&raw); err != nil {
		return seed, fmt.Errorf("waitingroom: read seed of event %d: %w", eventID, err)
	}
	copy(seed[:], raw)
	return seed, nil
}

// Fairness returns the seed commitment of an event whose room is on, and the
// seed once the pre-queue was shuffled.
func (s *Service) Fairness(ctx context.Context, eventID int64) (Fairness, error) {
	r, err := s.room(ctx, eventID)
	if err != nil {
		return Fairness{}, err
	}
	if !r.Enabled {
		return Fairness{}, ErrRoomOff
	}
	return s.commitment(ctx, eventID)
}

// ParseSeed decodes a revealed hex seed and checks it against a commitment.
func ParseSeed(seedHex, commitment string) ([32]byte, error) {
	var seed [32]byte
	raw, err := hex.DecodeString(seedHex)
	if err != nil || len(raw) != 32 {
		return seed, fmt.Errorf("waitingroom: seed is not 64 hex digits")
	}
	copy(seed[:], raw)
	if Commitment(seed) != commitment {
		return seed, fmt.Errorf("waitingroom: seed does not match the commitment")
	}
	return seed, nil
}
