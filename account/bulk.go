package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/boxoffice/boxoffice/internal/pg"
)

// Fan is a bulk-created account with a ready session token.
type Fan struct {
	ID    int64
	Email string
	Token string
}

// SeedFans creates n fan accounts in bulk, all with one password hashed
// once, each with a live session, for load tests: hashing per account would
// dominate the setup. Emails are fan-<prefix>-<i>@load.test, counted as
// verified (no mail is read in a load test; events may require it).
func (s *Service) SeedFans(ctx context.Context, prefix string, n int, password string) ([]Fan, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.HashCost)
	if err != nil {
		return nil, fmt.Errorf("account: hash password: %w", err)
	}
	fans := make([]Fan, n)
	const chunk = 5000
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				INSERT INTO accounts (email, name, password_hash, email_verified_at)
				SELECT 'fan-' || $1 || '-' || g || '@load.test', 'Load fan ' || g, $2, now()
				FROM generate_series($3::int, $4::int) g
				RETURNING id, email`, prefix, string(hash), lo, hi-1)
			if err != nil {
				return fmt.Errorf("account: seed fans: %w", err)
			}
			i := lo
			for rows.Next() {
				if err := rows.Scan(&fans[i].ID, &fans[i].Email); err != nil {
					return fmt.Errorf("account: seed fans: %w", err)
				}
				i++
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("account: seed fans: %w", err)
			}
			// Expiry from Postgres' clock, read once for the chunk.
			var now time.Time
			if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
				return fmt.Errorf("account: seed sessions: %w", err)
			}
			expires := now.Add(s.cfg.SessionTTL)
			sessions := make([][]any, 0, hi-lo)
			raw := make([]byte, 32)
			for i := lo; i < hi; i++ {
				if _, err := rand.Read(raw); err != nil {
					return err
				}
				fans[i].Token = base64.RawURLEncoding.EncodeToString(raw)
				sum := tokenHash(fans[i].Token)
				sessions = append(sessions, []any{sum[:], fans[i].ID, expires})
			}
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"sessions"}, []string{"token_hash", "account_id", "expires_at"}, pgx.CopyFromRows(sessions))
			if err != nil {
				return fmt.Errorf("account: seed sessions: %w", err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return fans, nil
}
