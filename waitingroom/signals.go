package waitingroom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Signals are the thresholds of the velocity and fingerprint checks (issue
// 5, item 7): an order that trips one goes to review instead of being
// confirmed at once. Zero fields take the defaults named.
type Signals struct {
	// MinJoinToHold: a hold sooner than this after joining the queue is
	// faster than a human (default 3 s).
	MinJoinToHold time.Duration
	// MinHoldToPay: paying sooner than this after the hold is faster than
	// a human typing a card (default 15 s).
	MinHoldToPay time.Duration
	// MaxHoldsPerMinute per account and event (default 6).
	MaxHoldsPerMinute int
	// MaxAccountsPerFingerprint: more accounts than this holding seats of an
	// event from one request fingerprint (default 5).
	MaxAccountsPerFingerprint int
}

func (c *Signals) setDefaults() {
	if c.MinJoinToHold <= 0 {
		c.MinJoinToHold = 3 * time.Second
	}
	if c.MinHoldToPay <= 0 {
		c.MinHoldToPay = 15 * time.Second
	}
	if c.MaxHoldsPerMinute <= 0 {
		c.MaxHoldsPerMinute = 6
	}
	if c.MaxAccountsPerFingerprint <= 0 {
		c.MaxAccountsPerFingerprint = 5
	}
}

// Review reasons.
const (
	ReasonJoinToHold        = "join_to_hold_too_fast"
	ReasonHoldToPay         = "hold_to_pay_too_fast"
	ReasonHoldsPerMinute    = "too_many_holds_per_minute"
	ReasonSharedFingerprint = "too_many_accounts_per_fingerprint"
)

// Fingerprint hashes the stable headers of a request (user agent, languages,
// encodings, client hints) into a short hex id. It is a weak signal, only
// ever used to send orders to review, never to refuse them.
func Fingerprint(stableHeaders ...string) string {
	h := sha256.New()
	for _, v := range stableHeaders {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// RecordHold notes a successful hold for the signals, in one pipelined
// round trip: the account's holds this minute and the fingerprint's
// accounts. The server calls it after each hold; an error only weakens the
// signals.
func (s *Service) RecordHold(ctx context.Context, eventID, accountID int64, fingerprint string) error {
	k := s.keys(eventID)
	now := s.cfg.Now()
	pipe := s.rdb.Pipeline()
	hpm := k.base + "hpm:" + strconv.FormatInt(accountID, 10) + ":" + strconv.FormatInt(now.Unix()/60, 10)
	pipe.Incr(ctx, hpm)
	pipe.Expire(ctx, hpm, 2*time.Minute)
	if fingerprint != "" {
		fp := k.base + "fp:" + fingerprint
		pipe.SAdd(ctx, fp, accountID)
		pipe.Expire(ctx, fp, 24*time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("waitingroom: record hold: %w", err)
	}
	return nil
}

// ReviewInput is what checkout knows when a payment succeeds.
type ReviewInput struct {
	EventID, AccountID int64
	Fingerprint        string
	HoldCreated        time.Time
	PaidAt             time.Time
}

// Review returns why an order should go to review instead of being
// confirmed; none means confirm. Checkout calls it once the payment is
// authorized (it owns orders and their review status).
func (s *Service) Review(ctx context.Context, in ReviewInput) ([]string, error) {
	sig := s.cfg.Signals
	k := s.keys(in.EventID)
	acct := strconv.FormatInt(in.AccountID, 10)
	pipe := s.rdb.Pipeline()
	joined := pipe.HGet(ctx, k.base+"jt", acct)
	minute := in.HoldCreated.Unix() / 60
	holds := []*redis.StringCmd{
		pipe.Get(ctx, k.base+"hpm:"+acct+":"+strconv.FormatInt(minute, 10)),
		pipe.Get(ctx, k.base+"hpm:"+acct+":"+strconv.FormatInt(minute-1, 10)),
	}
	var accounts *redis.IntCmd
	if in.Fingerprint != "" {
		accounts = pipe.SCard(ctx, k.base+"fp:"+in.Fingerprint)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("waitingroom: review signals: %w", err)
	}
	var reasons []string
	if ms, err := joined.Int64(); err == nil && in.HoldCreated.Sub(time.UnixMilli(ms)) < sig.MinJoinToHold {
		reasons = append(reasons, ReasonJoinToHold)
	}
	if !in.PaidAt.IsZero() && in.PaidAt.Sub(in.HoldCreated) < sig.MinHoldToPay {
		reasons = append(reasons, ReasonHoldToPay)
	}
	for _, h := range holds {
		if n, err := h.Int(); err == nil && n > sig.MaxHoldsPerMinute {
			reasons = append(reasons, ReasonHoldsPerMinute)
			break
		}
	}
	if accounts != nil && accounts.Val() > int64(sig.MaxAccountsPerFingerprint) {
		reasons = append(reasons, ReasonSharedFingerprint)
	}
	return reasons, nil
}
