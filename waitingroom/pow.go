package waitingroom

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// PowAlgorithm names the proof of work in a challenge's algorithm field.
const PowAlgorithm = "sha256-leading-zero-bits"

// Challenge is the body of GET /api/events/{event}/queue/challenge. The
// challenge string itself carries the event, difficulty and expiry, so the
// client sends back only {challenge, signature, solution} and nothing it
// could lower.
type Challenge struct {
	Algorithm  string    `json:"algorithm"`
	Challenge  string    `json:"challenge"`
	Difficulty int       `json:"difficulty"`
	ExpiresAt  time.Time `json:"expires_at"`
	Signature  string    `json:"signature"`
}

// Solution is what a fan sends to join.
type Solution struct {
	Challenge string `json:"challenge"`
	Signature string `json:"signature"`
	Solution  string `json:"solution"`
}

// Proof-of-work errors: all 4xx.
var (
	ErrPowMalformed = apperr.E(apperr.Malformed, "pow_malformed", "the challenge or solution is not in the expected form")
	ErrPowForged    = apperr.E(apperr.Forbidden, "pow_forged", "the challenge was not issued by this site or was altered")
	ErrPowExpired   = apperr.E(apperr.Gone, "pow_expired", "the challenge expired: fetch a new one")
	ErrPowWrong     = apperr.E(apperr.Invalid, "pow_wrong", "the solution does not meet the difficulty")
	ErrPowReplayed  = apperr.E(apperr.Conflict, "pow_replayed", "the challenge was already used: fetch a new one")
)

// challengeString is "v1.EVENT.DIFFICULTY.EXPIRES_UNIX.RANDOM".
func challengeString(eventID int64, difficulty int, expires time.Time, nonce []byte) string {
	return fmt.Sprintf("v1.%d.%d.%d.%s", eventID, difficulty, expires.Unix(), hex.EncodeToString(nonce))
}

func (s *Service) sign(challenge string) string {
	m := hmac.New(sha256.New, s.powKey)
	m.Write([]byte(challenge))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Challenge issues a signed, expiring challenge for an event whose room is
// on, at the event's difficulty plus SurgeExtraBits while joins per second
// are above SurgeJoinsPerSecond.
func (s *Service) Challenge(ctx context.Context, eventID int64) (Challenge, error) {
	r, err := s.room(ctx, eventID)
	if err != nil {
		return Challenge{}, err
	}
	if !r.Enabled {
		return Challenge{}, ErrRoomOff
	}
	now := s.cfg.Now()
	difficulty := r.PowDifficulty
	if s.surging(ctx, eventID, now) {
		difficulty = min(difficulty+s.cfg.SurgeExtraBits, MaxDifficulty)
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	expires := now.Add(s.cfg.ChallengeTTL).Truncate(time.Second)
	c := challengeString(eventID, difficulty, expires, nonce)
	return Challenge{Algorithm: PowAlgorithm, Challenge: c, Difficulty: difficulty, ExpiresAt: expires.UTC(), Signature: s.sign(c)}, nil
}

// surging reports whether the last full second saw more joins than the
// threshold. A Redis error counts as no surge: the event's own difficulty
// still applies.
func (s *Service) surging(ctx context.Context, eventID int64, now time.Time) bool {
	n, err := s.rdb.Get(ctx, s.keys(eventID).base+"jps:"+strconv.FormatInt(now.Unix()-1, 10)).Int()
	return err == nil && n > s.cfg.SurgeJoinsPerSecond
}

// parsedChallenge is a challenge string taken apart.
type parsedChallenge struct {
	eventID    int64
	difficulty int
	expires    time.Time
	nonce      string
}

func parseChallenge(c string) (parsedChallenge, bool) {
	parts := strings.Split(c, ".")
	if len(c) > 128 || len(parts) != 5 || parts[0] != "v1" || len(parts[4]) != 32 {
		return parsedChallenge{}, false
	}
	var p parsedChallenge
	var err1, err2, err3 error
	p.eventID, err1 = strconv.ParseInt(parts[1], 10, 64)
	p.difficulty, err2 = strconv.Atoi(parts[2])
	exp, err3 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || p.difficulty < 0 || p.difficulty > 256 {
		return parsedChallenge{}, false
	}
	if _, err := hex.DecodeString(parts[4]); err != nil {
		return parsedChallenge{}, false
	}
	p.expires, p.nonce = time.Unix(exp, 0), parts[4]
	return p, true
}

// LeadingZeroBits counts the leading zero bits of SHA-256(challenge ":" nonce).
func LeadingZeroBits(challenge, nonce string) int {
	h := sha256.New()
	h.Write([]byte(challenge))
	h.Write([]byte{':'})
	h.Write([]byte(nonce))
	return zeroBits(h.Sum(nil))
}

// validNonce: a decimal nonce of at most 20 digits.
func validNonce(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkSolution verifies a solution without using it up: shape, signature,
// event, expiry and work, cheapest first. It is the parser of untrusted input
// that FuzzCheckSolution exercises.
func (s *Service) checkSolution(eventID int64, sol Solution) (parsedChallenge, error) {
	p, ok := parseChallenge(sol.Challenge)
	if !ok || !validNonce(sol.Solution) || len(sol.Signature) > 64 {
		return p, ErrPowMalformed
	}
	if !hmac.Equal([]byte(s.sign(sol.Challenge)), []byte(sol.Signature)) || p.eventID != eventID {
		return p, ErrPowForged
	}
	if !s.cfg.Now().Before(p.expires) {
		return p, ErrPowExpired
	}
	if LeadingZeroBits(sol.Challenge, sol.Solution) < p.difficulty {
		return p, ErrPowWrong
	}
	return p, nil
}

// Solve finds the smallest decimal nonce whose SHA-256(challenge ":" nonce)
// has difficulty leading zero bits; the flash-sale driver uses it. It stops
// with ctx.
func Solve(ctx context.Context, challenge string, difficulty int) (string, error) {
	buf := make([]byte, 0, len(challenge)+24)
	buf = append(buf, challenge...)
	buf = append(buf, ':')
	base := len(buf)
	for n := uint64(0); ; n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return "", ctx.Err()
		}
		buf = strconv.AppendUint(buf[:base], n, 10)
		sum := sha256.Sum256(buf)
		if zeroBits(sum[:]) >= difficulty {
			return string(buf[base:]), nil
		}
	}
}

func zeroBits(sum []byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}
