package waitingroom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	// a human typing a card (default 10 s; a browser's card autofill still
	// takes a few seconds of clicking).
	MinHoldToPay time.Duration
	// MaxHoldsPerMinute per account and event (default 6).
	MaxHoldsPerMinute int
	// MaxAccountsPerFingerprint: more accounts than this holding seats of an
	// event from one request fingerprint (default 5).
	MaxAccountsPerFingerprint int
	// MaxDeclines: an account whose cards were declined this many times for
	// an event within an hour (default 3) is looked at before its order is
	// confirmed: running through cards is how stolen ones are tried.
	MaxDeclines int
}

func (c *Signals) setDefaults() {
	if c.MinJoinToHold <= 0 {
		c.MinJoinToHold = 3 * time.Second
	}
	if c.MinHoldToPay <= 0 {
		c.MinHoldToPay = 10 * time.Second
	}
	if c.MaxHoldsPerMinute <= 0 {
		c.MaxHoldsPerMinute = 6
	}
	if c.MaxAccountsPerFingerprint <= 0 {
		c.MaxAccountsPerFingerprint = 5
	}
	if c.MaxDeclines <= 0 {
		c.MaxDeclines = 3
	}
}

// Review reasons.
const (
	ReasonJoinToHold        = "join_to_hold_too_fast"
	ReasonHoldToPay         = "hold_to_pay_too_fast"
	ReasonHoldsPerMinute    = "too_many_holds_per_minute"
	ReasonSharedFingerprint = "too_many_accounts_per_fingerprint"
	ReasonDeclines          = "too_many_declines"
)

// declineWindow is how long a decline counts for the review signals.
const declineWindow = time.Hour

// RecordDecline notes a declined card of the account for the event
// (checkout calls it for each declined attempt); Review then counts them.
// An error only weakens the signal.
func (s *Service) RecordDecline(ctx context.Context, eventID, accountID int64) error {
	key := s.keys(eventID).base + "dcl:" + strconv.FormatInt(accountID, 10)
	pipe := s.rdb.Pipeline()
	pipe.Incr(ctx, key)
	pipe.Expire(ctx, key, declineWindow)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("waitingroom: record decline: %w", err)
	}
	return nil
}

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

// RecordHold writes one successful hold for the signals at once, in one
// pipelined round trip: the account's holds this minute, the fingerprint's
// accounts, and the account's latest fingerprint (which Review looks up, so
// a payment settled by a webhook, with no fan request in sight, is still
// judged). The server's hold path uses NoteHold instead, which batches; an
// error only weakens the signals.
func (s *Service) RecordHold(ctx context.Context, eventID, accountID int64, fingerprint string) error {
	return s.writeHolds(ctx, []heldSignal{{eventID: eventID, accountID: accountID,
		minute: s.cfg.Now().Unix() / 60, fingerprint: fingerprint}})
}

// Review returns why a purchase should go to review instead of being
// confirmed; none means confirm. Checkout calls it once a payment is
// authorized (it owns orders and their review status), with when the hold
// was made and when it was paid. The signals judge the rush a waiting room
// exists for: an event whose room is not enabled has none. The reasons come
// in a fixed order (join to hold, hold to pay, holds per minute,
// fingerprint, declines).
func (s *Service) Review(ctx context.Context, eventID, accountID int64, holdCreated, paidAt time.Time) ([]string, error) {
	r, err := s.room(ctx, eventID)
	if err != nil {
		return nil, err
	}
	if !r.Enabled {
		return nil, nil
	}
	sig := s.cfg.Signals
	k := s.keys(eventID)
	acct := strconv.FormatInt(accountID, 10)
	pipe := s.rdb.Pipeline()
	joined := pipe.HGet(ctx, k.base+"jt", acct)
	fingerprint := pipe.HGet(ctx, k.base+"afp", acct)
	declines := pipe.Get(ctx, k.base+"dcl:"+acct)
	minute := holdCreated.Unix() / 60
	holds := []*redis.StringCmd{
		pipe.Get(ctx, k.base+"hpm:"+acct+":"+strconv.FormatInt(minute, 10)),
		pipe.Get(ctx, k.base+"hpm:"+acct+":"+strconv.FormatInt(minute-1, 10)),
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("waitingroom: review signals: %w", err)
	}
	var reasons []string
	if ms, err := joined.Int64(); err == nil && holdCreated.Sub(time.UnixMilli(ms)) < sig.MinJoinToHold {
		reasons = append(reasons, ReasonJoinToHold)
	}
	if !paidAt.IsZero() && paidAt.Sub(holdCreated) < sig.MinHoldToPay {
		reasons = append(reasons, ReasonHoldToPay)
	}
	for _, h := range holds {
		if n, err := h.Int(); err == nil && n > sig.MaxHoldsPerMinute {
			reasons = append(reasons, ReasonHoldsPerMinute)
			break
		}
	}
	if fp := fingerprint.Val(); fp != "" {
		n, err := s.rdb.SCard(ctx, k.base+"fp:"+fp).Result()
		if err != nil {
			return nil, fmt.Errorf("waitingroom: review fingerprint: %w", err)
		}
		if n > int64(sig.MaxAccountsPerFingerprint) {
			reasons = append(reasons, ReasonSharedFingerprint)
		}
	}
	if n, err := declines.Int(); err == nil && n >= sig.MaxDeclines {
		reasons = append(reasons, ReasonDeclines)
	}
	return reasons, nil
}

// ParseSignals reads the review thresholds from their configuration text
// (REVIEW_SIGNALS): empty takes the defaults, "off" turns screening off
// (nil), and comma-separated overrides like
// "join_to_hold=2s,hold_to_pay=8s,holds_per_minute=10,accounts_per_fingerprint=3,declines=3"
// change the thresholds named and keep the defaults of the others.
func ParseSignals(text string) (*Signals, error) {
	text = strings.TrimSpace(text)
	if text == "off" {
		return nil, nil
	}
	var sig Signals
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not name=value", part)
		}
		switch name {
		case "join_to_hold", "hold_to_pay":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 || d > time.Hour {
				return nil, fmt.Errorf("%s: a duration above 0 and at most 1h, like 3s", name)
			}
			if name == "join_to_hold" {
				sig.MinJoinToHold = d
			} else {
				sig.MinHoldToPay = d
			}
		case "holds_per_minute", "accounts_per_fingerprint", "declines":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > 1_000_000 {
				return nil, fmt.Errorf("%s: a whole number from 1 to 1000000", name)
			}
			switch name {
			case "holds_per_minute":
				sig.MaxHoldsPerMinute = n
			case "declines":
				sig.MaxDeclines = n
			default:
				sig.MaxAccountsPerFingerprint = n
			}
		default:
			return nil, fmt.Errorf("unknown signal %q (join_to_hold, hold_to_pay, holds_per_minute, accounts_per_fingerprint, declines; or off)", name)
		}
	}
	sig.setDefaults()
	return &sig, nil
}
