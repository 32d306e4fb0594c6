package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// Config is everything the binary reads from the environment (the table in
// docs/operations.md, "Configuration"). Each field names its variable and
// default.
type Config struct {
	ListenAddr       string        // LISTEN_ADDR [:8080]
	DatabaseURL      string        // DATABASE_URL [postgres://boxoffice:boxoffice@localhost:5432/boxoffice], as `make services` sets it up
	RedisURL         string        // REDIS_URL [redis://localhost:6379/0], or redis+cluster://host:port,host:port,... for a Redis Cluster (redis.go)
	BaseURL          string        // BASE_URL [http://localhost:8080]
	SecretKey        []byte        // SECRET_KEY (hex or text, ≥ 32 bytes); generated in dev
	SecretGenerated  bool          // SECRET_KEY was not set and one was made up for this run
	Payments         string        // PAYMENTS [test] test | stripe
	StripeSecretKey  string        // STRIPE_SECRET_KEY
	StripeWebhookKey string        // STRIPE_WEBHOOK_SECRET
	StripeAPIBase    string        // STRIPE_API_BASE (stripe-mock in tests)
	SMTPURL          string        // SMTP_URL; empty writes mail as .eml files
	HoldTTL          time.Duration // HOLD_TTL [10m]
	WaitlistOfferTTL time.Duration // WAITLIST_OFFER_TTL [10m]: how long a waiting-list offer is held
	PaymentGrace     time.Duration // PAYMENT_GRACE [5m] how long past a hold's expiry a started payment may still complete
	// SessionCacheTTL (SESSION_CACHE_TTL [10m], 1s..24h) is how long a node
	// trusts a checked session while it hears every revocation (sign-outs
	// and account changes reach every node at once through Postgres).
	SessionCacheTTL time.Duration
	// DeclineRetryWindow (DECLINE_RETRY_WINDOW [2m]) is how long a declined
	// card keeps the seats for another attempt (never past the hold's
	// expiry); 0 releases them at the first decline.
	DeclineRetryWindow time.Duration
	// FanoutWritesPerSecond (FANOUT_WRITES_PER_SECOND [0: unbounded],
	// 0..10,000,000) bounds the socket writes a second one seat map's
	// frames cause on a node (realtime.HubConfig.FanoutBudget).
	FanoutWritesPerSecond int
	MaxSeatsPerAccount    int           // MAX_SEATS_PER_ACCOUNT [8], 1..8
	ResaleFeeBPS          int           // RESALE_FEE_BPS [1000] the resale fee in basis points (10%), 0..10000
	PayoutDelay           time.Duration // PAYOUT_DELAY [unset: a day after the event] how long after a resale its seller is paid, 1s..8760h
	DBMaxConns            int32         // DB_MAX_CONNS [4 × CPUs + 16]
	AllowedOrigins        []string      // ALLOWED_ORIGINS, comma-separated [BASE_URL]
	LogLevel              slog.Level    // LOG_LEVEL [info] debug | info | warn | error
	RedisPrefix           string        // REDIS_PREFIX [bo:] key prefix, to share one Redis; no { or }: keys carry their own hash tags
	MetricsToken          string        // METRICS_TOKEN: bearer token /metrics requires; empty serves it openly (refused in production)
	Production            bool          // BOXOFFICE_ENV=production, or BASE_URL is https: productionChecks apply
	PprofAddr             string        // PPROF_ADDR: when set, Go's profiler listens there (keep it on loopback)
	MediaDir              string        // MEDIA_DIR [media, under the working directory] where uploaded event images are stored; shared by every node
	// RateLimits per route and scope (RATE_LIMITS [defaults]): overrides
	// like holds.ip=1200/m:300,join.account=5/m, or off (nil).
	RateLimits map[string]server.RouteLimits
	// TrustedProxies (TRUSTED_PROXIES, comma-separated CIDRs [none]): from
	// these peers the client address for rate limits is X-Real-IP.
	TrustedProxies []netip.Prefix
	// WSMaxPerIP and WSMaxPerAccount (WS_MAX_PER_IP [200],
	// WS_MAX_PER_ACCOUNT [10]) cap the open sockets of one client address
	// and one account per node; off with RATE_LIMITS=off.
	WSMaxPerIP, WSMaxPerAccount int
	// ReviewSignals (REVIEW_SIGNALS [defaults]) are the thresholds that send
	// a purchase on an event with a waiting room to review: overrides like
	// join_to_hold=3s,hold_to_pay=10s,holds_per_minute=6,accounts_per_fingerprint=5,
	// or off (nil: every purchase is confirmed at once).
	ReviewSignals *waitingroom.Signals
	// StripePublishableKey (STRIPE_PUBLISHABLE_KEY, pk_..., required with
	// PAYMENTS=stripe, read only then) is served to the checkout page
	// (GET /api/payments/config) for Stripe.js, which collects the card:
	// card numbers never reach this server.
	StripePublishableKey string
	// secretWellKnown: SECRET_KEY is a published example or a pattern.
	secretWellKnown bool
}

