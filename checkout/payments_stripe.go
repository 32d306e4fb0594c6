package checkout

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// StripePayments is Payments on Stripe's PaymentIntents API (stripe-go v76):
// manual capture, the amount from the server, the hold id in metadata and
// every state change under an idempotency key.
type StripePayments struct {
	api *client.API
}

var _ Payments = (*StripePayments)(nil)

// StripeConfig configures StripePayments.
type StripeConfig struct {
	// SecretKey is the API key (STRIPE_SECRET_KEY).
	SecretKey string
	// APIBase overrides https://api.stripe.com (STRIPE_API_BASE; stripe-mock
	// in tests).
	APIBase string
	// HTTPClient is the client for API calls (default: 30 s timeout).
	HTTPClient *http.Client
	// NoRetries turns off stripe-go's network retries (tests).
	NoRetries bool
}

// NewStripePayments returns a Stripe-backed Payments. stripe-go's own
// network retries stay on: they resend with the same idempotency key.
func NewStripePayments(cfg StripeConfig) *StripePayments {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:    hc,
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.NoRetries {
		bc.MaxNetworkRetries = stripe.Int64(0)
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(cfg.APIBase)
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	}
	return &StripePayments{api: client.New(cfg.SecretKey, backends)}
}

// Provider implements Payments.
func (*StripePayments) Provider() string { return "stripe" }

// Create implements Payments.
func (s *StripePayments) Create(ctx context.Context, c CreateParams) (Intent, error) {
	params := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(c.AmountCents),
		Currency:           stripe.String(c.Currency),
		CaptureMethod:      stripe.String(string(stripe.PaymentIntentCaptureMethodManual)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
	}
	params.Context = ctx
	params.AddMetadata("hold_id", c.HoldID)
	params.AddMetadata("payment_id", c.PaymentID)
	params.SetIdempotencyKey(c.IdempotencyKey)
	pi, err := s.api.PaymentIntents.New(params)
	return intentOf(pi, err)
}

// Confirm implements Payments. Only payment method ids are accepted: raw
// card numbers never go to Stripe from the server.
func (s *StripePayments) Confirm(ctx context.Context, id string, m Method, key string) (Intent, error) {
	if m.PaymentMethod == "" || m.CardNumber != "" {
		return Intent{}, ErrInvalidMethod.With("detail", "Stripe takes a payment_method id, never a card number")
	}
	// use_stripe_sdk: a card that asks for 3-D Secure answers
	// next_action use_stripe_sdk, which Stripe.js's handleNextAction shows
	// in the page (no redirect, so the page keeps its state and the hold).
	params := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(m.PaymentMethod), UseStripeSDK: stripe.Bool(true)}
	params.Context = ctx
	params.SetIdempotencyKey(key)
	pi, err := s.api.PaymentIntents.Confirm(id, params)
	return intentOf(pi, err)
}

// Get implements Payments.
func (s *StripePayments) Get(ctx context.Context, id string) (Intent, error) {
	params := &stripe.PaymentIntentParams{}
	params.Context = ctx
	pi, err := s.api.PaymentIntents.Get(id, params)
	return intentOf(pi, err)
}

// Capture implements Payments.
func (s *StripePayments) Capture(ctx context.Context, id, key string) (Intent, error) {
	params := &stripe.PaymentIntentCaptureParams{}
	params.Context = ctx
	params.SetIdempotencyKey(key)
	pi, err := s.api.PaymentIntents.Capture(id, params)
	return intentOf(pi, err)
}

// Cancel implements Payments.
func (s *StripePayments) Cancel(ctx context.Context, id, key string) (Intent, error) {
	params := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}
	params.Context = ctx
	params.SetIdempotencyKey(key)
	pi, err := s.api.PaymentIntents.Cancel(id, params)
	return intentOf(pi, err)
}

// Refund implements Payments.
func (s *StripePayments) Refund(ctx context.Context, id string, amountCents int64, key string) error {
	params := &stripe.RefundParams{PaymentIntent: stripe.String(id), Amount: stripe.Int64(amountCents)}
	params.Context = ctx
	params.SetIdempotencyKey(key)
	_, err := s.api.Refunds.New(params)
	_, err = intentOf(nil, err)
	return err
}

// intentOf turns a stripe-go reply into an Intent or one of our errors. A
// card error is a decline, reported on the intent, not as an error.
func intentOf(pi *stripe.PaymentIntent, err error) (Intent, error) {
	if err != nil {
		var se *stripe.Error
		if !errors.As(err, &se) {
			return Intent{}, ErrUnknownOutcome.Wrap(err)
		}
		switch {
		case se.Type == stripe.ErrorTypeCard && se.PaymentIntent != nil:
			in, _ := intentOf(se.PaymentIntent, nil)
			in.Status = IntentRequiresPaymentMethod
			in.DeclineCode = string(se.DeclineCode)
			if in.DeclineCode == "" {
				in.DeclineCode = string(se.Code)
			}
			return in, nil
		case se.HTTPStatusCode >= 500 || se.HTTPStatusCode == 0 || se.HTTPStatusCode == http.StatusTooManyRequests:
			return Intent{}, ErrUnknownOutcome.Wrap(err)
		case se.Type == stripe.ErrorTypeIdempotency || se.Code == stripe.ErrorCodeIdempotencyKeyInUse:
			return Intent{}, ErrIdempotencyMismatch.Wrap(err)
		case se.Code == stripe.ErrorCodePaymentIntentUnexpectedState:
			return Intent{}, ErrUnexpectedState.Wrap(err)
		case se.Code == stripe.ErrorCodeResourceMissing || se.HTTPStatusCode == http.StatusNotFound:
			return Intent{}, ErrIntentNotFound.Wrap(err)
		case se.Type == stripe.ErrorTypeCard:
			return Intent{}, ErrInvalidMethod.Wrap(err)
		case se.Code == stripe.ErrorCodeAmountTooSmall || se.Code == stripe.ErrorCodeAmountTooLarge:
			return Intent{}, ErrAmountRefused.Wrap(err)
		}
		return Intent{}, ErrUnexpectedState.Wrap(err)
	}
	if pi == nil {
		return Intent{}, nil
	}
	in := Intent{
		ID: pi.ID, Status: string(pi.Status), AmountCents: pi.Amount, Currency: string(pi.Currency),
		ClientSecret: pi.ClientSecret, CaptureManual: pi.CaptureMethod == stripe.PaymentIntentCaptureMethodManual,
		HoldID: pi.Metadata["hold_id"], PaymentID: pi.Metadata["payment_id"], AmountCaptured: pi.AmountReceived,
	}
	if na := pi.NextAction; na != nil && in.Status == IntentRequiresAction {
		in.NextAction = &NextAction{Type: string(na.Type)}
		if na.RedirectToURL != nil {
			in.NextAction.RedirectURL = na.RedirectToURL.URL
		}
	}
	if e := pi.LastPaymentError; e != nil && in.Status == IntentRequiresPaymentMethod {
		in.DeclineCode = string(e.DeclineCode)
		if in.DeclineCode == "" {
			in.DeclineCode = string(e.Code)
		}
	}
	return in, nil
}
