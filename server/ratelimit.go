package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/apperr"
)

// Rate limiting lives in server because it is an HTTP concern: it keys on
// the client's IP and account and answers 429 with Retry-After. The
// algorithm is not ours: redis_rate runs GCRA in one Lua script, so the
// check and the update are atomic and every node shares the same budget.

// Rate is one limit: N requests per Per, with bursts of up to Burst
// (default N).
type Rate struct {
	N     int
	Per   time.Duration
	Burst int
}

// String is the RATE_LIMITS form, N/unit[:burst].
func (r Rate) String() string {
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	return fmt.Sprintf("%d/%s:%d", r.N, unit, r.Burst)
}

// RouteLimits are the limits of one rate-limited route, per client IP and
// per signed-in account. A zero Rate is no limit.
type RouteLimits struct {
	PerIP      Rate
	PerAccount Rate
}

// The rate-limited routes. LimitAuth guards sign-up and sign-in, whose
// password hashing costs tens of milliseconds of CPU each.
const (
	LimitAuth      = "auth"
	LimitChallenge = "challenge"
	LimitJoin      = "join"
	LimitHolds     = "holds"
	LimitCheckout  = "checkout"
	// LimitSignIn is per client IP and per email signed in to (whether or
	// not it has an account, so the limit says nothing about that).
	LimitSignIn = "signin"
	// LimitTransfer guards transfer offers, each an email to another fan.
	LimitTransfer = "transfer"
	// LimitRecovery guards password resets, verification and email
	// changes: per client IP, and per signed-in account or per email
	// address asked about.
	LimitRecovery = "recovery"
	// LimitSecondFactor guards TOTP and recovery codes: per client IP and
	// per account the code is for, whatever the address guessing.
	LimitSecondFactor = "second_factor"
	// LimitAccessCode guards presale access codes (entered alone or on a
	// hold), so they cannot be guessed.
	LimitAccessCode = "access_code"
)

// DefaultRateLimits are generous for fans (a browser solves one challenge
// and joins once) and tight for scripts. Per-IP limits are higher than
// per-account ones because many fans can share an address (NAT, venues).
func DefaultRateLimits() map[string]RouteLimits {
	return map[string]RouteLimits{
		LimitAuth:      {PerIP: Rate{300, time.Minute, 60}},
		LimitChallenge: {PerIP: Rate{120, time.Minute, 60}, PerAccount: Rate{20, time.Minute, 10}},
		LimitJoin:      {PerIP: Rate{120, time.Minute, 60}, PerAccount: Rate{10, time.Minute, 5}},
		LimitHolds:     {PerIP: Rate{600, time.Minute, 200}, PerAccount: Rate{30, time.Minute, 10}},
		LimitCheckout:  {PerIP: Rate{300, time.Minute, 100}, PerAccount: Rate{10, time.Minute, 5}},
		// Per email: 5 tries at once, then one each 12 s; signInSlowTier
		// stretches that to one each 2 minutes past 10 more.
		LimitSignIn:   {PerIP: Rate{300, time.Minute, 60}, PerAccount: Rate{5, time.Minute, 5}},
		LimitTransfer: {PerIP: Rate{60, time.Minute, 20}, PerAccount: Rate{20, time.Hour, 5}},
		// A reset or verification mail per address every 6 minutes after
		// the first five; tokens themselves are too long to guess.
		LimitRecovery: {PerIP: Rate{30, time.Minute, 10}, PerAccount: Rate{10, time.Hour, 5}},
		// Six-digit codes: about 30 guesses an hour at one account.
		LimitSecondFactor: {PerIP: Rate{60, time.Minute, 20}, PerAccount: Rate{30, time.Hour, 10}},
		// A fan types a code once or twice; a few more per minute are
		// mistypes, not guesses.
		LimitAccessCode: {PerIP: Rate{60, time.Minute, 20}, PerAccount: Rate{10, time.Minute, 5}},
	}
}

// signInSlowTier is the second, slower budget of sign-ins per email: the
// wait between guesses grows from 12 s to 2 minutes, so a guesser gets
// about 30 passwords an hour at one account.
var signInSlowTier = Rate{30, time.Hour, 15}

