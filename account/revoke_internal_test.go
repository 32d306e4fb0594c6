package account

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEveryAccountChangeReachesOtherNodes: two nodes (two Services on one
// database) that trust a cached session for an hour. Each way a session
// ends or its account changes, done on node a, reaches node b's cache
// through the revocation notification, not by expiry: a session that
// ended is refused on b, a changed account is read afresh there.
func TestEveryAccountChangeReachesOtherNodes(t *testing.T) {
	a := newTestService(t)
	a.cfg.CacheTTL, a.cfg.DeafCacheTTL = time.Hour, time.Hour
	b := NewService(a.db, a.cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []*Service{a, b} {
		wg.Go(func() { s.Listen(ctx, slog.New(slog.DiscardHandler)) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitFor(t, "both nodes listening", func() bool { return a.Listening() && b.Listening() })
	admin, _ := signUp(t, a, "admin")

	ended := func(_ Account, err error) bool { return errors.Is(err, ErrUnauthenticated) }
	tests := []struct {
		name   string
		change func(t *testing.T, acct Account, session string) error
		seen   func(acct Account, err error) bool // on node b, after the change
	}{
		{"sign out", func(_ *testing.T, _ Account, session string) error { return a.SignOut(ctx, session) }, ended},
		{"sign out everywhere", func(_ *testing.T, acct Account, _ string) error { return a.SignOutEverywhere(ctx, acct.ID) }, ended},
		{"password reset", func(t *testing.T, acct Account, _ string) error {
			var hash string
			if err := a.db.QueryRow(ctx, `SELECT password_hash FROM accounts WHERE id = $1`, acct.ID).Scan(&hash); err != nil {
				return err
			}
			token, err := a.mintToken(purposeReset, acct.ID, "", hash, time.Hour)
			if err != nil {
				return err
			}
			return a.ResetPassword(ctx, token, "second-password")
		}, ended},
		{"account deletion", func(_ *testing.T, acct Account, _ string) error { return a.Delete(ctx, acct.ID, "first-password") }, ended},
		{"role change", func(_ *testing.T, acct Account, _ string) error {
			_, err := a.SetRole(ctx, admin.ID, acct.ID, RoleScanner, 0)
			return err
		}, func(acct Account, err error) bool { return err == nil && acct.Role == RoleScanner }},
		{"email verified", func(_ *testing.T, acct Account, _ string) error {
			token, err := a.mintToken(purposeVerify, acct.ID, acct.Email, acct.Email, time.Hour)
			if err == nil {
				_, err = a.VerifyEmail(ctx, token)
			}
			return err
		}, func(acct Account, err error) bool { return err == nil && acct.EmailVerified }},
		{"email changed", func(_ *testing.T, acct Account, _ string) error {
			token, err := a.mintToken(purposeEmailChange, acct.ID, "moved-"+acct.Email, acct.Email, time.Hour)
			if err == nil {
				_, err = a.ConfirmEmailChange(ctx, token)
			}
			return err
		}, func(acct Account, err error) bool { return err == nil && strings.HasPrefix(acct.Email, "moved-") }},
		{"two-factor turned on, then off", func(t *testing.T, acct Account, session string) error {
			if err := enableTOTP(ctx, a, acct.ID); err != nil {
				return err
			}
			waitFor(t, "TOTP on reaching node b", func() bool {
				got, err := b.Authenticate(ctx, session)
				return err == nil && got.TOTPEnabled
			})
			return a.DisableTOTP(ctx, acct.ID, "first-password")
		}, func(acct Account, err error) bool { return err == nil && !acct.TOTPEnabled }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, session := signUp(t, a, "fan")
			if _, err := b.Authenticate(ctx, session); err != nil { // cached on b for an hour
				t.Fatal(err)
			}
			if err := tt.change(t, acct, session); err != nil {
				t.Fatal(err)
			}
			waitFor(t, tt.name+" on node a reaching node b", func() bool { return tt.seen(b.Authenticate(ctx, session)) })
		})
	}
}

// enableTOTP turns two-factor sign-in on for the account as its owner
// would: a secret, then a code from it.
func enableTOTP(ctx context.Context, s *Service, accountID int64) error {
	en, err := s.BeginTOTP(ctx, accountID)
	if err != nil {
		return err
	}
	code, err := TOTPCode(en.Secret, time.Now())
	if err != nil {
		return err
	}
	_, err = s.ConfirmTOTP(ctx, accountID, code)
	return err
}

// waitFor polls cond for up to 20 s: the wait is for a notification, not a
// timing claim.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
