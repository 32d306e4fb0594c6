package server

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

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
	}
}

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
			return nil, fmt.Errorf("%q: want ROUTE.SCOPE=N/UNIT[:BURST] with ROUTE one of challenge, join, holds, checkout and SCOPE ip or account", item)
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
type RedisLimiter struct {
	l      *redis_rate.Limiter
	prefix string
}

// NewRedisLimiter returns a limiter whose keys start with prefix.
func NewRedisLimiter(rdb redis.UniversalClient, prefix string) *RedisLimiter {
	return &RedisLimiter{l: redis_rate.NewLimiter(rdb), prefix: prefix}
}

// Allow implements Limiter.
func (r *RedisLimiter) Allow(ctx context.Context, key string, rate Rate) (bool, time.Duration, error) {
	burst := rate.Burst
	if burst <= 0 {
		burst = rate.N
	}
	res, err := r.l.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: rate.N, Burst: burst, Period: rate.Per})
	if err != nil {
		return true, 0, fmt.Errorf("ratelimit %s: %w", key, err)
	}
	return res.Allowed > 0, res.RetryAfter, nil
}

var _ Limiter = (*RedisLimiter)(nil)

// limiterTimeout bounds one limiter check, so a slow or absent Redis adds
// at most this to a request (which then goes through unlimited).
const limiterTimeout = 150 * time.Millisecond

var errRateLimited = apperr.E(apperr.RateLimited, "rate_limited", "too many requests: slow down and retry later")

// limit is the middleware of a rate-limited route: one check per client IP
// and one per signed-in account. When Redis fails the request goes on (holds
// must work without Redis); the error is logged.
func (s *Server) limit(route string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rl, ok := s.cfg.RateLimits[route]
		if s.deps.Limiter == nil || !ok {
			return c.Next()
		}
		checks := []struct {
			key  string
			rate Rate
		}{{"rl:" + route + ":ip:" + s.clientIP(c), rl.PerIP}}
		if a, ok := currentAccount(c); ok {
			checks = append(checks, struct {
				key  string
				rate Rate
			}{"rl:" + route + ":acct:" + strconv.FormatInt(a.ID, 10), rl.PerAccount})
		}
		for _, ch := range checks {
			if ch.rate.N <= 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(c.UserContext(), limiterTimeout)
			allowed, retry, err := s.deps.Limiter.Allow(ctx, ch.key, ch.rate)
			cancel()
			if err != nil {
				s.reqLog(c).Warn("rate limiter unavailable; request let through", "err", err)
				continue
			}
			if !allowed {
				return errRateLimited.With("retry_after_seconds", max(1, int(math.Ceil(retry.Seconds()))))
			}
		}
		return c.Next()
	}
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
