package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

// The account-keeping routes: password reset, email verification and
// change, sign-out everywhere, deletion and export, and two-factor
// sign-in. The logic is account's; these translate HTTP.

type emailRequest struct {
	Email string `json:"email" validate:"required,max=254"`
}

type tokenRequest struct {
	Token string `json:"token" validate:"required,max=2048"`
}

type resetRequest struct {
	Token    string `json:"token" validate:"required,max=2048"`
	Password string `json:"password" validate:"required,min=8,maxbytes=72"`
}

type emailChangeRequest struct {
	Email    string `json:"email" validate:"required,email,max=254"`
	Password string `json:"password" validate:"required,maxbytes=72"`
}

type passwordRequest struct {
	Password string `json:"password" validate:"required,maxbytes=72"`
}

type codeRequest struct {
	Code string `json:"code" validate:"required,max=32"`
}

type secondStepRequest struct {
	Challenge string `json:"challenge" validate:"required,max=2048"`
	Code      string `json:"code" validate:"required,max=32"`
}

// requestPasswordReset: POST /api/account/password-reset → 202, whether or
// not the address has an account (no enumeration).
func (s *Server) requestPasswordReset(c *fiber.Ctx) error {
	var req emailRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if err := s.throttleEmail(c, LimitRecovery, req.Email); err != nil {
		return err
	}
	if err := s.deps.Accounts.RequestPasswordReset(c.UserContext(), req.Email); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "if an account has this address, a reset link is on its way"})
}

// resetPassword: POST /api/account/password-reset/confirm → 204; every
// session of the account ends, this browser's cookie too.
func (s *Server) resetPassword(c *fiber.Ctx) error {
	var req resetRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if err := s.deps.Accounts.ResetPassword(c.UserContext(), req.Token, req.Password); err != nil {
		return err
	}
	s.clearSessionCookies(c)
	return c.SendStatus(fiber.StatusNoContent)
}

// verifyEmail: POST /api/account/email/verify → 200 the account.
func (s *Server) verifyEmail(c *fiber.Ctx) error {
	var req tokenRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, err := s.deps.Accounts.VerifyEmail(c.UserContext(), req.Token)
	if err != nil {
		return err
	}
	return c.JSON(acct)
}

// resendVerification: POST /api/account/email/verify/resend → 202.
func (s *Server) resendVerification(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Accounts.ResendVerification(c.UserContext(), acct.ID); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "a verification link is on its way to " + acct.Email})
}

// requestEmailChange: POST /api/account/email → 202; the new address gets
// a link, the old one a notice.
func (s *Server) requestEmailChange(c *fiber.Ctx) error {
	var req emailChangeRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Accounts.RequestEmailChange(c.UserContext(), acct.ID, req.Email, req.Password); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "follow the link sent to the new address to finish the change"})
}

// confirmEmailChange: POST /api/account/email/confirm → 200 the account.
func (s *Server) confirmEmailChange(c *fiber.Ctx) error {
	var req tokenRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, err := s.deps.Accounts.ConfirmEmailChange(c.UserContext(), req.Token)
	if err != nil {
		return err
	}
	return c.JSON(acct)
}

// signOutEverywhere: DELETE /api/account/sessions → 204.
func (s *Server) signOutEverywhere(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Accounts.SignOutEverywhere(c.UserContext(), acct.ID); err != nil {
		return err
	}
	s.clearSessionCookies(c)
	return c.SendStatus(fiber.StatusNoContent)
}

// deleteAccount: DELETE /api/account {password} → 204; 409 account_busy
// while seats are held or a payment is in progress.
func (s *Server) deleteAccount(c *fiber.Ctx) error {
	var req passwordRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Accounts.Delete(c.UserContext(), acct.ID, req.Password); err != nil {
		return err
	}
	s.clearSessionCookies(c)
	return c.SendStatus(fiber.StatusNoContent)
}

// accountExport is everything kept about a person, for a privacy request.
type accountExport struct {
	ExportedAt time.Time               `json:"exported_at"`
	Profile    account.Profile         `json:"profile"`
	Orders     []checkout.Order        `json:"orders"`
	Tickets    []checkout.Ticket       `json:"tickets"`
	Transfers  []checkout.TransferView `json:"transfers"`
}

