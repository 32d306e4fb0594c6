package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// totpRoles must sign in with a second factor: they move money, refunds
// and other people's tickets.
var totpRoles = map[string]bool{RoleAdmin: true, RoleFinance: true, RoleBoxOffice: true}

// NeedsTOTP reports whether role must sign in with a second factor.
func NeedsTOTP(role string) bool { return totpRoles[role] }

// MustEnrolTOTP reports whether the account's role requires TOTP and it
// has none yet: such a session may only enrol (the server's check).
func (a Account) MustEnrolTOTP() bool { return NeedsTOTP(a.Role) && !a.TOTPEnabled }

// Errors of two-factor sign-in.
var (
	ErrBadCode       = apperr.E(apperr.Unauthenticated, "invalid_code", "the code is wrong, expired or already used")
	ErrTOTPOn        = apperr.E(apperr.Conflict, "totp_already_enabled", "two-factor sign-in is already on")
	ErrNoEnrolment   = apperr.E(apperr.Conflict, "totp_not_started", "start the enrolment first (POST /api/account/totp)")
	ErrTOTPRequired  = apperr.E(apperr.Forbidden, "totp_required", "your role requires two-factor sign-in: it cannot be turned off")
	ErrTOTPOff       = apperr.E(apperr.Conflict, "totp_not_enabled", "two-factor sign-in is off: turn it on first (POST /api/account/totp)")
	ErrTOTPEnrolment = apperr.E(apperr.Forbidden, "totp_enrolment_required",
		"your role requires two-factor sign-in: set it up (POST /api/account/totp) before anything else")
)

// SecondStep is SignIn's answer when the password was right and a code is
// needed: CompleteSignIn takes Challenge with the code.
type SecondStep struct {
	Challenge string
}

func (e *SecondStep) Error() string { return "account: a second sign-in step (TOTP code) is needed" }

// totpIssuer names the service in authenticator apps.
const totpIssuer = "Boxoffice"

// recoveryCodeCount is how many one-time recovery codes an enrolment gives.
const recoveryCodeCount = 10

// totpOpts are the parameters every authenticator app supports: SHA-1,
// six digits, 30-second steps.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrolment is a TOTP secret being set up: the app scans URI (an otpauth:
// URI, also shown as a QR code) or takes Secret typed in.
type Enrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
}

// BeginTOTP makes a new secret for the account, pending until ConfirmTOTP
// proves the app has it. Starting again replaces a pending secret.
func (s *Service) BeginTOTP(ctx context.Context, accountID int64) (Enrolment, error) {
	var email string
	var on bool
	err := s.db.QueryRow(ctx, `SELECT email, totp_enabled_at IS NOT NULL FROM accounts WHERE id = $1 AND deleted_at IS NULL`,
		accountID).Scan(&email, &on)
	if err != nil {
		return Enrolment{}, fmt.Errorf("account: begin totp: %w", err)
	}
	if on {
		return Enrolment{}, ErrTOTPOn
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: email})
	if err != nil {
		return Enrolment{}, fmt.Errorf("account: totp secret: %w", err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE accounts SET totp_pending_secret = $2 WHERE id = $1`, accountID, key.Secret()); err != nil {
		return Enrolment{}, fmt.Errorf("account: begin totp: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URI: key.URL()}, nil
}

// ConfirmTOTP turns two-factor sign-in on once code shows the app has the
// pending secret, and returns the one-time recovery codes (shown once,
// stored hashed).
func (s *Service) ConfirmTOTP(ctx context.Context, accountID int64, code string) ([]string, error) {
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	err = s.changeAccount(ctx, accountID, false, func(tx pgx.Tx) error {
		var pending *string
		var on bool
		err := tx.QueryRow(ctx, `SELECT totp_pending_secret, totp_enabled_at IS NOT NULL FROM accounts WHERE id = $1 FOR UPDATE`,
			accountID).Scan(&pending, &on)
		if err != nil {
			return err
		}
		if on {
			return ErrTOTPOn
		}
		if pending == nil {
			return ErrNoEnrolment
		}
		step, ok := matchTOTP(*pending, code, 0, time.Now())
		if !ok {
			return ErrBadCode
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,
			totp_enabled_at = now(), totp_last_step = $2 WHERE id = $1`, accountID, step); err != nil {
			return err
		}
		return replaceRecoveryCodes(ctx, tx, accountID, hashes)
	})
	if err != nil {
		if apperr.As(err) != nil {
			return nil, err
		}
		return nil, fmt.Errorf("account: confirm totp: %w", err)
	}
	return codes, nil
}

// RenewRecoveryCodes replaces every recovery code of the account, used or
// not, with a new set (shown once, stored hashed), for a fan who spent
// theirs or fears they leaked. The proof is a current code from the
// authenticator app, accepted once like a sign-in's; a recovery code does
// not renew the codes, or a stolen one would yield ten more. The old
// address gets a notice, so a change the owner did not make is seen.
func (s *Service) RenewRecoveryCodes(ctx context.Context, accountID int64, code string) ([]string, error) {
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var email string
		var secret *string
		var last int64
		err := tx.QueryRow(ctx, `SELECT email, totp_secret, totp_last_step FROM accounts
			WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, accountID).Scan(&email, &secret, &last)
		if err != nil {
			return err
		}
		if secret == nil {
			return ErrTOTPOff
		}
		step, ok := matchTOTP(*secret, code, last, time.Now())
		if !ok {
			return ErrBadCode
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET totp_last_step = $2 WHERE id = $1`, accountID, step); err != nil {
			return err
		}
		if err := replaceRecoveryCodes(ctx, tx, accountID, hashes); err != nil {
			return err
		}
		return enqueueMail(ctx, tx, mailJob{Kind: mailCodesRenewed, AccountID: accountID, To: email})
	})
	if err != nil {
		if apperr.As(err) != nil {
			return nil, err
		}
		return nil, fmt.Errorf("account: renew recovery codes: %w", err)
	}
	return codes, nil
}

