package server_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// mailEnv is an env whose account mails reach mailpit, and the API to
// read them.
func mailEnv(t *testing.T, o envOpts) (*env, string) {
	t.Helper()
	api, smtpURL := testkit.Mailpit(t)
	mailer, err := checkout.NewSMTPMailer(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	o.mailer = mailer
	return newEnv(t, o), api
}

// sendMail works the account mails of the outbox, as the job runner of
// any node would.
func (e *env) sendMail() {
	e.t.Helper()
	runner := jobs.NewRunner(e.db(), nil, jobs.Config{})
	e.accts.RegisterJobs(runner)
	if _, err := runner.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

var mailToken = regexp.MustCompile(`#token=(\S+)`)

// mailTo waits for mailpit to hold a message to addr whose subject
// contains subject, and returns its text and the token of its link, if any.
func mailTo(t *testing.T, api, addr, subject string) (text, token string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct {
			Messages []struct{ ID, Subject string }
		}
		if err := json.Unmarshal(httpGet(t, api+"/api/v1/search?query="+url.QueryEscape(`to:"`+addr+`"`)), &list); err != nil {
			t.Fatal(err)
		}
		for _, m := range list.Messages { // newest first
			if !strings.Contains(m.Subject, subject) {
				continue
			}
			var msg struct{ Text string }
			if err := json.Unmarshal(httpGet(t, api+"/api/v1/message/"+m.ID), &msg); err != nil {
				t.Fatal(err)
			}
			if g := mailToken.FindStringSubmatch(msg.Text); g != nil {
				token, _ = url.QueryUnescape(g[1])
			}
			return msg.Text, token
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %q to %s reached mailpit", subject, addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) me(token string) (account.Account, int) {
	e.t.Helper()
	var a account.Account
	r := e.do("GET", "/api/me", token, nil)
	if r.status == 200 {
		r.json(e.t, &a)
	}
	return a, r.status
}

// TestPasswordResetByMail: a reset request answers the same for a known
// and an unknown address; the mailed link sets a new password once, ends
// every session, and the new password signs in.
func TestPasswordResetByMail(t *testing.T) {
	e, api := mailEnv(t, envOpts{})
	_, session := e.signUp("forgetful")
	me, _ := e.me(session)
	known := e.do("POST", "/api/account/password-reset", "", map[string]string{"email": strings.ToUpper(me.Email)})
	unknown := e.do("POST", "/api/account/password-reset", "", map[string]string{"email": "nobody-" + testkit.RandomHex(4) + "@example.test"})
	if known.status != 202 || unknown.status != 202 || string(known.body) != string(unknown.body) {
		t.Fatalf("reset request: known %d %s, unknown %d %s: want the same 202", known.status, known.body, unknown.status, unknown.body)
	}
	e.sendMail()
	text, token := mailTo(t, api, me.Email, "Reset your password")
	if token == "" || !strings.Contains(text, "http://app.test/reset-password#token=") {
		t.Fatalf("reset mail without a link:\n%s", text)
	}
	if r := e.do("POST", "/api/account/password-reset/confirm", "", map[string]string{"token": token, "password": "short"}); r.status != 422 {
		t.Errorf("a 5-character password: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/account/password-reset/confirm", "", map[string]string{"token": token, "password": "a brand new password"}); r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if _, status := e.me(session); status != 401 {
		t.Errorf("the old session after a reset: %d, want 401", status)
	}
	r := e.do("POST", "/api/account/password-reset/confirm", "", map[string]string{"token": token, "password": "yet another password"})
	if r.status != 410 || r.errCode(t) != "invalid_token" {
		t.Errorf("the link a second time: %d %s, want 410 invalid_token", r.status, r.body)
	}
	if r := e.do("POST", "/api/sessions", "", map[string]string{"email": me.Email, "password": "a brand new password"}); r.status != 200 {
		t.Errorf("sign in with the new password: %d %s", r.status, r.body)
	}
}

// TestVerifiedEmailBeforeRoomHolds: on a waiting-room event an unverified
// account's hold is 403 email_not_verified, before the admission check;
// the mailed link verifies it and the hold goes on to the admission
// check. The event can turn the requirement off, and an event without a
// room does not ask.
func TestVerifiedEmailBeforeRoomHolds(t *testing.T) {
	e, api := mailEnv(t, envOpts{})
	// A room left to its default: it requires a verified address.
	room, roomSeats := e.event(1, 2, 5)
	if err := e.queue.Configure(context.Background(), eventID(t, room), waitingroom.Settings{Enabled: true, PowDifficulty: 1}); err != nil {
		t.Fatal(err)
	}
	open, openSeats := e.event(1, 1, 2)
	_, fan := e.signUp("unverified")
	me, _ := e.me(fan)
	if me.EmailVerified {
		t.Fatal("a new account is verified")
	}
	hold := func(ev, seat string) resp {
		return e.do("POST", "/api/events/"+ev+"/holds", fan, map[string]any{"seat_ids": []string{seat}})
	}
	if r := hold(room, roomSeats[0]); r.status != 403 || r.errCode(t) != "email_not_verified" {
		t.Fatalf("unverified hold on a room event: %d %s, want 403 email_not_verified", r.status, r.body)
	}
	r := hold(open, openSeats[0])
	if r.status != 201 {
		t.Errorf("unverified hold on an event without a room: %d %s", r.status, r.body)
	}
	var h struct{ ID string }
	r.json(t, &h)
	e.do("DELETE", "/api/holds/"+h.ID, fan, nil)

	if r := e.do("POST", "/api/account/email/verify/resend", fan, nil); r.status != 202 {
		t.Fatalf("resend: %d %s", r.status, r.body)
	}
	e.sendMail()
	_, token := mailTo(t, api, me.Email, "Confirm your email address")
	var got account.Account
	e.do("POST", "/api/account/email/verify", "", map[string]string{"token": token}).json(t, &got)
	if !got.EmailVerified {
		t.Fatalf("after the link: %+v", got)
	}
	if r := hold(room, roomSeats[0]); r.status != 403 || r.errCode(t) != "not_admitted" {
		t.Errorf("verified hold on a room event: %d %s, want the admission check (403 not_admitted)", r.status, r.body)
	}
	if r := e.do("POST", "/api/account/email/verify/resend", fan, nil); r.status != 409 {
		t.Errorf("resend once verified: %d %s, want 409 already_verified", r.status, r.body)
	}

	admin := e.admin()
	if r := e.do("PUT", "/api/admin/events/"+room+"/queue", admin, map[string]any{"require_verified_email": false}); r.status != 200 {
		t.Fatalf("turn the requirement off: %d %s", r.status, r.body)
	}
	_, other := e.signUp("unverified2")
	if r := e.do("POST", "/api/events/"+room+"/holds", other, map[string]any{"seat_ids": []string{roomSeats[1]}}); r.errCode(t) != "not_admitted" {
		t.Errorf("unverified hold once the event does not require it: %d %s, want not_admitted", r.status, r.body)
	}
}

// TestEmailChangeMailsBothAddresses: the old address gets a notice, the
// new one a link that moves the account, verified.
func TestEmailChangeMailsBothAddresses(t *testing.T) {
	e, api := mailEnv(t, envOpts{})
	_, fan := e.signUp("mover")
	me, _ := e.me(fan)
	newEmail := "moved-" + testkit.RandomHex(4) + "@example.test"
	if r := e.do("POST", "/api/account/email", fan, map[string]string{"email": newEmail, "password": "wrong password"}); r.status != 403 {
		t.Errorf("change with a wrong password: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/account/email", fan, map[string]string{"email": newEmail, "password": "correct horse"}); r.status != 202 {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	e.sendMail()
	notice, _ := mailTo(t, api, me.Email, "being changed")
	if !strings.Contains(notice, newEmail) {
		t.Errorf("the notice to the old address does not name the new one:\n%s", notice)
	}
	_, token := mailTo(t, api, newEmail, "Confirm your new email address")
	var got account.Account
	e.do("POST", "/api/account/email/confirm", "", map[string]string{"token": token}).json(t, &got)
	if got.Email != newEmail || !got.EmailVerified {
		t.Fatalf("after confirming: %+v", got)
	}
	if now, _ := e.me(fan); now.Email != newEmail {
		t.Errorf("/api/me says %q, want %q", now.Email, newEmail)
	}
	if r := e.do("POST", "/api/account/email/confirm", "", map[string]string{"token": token}); r.status != 410 {
		t.Errorf("the link twice: %d %s", r.status, r.body)
	}
}

// TestStaffTwoFactor: an admin without TOTP reaches only its account and
// the enrolment; once enrolled, sign-in answers a second step, a code
// finishes it once, and a wrong code is 401.
func TestStaffTwoFactor(t *testing.T) {
	e := newEnv(t, envOpts{})
	email := "staff-" + testkit.RandomHex(4) + "@example.test"
	var su struct{ Token string }
	e.do("POST", "/api/accounts", "", map[string]string{"email": email, "password": "staff password", "name": "Staff"}).json(t, &su)
	if err := e.accts.Grant(context.Background(), email, account.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/admin/jobs", su.Token, nil); r.status != 403 || r.errCode(t) != "totp_enrolment_required" {
		t.Errorf("admin route before enrolment: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/orders", su.Token, nil); r.status != 403 {
		t.Errorf("fan route before enrolment: %d %s", r.status, r.body)
	}
	if me, status := e.me(su.Token); status != 200 || me.TOTPEnabled {
		t.Errorf("/api/me before enrolment: %d %+v", status, me)
	}
	var enr struct {
		Secret string `json:"secret"`
		URI    string `json:"otpauth_uri"`
		QR     string `json:"qr_png"`
	}
	e.do("POST", "/api/account/totp", su.Token, nil).json(t, &enr)
	if !strings.HasPrefix(enr.URI, "otpauth://totp/") || !strings.HasPrefix(enr.QR, "data:image/png;base64,") {
		t.Fatalf("enrolment: %+v", enr)
	}
	code, _ := account.TOTPCode(enr.Secret, time.Now().Add(-30*time.Second))
	var rc struct {
		Codes []string `json:"recovery_codes"`
	}
	e.do("POST", "/api/account/totp/confirm", su.Token, map[string]string{"code": code}).json(t, &rc)
	if len(rc.Codes) != 10 {
		t.Fatalf("%d recovery codes", len(rc.Codes))
	}
	if r := e.do("GET", "/api/admin/jobs", su.Token, nil); r.status != 200 {
		t.Errorf("admin route after enrolment: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/account/totp", su.Token, map[string]string{"password": "staff password"}); r.status != 403 {
		t.Errorf("an admin turning TOTP off: %d %s, want 403 totp_required", r.status, r.body)
	}
	var step struct {
		SecondFactor string `json:"second_factor"`
		Challenge    string `json:"challenge"`
	}
	e.do("POST", "/api/sessions", "", map[string]string{"email": email, "password": "staff password"}).json(t, &step)
	if step.SecondFactor != "totp" || step.Challenge == "" {
		t.Fatalf("sign in: %+v, want a second step", step)
	}
	code, _ = account.TOTPCode(enr.Secret, time.Now())
	bad := "000000"
	if code == bad {
		bad = "111111"
	}
	if r := e.do("POST", "/api/sessions/second-step", "", map[string]string{"challenge": step.Challenge, "code": bad}); r.status != 401 {
		t.Errorf("a wrong code: %d %s", r.status, r.body)
	}
	var sess struct{ Token string }
	e.do("POST", "/api/sessions/second-step", "", map[string]string{"challenge": step.Challenge, "code": code}).json(t, &sess)
	if r := e.do("GET", "/api/admin/jobs", sess.Token, nil); r.status != 200 {
		t.Errorf("admin route with the new session: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/sessions/second-step", "", map[string]string{"challenge": step.Challenge, "code": code}); r.status != 401 {
		t.Errorf("the same code twice: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/sessions/second-step", "", map[string]string{"challenge": step.Challenge, "code": rc.Codes[0]}); r.status != 200 {
		t.Errorf("a recovery code: %d %s", r.status, r.body)
	}
}

// TestExportSignOutEverywhereAndDelete: the export holds the account and
// its orders; sign-out everywhere ends every session; deletion is refused
// while a hold is live, then ends the account.
func TestExportSignOutEverywhereAndDelete(t *testing.T) {
	e := newEnv(t, envOpts{})
	ev, seats := e.event(1, 1, 2)
	_, fan := e.signUp("leaver")
	me, _ := e.me(fan)
	r := e.do("GET", "/api/account/export", fan, nil)
	var exp struct {
		Profile struct {
			Email    string `json:"email"`
			Sessions []any  `json:"sessions"`
		} `json:"profile"`
	}
	r.json(t, &exp)
	if r.status != 200 || exp.Profile.Email != me.Email || len(exp.Profile.Sessions) != 1 ||
		!strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("export: %d %s", r.status, r.body)
	}
	var second struct{ Token string }
	e.do("POST", "/api/sessions", "", map[string]string{"email": me.Email, "password": "correct horse"}).json(t, &second)
	if r := e.do("DELETE", "/api/account/sessions", fan, nil); r.status != 204 {
		t.Fatalf("sign out everywhere: %d %s", r.status, r.body)
	}
	for _, tok := range []string{fan, second.Token} {
		if _, status := e.me(tok); status != 401 {
			t.Errorf("a session after sign-out everywhere: %d", status)
		}
	}
	var s struct{ Token string }
	e.do("POST", "/api/sessions", "", map[string]string{"email": me.Email, "password": "correct horse"}).json(t, &s)
	var h struct{ ID string }
	e.do("POST", "/api/events/"+ev+"/holds", s.Token, map[string]any{"seat_ids": []string{seats[0]}}).json(t, &h)
	if r := e.do("DELETE", "/api/account", s.Token, map[string]string{"password": "correct horse"}); r.status != 409 || r.errCode(t) != "account_busy" {
		t.Errorf("delete with a live hold: %d %s", r.status, r.body)
	}
	e.do("DELETE", "/api/holds/"+h.ID, s.Token, nil)
	if r := e.do("DELETE", "/api/account", s.Token, map[string]string{"password": "correct horse"}); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, status := e.me(s.Token); status != 401 {
		t.Errorf("the session after deletion: %d", status)
	}
}

// TestRecoveryRateLimits: reset requests are limited per address, second
// steps per account.
func TestRecoveryRateLimits(t *testing.T) {
	limits := server.DefaultRateLimits()
	limits[server.LimitRecovery] = server.RouteLimits{PerIP: server.Rate{N: 100, Per: time.Minute}, PerAccount: server.Rate{N: 2, Per: time.Hour, Burst: 2}}
	e := newEnv(t, envOpts{limits: limits})
	addr := "limited-" + testkit.RandomHex(4) + "@example.test"
	var last resp
	for range 3 {
		last = e.do("POST", "/api/account/password-reset", "", map[string]string{"email": addr})
	}
	if last.status != 429 {
		t.Errorf("third reset request for one address within the burst of 2: %d %s", last.status, last.body)
	}
}
