package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/account"
)

type signUpRequest struct {
	Email    string `json:"email" validate:"required,email,max=254"`
	Password string `json:"password" validate:"required,min=8,maxbytes=72"`
	Name     string `json:"name" validate:"required,name,max=100"`
}

type signInRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,maxbytes=72"`
}

// signUp: POST /api/accounts.
func (s *Server) signUp(c *fiber.Ctx) error {
	var req signUpRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, token, err := s.deps.Accounts.SignUp(c.UserContext(), req.Email, req.Password, req.Name)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token)
	return c.Status(fiber.StatusCreated).JSON(struct {
		account.Account
		Token string `json:"token"`
	}{acct, token})
}

// signIn: POST /api/sessions → {token, account}, or {second_factor,
// challenge} when the account signs in with a TOTP code too.
func (s *Server) signIn(c *fiber.Ctx) error {
	var req signInRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if err := s.throttleSignIn(c, req.Email); err != nil {
		return err
	}
	acct, token, err := s.deps.Accounts.SignIn(c.UserContext(), req.Email, req.Password)
	if err != nil {
		return signInAnswer(c, err)
	}
	s.setSessionCookie(c, token)
	return c.JSON(fiber.Map{"token": token, "account": acct})
}

// signOut: DELETE /api/sessions ends the session of the bearer or cookie.
func (s *Server) signOut(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	token := bearerToken(c)
	if token == "" {
		token = c.Cookies(sessionCookie)
	}
	if token != "" {
		if err := s.deps.Accounts.SignOut(c.UserContext(), token); err != nil {
			return err
		}
	}
	s.clearSessionCookies(c)
	return c.SendStatus(fiber.StatusNoContent)
}

// clearSessionCookies makes the browser forget its session.
func (s *Server) clearSessionCookies(c *fiber.Ctx) {
	for _, name := range []string{sessionCookie, signedInCookie} {
		c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: "/", Expires: time.Unix(1, 0),
			HTTPOnly: name == sessionCookie, Secure: s.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
	}
}

// me: GET /api/me.
func (s *Server) me(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	return c.JSON(acct)
}

// signedInCookie is readable by the page (it holds no secret) so the app
// knows whether to ask /api/me at all.
const signedInCookie = "bo_signed_in"

func (s *Server) setSessionCookie(c *fiber.Ctx, token string) {
	maxAge := int(s.deps.Accounts.SessionTTL().Seconds())
	c.Cookie(&fiber.Cookie{
		Name: sessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HTTPOnly: true, Secure: s.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode,
	})
	c.Cookie(&fiber.Cookie{
		Name: signedInCookie, Value: "1", Path: "/", MaxAge: maxAge,
		Secure: s.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode,
	})
}