// ParseRateLimits applies RATE_LIMITS overrides to the defaults: a
// comma-separated list of ROUTE.SCOPE=N/UNIT[:BURST] (scope ip or account,
// unit s, m or h; N=0 turns that limit off), or "off" for no limits at all
// (nil). Example: holds.ip=1200/m:300,join.account=5/m.
func ParseRateLimits(spec string) (map[string]RouteLimits, error) {
	limits := DefaultRateLimits()
	spec = strings.TrimSpace(spec)
	if spec == "off" {
		return nil, nil
	}
	for _, item := range strings.Split(spec, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		route, scope, ok2 := strings.Cut(name, ".")
		rl, known := limits[route]
		if !ok || !ok2 || !known || (scope != "ip" && scope != "account") {
			return nil, fmt.Errorf("%q: want ROUTE.SCOPE=N/UNIT[:BURST] with ROUTE one of auth, signin, challenge, join, holds, checkout, transfer, recovery, second_factor, access_code and SCOPE ip or account", item)
		}
		r, err := parseRate(value)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		if scope == "ip" {
			rl.PerIP = r
		} else {
			rl.PerAccount = r
		}
		limits[route] = rl
	}
	return limits, nil
}

func parseRate(v string) (Rate, error) {
	v, burst, hasBurst := strings.Cut(v, ":")
	n, unit, ok := strings.Cut(v, "/")
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	count, err := strconv.Atoi(n)
	if !ok || per == 0 || err != nil || count < 0 || count > 1_000_000 {
		return Rate{}, fmt.Errorf("rate %q: want N/s, N/m or N/h", v)
	}
	r := Rate{N: count, Per: per, Burst: count}
	if hasBurst {
		if r.Burst, err = strconv.Atoi(burst); err != nil || r.Burst < 1 || r.Burst > 1_000_000 {
			return Rate{}, fmt.Errorf("burst %q: want a whole number from 1", burst)
		}
	}
	return r, nil
}

// Limiter decides whether one more request under key fits rate; when not,
// it says how long to wait.
type Limiter interface {
	Allow(ctx context.Context, key string, rate Rate) (ok bool, retryAfter time.Duration, err error)
}

// RedisLimiter is the GCRA limiter shared by every node through Redis.
// When Redis fails it decides with an in-process limiter of the same rates
// instead (each node then allows the full rate on its own): an outage
// must not turn every limit off, sign-in guessing included.
type RedisLimiter struct {
	l      *redis_rate.Limiter
	prefix string
	local  *LocalLimiter
	// Timeout bounds one check (default 150 ms), so a slow or absent
	// Redis adds at most this to a request before the in-process limiter
	// decides.
	Timeout time.Duration
}

// NewRedisLimiter returns a limiter whose keys start with prefix.
func NewRedisLimiter(rdb redis.UniversalClient, prefix string) *RedisLimiter {
	return &RedisLimiter{l: redis_rate.NewLimiter(rdb), prefix: prefix, local: NewLocalLimiter(),
		Timeout: 150 * time.Millisecond}
}

// Allow implements Limiter. An error means Redis failed: ok and the wait
// are then the in-process limiter's decision.
func (r *RedisLimiter) Allow(ctx context.Context, key string, rate Rate) (bool, time.Duration, error) {
	burst := rate.Burst
	if burst <= 0 {
		burst = rate.N
	}
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	res, err := r.l.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: rate.N, Burst: burst, Period: rate.Per})
	cancel()
	if err != nil {
		ok, wait, _ := r.local.Allow(ctx, key, rate)
		return ok, wait, fmt.Errorf("ratelimit %s (decided in process): %w", key, err)
	}
	return res.Allowed > 0, res.RetryAfter, nil
}

// LocalLimiter is a token-bucket limiter of one process
// (golang.org/x/time/rate), the fallback of RedisLimiter.
type LocalLimiter struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// NewLocalLimiter returns an empty LocalLimiter.
func NewLocalLimiter() *LocalLimiter { return &LocalLimiter{m: make(map[string]*rate.Limiter)} }

