package server_test

import (
	"context"
	"slices"
	"testing"

	"github.com/boxoffice/boxoffice/account"
)

// roleTable says, for every route an organizer role other than admin may
// call, which roles may. Every other /api/admin route is for admins only.
// It is written here, apart from the routes' own list, so a route that
// loses or gains a role by mistake fails TestHostileRoles.
var roleTable = map[string][]string{
	"POST /api/checkins":                             {account.RoleScanner},
	"GET /api/admin/events/:event/ledger":            {account.RoleFinance},
	"GET /api/admin/events/:event/ledger.csv":        {account.RoleFinance},
	"GET /api/admin/events/:event/payouts":           {account.RoleFinance},
	"GET /api/admin/events/:event/exports/:kind.csv": {account.RoleFinance},
	"POST /api/admin/events/:event/counter-sales":    {account.RoleBoxOffice},
	"GET /api/admin/orders":                          {account.RoleBoxOffice},
	"GET /api/admin/orders/:order":                   {account.RoleBoxOffice},
}

// TestHostileRoles calls every admin route (and the scanner's) as each
// role: a role the table does not allow gets 403 forbidden before any body
// is read; an allowed one gets past the role check (any answer but 401 or
// 403; unsafe routes with an empty body, so nothing changes). Admins are
// allowed everything and are only checked on safe routes here.
func TestHostileRoles(t *testing.T) {
	w := newWorld(t, envOpts{})
	tokens := map[string]string{account.RoleAdmin: w.admin, account.RoleFan: w.other}
	for _, role := range []string{account.RoleScanner, account.RoleBoxOffice, account.RoleFinance} {
		email, token := w.account(role)
		if err := w.e.accts.Grant(context.Background(), email, role); err != nil {
			t.Fatal(err)
		}
		if account.NeedsTOTP(role) {
			w.e.enrolTOTP(token)
		}
		tokens[role] = token
	}
	seen := map[string]bool{}
	calls := 0
	for _, o := range operations(t, w.e) {
		allowed, listed := roleTable[o.String()]
		if !o.admin() && !listed {
			continue
		}
		seen[o.String()] = true
		path := w.path(t, o)
		for _, role := range account.Roles {
			ok := role == account.RoleAdmin || slices.Contains(allowed, role)
			if ok && role == account.RoleAdmin && o.unsafe() {
				continue
			}
			var body any
			if o.unsafe() {
				body = map[string]any{}
			}
			calls++
			r := w.e.do(o.method, path, tokens[role], body)
			switch {
			case !ok && (r.status != 403 || r.errCode(t) != "forbidden"):
				t.Errorf("%s as %s: %d %.200s, want 403 forbidden", o, role, r.status, r.body)
			case ok && (r.status == 401 || r.status == 403):
				t.Errorf("%s as %s: %d %.200s, want past the role check", o, role, r.status, r.body)
			}
		}
	}
	for route := range roleTable {
		if !seen[route] {
			t.Errorf("the role table names %s, which is not a route", route)
		}
	}
	if calls < 100 {
		t.Errorf("only %d calls: the route walk is broken", calls)
	}
}
