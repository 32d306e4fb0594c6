package account_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

func TestSeedFansAndGrant(t *testing.T) {
	db := testkit.DB(t)
	svc := account.NewService(db, account.Config{HashCost: bcrypt.MinCost})
	ctx := context.Background()
	fans, err := svc.SeedFans(ctx, testkit.RandomHex(3), 7, "load-test-pass")
	if err != nil {
		t.Fatal(err)
	}
	if len(fans) != 7 {
		t.Fatalf("%d fans, want 7", len(fans))
	}
	for _, f := range fans {
		a, err := svc.Authenticate(ctx, f.Token)
		if err != nil || a.ID != f.ID || a.Role != account.RoleFan {
			t.Errorf("token of %s authenticates as %+v, %v", f.Email, a, err)
		}
	}
	if _, _, err := svc.SignIn(ctx, fans[3].Email, "load-test-pass"); err != nil {
		t.Errorf("sign in as a seeded fan: %v", err)
	}
	if err := svc.Grant(ctx, fans[0].Email, account.RoleScanner); err != nil {
		t.Fatal(err)
	}
	if a, _ := svc.Authenticate(ctx, fans[0].Token); a.Role != account.RoleScanner {
		t.Errorf("after grant, role = %q, want scanner (the session cache must not keep the old role)", a.Role)
	}
	if err := svc.Grant(ctx, fans[0].Email, "root"); !errors.Is(err, account.ErrBadRole) {
		t.Errorf("grant root: err = %v, want invalid_role", err)
	}
	if err := svc.Grant(ctx, "nobody@example.test", account.RoleAdmin); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("grant to unknown email: err = %v, want account_not_found", err)
	}
	if err := svc.SignOut(ctx, fans[1].Token); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, fans[1].Token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("token after sign out: err = %v, want unauthenticated", err)
	}
}
