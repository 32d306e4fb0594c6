package presale

import (
	"slices"

	"github.com/boxoffice/boxoffice/fairdraw"
)

// LotteryAlgorithm names the draw, so anyone holding the published
// registrant list and the revealed seed knows how to recompute it.
const LotteryAlgorithm = "sort the hashed account ids ascending and drop repeats; draw them with " +
	fairdraw.Algorithm + " (docs/fairness.md) and no beacon; the first target ids drawn win"

// Draw picks up to target winners among registrants (hashed account ids,
// as published) with seed, in draw order. It is the waiting room's
// verifiable draw over the sorted list, so it depends on the set of
// registrants, the seed and the target only: not on the order
// registrations arrived in.
func Draw(seed [32]byte, registrants []string, target int) ([]string, error) {
	sorted := slices.Clone(registrants)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	entries := make([]fairdraw.Entry, len(sorted))
	for i, r := range sorted {
		e, err := fairdraw.ParseEntry(r)
		if err != nil {
			return nil, err
		}
		entries[i] = e
	}
	order, err := fairdraw.Draw(seed, "", entries)
	if err != nil {
		return nil, err
	}
	winners := make([]string, min(max(target, 0), len(order)))
	for i, p := range order[:len(winners)] {
		winners[i] = sorted[p]
	}
	return winners, nil
}

// HashAccount is the id an account is published under in a lottery's
// registrant list: fairdraw's keyed hash of the account id under a key of
// the lottery. Without the key nobody can tell which account a hash is
// (account ids are small numbers anyone could try); the fan is shown their
// own hash, to find it in the list and among the winners.
func HashAccount(lotteryKey []byte, accountID int64) string {
	return fairdraw.HashID(lotteryKey, "lottery", accountID).String()
}
