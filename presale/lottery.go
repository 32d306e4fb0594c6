package presale

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"

	"github.com/boxoffice/boxoffice/waitingroom"
)

// LotteryAlgorithm names the draw, so anyone holding the published
// registrant list and the revealed seed knows how to recompute it.
const LotteryAlgorithm = "sort the hashed account ids ascending and drop repeats; order their positions 0..n-1 " +
	"with the waiting room's shuffle (" + waitingroom.ShuffleAlgorithm + "); the ids at the first target positions win"

// Draw picks up to target winners among registrants (hashed account ids,
// as published) with seed, in draw order. It is the waiting room's
// verifiable shuffle applied to the positions of the sorted list, so it
// depends on the set of registrants, the seed and the target only: not on
// the order registrations arrived in.
func Draw(seed [32]byte, registrants []string, target int) []string {
	sorted := slices.Clone(registrants)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	positions := make([]int64, len(sorted))
	for i := range positions {
		positions[i] = int64(i)
	}
	order := waitingroom.Shuffle(seed, positions)
	winners := make([]string, min(max(target, 0), len(order)))
	for i, p := range order[:len(winners)] {
		winners[i] = sorted[p]
	}
	return winners
}

// HashAccount is the id an account is published under in a lottery's
// registrant list: HMAC-SHA-256 of the account id under a key of the
// lottery, hex. Without the key nobody can tell which account a hash is
// (account ids are small numbers anyone could try); the fan is shown their
// own hash, to find it in the list and among the winners.
func HashAccount(lotteryKey []byte, accountID int64) string {
	m := hmac.New(sha256.New, lotteryKey)
	m.Write([]byte(strconv.FormatInt(accountID, 10)))
	return hex.EncodeToString(m.Sum(nil))
}