// configError names the variable that stopped the start.
type configError struct{ name, value, why string }

func (e *configError) Error() string {
	return fmt.Sprintf("config: %s=%q: %s", e.name, e.value, e.why)
}

// loadConfig reads and checks the environment through getenv.
func loadConfig(getenv func(string) string, numCPU int) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		ListenAddr:       get("LISTEN_ADDR", ":8080"),
		DatabaseURL:      get("DATABASE_URL", "postgres://boxoffice:boxoffice@localhost:5432/boxoffice"),
		RedisURL:         get("REDIS_URL", "redis://localhost:6379/0"),
		BaseURL:          strings.TrimRight(get("BASE_URL", "http://localhost:8080"), "/"),
		Payments:         get("PAYMENTS", "test"),
		StripeSecretKey:  getenv("STRIPE_SECRET_KEY"),
		StripeWebhookKey: getenv("STRIPE_WEBHOOK_SECRET"),
		StripeAPIBase:    getenv("STRIPE_API_BASE"),
		SMTPURL:          getenv("SMTP_URL"),
		RedisPrefix:      get("REDIS_PREFIX", "bo:"),
		MetricsToken:     getenv("METRICS_TOKEN"),
		PprofAddr:        getenv("PPROF_ADDR"),
		MediaDir:         get("MEDIA_DIR", "media"),
	}
	for _, u := range []struct{ name, value string }{{"DATABASE_URL", c.DatabaseURL}, {"BASE_URL", c.BaseURL}} {
		p, err := url.Parse(u.value)
		if err != nil || p.Scheme == "" || p.Host == "" {
			return c, &configError{u.name, u.value, "not a URL with a scheme and host"}
		}
	}
	if _, _, err := parseRedisURL(c.RedisURL); err != nil {
		return c, &configError{"REDIS_URL", c.RedisURL, err.Error()}
	}
	// A brace in the prefix would become every key's hash tag and put the
	// whole deployment on one cluster slot.
	if strings.ContainsAny(c.RedisPrefix, "{}") {
		return c, &configError{"REDIS_PREFIX", c.RedisPrefix, "must not contain { or }: the keys carry their own hash tags"}
	}
	switch c.Payments {
	case "test":
	case "stripe":
		if c.StripeSecretKey == "" {
			return c, &configError{"STRIPE_SECRET_KEY", "", "required when PAYMENTS=stripe"}
		}
		// A secret key here would be sent to every browser: only pk_ passes,
		// and a wrong value is not echoed (it may be a secret key).
		c.StripePublishableKey = strings.TrimSpace(getenv("STRIPE_PUBLISHABLE_KEY"))
		if !strings.HasPrefix(c.StripePublishableKey, "pk_") {
			return c, &configError{"STRIPE_PUBLISHABLE_KEY", "(hidden)",
				"required when PAYMENTS=stripe: the publishable key (pk_test_... or pk_live_...) Stripe.js uses in the browser"}
		}
	default:
		return c, &configError{"PAYMENTS", c.Payments, "must be test or stripe"}
	}
	var err error
	if c.HoldTTL, err = time.ParseDuration(get("HOLD_TTL", "10m")); err != nil || c.HoldTTL < time.Second || c.HoldTTL > 24*time.Hour {
		return c, &configError{"HOLD_TTL", getenv("HOLD_TTL"), "a duration between 1s and 24h, like 10m"}
	}
	if c.WaitlistOfferTTL, err = time.ParseDuration(get("WAITLIST_OFFER_TTL", "10m")); err != nil ||
		c.WaitlistOfferTTL < time.Second || c.WaitlistOfferTTL > 24*time.Hour {
		return c, &configError{"WAITLIST_OFFER_TTL", getenv("WAITLIST_OFFER_TTL"), "a duration between 1s and 24h, like 10m"}
	}
	if c.PaymentGrace, err = time.ParseDuration(get("PAYMENT_GRACE", "5m")); err != nil || c.PaymentGrace < time.Second || c.PaymentGrace > time.Hour {
		return c, &configError{"PAYMENT_GRACE", getenv("PAYMENT_GRACE"), "a duration between 1s and 1h, like 5m"}
	}
	if c.SessionCacheTTL, err = time.ParseDuration(get("SESSION_CACHE_TTL", "10m")); err != nil ||
		c.SessionCacheTTL < time.Second || c.SessionCacheTTL > 24*time.Hour {
		return c, &configError{"SESSION_CACHE_TTL", getenv("SESSION_CACHE_TTL"), "a duration between 1s and 24h, like 10m"}
	}
	if c.DeclineRetryWindow, err = time.ParseDuration(get("DECLINE_RETRY_WINDOW", "2m")); err != nil || c.DeclineRetryWindow < 0 ||
		c.DeclineRetryWindow > time.Hour {
		return c, &configError{"DECLINE_RETRY_WINDOW", getenv("DECLINE_RETRY_WINDOW"), "a duration between 0 and 1h, like 2m"}
	}
	if c.FanoutWritesPerSecond, err = strconv.Atoi(get("FANOUT_WRITES_PER_SECOND", "0")); err != nil ||
		c.FanoutWritesPerSecond < 0 || c.FanoutWritesPerSecond > 10_000_000 {
		return c, &configError{"FANOUT_WRITES_PER_SECOND", getenv("FANOUT_WRITES_PER_SECOND"), "a whole number from 0 (unbounded) to 10000000"}
	}
	if c.MaxSeatsPerAccount, err = strconv.Atoi(get("MAX_SEATS_PER_ACCOUNT", "8")); err != nil || c.MaxSeatsPerAccount < 1 || c.MaxSeatsPerAccount > 8 {
		return c, &configError{"MAX_SEATS_PER_ACCOUNT", getenv("MAX_SEATS_PER_ACCOUNT"), "a whole number from 1 to 8"}
	}
	if c.ResaleFeeBPS, err = strconv.Atoi(get("RESALE_FEE_BPS", "1000")); err != nil || c.ResaleFeeBPS < 0 || c.ResaleFeeBPS > 10000 {
		return c, &configError{"RESALE_FEE_BPS", getenv("RESALE_FEE_BPS"), "a whole number of basis points from 0 to 10000"}
	}
	if v := get("PAYOUT_DELAY", ""); v != "" {
		if c.PayoutDelay, err = time.ParseDuration(v); err != nil || c.PayoutDelay < time.Second || c.PayoutDelay > 8760*time.Hour {
			return c, &configError{"PAYOUT_DELAY", v, "a duration between 1s and 8760h, like 72h, or unset to pay a day after the event"}
		}
	}
	conns, err := strconv.Atoi(get("DB_MAX_CONNS", strconv.Itoa(4*numCPU+16)))
	if err != nil || conns < 2 || conns > 10000 {
		return c, &configError{"DB_MAX_CONNS", getenv("DB_MAX_CONNS"), "a whole number from 2 to 10000"}
	}
	c.DBMaxConns = int32(conns)
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		return c, &configError{"LOG_LEVEL", getenv("LOG_LEVEL"), "one of debug, info, warn, error"}
	}
	for _, o := range strings.Split(getenv("ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			if p, err := url.Parse(o); err != nil || p.Scheme == "" || p.Host == "" || p.Path != "" {
				return c, &configError{"ALLOWED_ORIGINS", getenv("ALLOWED_ORIGINS"), "comma-separated origins like https://tickets.example"}
			}
			c.AllowedOrigins = append(c.AllowedOrigins, o)
		}
	}
	if c.RateLimits, err = server.ParseRateLimits(getenv("RATE_LIMITS")); err != nil {
		return c, &configError{"RATE_LIMITS", getenv("RATE_LIMITS"), err.Error()}
	}
	if c.TrustedProxies, err = server.ParseTrustedProxies(getenv("TRUSTED_PROXIES")); err != nil {
		return c, &configError{"TRUSTED_PROXIES", getenv("TRUSTED_PROXIES"), err.Error()}
	}
	if c.WSMaxPerIP, err = strconv.Atoi(get("WS_MAX_PER_IP", strconv.Itoa(server.DefaultWSMaxPerIP))); err != nil || c.WSMaxPerIP < 1 {
		return c, &configError{"WS_MAX_PER_IP", getenv("WS_MAX_PER_IP"), "a whole number from 1"}
	}
	if c.WSMaxPerAccount, err = strconv.Atoi(get("WS_MAX_PER_ACCOUNT", strconv.Itoa(server.DefaultWSMaxPerAccount))); err != nil || c.WSMaxPerAccount < 1 {
		return c, &configError{"WS_MAX_PER_ACCOUNT", getenv("WS_MAX_PER_ACCOUNT"), "a whole number from 1"}
	}
	if c.ReviewSignals, err = waitingroom.ParseSignals(getenv("REVIEW_SIGNALS")); err != nil {
		return c, &configError{"REVIEW_SIGNALS", getenv("REVIEW_SIGNALS"), err.Error()}
	}
	if key := getenv("SECRET_KEY"); key != "" {
		if b, err := hex.DecodeString(key); err == nil && len(b) >= 32 {
			c.SecretKey = b
		} else if len(key) >= 32 {
			c.SecretKey = []byte(key)
		} else {
			return c, &configError{"SECRET_KEY", "(hidden)", "at least 32 bytes (64 hex digits or 32 characters)"}
		}
	} else {
		c.SecretKey = make([]byte, 32)
		_, _ = rand.Read(c.SecretKey)
		c.SecretGenerated = true
	}
	switch env := get("BOXOFFICE_ENV", ""); env {
	case "production":
		c.Production = true
	case "", "development":
		c.Production = strings.HasPrefix(c.BaseURL, "https://")
	default:
		return c, &configError{"BOXOFFICE_ENV", env, "must be production or development (or unset)"}
	}
	c.secretWellKnown = c.SecretKey != nil && !c.SecretGenerated && wellKnownKey(getenv("SECRET_KEY"))
	return c, nil
}

