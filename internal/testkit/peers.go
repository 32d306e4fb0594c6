package testkit

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Defaults match scripts/testpeers.sh; `make test` exports the real values.
const (
	DefaultStripeMockURL  = "http://127.0.0.1:12111"
	DefaultMailpitURL     = "http://127.0.0.1:8025"
	DefaultMailpitSMTPURL = "smtp://127.0.0.1:1025?tls=off"
)

// StripeMock returns the URL of stripe-mock (a real Stripe API peer):
// $STRIPE_MOCK_URL or the default. Without it the test is skipped locally
// and fails in CI.
func StripeMock(t testing.TB) string {
	t.Helper()
	url := envOr("STRIPE_MOCK_URL", DefaultStripeMockURL)
	if err := httpOK(url+"/v1/payment_intents", "Bearer sk_test_123"); err != nil {
		unavailable(t, "stripe-mock (scripts/testpeers.sh)", err)
	}
	return url
}

// Mailpit returns the HTTP API URL and the SMTP URL of mailpit (a real SMTP
// server with an API to read what it received): $MAILPIT_URL and
// $MAILPIT_SMTP_URL or the defaults. Without it the test is skipped locally
// and fails in CI.
func Mailpit(t testing.TB) (apiURL, smtpURL string) {
	t.Helper()
	apiURL = envOr("MAILPIT_URL", DefaultMailpitURL)
	if err := httpOK(apiURL+"/api/v1/info", ""); err != nil {
		unavailable(t, "mailpit (scripts/testpeers.sh)", err)
	}
	return apiURL, envOr("MAILPIT_SMTP_URL", DefaultMailpitSMTPURL)
}

func httpOK(url, auth string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return nil
}
