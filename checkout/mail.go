package checkout

import (
	"context"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/wneessen/go-mail"
)

// Mailer sends a built message.
type Mailer interface {
	Send(ctx context.Context, m *mail.Msg) error
}

// SMTPMailer sends over SMTP (SMTP_URL).
type SMTPMailer struct {
	host string
	opts []mail.Option
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer parses an SMTP URL: smtp://[user:pass@]host[:port] (STARTTLS
// when offered, port 25 by default; ?tls=off refuses it, for local test
// servers) or smtps://... (implicit TLS, port 465).
func NewSMTPMailer(raw string) (*SMTPMailer, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, fmt.Errorf("checkout: SMTP_URL must look like smtp://user:pass@host:587")
	}
	opts := []mail.Option{mail.WithTLSPolicy(mail.TLSOpportunistic)}
	port := 25
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, mail.WithSSL())
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("checkout: SMTP_URL port %q", p)
		}
	}
	opts = append(opts, mail.WithPort(port))
	if u.Query().Get("tls") == "off" {
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(user), mail.WithPassword(pass))
	}
	return &SMTPMailer{host: u.Hostname(), opts: opts}, nil
}

// Send implements Mailer with one connection per message: confirmations
// are rare next to everything else, and a fresh connection never inherits
// a broken one.
func (m *SMTPMailer) Send(ctx context.Context, msg *mail.Msg) error {
	c, err := mail.NewClient(m.host, m.opts...)
	if err != nil {
		return fmt.Errorf("checkout: SMTP client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("checkout: SMTP send: %w", err)
	}
	return nil
}

// setRecipient addresses m to an account. The name is made one line and
// net/mail writes it (RFC 2047 for anything but plain ASCII, quoted
// specials): a name is whatever a fan typed, and once built into the
// header by hand a quote or a line break failed the message, or made a
// header of its own.
func setRecipient(m *mail.Msg, name, email string) error {
	addr, err := netmail.ParseAddress(email)
	if err != nil {
		return fmt.Errorf("checkout: recipient address: %w", err)
	}
	addr.Name = oneLine(name)
	m.ToMailAddress(addr)
	return nil
}

// oneLine is s with every run of spaces, control characters and line
// breaks made one space: names and other user text quoted in an email.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}), " ")
}

// DirMailer writes each message as an .eml file into a folder and logs its
// path: mail without any server, for a fresh `make run`.
type DirMailer struct {
	Dir string
	Log *slog.Logger
}

var _ Mailer = (*DirMailer)(nil)

// Send implements Mailer. The file is named after the Message-ID, so a
// repeated send overwrites rather than duplicates.
func (d *DirMailer) Send(_ context.Context, msg *mail.Msg) error {
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return fmt.Errorf("checkout: mail folder: %w", err)
	}
	name := "message"
	if ids := msg.GetGenHeader(mail.HeaderMessageID); len(ids) > 0 {
		name = filepath.Base(sanitizeFile(strings.Trim(ids[0], "<>")))
	}
	path := filepath.Join(d.Dir, name+".eml")
	if err := msg.WriteToFile(path); err != nil {
		return fmt.Errorf("checkout: write %s: %w", path, err)
	}
	if d.Log != nil {
		d.Log.Info("checkout: email written (no SMTP_URL)", "path", path)
	}
	return nil
}

func sanitizeFile(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '@') {
			b[i] = '_'
		}
	}
	return string(b)
}