// productionChecks refuse a public deployment that runs on dev defaults: a
// site on https (or BOXOFFICE_ENV=production) must take real payments, sign
// with a key of its own that every node shares, and not publish its metrics.
// Each refusal names the variable to set.
// Only serve applies them: a one-off migrate or admin command may run
// with less.
func (c Config) productionChecks() error {
	if !c.Production {
		return nil
	}
	const why = " (required because BASE_URL is https or BOXOFFICE_ENV=production)"
	if c.Payments != "stripe" {
		return &configError{"PAYMENTS", c.Payments, "must be stripe: the test processor accepts any card" + why}
	}
	if c.SecretGenerated {
		return &configError{"SECRET_KEY", "", "must be set, at least 32 random bytes shared by every node" + why}
	}
	if c.secretWellKnown {
		return &configError{"SECRET_KEY", "(hidden)", "is a published example or a guessable pattern: generate one with `openssl rand -hex 32`" + why}
	}
	if c.MetricsToken == "" {
		return &configError{"METRICS_TOKEN", "", "must be set, or /metrics is open to anyone" + why}
	}
	if len(c.MetricsToken) < 16 {
		return &configError{"METRICS_TOKEN", "(hidden)", "at least 16 characters" + why}
	}
	return nil
}

// knownKeys are secrets printed in this repository's docs, compose file and
// tests, or in common examples: anyone can read them, so they sign nothing.
var knownKeys = []string{
	"insecure-dev-only-secret-change-me-now",
	"server-test-secret-key-of-32-bytes",
	"server-test-secret-0123456789abcdef",
}

// wellKnownKey reports a SECRET_KEY that is public or guessable: a known
// example, a placeholder word, or too few distinct characters (a repeated
// or counting pattern like cdcd... or 0123...).
func wellKnownKey(key string) bool {
	k := strings.ToLower(strings.TrimSpace(key))
	for _, known := range knownKeys {
		if k == known {
			return true
		}
	}
	for _, word := range []string{"change", "insecure", "example", "secret", "password", "changeme", "dev-only", "test", "boxoffice", "0123456789", "abcdef0123"} {
		if strings.Contains(k, word) {
			return true
		}
	}
	distinct := map[rune]bool{}
	for _, r := range k {
		distinct[r] = true
	}
	return len(distinct) < 10
}
