package checkout

import (
	"context"
	"errors"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// Payments is a card processor with Stripe's PaymentIntent model: an intent
// per hold, confirmed (authorized), then captured or cancelled. Every call
// that changes state takes an idempotency key, so a retry after a lost reply
// replays the first result instead of charging again.
//
// Implementations: StripePayments (stripe-go) and TestProcessor, which
// follows Stripe's test-mode rules for development and tests.
type Payments interface {
	// Provider names the implementation: "stripe" or "test".
	Provider() string
	// Create creates a manual-capture intent for the amount.
	Create(ctx context.Context, p CreateParams) (Intent, error)
	// Confirm authorizes the intent with a payment method. A declined card
	// is not an error: the intent comes back requires_payment_method with
	// DeclineCode set. A card that asks for authentication (3-D Secure)
	// comes back requires_action with NextAction set: the browser completes
	// it and the intent moves on without another call from the server.
	Confirm(ctx context.Context, intentID string, m Method, idempotencyKey string) (Intent, error)
	// Get reads the intent's current state.
	Get(ctx context.Context, intentID string) (Intent, error)
	// Capture takes the authorized amount.
	Capture(ctx context.Context, intentID, idempotencyKey string) (Intent, error)
	// Cancel voids an authorization (or an unconfirmed intent).
	Cancel(ctx context.Context, intentID, idempotencyKey string) (Intent, error)
	// Refund gives amountCents of the captured amount back (a cancelled
	// event's refund keeps back what a resale already paid out).
	Refund(ctx context.Context, intentID string, amountCents int64, idempotencyKey string) error
}

// CreateParams describes a new intent. The amount is always computed on the
// server from the hold; nothing a client sends reaches it.
type CreateParams struct {
	AmountCents    int64
	Currency       string
	HoldID         string
	PaymentID      string
	IdempotencyKey string
}

// Method is how a fan pays: a Stripe payment method id (pm_card_visa), or,
// for the test processor only, a test card number. CardNumber is never
// logged or stored.
type Method struct {
	PaymentMethod string
	CardNumber    string
}

// Intent statuses, as Stripe names them.
const (
	IntentRequiresPaymentMethod = "requires_payment_method"
	IntentRequiresConfirmation  = "requires_confirmation"
	IntentRequiresAction        = "requires_action"
	IntentProcessing            = "processing"
	IntentRequiresCapture       = "requires_capture"
	IntentCanceled              = "canceled"
	IntentSucceeded             = "succeeded"
)

// Intent is the provider's view of one payment.
type Intent struct {
	ID             string
	Status         string
	AmountCents    int64
	Currency       string
	ClientSecret   string
	CaptureManual  bool
	HoldID         string
	AmountCaptured int64
	// AmountRefunded is how much of AmountCaptured was given back (kept by
	// the test processor; Stripe's intent does not carry it).
	AmountRefunded int64
	// DeclineCode is set when the last confirmation was declined
	// (card_declined, generic_decline, insufficient_funds, ...).
	DeclineCode string
	// PaymentID is the payment the intent was created for (its metadata).
	PaymentID string
	// NextAction is what the browser must do for a requires_action intent.
	NextAction *NextAction
}

// NextAction is the step a card asks for before it can be authorized, as
// the checkout page receives it: use_stripe_sdk (Stripe.js's
// handleNextAction shows the bank's challenge) or redirect_to_url (a page
// to send the fan to; the test processor's in-app challenge).
type NextAction struct {
	Type        string `json:"type"`
	RedirectURL string `json:"redirect_url,omitempty"`
}

// Authenticator is the test processor's side door for 3-D Secure: it plays
// the bank's answer to the challenge of a requires_action intent (Stripe
// does this itself, in the browser). ok false fails the authentication.
type Authenticator interface {
	Authenticate(ctx context.Context, intentID string, ok bool) (Intent, error)
}

// Errors of a payment provider.
var (
	// ErrUnknownOutcome: the call timed out or the provider failed (5xx);
	// it may or may not have taken effect. The payment is reconciled, never
	// re-created.
	ErrUnknownOutcome = apperr.E(apperr.Unavailable, "payment_outcome_unknown", "the payment provider did not answer; the payment will be checked and settled")
	// ErrIdempotencyMismatch: an idempotency key was reused with other
	// parameters; nothing was done.
	ErrIdempotencyMismatch = apperr.E(apperr.Conflict, "idempotency_mismatch", "this request repeats an earlier one with different parameters")
	// ErrUnexpectedState: the intent is in a state that does not allow the
	// operation (capturing a cancelled intent, for example).
	ErrUnexpectedState = apperr.E(apperr.Conflict, "payment_unexpected_state", "the payment is not in a state that allows this")
	// ErrInvalidMethod: the payment method or card number is not usable.
	ErrInvalidMethod = apperr.E(apperr.Invalid, "invalid_payment_method", "the payment method is not valid")
	// ErrAmountRefused: the provider does not take this amount (zero, or
	// below or above what it allows for the currency): no intent exists.
	ErrAmountRefused = apperr.E(apperr.Invalid, "amount_not_payable", "the payment provider does not take this amount")
	// ErrIntentNotFound: the provider knows no such intent.
	ErrIntentNotFound = apperr.E(apperr.NotFound, "payment_not_found", "the payment provider knows no such payment")
)

// isUnknown reports whether err leaves a provider call's outcome unknown.
func isUnknown(err error) bool { return errors.Is(err, ErrUnknownOutcome) }
