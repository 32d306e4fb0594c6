package testkit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// StripeConnect is a proxy in front of StripeTestCards (and so of
// stripe-mock) that adds what payouts need of real Stripe and stripe-mock
// lacks:
//
//   - Idempotency: a POST repeating an Idempotency-Key gets the first
//     answer again without reaching stripe-mock (with other parameters,
//     400 idempotency_error), so a test can count what was really created.
//   - Connected accounts: each POST /v1/accounts gets an id of its own
//     (stripe-mock always answers the same one), and GET /v1/accounts/{id}
//     says payouts_enabled once the test called Onboard (stripe-mock says
//     false).
//   - Lost replies: LoseNextReply makes the next request to a path take
//     effect and then answers 502 instead of its result.
type StripeConnect struct {
	// URL is the proxy's address, for STRIPE_API_BASE.
	URL string

	mu        sync.Mutex
	answers   map[string]keptAnswer
	created   map[string]int
	requests  []ConnectRequest
	lose      map[string]int
	onboarded bool
}

// ConnectRequest is one request the proxy received.
type ConnectRequest struct {
	Method, Path, IdempotencyKey string
	Body                         string
}

type keptAnswer struct {
	request [32]byte
	status  int
	body    []byte
}

// NewStripeConnect starts the proxy; it stops when t ends.
func NewStripeConnect(t testing.TB) *StripeConnect {
	t.Helper()
	upstream := StripeTestCards(t)
	c := &StripeConnect{answers: map[string]keptAnswer{}, created: map[string]int{}, lose: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Header.Get("Idempotency-Key")
		c.mu.Lock()
		c.requests = append(c.requests, ConnectRequest{Method: r.Method, Path: r.URL.Path, IdempotencyKey: key, Body: string(body)})
		kept, replay := c.answers[key]
		c.mu.Unlock()
		fingerprint := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\x00" + string(body)))
		if r.Method == http.MethodPost && key != "" && replay {
			w.Header().Set("Content-Type", "application/json")
			if kept.request != fingerprint {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`)
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(kept.status)
			_, _ = w.Write(kept.body)
			return
		}
		status, answer := c.forward(r, upstream, body)
		c.mu.Lock()
		if r.Method == http.MethodPost && key != "" && status != 0 {
			c.answers[key] = keptAnswer{request: fingerprint, status: status, body: answer}
		}
		if r.Method == http.MethodPost && status == http.StatusOK {
			c.created[r.URL.Path]++
		}
		lost := c.lose[r.URL.Path] > 0
		if lost {
			c.lose[r.URL.Path]--
		}
		c.mu.Unlock()
		if lost {
			// Not a dropped connection: Go's transport resends a request
			// carrying an Idempotency-Key when the connection drops, so the
			// client would never see the loss. A gateway error after the
			// fact is what a lost reply looks like to the caller.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"error":{"type":"api_error","message":"the reply was lost (testkit)"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// forward sends the request upstream and returns its answer, with the
// account rewrites applied.
func (c *StripeConnect) forward(r *http.Request, upstream string, body []byte) (int, []byte) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return http.StatusBadGateway, nil
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Idempotency-Key") // modelled here
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return http.StatusBadGateway, []byte(`{"error":{"type":"api_error","message":"upstream"}}`)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	rest, isAccount := strings.CutPrefix(r.URL.Path, "/v1/accounts")
	if res.StatusCode != http.StatusOK || !isAccount {
		return res.StatusCode, answer
	}
	var acct map[string]any
	if json.Unmarshal(answer, &acct) != nil {
		return res.StatusCode, answer
	}
	if rest == "" && r.Method == http.MethodPost {
		acct["id"] = "acct_" + RandomHex(8)
	} else {
		acct["id"] = strings.TrimPrefix(rest, "/")
		c.mu.Lock()
		acct["payouts_enabled"] = c.onboarded
		acct["details_submitted"] = c.onboarded
		c.mu.Unlock()
	}
	out, _ := json.Marshal(acct)
	return res.StatusCode, out
}

// Onboard marks every connected account as having finished onboarding.
func (c *StripeConnect) Onboard() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onboarded = true
}

// LoseNextReply makes the next request to path happen and its answer
// never arrive (a 502 comes instead).
func (c *StripeConnect) LoseNextReply(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lose[path]++
}

// Created counts the POSTs to path that reached stripe-mock and succeeded:
// replays of an idempotency key are not counted.
func (c *StripeConnect) Created(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.created[path]
}

// Requests returns the requests to path so far.
func (c *StripeConnect) Requests(path string) []ConnectRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ConnectRequest
	for _, r := range c.requests {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}
