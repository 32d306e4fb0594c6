package account

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Errors of recovery, verification and deletion.
var (
	ErrWrongPassword   = apperr.E(apperr.Forbidden, "wrong_password", "the password is wrong")
	ErrAlreadyVerified = apperr.E(apperr.Conflict, "already_verified", "this email address is already verified")
	ErrSameEmail       = apperr.E(apperr.Invalid, "same_email", "this is already the account's address")
	ErrAccountBusy     = apperr.E(apperr.Conflict, "account_busy",
		"the account has seats on hold or a payment in progress: finish or release them, then delete the account")
	// ErrEmailNotVerified refuses a hold on an event that requires a
	// verified address (the server's check; docs/accounts.md).
	ErrEmailNotVerified = apperr.E(apperr.Forbidden, "email_not_verified",
		"confirm your email address first: follow the link we mailed you, or ask for a new one")
)

// changeAccount runs fn in a transaction, then makes every node drop the
// cached sessions of the account (end: and deletes them, signing it out
// everywhere): a cached session must not keep an old address, verification
// or second-factor state, nor outlive a reset.
func (s *Service) changeAccount(ctx context.Context, accountID int64, end bool, fn func(tx pgx.Tx) error) error {
	var sums [][32]byte
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		sums = sums[:0]
		if err := fn(tx); err != nil {
			return err
		}
		q := `SELECT token_hash FROM sessions WHERE account_id = $1`
		if end {
			q = `DELETE FROM sessions WHERE account_id = $1 RETURNING token_hash`
		}
		rows, err := tx.Query(ctx, q, accountID)
		if err != nil {
			return err
		}
		hashes, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return err
		}
		for _, h := range hashes {
			var sum [32]byte
			copy(sum[:], h)
			sums = append(sums, sum)
			if err := revoke(ctx, tx, hex.EncodeToString(h)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, sum := range sums {
		s.forget(sum)
	}
	return nil
}

// RequestPasswordReset queues a reset mail to email. It answers the same
// whether or not an account has that address, and takes the same path
// either way: the outbox job looks the account up and sends nothing when
// there is none.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	return enqueueMail(ctx, s.db, mailJob{Kind: mailReset, To: NormalizeEmail(email)})
}

// ResetPassword sets a new password with a token from a reset mail and ends
// every session of the account. The token names the password hash it was
// made against, so it works once: the new hash spends it and every other
// reset token of the account. Following the link proved the address, so
// the account counts as verified too.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	id, claims, err := s.parseToken(purposeReset, token)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.HashCost)
	if err != nil {
		return fmt.Errorf("account: hash password: %w", err)
	}
	err = s.changeAccount(ctx, id, true, func(tx pgx.Tx) error {
		var old string
		err := tx.QueryRow(ctx, `SELECT password_hash FROM accounts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !s.stateMatches(claims, old)) {
			return ErrBadToken
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET password_hash = $2, email_verified_at = coalesce(email_verified_at, now())
			WHERE id = $1`, id, string(hash))
		return err
	})
	if err != nil && !errors.Is(err, ErrBadToken) {
		return fmt.Errorf("account: reset password: %w", err)
	}
	return err
}

// SignOutEverywhere ends every session of the account, on every node.
func (s *Service) SignOutEverywhere(ctx context.Context, accountID int64) error {
	if err := s.changeAccount(ctx, accountID, true, func(pgx.Tx) error { return nil }); err != nil {
		return fmt.Errorf("account: sign out everywhere: %w", err)
	}
	return nil
}

// ResendVerification queues a new verification mail to the account's
// address.
func (s *Service) ResendVerification(ctx context.Context, accountID int64) error {
	var email string
	var verified bool
	err := s.db.QueryRow(ctx, `SELECT email, email_verified_at IS NOT NULL FROM accounts WHERE id = $1`, accountID).Scan(&email, &verified)
	if err != nil {
		return fmt.Errorf("account: resend verification: %w", err)
	}
	if verified {
		return ErrAlreadyVerified
	}
	return enqueueMail(ctx, s.db, mailJob{Kind: mailVerify, AccountID: accountID, To: email})
}

