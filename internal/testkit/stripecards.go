package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// stripeDeclines are Stripe's documented test payment methods that
// decline, with the decline code Stripe gives.
var stripeDeclines = map[string]string{
	"pm_card_chargeDeclined":                  "generic_decline",
	"pm_card_visa_chargeDeclined":             "generic_decline",
	"pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}

// stripeNeedsAction are Stripe's test payment methods whose confirmation
// asks for 3-D Secure (status requires_action).
var stripeNeedsAction = map[string]bool{
	"pm_card_threeDSecure2Required":  true,
	"pm_card_authenticationRequired": true,
}

// StripeTestCards returns the URL of a proxy in front of stripe-mock that
// gives PaymentIntents the outcomes real Stripe gives in test mode.
//
// Why: stripe-mock checks every request against Stripe's OpenAPI spec, but
// it is stateless and answers a confirm with a fixture in
// requires_payment_method whatever the payment method, so nothing could
// ever be authorized or declined through it. The proxy forwards every
// request to stripe-mock first (what stripe-mock refuses stays refused, with
// its answer), then rewrites a PaymentIntent answer from the state it keeps
// per intent: confirm with pm_card_visa (or any other method) authorizes
// (requires_capture under manual capture); the methods in stripeDeclines
// answer 402 card_error with the intent in requires_payment_method;
// pm_card_threeDSecure2Required answers requires_action with next_action
// use_stripe_sdk; confirm works only from requires_payment_method,
// requires_confirmation or requires_action (a cancelled intent cannot be
// authorized); capture succeeds only from requires_capture; cancel cancels;
// GET returns the kept state, with the last decline as last_payment_error.
// Idempotency-Key replays are not modelled: stripe-mock ignores the header.
//
// What Stripe.js does in the browser for a requires_action intent (the
// bank's challenge, Complete or Fail) is POST
// {url}/testkit/authenticate/{intent}?result=complete|fail on the proxy
// (StripeAuthenticate): the intent moves to requires_capture, or back to
// requires_payment_method with the authentication failure as
// last_payment_error, as Stripe's test challenge page does.
func StripeTestCards(t testing.TB) string {
	t.Helper()
	mock := StripeMock(t)
	var mu sync.Mutex
	intents := map[string]map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/testkit/authenticate/"); ok {
			mu.Lock()
			defer mu.Unlock()
			kept := intents[id]
			if kept == nil || kept["status"] != "requires_action" {
				http.Error(w, "no intent waiting for authentication", http.StatusConflict)
				return
			}
			delete(kept, "next_action")
			if r.URL.Query().Get("result") == "complete" {
				kept["status"] = "requires_capture"
			} else {
				kept["status"] = "requires_payment_method"
				kept["last_payment_error"] = map[string]any{"type": "card_error", "code": "payment_intent_authentication_failure",
					"message": "The provided PaymentMethod has failed authentication."}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(kept)
			return
		}
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		req, err := http.NewRequestWithContext(r.Context(), r.Method, mock+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		rest, isIntent := strings.CutPrefix(r.URL.Path, "/v1/payment_intents")
		var pi map[string]any
		if res.StatusCode != http.StatusOK || !isIntent || json.Unmarshal(answer, &pi) != nil {
			w.WriteHeader(res.StatusCode)
			_, _ = w.Write(answer)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		status, reply := http.StatusOK, any(nil)
		if rest == "" && r.Method == http.MethodPost {
			// Create: stripe-mock echoes amount, currency and
			// capture_method; the metadata is kept from the request.
			pi["status"] = "requires_payment_method"
			pi["amount_received"] = 0
			meta := map[string]any{}
			for k, v := range form {
				if name, ok := strings.CutPrefix(k, "metadata["); ok {
					meta[strings.TrimSuffix(name, "]")] = v[0]
				}
			}
			pi["metadata"] = meta
			// stripe-mock's fixture secret names another intent; Stripe.js
			// finds the intent from its secret's prefix.
			pi["client_secret"] = pi["id"].(string) + "_secret_testkit"
			intents[pi["id"].(string)] = pi
			reply = pi
		} else {
			id, action, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
			kept, ok := intents[id]
			if !ok {
				_, _ = w.Write(answer)
				return
			}
			reply = kept
			switch action {
			case "confirm":
				if st := kept["status"]; st != "requires_payment_method" && st != "requires_confirmation" && st != "requires_action" {
					// Like Stripe: a cancelled, authorized or paid intent
					// cannot be confirmed again.
					status = http.StatusBadRequest
					reply = map[string]any{"error": map[string]any{"type": "invalid_request_error",
						"code": "payment_intent_unexpected_state", "message": "This PaymentIntent's status does not allow a confirmation."}}
					break
				}
				pm := form.Get("payment_method")
				kept["payment_method"] = pm
				delete(kept, "next_action")
				delete(kept, "last_payment_error")
				switch {
				case stripeDeclines[pm] != "":
					kept["status"] = "requires_payment_method"
					status = http.StatusPaymentRequired
					decline := map[string]any{"type": "card_error", "code": "card_declined",
						"decline_code": stripeDeclines[pm], "message": "Your card was declined."}
					kept["last_payment_error"] = decline
					reply = map[string]any{"error": map[string]any{"type": "card_error", "code": "card_declined",
						"decline_code": stripeDeclines[pm], "message": "Your card was declined.", "payment_intent": kept}}
				case stripeNeedsAction[pm]:
					kept["status"] = "requires_action"
					kept["next_action"] = map[string]any{"type": "use_stripe_sdk", "use_stripe_sdk": map[string]any{}}
				case kept["capture_method"] == "manual":
					kept["status"] = "requires_capture"
				default:
					kept["status"] = "succeeded"
					kept["amount_received"] = kept["amount"]
				}
			case "capture":
				if kept["status"] != "requires_capture" {
					status = http.StatusBadRequest
					reply = map[string]any{"error": map[string]any{"type": "invalid_request_error",
						"code": "payment_intent_unexpected_state", "message": "This PaymentIntent could not be captured."}}
					break
				}
				kept["status"] = "succeeded"
				kept["amount_received"] = kept["amount"]
			case "cancel":
				if kept["status"] == "succeeded" {
					status = http.StatusBadRequest
					reply = map[string]any{"error": map[string]any{"type": "invalid_request_error",
						"code": "payment_intent_unexpected_state", "message": "This PaymentIntent could not be canceled."}}
					break
				}
				kept["status"] = "canceled"
			}
		}
		out, _ := json.Marshal(reply)
		w.WriteHeader(status)
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// StripeAuthenticate plays the fan's answer to the 3-D Secure challenge of
// a requires_action intent on a StripeTestCards proxy at base: Complete
// (ok) or Fail.
func StripeAuthenticate(base, intentID string, ok bool) error {
	result := "fail"
	if ok {
		result = "complete"
	}
	res, err := http.Post(base+"/testkit/authenticate/"+intentID+"?result="+result, "application/json", nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(res.Body)
		return fmt.Errorf("testkit: authenticate %s: %d %s", intentID, res.StatusCode, msg)
	}
	return nil
}