// DisableTOTP turns two-factor sign-in off (fans only: staff roles must
// keep it), with the password as proof.
func (s *Service) DisableTOTP(ctx context.Context, accountID int64, password string) error {
	a, err := s.checkPassword(ctx, accountID, password)
	if err != nil {
		return err
	}
	if totpRoles[a.Role] {
		return ErrTOTPRequired
	}
	err = s.changeAccount(ctx, accountID, false, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE accounts SET totp_secret = NULL, totp_pending_secret = NULL, totp_enabled_at = NULL
			WHERE id = $1`, accountID); err != nil {
			return err
		}
		return replaceRecoveryCodes(ctx, tx, accountID, nil)
	})
	if err != nil {
		return fmt.Errorf("account: disable totp: %w", err)
	}
	return nil
}

// CompleteSignIn is the second step of a sign-in: the challenge SignIn
// gave and a TOTP code or an unused recovery code. A TOTP code is accepted
// once (its time step must be later than the last one accepted), a
// recovery code is spent. The challenge names the password hash, so a
// password reset spends it.
func (s *Service) CompleteSignIn(ctx context.Context, challenge, code string) (Account, string, error) {
	id, claims, err := s.parseToken(purposeSignIn, challenge)
	if err != nil {
		return Account{}, "", err
	}
	var a Account
	var token string
	// No cached session needs dropping: only the last step changes.
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var hash string
		var secret *string
		var last int64
		err := tx.QueryRow(ctx, `SELECT `+accountColumns+`, a.password_hash, a.totp_secret, a.totp_last_step
			FROM accounts a WHERE a.id = $1 AND a.deleted_at IS NULL FOR UPDATE`, id).Scan(append(a.scanDest(), &hash, &secret, &last)...)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !s.stateMatches(claims, hash)) {
			return ErrBadToken
		}
		if err != nil {
			return err
		}
		if secret == nil {
			return ErrBadToken // turned off since: sign in again
		}
		if isRecoveryCode(code) {
			sum := sha256.Sum256([]byte(normalizeRecoveryCode(code)))
			tag, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = now()
				WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL`, id, sum[:])
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return ErrBadCode
			}
		} else {
			step, ok := matchTOTP(*secret, code, last, time.Now())
			if !ok {
				return ErrBadCode
			}
			if _, err := tx.Exec(ctx, `UPDATE accounts SET totp_last_step = $2 WHERE id = $1`, id, step); err != nil {
				return err
			}
		}
		token, err = s.newSession(ctx, tx, id)
		return err
	})
	if err != nil {
		if apperr.As(err) != nil {
			return Account{}, "", err
		}
		return Account{}, "", fmt.Errorf("account: complete sign in: %w", err)
	}
	return a, token, nil
}

// matchTOTP finds the time step, later than after, whose code under secret
// is code: the step now and one either side (a clock off by up to 30 s).
// Codes are compared in constant time.
func matchTOTP(secret, code string, after int64, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / int64(totpOpts.Period)
	for step := cur - 1; step <= cur+1; step++ {
		if step <= after {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*int64(totpOpts.Period), 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// Recovery codes are 16 base32 letters (80 bits) shown as four groups:
// enough that a stored SHA-256 needs no slow hash.
var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newRecoveryCodes() (codes []string, hashes [][]byte, err error) {
	for range recoveryCodeCount {
		raw := make([]byte, 10)
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, fmt.Errorf("account: recovery code: %w", err)
		}
		c := recoveryEncoding.EncodeToString(raw)
		codes = append(codes, strings.ToLower(c[0:4]+"-"+c[4:8]+"-"+c[8:12]+"-"+c[12:16]))
		sum := sha256.Sum256([]byte(c))
		hashes = append(hashes, sum[:])
	}
	return codes, hashes, nil
}

// isRecoveryCode tells a recovery code from a six-digit TOTP code.
func isRecoveryCode(code string) bool { return len(normalizeRecoveryCode(code)) == 16 }

// normalizeRecoveryCode is the code as hashed: upper case, without
// dashes or spaces.
func normalizeRecoveryCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
}

func replaceRecoveryCodes(ctx context.Context, tx pgx.Tx, accountID int64, hashes [][]byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE account_id = $1`, accountID); err != nil {
		return err
	}
	if len(hashes) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO recovery_codes (account_id, code_hash) SELECT $1, unnest($2::bytea[])`, accountID, hashes)
	return err
}

// TOTPCode is the current code of secret, for tests and tools that act as
// an authenticator app.
func TOTPCode(secret string, at time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, at, totpOpts)
}

// ChallengeAccount is the account a sign-in challenge is for, so the
// server can limit code guesses per account; a challenge that is not a
// valid one is ErrBadToken.
func (s *Service) ChallengeAccount(challenge string) (int64, error) {
	id, _, err := s.parseToken(purposeSignIn, challenge)
	return id, err
}
