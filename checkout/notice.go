package checkout

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wneessen/go-mail"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// JobNotice emails a short plain-text notice to an account: transfer
// offers and outcomes, resale sales. The text is built when the state
// change commits, so the email says what happened then.
const JobNotice = "checkout.notice"

type noticeJob struct {
	AccountID int64 `json:"account_id"`
	// Email is the address of a notice to someone without an account (a
	// transfer invitation); AccountID is then 0.
	Email   string `json:"email,omitempty"`
	Key     string `json:"key"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// enqueueNotice adds a notice email inside the caller's transaction; key
// makes it idempotent (the dedupe key and the Message-ID).
func enqueueNotice(ctx context.Context, q pg.Querier, accountID int64, key, subject, body string) error {
	_, err := jobs.Enqueue(ctx, q, jobs.Job{Kind: JobNotice, DedupeKey: "notice:" + key,
		Payload: noticeJob{AccountID: accountID, Key: key, Subject: subject, Body: body}})
	return err
}

// EnqueueNotice is enqueueNotice for other packages: seatmap's
// waiting-list offers are emailed as notices.
func (s *Service) EnqueueNotice(ctx context.Context, q pg.Querier, accountID int64, key, subject, body string) error {
	return enqueueNotice(ctx, q, accountID, key, subject, body)
}

// enqueueInvitation is enqueueNotice to an address with no account.
func enqueueInvitation(ctx context.Context, q pg.Querier, email, key, subject, body string) error {
	_, err := jobs.Enqueue(ctx, q, jobs.Job{Kind: JobNotice, DedupeKey: "notice:" + key,
		Payload: noticeJob{Email: email, Key: key, Subject: subject, Body: body}})
	return err
}

// sendNotice sends a notice. Delivery is at least once; the Message-ID is
// fixed per notice, so a repeat is recognisable as the same message.
func (s *Service) sendNotice(ctx context.Context, raw json.RawMessage) error {
	if s.mailer == nil {
		return errNoMailer
	}
	var j noticeJob
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	email, name := j.Email, ""
	if j.AccountID != 0 {
		if err := s.db.QueryRow(ctx, `SELECT email, name FROM accounts WHERE id = $1`, j.AccountID).Scan(&email, &name); err != nil {
			return fmt.Errorf("checkout: notice recipient %d: %w", j.AccountID, err)
		}
	}
	m := mail.NewMsg()
	if err := m.From(s.cfg.MailFrom); err != nil {
		return fmt.Errorf("checkout: sender: %w", err)
	}
	if err := setRecipient(m, name, email); err != nil {
		return fmt.Errorf("checkout: notice recipient: %w", err)
	}
	m.SetMessageIDWithValue("notice-" + sanitizeFile(j.Key) + "@boxoffice")
	m.Subject(j.Subject)
	m.SetBodyString(mail.TypeTextPlain, j.Body)
	return s.mailer.Send(ctx, m)
}
