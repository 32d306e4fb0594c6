package server

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/account"
)

// sessionCookie carries the session token for browsers.
const sessionCookie = "bo_session"

// Locals keys.
const (
	localAccount   = "account"
	localViaCookie = "via_cookie"
)

// bearerToken returns the token of an Authorization: Bearer header.
func bearerToken(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate resolves the caller's account from a bearer token or the
// session cookie, if any; routes that need one use requireAccount. A bad
// token is treated as anonymous here so public routes still answer.
func (s *Server) authenticate(c *fiber.Ctx) error {
	token, viaCookie := bearerToken(c), false
	if token == "" {
		token, viaCookie = c.Cookies(sessionCookie), true
	}
	if token == "" {
		return c.Next()
	}
	acct, err := s.deps.Accounts.Authenticate(c.UserContext(), token)
	switch {
	case err == nil:
		c.Locals(localAccount, acct)
		c.Locals(localViaCookie, viaCookie)
	case !errors.Is(err, account.ErrUnauthenticated):
		return err // Postgres trouble: a 503, not a misleading 401
	}
	return c.Next()
}

// currentAccount returns the authenticated account, if any.
func currentAccount(c *fiber.Ctx) (account.Account, bool) {
	a, ok := c.Locals(localAccount).(account.Account)
	return a, ok
}

// requireAccount refuses anonymous requests with 401, and a staff
// account that has not set up two-factor sign-in with 403
// totp_enrolment_required: until it has, it may only enrol.
func (s *Server) requireAccount(c *fiber.Ctx) error {
	a, ok := currentAccount(c)
	if !ok {
		return account.ErrUnauthenticated
	}
	if a.MustEnrolTOTP() {
		return account.ErrTOTPEnrolment
	}
	return c.Next()
}

// requireAccountToEnrol is requireAccount for the routes a staff account
// without two-factor sign-in may still reach: its own account and the
// enrolment.
func (s *Server) requireAccountToEnrol(c *fiber.Ctx) error {
	if _, ok := currentAccount(c); !ok {
		return account.ErrUnauthenticated
	}
	return c.Next()
}

// requireRole lets admins and the accounts of roles through: anonymous
// requests get 401, staff without two-factor sign-in 403
// totp_enrolment_required, and every other account 403.
func (s *Server) requireRole(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, ok := currentAccount(c)
		if !ok {
			return account.ErrUnauthenticated
		}
		if a.MustEnrolTOTP() {
			return account.ErrTOTPEnrolment
		}
		if a.Role != account.RoleAdmin && !slices.Contains(roles, a.Role) {
			return errForbidden
		}
		return c.Next()
	}
}

// csrf refuses unsafe requests authenticated by cookie unless they come from
// an allowed origin. Browsers send Origin on every cross-site unsafe request,
// so a page elsewhere cannot act with a fan's cookie; bearer requests carry
// no ambient credential and need no check. The cookie is also SameSite=Lax.
func (s *Server) csrf(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if via, _ := c.Locals(localViaCookie).(bool); !via {
		return c.Next()
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		if ref, err := url.Parse(c.Get(fiber.HeaderReferer)); err == nil && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	if origin != "" && (s.origins[origin] || sameHost(origin, c)) {
		return c.Next()
	}
	return errCSRF
}

// sameHost accepts an origin naming the host the request was sent to, so a
// deployment works before BASE_URL is set.
func sameHost(origin string, c *fiber.Ctx) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == c.Hostname()
}
