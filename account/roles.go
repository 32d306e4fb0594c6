package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Organizer roles beyond admin and scanner. An admin may do everything;
// the others are kept to their job, so a door laptop or an accountant's
// login cannot refund orders or change events.
const (
	// RoleBoxOffice sells at the door (counter sales) and finds orders.
	RoleBoxOffice = "box_office"
	// RoleFinance reads the ledger and the exports, and changes nothing.
	RoleFinance = "finance"
)

// Roles are every role an account can have, in the order the admin pages
// offer them.
var Roles = []string{RoleFan, RoleAdmin, RoleScanner, RoleBoxOffice, RoleFinance}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool { return slices.Contains(Roles, role) }

// Errors of role changes.
var (
	ErrAccountNotFound = apperr.E(apperr.NotFound, "account_not_found", "no such account")
	// ErrScopeNeedsScanner: only a scanner is kept to one event's door.
	ErrScopeNeedsScanner = apperr.E(apperr.Invalid, "invalid_role", "event_id goes only with the role scanner")
	// ErrOwnRole: an admin who demoted themself could lock every admin out.
	ErrOwnRole = apperr.E(apperr.Conflict, "own_role", "you cannot change your own role")
)

// SetRole gives the account with id the role, scoped to one event when
// eventID is not zero (scanner only: that scanner checks in that event's
// tickets and no other's). by is the admin making the change, who cannot
// change their own role. Every node forgets its cached sessions, so the
// change applies on the account's next request.
func (s *Service) SetRole(ctx context.Context, by, id int64, role string, eventID int64) (Account, error) {
	if !ValidRole(role) {
		return Account{}, ErrBadRole
	}
	if eventID != 0 && role != RoleScanner {
		return Account{}, ErrScopeNeedsScanner
	}
	if by == id {
		return Account{}, ErrOwnRole
	}
	var scope *int64
	if eventID != 0 {
		scope = &eventID
	}
	var a Account
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var got *int64
		err := tx.QueryRow(ctx, `UPDATE accounts SET role = $2, role_event_id = $3 WHERE id = $1
			RETURNING id, email, name, role, role_event_id`, id, role, scope).Scan(&a.ID, &a.Email, &a.Name, &a.Role, &got)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrAccountNotFound
		}
		if err != nil {
			return err
		}
		if got != nil {
			a.RoleEventID = *got
		}
		return revoke(ctx, tx, revokeAll)
	})
	if errors.Is(err, ErrAccountNotFound) {
		return Account{}, err
	}
	if err != nil {
		return Account{}, fmt.Errorf("account: set role of %d: %w", id, err)
	}
	s.forgetAll()
	return a, nil
}

// Find lists up to 20 accounts whose email or name contains q (any case),
// by email: the admin's role form looks people up with it.
func (s *Service) Find(ctx context.Context, q string) ([]Account, error) {
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(q))
	rows, err := s.db.Query(ctx, `
		SELECT id, email, name, role, coalesce(role_event_id, 0) FROM accounts
		WHERE $1 = '' OR email ILIKE '%' || $1 || '%' OR name ILIKE '%' || $1 || '%'
		ORDER BY lower(email) LIMIT 20`, like)
	if err != nil {
		return nil, fmt.Errorf("account: find %q: %w", q, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
		var a Account
		err := r.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &a.RoleEventID)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("account: find %q: %w", q, err)
	}
	if out == nil {
		out = []Account{}
	}
	return out, nil
}
