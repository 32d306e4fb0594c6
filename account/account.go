package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Roles an account can have. Every account is a fan; the others are
// granted with `boxoffice admin grant` or by an admin (roles.go).
const (
	RoleFan     = "fan"
	RoleAdmin   = "admin"
	RoleScanner = "scanner"
)

// Account is a person who can sign in.
type Account struct {
	ID    int64  `json:"id,string"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	// EmailVerified: the owner followed a link mailed to Email. Events
	// may require it before a hold (docs/accounts.md).
	EmailVerified bool `json:"email_verified"`
	// TOTPEnabled: signing in takes a code from an authenticator app
	// after the password.
	TOTPEnabled bool `json:"totp_enabled"`
	// RoleEventID, when set, keeps a scanner to that one event's door.
	RoleEventID int64 `json:"role_event_id,omitempty,string"`
}

// accountColumns are the columns of an Account, in scanDest's order, for
// queries over accounts aliased a.
const accountColumns = `a.id, a.email, a.name, a.role, a.email_verified_at IS NOT NULL, a.totp_enabled_at IS NOT NULL,
	coalesce(a.role_event_id, 0)`

func (a *Account) scanDest() []any {
	return []any{&a.ID, &a.Email, &a.Name, &a.Role, &a.EmailVerified, &a.TOTPEnabled, &a.RoleEventID}
}

// Errors callers and tests compare with errors.Is.
var (
	ErrEmailTaken      = apperr.E(apperr.Conflict, "email_taken", "an account with this email already exists")
	ErrBadCredentials  = apperr.E(apperr.Unauthenticated, "bad_credentials", "email or password is wrong")
	ErrUnauthenticated = apperr.E(apperr.Unauthenticated, "unauthenticated", "sign in first")
	ErrNotFound        = apperr.E(apperr.NotFound, "account_not_found", "no account with this email")
	ErrBadRole         = apperr.E(apperr.Invalid, "invalid_role", "role must be fan, admin, scanner, box_office or finance")
)

// Config tunes a Service. The zero value is the production setting, but
// for SecretKey, which the recovery tokens need.
type Config struct {
	// HashCost is the bcrypt cost; 0 means bcrypt.DefaultCost (about 50 ms
	// of CPU). Tests and bulk seeding lower it.
	HashCost int
	// SessionTTL is how long a session lasts; 0 means 30 days.
	SessionTTL time.Duration
	// CacheTTL is how long a checked token is trusted without asking
	// Postgres again while this node hears every revocation (Listen is
	// running and connected); 0 means 10 minutes. A sign-out anywhere then
	// reaches this node's cache within a Postgres notification's delay.
	CacheTTL time.Duration
	// DeafCacheTTL is the cache lifetime while it does not (Listen not
	// running, or its connection lost); 0 means 5 s: a sign-out on another
	// node takes at most this long to reach this node.
	DeafCacheTTL time.Duration
	// SecretKey signs recovery, verification and sign-in tokens
	// (SECRET_KEY); every node must share it. Without it those tokens
	// cannot be made.
	SecretKey []byte
	// Mailer sends the account's mails from the outbox; nil leaves them
	// queued until a node with one works them.
	Mailer Mailer
	// MailFrom is the sender of account mails (default
	// accounts@boxoffice.localhost).
	MailFrom string
	// BaseURL is the public address, for the links in mails.
	BaseURL string
	// ResetTTL is how long a password-reset link works (default 1 h);
	// VerifyTTL a verification or email-change link (default 48 h).
	ResetTTL, VerifyTTL time.Duration
}

// Service signs people up and in and checks their tokens.
type Service struct {
	db  *pgxpool.Pool
	cfg Config
	// tokenKey signs the account's tokens: SECRET_KEY derived for this
	// use alone.
	tokenKey []byte

	mu    sync.Mutex
	cache map[[32]byte]cachedSession
	// revocations counts the revocations this node has heard (and the
	// listener's losses): a lookup that raced one caches only briefly.
	revocations atomic.Uint64
	listening   atomic.Bool
}

type cachedSession struct {
	acct    Account
	expires time.Time
}

// NewService returns a Service over db.
func NewService(db *pgxpool.Pool, cfg Config) *Service {
	if cfg.HashCost == 0 {
		cfg.HashCost = bcrypt.DefaultCost
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 10 * time.Minute
	}
	if cfg.DeafCacheTTL == 0 {
		cfg.DeafCacheTTL = 5 * time.Second
	}
	if cfg.MailFrom == "" {
		cfg.MailFrom = "accounts@boxoffice.localhost"
	}
	if cfg.ResetTTL == 0 {
		cfg.ResetTTL = time.Hour
	}
	if cfg.VerifyTTL == 0 {
		cfg.VerifyTTL = 48 * time.Hour
	}
	return &Service{db: db, cfg: cfg, cache: make(map[[32]byte]cachedSession), tokenKey: derive(cfg.SecretKey, "account tokens")}
}

// SessionTTL is how long a new session lasts, for the cookie's Max-Age.
func (s *Service) SessionTTL() time.Duration { return s.cfg.SessionTTL }

// SignUp creates a fan account and a session for it. Input is assumed
// validated for shape by the caller (length, email syntax).
func (s *Service) SignUp(ctx context.Context, email, password, name string) (Account, string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.HashCost)
	if err != nil {
		return Account{}, "", fmt.Errorf("account: hash password: %w", err)
	}
	var a Account
	var token string
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO accounts AS a (email, name, password_hash) VALUES ($1, $2, $3)
			RETURNING `+accountColumns,
			NormalizeEmail(email), strings.TrimSpace(name), string(hash)).Scan(a.scanDest()...)
		if pg.IsUniqueViolation(err, "accounts_email_key") {
			return ErrEmailTaken
		}
		if err != nil {
			return fmt.Errorf("account: insert: %w", err)
		}
		if token, err = s.newSession(ctx, tx, a.ID); err != nil {
			return err
		}
		return enqueueMail(ctx, tx, mailJob{Kind: mailVerify, AccountID: a.ID, To: a.Email})
	})
	return a, token, err
}