// localKeys bounds a LocalLimiter's memory: past it every bucket starts
// afresh, which only ever lets more through.
const localKeys = 100_000

// Allow implements Limiter; it never fails.
func (l *LocalLimiter) Allow(_ context.Context, key string, r Rate) (bool, time.Duration, error) {
	burst := r.Burst
	if burst <= 0 {
		burst = r.N
	}
	key = fmt.Sprintf("%s|%d/%v:%d", key, r.N, r.Per, burst)
	now := time.Now()
	l.mu.Lock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= localKeys {
			clear(l.m)
		}
		lim = rate.NewLimiter(rate.Limit(float64(r.N)/r.Per.Seconds()), burst)
		l.m[key] = lim
	}
	res := lim.ReserveN(now, 1)
	l.mu.Unlock()
	if wait := res.DelayFrom(now); wait > 0 {
		res.CancelAt(now)
		return false, wait, nil
	}
	return true, 0, nil
}

var _ Limiter = (*LocalLimiter)(nil)

var _ Limiter = (*RedisLimiter)(nil)

var errRateLimited = apperr.E(apperr.RateLimited, "rate_limited", "too many requests: slow down and retry later")

// limit is the middleware of a rate-limited route: one check per client IP
// and one per signed-in account.
func (s *Server) limit(route string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rl, ok := s.cfg.RateLimits[route]
		if s.deps.Limiter == nil || !ok {
			return c.Next()
		}
		if err := s.allow(c, "rl:"+route+":ip:"+s.clientIP(c), rl.PerIP); err != nil {
			return err
		}
		if a, ok := currentAccount(c); ok {
			if err := s.allow(c, "rl:"+route+":acct:"+strconv.FormatInt(a.ID, 10), rl.PerAccount); err != nil {
				return err
			}
		}
		return c.Next()
	}
}

// throttleSignIn limits sign-ins per email (the account signed in to,
// found or not), on top of the per-IP limit: a guesser spread over many
// addresses still gets a few passwords an hour at one account, each
// after a longer wait.
func (s *Server) throttleSignIn(c *fiber.Ctx, email string) error {
	rl, ok := s.cfg.RateLimits[LimitSignIn]
	if s.deps.Limiter == nil || !ok {
		return nil
	}
	sum := sha256.Sum256([]byte(account.NormalizeEmail(email)))
	key := "rl:" + LimitSignIn + ":email:" + hex.EncodeToString(sum[:12])
	if err := s.allow(c, key, rl.PerAccount); err != nil {
		return err
	}
	if rl.PerAccount.N > 0 {
		return s.allow(c, key+":slow", signInSlowTier)
	}
	return nil
}

// allow checks one budget; a zero rate is no limit. When Redis fails the
// limiter decides in process, and that is logged at most every few
// seconds.
func (s *Server) allow(c *fiber.Ctx, key string, rate Rate) error {
	if rate.N <= 0 {
		return nil
	}
	allowed, retry, err := s.deps.Limiter.Allow(c.UserContext(), key, rate)
	if err != nil {
		if now := time.Now().Unix(); s.limiterWarned.Swap(now) < now-10 {
			s.reqLog(c).Warn("rate limiter store unavailable; limits are per node until it is back", "err", err)
		}
	}
	if !allowed {
		return errRateLimited.With("retry_after_seconds", max(1, int(math.Ceil(retry.Seconds()))))
	}
	return nil
}

// clientIP is the address rate limits key on: the peer, or X-Real-IP when
// the peer is a trusted proxy (a client cannot pick its own address by
// sending the header directly).
func (s *Server) clientIP(c *fiber.Ctx) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(peer) {
			if real, err := netip.ParseAddr(strings.TrimSpace(c.Get("X-Real-IP"))); err == nil {
				return real.Unmap().String()
			}
			break
		}
	}
	return peer.String()
}

// ParseTrustedProxies reads TRUSTED_PROXIES: comma-separated CIDRs or
// addresses.
func ParseTrustedProxies(spec string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(spec, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
