package fairdraw

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Algorithm names this draw in proofs; docs/fairness.md specifies it. A
// change to any step below needs a new name, or old proofs stop verifying.
const Algorithm = "boxoffice-draw-v1"

// MaxBeaconLen bounds the beacon, in bytes.
const MaxBeaconLen = 512

// Entry is one participant as the proof shows it: a 32-byte hash of its
// account id, never the id itself.
type Entry [32]byte

// String is the entry as 64 lowercase hex digits, as proofs carry it.
func (e Entry) String() string { return hex.EncodeToString(e[:]) }

// ParseEntry reads an entry written as 64 hex digits.
func ParseEntry(s string) (Entry, error) {
	var e Entry
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != len(e) {
		return e, fmt.Errorf("fairdraw: entry %q is not 64 hex digits", abbrev(s))
	}
	copy(e[:], raw)
	return e, nil
}

// HashID hides an id behind HMAC-SHA256(key, scope ":" id): stable for one
// key and scope (an event, a lottery), different across scopes, and not
// reversible without the key, so publishing entries leaks no account id.
// The key never leaves the server; each fan learns their own entry from
// their account.
func HashID(key []byte, scope string, id int64) Entry {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(scope + ":" + strconv.FormatInt(id, 10)))
	var e Entry
	copy(e[:], m.Sum(nil))
	return e
}

// Commitment is hex(SHA-256(seed || beacon)), published before any entry is
// taken. It binds the operator to both: the seed cannot be chosen after
// seeing the entries, nor the beacon changed. With an empty beacon it is
// hex(SHA-256(seed)).
func Commitment(seed [32]byte, beacon string) string {
	h := sha256.New()
	h.Write(seed[:])
	h.Write([]byte(beacon))
	return hex.EncodeToString(h.Sum(nil))
}

// ParseSeed decodes a revealed hex seed and checks it, with the beacon,
// against the commitment published earlier.
func ParseSeed(seedHex, beacon, commitment string) ([32]byte, error) {
	var seed [32]byte
	raw, err := hex.DecodeString(seedHex)
	if err != nil || len(raw) != len(seed) {
		return seed, errors.New("fairdraw: the seed is not 64 hex digits")
	}
	copy(seed[:], raw)
	if Commitment(seed, beacon) != commitment {
		return seed, errors.New("fairdraw: the seed and beacon do not match the commitment")
	}
	return seed, nil
}

// DrawSeed is SHA-256(Algorithm || seed || SHA-256(beacon) ||
// SHA-256(entry 1 || ... || entry n)), the entries in arrival order. The
// entries are fixed by the fans, after the commitment, so the operator who
// knows the seed still cannot predict or choose the draw without also
// choosing every entry and its place in line.
func DrawSeed(seed [32]byte, beacon string, entries []Entry) [32]byte {
	joined := sha256.New()
	for _, e := range entries {
		joined.Write(e[:])
	}
	b := sha256.Sum256([]byte(beacon))
	h := sha256.New()
	h.Write([]byte(Algorithm))
	h.Write(seed[:])
	h.Write(b[:])
	h.Write(joined.Sum(nil))
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// Draw orders the entries: each gets the ticket SHA-256(DrawSeed || entry),
// and the entries sort by ticket, smallest first (bytewise). It returns the
// entries' indexes in drawn order: out[0] is the index of number 1. A ticket
// is unpredictable without the seed and the same for every recomputation,
// and sorting needs no random-number generator a reimplementation would
// have to copy. Entries must be distinct.
func Draw(seed [32]byte, beacon string, entries []Entry) ([]int, error) {
	d := DrawSeed(seed, beacon, entries)
	tickets := make([][32]byte, len(entries))
	seen := make(map[Entry]int, len(entries))
	for i, e := range entries {
		if j, dup := seen[e]; dup {
			return nil, fmt.Errorf("fairdraw: entries %d and %d are the same (%s)", j+1, i+1, abbrev(e.String()))
		}
		seen[e] = i
		tickets[i] = sha256.Sum256(append(d[:], e[:]...))
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(tickets[a][:], tickets[b][:]) })
	return order, nil
}

// abbrev shortens a hex string for messages.
func abbrev(s string) string {
	if len(s) > 16 {
		return s[:12] + "…"
	}
	return s
}