// NormalizeEmail is the one form an email is stored and looked up in:
// trimmed, Unicode NFKC (so a composed and a decomposed é, or a fullwidth
// letter and its plain form, are one address) and lower case (as the
// unique index, on lower(email), already compared). Migration 00009 put
// existing rows in this form.
func NormalizeEmail(email string) string {
	return strings.ToLower(norm.NFKC.String(strings.TrimSpace(email)))
}

// dummyHash is compared against when the email is unknown, so a sign-in
// takes as long for a missing account as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("boxoffice-timing-equaliser"), bcrypt.DefaultCost)

// SignIn checks email and password and starts a session. An account with
// TOTP on gets no session yet: the error is a *SecondStep whose challenge
// CompleteSignIn takes with a code, so a caller that knows nothing of
// second factors fails closed.
func (s *Service) SignIn(ctx context.Context, email, password string) (Account, string, error) {
	var a Account
	var hash string
	err := s.db.QueryRow(ctx, `
		SELECT `+accountColumns+`, a.password_hash FROM accounts a WHERE lower(a.email) = lower($1)`,
		NormalizeEmail(email)).Scan(append(a.scanDest(), &hash)...)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return Account{}, "", ErrBadCredentials
	}
	if err != nil {
		return Account{}, "", fmt.Errorf("account: sign in %q: %w", email, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return Account{}, "", ErrBadCredentials
	}
	if a.TOTPEnabled {
		challenge, err := s.mintToken(purposeSignIn, a.ID, "", hash, signInChallengeTTL)
		if err != nil {
			return Account{}, "", err
		}
		return Account{}, "", &SecondStep{Challenge: challenge}
	}
	token, err := s.newSession(ctx, s.db, a.ID)
	return a, token, err
}

func (s *Service) newSession(ctx context.Context, db pg.Querier, accountID int64) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("account: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	sum := tokenHash(token)
	_, err := db.Exec(ctx, `
		INSERT INTO sessions (token_hash, account_id, expires_at)
		VALUES ($1, $2, now() + $3::interval)`, sum[:], accountID, s.cfg.SessionTTL.String())
	if err != nil {
		return "", fmt.Errorf("account: create session: %w", err)
	}
	return token, nil
}

func tokenHash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// Authenticate returns the account whose session token this is.
func (s *Service) Authenticate(ctx context.Context, token string) (Account, error) {
	if token == "" || len(token) > 128 {
		return Account{}, ErrUnauthenticated
	}
	sum := tokenHash(token)
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[sum]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.acct, nil
	}
	heard := s.revocations.Load()
	var a Account
	var left time.Duration
	err := s.db.QueryRow(ctx, `
		SELECT `+accountColumns+`, s.expires_at - now()
		FROM sessions s JOIN accounts a ON a.id = s.account_id
		WHERE s.token_hash = $1 AND s.expires_at > now()`, sum[:]).Scan(append(a.scanDest(), &left)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, fmt.Errorf("account: authenticate: %w", err)
	}
	ttl := s.cfg.DeafCacheTTL
	if s.listening.Load() && s.revocations.Load() == heard {
		// No revocation arrived while the row was read, so none can be
		// lost between the read and the cache write.
		ttl = s.cfg.CacheTTL
	}
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache) // bounded memory; the next lookups refill it
	}
	s.cache[sum] = cachedSession{acct: a, expires: now.Add(min(ttl, left))}
	s.mu.Unlock()
	return a, nil
}

// SignOut ends the session of token. Ending an unknown session is not an error.
func (s *Service) SignOut(ctx context.Context, token string) error {
	sum := tokenHash(token)
	s.forget(sum)
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, sum[:]); err != nil {
			return err
		}
		return revoke(ctx, tx, hex.EncodeToString(sum[:]))
	})
	if err != nil {
		return fmt.Errorf("account: sign out: %w", err)
	}
	return nil
}

// Grant gives the account with email the role (any event's door, for a
// scanner).
func (s *Service) Grant(ctx context.Context, email, role string) error {
	return s.GrantScoped(ctx, email, role, 0)
}

// GrantScoped gives the account with email the role, kept to one event
// when eventID is not zero (scanner only; see SetRole).
func (s *Service) GrantScoped(ctx context.Context, email, role string, eventID int64) error {
	if !ValidRole(role) {
		return ErrBadRole
	}
	if eventID != 0 && role != RoleScanner {
		return ErrScopeNeedsScanner
	}
	var scope *int64
	if eventID != 0 {
		scope = &eventID
	}
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET role = $2, role_event_id = $3 WHERE lower(email) = lower($1)`,
			NormalizeEmail(email), role, scope)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		// Roles changed: no cached session on any node may keep the old one.
		return revoke(ctx, tx, revokeAll)
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("account: grant %s to %s: %w", role, email, err)
	}
	s.forgetAll()
	return nil
}