// VerifyEmail marks the account verified with a token from a verification
// mail. The token names the address it was sent to: after a change of
// address it no longer works. Using it twice is harmless.
func (s *Service) VerifyEmail(ctx context.Context, token string) (Account, error) {
	var a Account
	err := s.redeemEmailToken(ctx, purposeVerify, token, func(tx pgx.Tx, id int64, _ tokenClaims) error {
		return tx.QueryRow(ctx, `UPDATE accounts a SET email_verified_at = coalesce(email_verified_at, now())
			WHERE id = $1 RETURNING `+accountColumns, id).Scan(a.scanDest()...)
	})
	if err != nil && !errors.Is(err, ErrBadToken) {
		return Account{}, fmt.Errorf("account: verify email: %w", err)
	}
	return a, err
}

// redeemEmailToken runs change, in one transaction with the account row
// locked, for the account a mailed token of purpose names, provided the
// token still names the account's current address (so it works once, and
// not after a change of address); ErrBadToken otherwise.
func (s *Service) redeemEmailToken(ctx context.Context, purpose, token string,
	change func(tx pgx.Tx, id int64, claims tokenClaims) error) error {
	id, claims, err := s.parseToken(purpose, token)
	if err != nil {
		return err
	}
	return s.changeAccount(ctx, id, false, func(tx pgx.Tx) error {
		var email string
		err := tx.QueryRow(ctx, `SELECT email FROM accounts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !s.stateMatches(claims, email)) {
			return ErrBadToken
		}
		if err != nil {
			return err
		}
		return change(tx, id, claims)
	})
}

// checkPassword refuses a sensitive change unless password is the
// account's.
func (s *Service) checkPassword(ctx context.Context, accountID int64, password string) (Account, error) {
	var a Account
	var hash string
	err := s.db.QueryRow(ctx, `SELECT `+accountColumns+`, a.password_hash FROM accounts a WHERE a.id = $1 AND a.deleted_at IS NULL`,
		accountID).Scan(append(a.scanDest(), &hash)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, fmt.Errorf("account: check password: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return Account{}, ErrWrongPassword
	}
	return a, nil
}

// RequestEmailChange asks to move the account to newEmail: the new
// address gets a link that makes the change (ConfirmEmailChange), the old
// one a notice. Nothing changes until the link is followed; whether
// another account has newEmail is told only then, to the owner of it.
func (s *Service) RequestEmailChange(ctx context.Context, accountID int64, newEmail, password string) error {
	a, err := s.checkPassword(ctx, accountID, password)
	if err != nil {
		return err
	}
	newEmail = NormalizeEmail(newEmail)
	if newEmail == a.Email {
		return ErrSameEmail
	}
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		if err := enqueueMail(ctx, tx, mailJob{Kind: mailEmailChange, AccountID: a.ID, To: newEmail}); err != nil {
			return err
		}
		return enqueueMail(ctx, tx, mailJob{Kind: mailEmailNotice, AccountID: a.ID, To: a.Email, NewEmail: newEmail})
	})
}

// ConfirmEmailChange moves the account to the address of a token from an
// email-change mail, verified (the link reached it). The token names the
// old address, so it works once.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (Account, error) {
	var a Account
	err := s.redeemEmailToken(ctx, purposeEmailChange, token, func(tx pgx.Tx, id int64, claims tokenClaims) error {
		err := tx.QueryRow(ctx, `UPDATE accounts a SET email = $2, email_verified_at = now()
			WHERE id = $1 RETURNING `+accountColumns, id, NormalizeEmail(claims.Email)).Scan(a.scanDest()...)
		if pg.IsUniqueViolation(err, "accounts_email_key") {
			return ErrEmailTaken
		}
		return err
	})
	if err != nil && !errors.Is(err, ErrBadToken) && !errors.Is(err, ErrEmailTaken) {
		return Account{}, fmt.Errorf("account: confirm email change: %w", err)
	}
	return a, err
}

// deletedName replaces a deleted account's name wherever it was copied.
const deletedName = "Deleted account"

// Delete removes the account's personal data at its owner's request and
// ends its sessions. The row stays, pseudonymised, because orders, tickets
// and the ledger point at it; the name copied onto its tickets and the
// address of transfers offered to it are replaced too. An account with
// seats on hold or a payment in progress is refused: the money of a
// payment in flight must still reach, or go back to, a known person.
func (s *Service) Delete(ctx context.Context, accountID int64, password string) error {
	if _, err := s.checkPassword(ctx, accountID, password); err != nil {
		return err
	}
	err := s.changeAccount(ctx, accountID, true, func(tx pgx.Tx) error {
		var email string
		if err := tx.QueryRow(ctx, `SELECT email FROM accounts WHERE id = $1 FOR UPDATE`, accountID).Scan(&email); err != nil {
			return err
		}
		var busy bool
		err := tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM holds WHERE account_id = $1 AND status IN ('active', 'payment_pending'))
			OR EXISTS (SELECT 1 FROM payments WHERE account_id = $1
			           AND status IN ('pending', 'requires_payment_method', 'unknown', 'authorized', 'capturing', 'voiding'))`,
			accountID).Scan(&busy)
		if err != nil {
			return err
		}
		if busy {
			return ErrAccountBusy
		}
		pseudonym := fmt.Sprintf("deleted-%d@deleted.invalid", accountID)
		if _, err := tx.Exec(ctx, `UPDATE accounts SET email = $2, name = $3, password_hash = '!', role = 'fan',
			email_verified_at = NULL, totp_secret = NULL, totp_pending_secret = NULL, totp_enabled_at = NULL,
			deleted_at = now() WHERE id = $1`, accountID, pseudonym, deletedName); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE account_id = $1`, accountID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tickets SET holder_name = $2 WHERE account_id = $1`, accountID, deletedName); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE transfers SET to_email = $3 WHERE to_account = $1 OR to_email = $2`, accountID, email, pseudonym)
		return err
	})
	if err != nil && !errors.Is(err, ErrAccountBusy) {
		return fmt.Errorf("account: delete %d: %w", accountID, err)
	}
	return err
}

// Profile is what the account itself holds about its owner, for a data
// export (the server adds orders, tickets and transfers).
type Profile struct {
	Account
	CreatedAt         time.Time     `json:"created_at"`
	EmailVerifiedAt   *time.Time    `json:"email_verified_at"`
	TOTPEnabledAt     *time.Time    `json:"totp_enabled_at"`
	RecoveryCodesLeft int           `json:"recovery_codes_left"`
	Sessions          []SessionInfo `json:"sessions"`
}

// SessionInfo is one session, without its token.
type SessionInfo struct {
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Export returns the account's Profile.
func (s *Service) Export(ctx context.Context, accountID int64) (Profile, error) {
	var p Profile
	err := s.db.QueryRow(ctx, `SELECT `+accountColumns+`, a.created_at, a.email_verified_at, a.totp_enabled_at,
			(SELECT count(*) FROM recovery_codes r WHERE r.account_id = a.id AND r.used_at IS NULL)
		FROM accounts a WHERE a.id = $1 AND a.deleted_at IS NULL`, accountID).
		Scan(append(p.scanDest(), &p.CreatedAt, &p.EmailVerifiedAt, &p.TOTPEnabledAt, &p.RecoveryCodesLeft)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Profile{}, ErrUnauthenticated
	}
	if err != nil {
		return Profile{}, fmt.Errorf("account: export %d: %w", accountID, err)
	}
	rows, err := s.db.Query(ctx, `SELECT created_at, expires_at FROM sessions WHERE account_id = $1 AND expires_at > now() ORDER BY created_at`, accountID)
	if err == nil {
		p.Sessions, err = pgx.CollectRows(rows, pgx.RowToStructByPos[SessionInfo])
	}
	if err != nil {
		return Profile{}, fmt.Errorf("account: export sessions of %d: %w", accountID, err)
	}
	return p, nil
}