// exportAccount: GET /api/account/export → the account's data as a JSON
// download.
func (s *Server) exportAccount(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	ctx := c.UserContext()
	var out accountExport
	var err error
	out.ExportedAt = time.Now().UTC()
	if out.Profile, err = s.deps.Accounts.Export(ctx, acct.ID); err != nil {
		return err
	}
	if out.Orders, err = s.deps.Checkout.Orders(ctx, acct.ID); err != nil {
		return err
	}
	if out.Tickets, err = s.deps.Checkout.Tickets(ctx, acct.ID); err != nil {
		return err
	}
	if out.Transfers, err = s.deps.Checkout.Transfers(ctx, acct.ID); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="boxoffice-account-`+strconv.FormatInt(acct.ID, 10)+`.json"`)
	return c.JSON(out)
}

// beginTOTP: POST /api/account/totp → 201 {secret, otpauth_uri, qr_png}.
func (s *Server) beginTOTP(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	enr, err := s.deps.Accounts.BeginTOTP(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	qr, err := checkout.QRDataURL(enr.URI)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(struct {
		account.Enrolment
		QRPNG string `json:"qr_png"`
	}{enr, qr})
}

// confirmTOTP: POST /api/account/totp/confirm {code} → 200 {recovery_codes}.
func (s *Server) confirmTOTP(c *fiber.Ctx) error {
	return s.recoveryCodes(c, s.deps.Accounts.ConfirmTOTP)
}

// renewRecoveryCodes: POST /api/account/totp/recovery-codes {code} → 200
// {recovery_codes}: a new set replaces every old code; the proof is a
// code from the authenticator app.
func (s *Server) renewRecoveryCodes(c *fiber.Ctx) error {
	return s.recoveryCodes(c, s.deps.Accounts.RenewRecoveryCodes)
}

// recoveryCodes answers a {code} request with the recovery codes issue
// gives the signed-in account for it, never cached.
func (s *Server) recoveryCodes(c *fiber.Ctx, issue func(ctx context.Context, accountID int64, code string) ([]string, error)) error {
	var req codeRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	codes, err := issue(c.UserContext(), acct.ID, req.Code)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"recovery_codes": codes})
}

// disableTOTP: DELETE /api/account/totp {password} → 204 (fans only).
func (s *Server) disableTOTP(c *fiber.Ctx) error {
	var req passwordRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Accounts.DisableTOTP(c.UserContext(), acct.ID, req.Password); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// completeSignIn: POST /api/sessions/second-step {challenge, code} → 200
// {token, account}, as a sign-in without a second factor answers. Guesses
// are limited per account, whatever the address they come from.
func (s *Server) completeSignIn(c *fiber.Ctx) error {
	var req secondStepRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	id, err := s.deps.Accounts.ChallengeAccount(req.Challenge)
	if err != nil {
		return err
	}
	if err := s.throttleKey(c, LimitSecondFactor, "acct:"+strconv.FormatInt(id, 10)); err != nil {
		return err
	}
	acct, token, err := s.deps.Accounts.CompleteSignIn(c.UserContext(), req.Challenge, req.Code)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token)
	return c.JSON(fiber.Map{"token": token, "account": acct})
}

// signInAnswer is the answer to POST /api/sessions when err asks for a
// second step: 200 {second_factor: "totp", challenge}, and no session yet.
func signInAnswer(c *fiber.Ctx, err error) error {
	var step *account.SecondStep
	if errors.As(err, &step) {
		return c.JSON(fiber.Map{"second_factor": "totp", "challenge": step.Challenge})
	}
	return err
}

// verifiedEmail refuses a hold with 403 email_not_verified when the
// event of the path requires a verified address and the account's is not.
func (s *Server) verifiedEmail(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	if acct.EmailVerified {
		return c.Next()
	}
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	if err := s.checkVerified(c, acct, eventID); err != nil {
		return err
	}
	return c.Next()
}

// checkVerified is verifiedEmail's rule for an event known otherwise (a
// resale listing's). A verified account costs nothing; otherwise the room
// settings come from the per-node cache the admission check reads anyway.
func (s *Server) checkVerified(c *fiber.Ctx, acct account.Account, eventID int64) error {
	if acct.EmailVerified {
		return nil
	}
	need, err := s.deps.Queue.RequiresVerifiedEmail(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	if need {
		return account.ErrEmailNotVerified
	}
	return nil
}

// throttleEmail limits requests per email address (found or not, so the
// limit tells nothing about it) with route's per-account rate.
func (s *Server) throttleEmail(c *fiber.Ctx, route, email string) error {
	sum := sha256.Sum256([]byte(account.NormalizeEmail(email)))
	return s.throttleKey(c, route, "email:"+hex.EncodeToString(sum[:12]))
}

// throttleKey checks route's per-account rate under key.
func (s *Server) throttleKey(c *fiber.Ctx, route, key string) error {
	rl, ok := s.cfg.RateLimits[route]
	if s.deps.Limiter == nil || !ok {
		return nil
	}
	return s.allow(c, "rl:"+route+":"+key, rl.PerAccount)
}
