package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/wneessen/go-mail"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Mailer sends a built message (checkout.SMTPMailer and DirMailer are
// ones).
type Mailer interface {
	Send(ctx context.Context, m *mail.Msg) error
}

// JobMail is the outbox kind of every account mail.
const JobMail = "account_mail"

// The kinds of account mail.
const (
	mailVerify      = "verify"       // a verification link, to the account's address
	mailReset       = "reset"        // a password-reset link, to whatever address was asked for
	mailEmailChange = "email_change" // a confirmation link, to the new address
	mailEmailNotice = "email_notice" // a notice of the change, to the old address
	// mailCodesRenewed: a notice that the recovery codes were replaced.
	mailCodesRenewed = "codes_renewed"
)

// mailJob is an account mail's payload. It carries no token: the token is
// signed when the mail is sent, so none sits in the jobs table.
type mailJob struct {
	Kind      string `json:"kind"`
	AccountID int64  `json:"account_id,omitempty,string"`
	To        string `json:"to"`
	NewEmail  string `json:"new_email,omitempty"`
}

func enqueueMail(ctx context.Context, q pg.Querier, m mailJob) error {
	if _, err := jobs.Enqueue(ctx, q, jobs.Job{Kind: JobMail, Payload: m}); err != nil {
		return fmt.Errorf("account: queue %s mail: %w", m.Kind, err)
	}
	return nil
}

// RegisterJobs registers the account mail handler on the outbox.
func (s *Service) RegisterJobs(r *jobs.Runner) { r.Register(JobMail, s.sendMail) }

// errNoMailer keeps account mails queued while no mailer is configured.
var errNoMailer = errors.New("account: no mailer configured")

// sendMail sends one account mail. Sending one twice (the outbox is at
// least once) only sends a second working link.
func (s *Service) sendMail(ctx context.Context, payload json.RawMessage) error {
	if s.cfg.Mailer == nil {
		return errNoMailer
	}
	var m mailJob
	if err := json.Unmarshal(payload, &m); err != nil {
		return fmt.Errorf("account: mail payload: %w", err)
	}
	var subject, body string
	switch m.Kind {
	case mailVerify:
		var email string
		var verified bool
		err := s.db.QueryRow(ctx, `SELECT email, email_verified_at IS NOT NULL FROM accounts WHERE id = $1 AND deleted_at IS NULL`,
			m.AccountID).Scan(&email, &verified)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (verified || email != m.To)) {
			return nil // deleted, verified meanwhile, or the address changed
		}
		if err != nil {
			return fmt.Errorf("account: verification mail: %w", err)
		}
		token, err := s.mintToken(purposeVerify, m.AccountID, email, email, s.cfg.VerifyTTL)
		if err != nil {
			return err
		}
		subject = "Confirm your email address"
		body = "Confirm that this address is yours, so you can buy tickets:\n\n" + s.link("/verify-email", token) +
			"\n\nThe link works for " + s.cfg.VerifyTTL.String() + ". If you did not sign up to Boxoffice, ignore this mail.\n"
	case mailReset:
		var id int64
		var hash string
		err := s.db.QueryRow(ctx, `SELECT id, password_hash FROM accounts WHERE lower(email) = lower($1) AND deleted_at IS NULL`,
			m.To).Scan(&id, &hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // no such account: the request answered the same, and nothing is sent
		}
		if err != nil {
			return fmt.Errorf("account: reset mail: %w", err)
		}
		token, err := s.mintToken(purposeReset, id, "", hash, s.cfg.ResetTTL)
		if err != nil {
			return err
		}
		subject = "Reset your password"
		body = "Someone asked to reset the password of your Boxoffice account. To choose a new one:\n\n" +
			s.link("/reset-password", token) + "\n\nThe link works once, for " + s.cfg.ResetTTL.String() +
			". Resetting signs you out everywhere. If you did not ask, ignore this mail: your password stays as it is.\n"
	case mailEmailChange:
		var email string
		err := s.db.QueryRow(ctx, `SELECT email FROM accounts WHERE id = $1 AND deleted_at IS NULL`, m.AccountID).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("account: email change mail: %w", err)
		}
		token, err := s.mintToken(purposeEmailChange, m.AccountID, m.To, email, s.cfg.VerifyTTL)
		if err != nil {
			return err
		}
		subject = "Confirm your new email address"
		body = "Confirm that your Boxoffice account should use this address from now on:\n\n" +
			s.link("/confirm-email", token) + "\n\nThe link works for " + s.cfg.VerifyTTL.String() +
			". If you did not ask for this, ignore this mail.\n"
	case mailEmailNotice:
		subject = "Your email address is being changed"
		body = "Someone signed in to your Boxoffice account asked to use " + m.NewEmail + " instead of this address.\n" +
			"Nothing changes until the link sent there is followed. If this was not you, reset your password now:\n\n" +
			s.cfg.BaseURL + "/forgot-password\n"
	case mailCodesRenewed:
		subject = "Your recovery codes were replaced"
		body = "Someone signed in to your Boxoffice account, with a code from its authenticator app, replaced its\n" +
			"two-factor recovery codes. The old codes no longer work. If this was not you, reset your password now:\n\n" +
			s.cfg.BaseURL + "/forgot-password\n"
	default:
		return fmt.Errorf("account: unknown mail kind %q", m.Kind)
	}
	msg := mail.NewMsg()
	if err := msg.From(s.cfg.MailFrom); err != nil {
		return fmt.Errorf("account: mail sender: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("account: mail recipient: %w", err)
	}
	msg.Subject(subject)
	msg.SetBodyString(mail.TypeTextPlain, body)
	if err := s.cfg.Mailer.Send(ctx, msg); err != nil {
		return fmt.Errorf("account: send %s mail: %w", m.Kind, err)
	}
	return nil
}

// link is a page of the browser app with the token in the fragment: a
// fragment is never sent to a server, so the token stays out of access
// logs and Referer headers.
func (s *Service) link(page, token string) string {
	return s.cfg.BaseURL + page + "#token=" + url.QueryEscape(token)
}
