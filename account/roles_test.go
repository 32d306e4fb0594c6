package account_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

// TestRoles: every organizer role can be granted by email or by id; a
// scanner may be kept to one event, which its sessions then carry; the
// scope goes with scanner only, an admin cannot change their own role,
// and an unknown role or account is refused.
func TestRoles(t *testing.T) {
	db := testkit.DB(t)
	svc := account.NewService(db, account.Config{HashCost: bcrypt.MinCost})
	ctx := context.Background()
	fans, err := svc.SeedFans(ctx, testkit.RandomHex(3), 2, "roles-pass")
	if err != nil {
		t.Fatal(err)
	}
	staff, admin := fans[0], fans[1]
	for _, role := range []string{account.RoleBoxOffice, account.RoleFinance, account.RoleScanner} {
		if err := svc.Grant(ctx, staff.Email, role); err != nil {
			t.Fatalf("grant %s: %v", role, err)
		}
		if a, err := svc.Authenticate(ctx, staff.Token); err != nil || a.Role != role || a.RoleEventID != 0 {
			t.Errorf("after granting %s: %+v %v", role, a, err)
		}
	}
	if err := svc.GrantScoped(ctx, staff.Email, account.RoleScanner, 42); err != nil {
		t.Fatal(err)
	}
	if a, err := svc.Authenticate(ctx, staff.Token); err != nil || a.Role != account.RoleScanner || a.RoleEventID != 42 {
		t.Errorf("scoped scanner: %+v %v", a, err)
	}
	if err := svc.GrantScoped(ctx, staff.Email, account.RoleFinance, 42); !errors.Is(err, account.ErrScopeNeedsScanner) {
		t.Errorf("finance with an event: %v", err)
	}
	if err := svc.Grant(ctx, staff.Email, "owner"); !errors.Is(err, account.ErrBadRole) {
		t.Errorf("an unknown role: %v", err)
	}
	a, err := svc.SetRole(ctx, admin.ID, staff.ID, account.RoleFinance, 0)
	if err != nil || a.Role != account.RoleFinance || a.RoleEventID != 0 {
		t.Fatalf("set role by id: %+v %v", a, err)
	}
	if got, err := svc.Authenticate(ctx, staff.Token); err != nil || got.Role != account.RoleFinance {
		t.Errorf("the session after a role change: %+v %v", got, err)
	}
	if _, err := svc.SetRole(ctx, admin.ID, admin.ID, account.RoleFan, 0); !errors.Is(err, account.ErrOwnRole) {
		t.Errorf("own role: %v", err)
	}
	if _, err := svc.SetRole(ctx, admin.ID, -1, account.RoleFan, 0); !errors.Is(err, account.ErrAccountNotFound) {
		t.Errorf("no such account: %v", err)
	}
	found, err := svc.Find(ctx, staff.Email[:8])
	if err != nil || len(found) == 0 {
		t.Errorf("find %q: %v %v", staff.Email[:8], found, err)
	}
}
