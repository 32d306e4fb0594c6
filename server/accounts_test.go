package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

func TestAccountFlow(t *testing.T) {
	e := newEnv(t, envOpts{})
	email := "ada-" + testkit.RandomHex(4) + "@example.test"
	r := e.do("POST", "/api/accounts", "", map[string]string{"email": email, "password": "lovelace1815", "name": "Ada"})
	if r.status != 201 {
		t.Fatalf("sign up: %d %s", r.status, r.body)
	}
	var created struct{ ID, Email, Name, Token string }
	r.json(t, &created)
	if created.ID == "" || created.Token == "" || created.Email != email {
		t.Fatalf("sign up returned %+v", created)
	}
	if r := e.do("POST", "/api/accounts", "", map[string]string{"email": strings.ToUpper(email), "password": "lovelace1815", "name": "Ada"}); r.status != 409 || r.errCode(t) != "email_taken" {
		t.Errorf("duplicate email (other case): %d %s, want 409 email_taken", r.status, r.body)
	}
	if r := e.do("POST", "/api/sessions", "", map[string]string{"email": email, "password": "wrong-password"}); r.status != 401 {
		t.Errorf("wrong password: %d, want 401", r.status)
	}
	r = e.do("POST", "/api/sessions", "", map[string]string{"email": email, "password": "lovelace1815"})
	if r.status != 200 {
		t.Fatalf("sign in: %d %s", r.status, r.body)
	}
	var session struct {
		Token   string
		Account struct{ ID, Role string }
	}
	r.json(t, &session)
	if session.Account.ID != created.ID || session.Account.Role != "fan" {
		t.Errorf("sign in account = %+v, want id %s role fan", session.Account, created.ID)
	}
	cookie := r.header.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
		t.Errorf("session cookie %q lacks HttpOnly or SameSite", cookie)
	}

	// Bearer and cookie both authenticate.
	if r := e.do("GET", "/api/me", session.Token, nil); r.status != 200 || !strings.Contains(string(r.body), email) {
		t.Errorf("me with bearer: %d %s", r.status, r.body)
	}
	cookieHeader := "bo_session=" + session.Token
	if r := e.do("GET", "/api/me", "", nil, "Cookie", cookieHeader); r.status != 200 {
		t.Errorf("me with cookie: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/me", "", nil); r.status != 401 || r.errCode(t) != "unauthenticated" {
		t.Errorf("me anonymous: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/me", "not-a-token", nil); r.status != 401 {
		t.Errorf("me with a bad token: %d", r.status)
	}

	// A cookie-authenticated unsafe request from another origin is refused.
	if r := e.do("DELETE", "/api/sessions", "", nil, "Cookie", cookieHeader, "Origin", "https://evil.example"); r.status != 403 || r.errCode(t) != "csrf" {
		t.Errorf("cross-site sign out: %d %s, want 403 csrf", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/sessions", "", nil, "Cookie", cookieHeader); r.status != 403 {
		t.Errorf("cookie sign out without Origin: %d, want 403", r.status)
	}
	if r := e.do("DELETE", "/api/sessions", "", nil, "Cookie", cookieHeader, "Origin", "http://app.test"); r.status != 204 {
		t.Errorf("same-site sign out: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/me", session.Token, nil); r.status != 401 {
		t.Errorf("me after sign out: %d, want 401", r.status)
	}
	// The first token (from sign up) is another session and still works.
	if r := e.do("GET", "/api/me", created.Token, nil); r.status != http.StatusOK {
		t.Errorf("me with the sign-up session: %d", r.status)
	}
}

func TestAccountBadInput(t *testing.T) {
	e := newEnv(t, envOpts{})
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"malformed", `{"email":`, 400, "malformed_json"},
		{"empty", ``, 400, "malformed_json"},
		{"array", `[]`, 400, "malformed_json"},
		{"unknown field", map[string]any{"email": "a@b.test", "password": "12345678", "name": "A", "role": "admin"}, 400, "malformed_json"},
		{"wrong type", map[string]any{"email": 5, "password": "12345678", "name": "A"}, 400, "malformed_json"},
		{"bad email", map[string]any{"email": "nope", "password": "12345678", "name": "A"}, 422, "validation_failed"},
		{"short password", map[string]any{"email": "a@b.test", "password": "short", "name": "A"}, 422, "validation_failed"},
		{"missing name", map[string]any{"email": "a@b.test", "password": "12345678"}, 422, "validation_failed"},
		{"trailing data", `{"email":"a@b.test","password":"12345678","name":"A"} {}`, 400, "malformed_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/api/accounts", "", tt.body)
			if r.status != tt.status || r.errCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
}
