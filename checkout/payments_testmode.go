package checkout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// TestProcessor is the built-in processor (PAYMENTS=test): in-memory
// intents that follow Stripe's documented test-mode rules, so the whole flow
// runs without an account anywhere.
//
//   - Cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined
//     (generic_decline), 4000 0000 0000 9995 has insufficient_funds,
//     4000 0027 6000 3184 asks for authentication (requires_action, with a
//     next action that sends the fan to the app's own challenge page,
//     answered through Authenticate); other numbers are incorrect_number.
//     Payment methods pm_card_visa and tok_visa succeed,
//     pm_card_chargeDeclined and pm_card_chargeDeclinedInsufficientFunds
//     decline, pm_card_threeDSecure2Required and
//     pm_card_authenticationRequired ask for authentication.
//   - An idempotency key replays its first result; reused with different
//     parameters it is refused (ErrIdempotencyMismatch) and nothing happens.
//   - Tests inject faults per operation: a timeout (nothing happens, the
//     caller sees ErrUnknownOutcome) or a lost reply (it happens, and the
//     caller still sees ErrUnknownOutcome).
//
// Requests with one idempotency key are serialised, so concurrent retries
// see the first result. It is safe for concurrent use.
type TestProcessor struct {
	mu      sync.Mutex
	intents map[string]*Intent
	keys    map[string]idemEntry
	keyLock map[string]*sync.Mutex
	faults  map[string][]Fault
	stats   TestStats
	// AfterConfirm, when set, runs after a confirmation took effect and
	// before its reply returns: tests use it to make the world change while
	// the payment is in flight.
	AfterConfirm func(intentID string)
}

// TestStats counts what the processor did; a replayed request counts once.
type TestStats struct {
	Creates, Authorizations, Declines, Captures, Cancels, Refunds int
	// Challenges counts confirmations that asked for authentication.
	Challenges int
	// CapturedCents is the money taken, net of refunds.
	CapturedCents int64
	// Transfers and TransferredCents count the payouts sent to sellers.
	Transfers        int
	TransferredCents int64
}

// Fault is an injected failure of the next call of an operation.
type Fault int

// Faults.
const (
	// FaultTimeout: the call does nothing and reports ErrUnknownOutcome.
	FaultTimeout Fault = iota + 1
	// FaultLostReply: the call takes effect but reports ErrUnknownOutcome.
	FaultLostReply
	// FaultRefused: the provider answers with a definite error
	// (ErrUnexpectedState) and does nothing. Like Stripe, which keeps every
	// answer under its idempotency key, it gives the same error to any later
	// call with that key: a retry that must succeed needs a new key.
	FaultRefused
)

type idemEntry struct {
	params string
	intent Intent
	err    error
}

// NewTestProcessor returns an empty processor.
func NewTestProcessor() *TestProcessor {
	return &TestProcessor{
		intents: make(map[string]*Intent),
		keys:    make(map[string]idemEntry),
		keyLock: make(map[string]*sync.Mutex),
		faults:  make(map[string][]Fault),
	}
}

var _ Payments = (*TestProcessor)(nil)

// Provider implements Payments.
func (*TestProcessor) Provider() string { return "test" }

// Inject makes the next call of op ("create", "confirm", "capture",
// "cancel", "refund", "get", "transfer") fail with f. Several injections queue.
func (p *TestProcessor) Inject(op string, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[op] = append(p.faults[op], f)
}

// Stats returns the counters so far.
func (p *TestProcessor) Stats() TestStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Intent returns a copy of an intent, for tests.
func (p *TestProcessor) Intent(id string) (Intent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.intents[id]
	if !ok {
		return Intent{}, false
	}
	return *in, true
}

func (p *TestProcessor) fault(op string) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.faults[op]
	if len(q) == 0 {
		return 0
	}
	p.faults[op] = q[1:]
	return q[0]
}

// idempotent runs fn once per key: later calls with the same parameters get
// the first result, with other parameters ErrIdempotencyMismatch.
func (p *TestProcessor) idempotent(op, key, params string, fn func() (Intent, error)) (Intent, error) {
	f := p.fault(op)
	if f == FaultTimeout {
		return Intent{}, ErrUnknownOutcome
	}
	if f == FaultRefused && key == "" {
		return Intent{}, errRefused
	}
	if key == "" {
		in, err := fn()
		if f == FaultLostReply {
			return Intent{}, ErrUnknownOutcome
		}
		return in, err
	}
	p.mu.Lock()
	l, ok := p.keyLock[key]
	if !ok {
		l = new(sync.Mutex)
		p.keyLock[key] = l
	}
	p.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	sum := sha256.Sum256([]byte(op + "\x00" + params))
	params = hex.EncodeToString(sum[:])
	p.mu.Lock()
	e, seen := p.keys[key]
	p.mu.Unlock()
	if seen {
		if e.params != params {
			return Intent{}, ErrIdempotencyMismatch
		}
		return e.intent, e.err
	}
	if f == FaultRefused {
		fn = func() (Intent, error) { return Intent{}, errRefused }
	}
	in, err := fn()
	p.mu.Lock()
	p.keys[key] = idemEntry{params: params, intent: in, err: err}
	p.mu.Unlock()
	if f == FaultLostReply {
		return Intent{}, ErrUnknownOutcome
	}
	return in, err
}

// errRefused is FaultRefused's answer.
var errRefused = ErrUnexpectedState.With("detail", "refused by the provider (injected)")

// Create implements Payments.
func (p *TestProcessor) Create(_ context.Context, c CreateParams) (Intent, error) {
	params := fmt.Sprintf("%d|%s|%s", c.AmountCents, c.Currency, c.HoldID)
	return p.idempotent("create", c.IdempotencyKey, params, func() (Intent, error) {
		if c.AmountCents <= 0 {
			return Intent{}, ErrAmountRefused.With("amount_cents", c.AmountCents)
		}
		if c.Currency == "" {
			return Intent{}, ErrInvalidMethod.With("detail", "a currency is required")
		}
		id := "pi_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
		in := &Intent{ID: id, Status: IntentRequiresPaymentMethod, AmountCents: c.AmountCents, Currency: c.Currency,
			ClientSecret: id + "_secret_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16], CaptureManual: true, HoldID: c.HoldID,
			PaymentID: c.PaymentID}
		p.mu.Lock()
		p.intents[id] = in
		p.stats.Creates++
		p.mu.Unlock()
		return *in, nil
	})
}

// needsAuthentication is testOutcome's answer for a card that asks for
// 3-D Secure (it is not a decline code).
const needsAuthentication = "requires_action"

// DeclineAuthenticationFailed is the decline code (Stripe's) of a payment
// whose card's authentication (3-D Secure) failed or was refused.
const DeclineAuthenticationFailed = "payment_intent_authentication_failure"

// testOutcome maps a test card number or payment method to Stripe's
// test-mode result: "" succeeds, needsAuthentication asks for 3-D Secure,
// anything else is the decline code.
func testOutcome(m Method) (decline string, err error) {
	if m.CardNumber != "" {
		n := strings.NewReplacer(" ", "", "-", "").Replace(m.CardNumber)
		switch n {
		case "4242424242424242":
			return "", nil
		case "4000000000000002":
			return "generic_decline", nil
		case "4000000000009995":
			return "insufficient_funds", nil
		case "4000002760003184":
			return needsAuthentication, nil
		}
		return "incorrect_number", nil
	}
	switch m.PaymentMethod {
	case "pm_card_visa", "tok_visa", "pm_card_mastercard":
		return "", nil
	case "pm_card_threeDSecure2Required", "pm_card_authenticationRequired":
		return needsAuthentication, nil
	case "pm_card_chargeDeclined", "pm_card_visa_chargeDeclined":
		return "generic_decline", nil
	case "pm_card_chargeDeclinedInsufficientFunds", "pm_card_visa_chargeDeclinedInsufficientFunds":
		return "insufficient_funds", nil
	}
	return "", ErrInvalidMethod
}

// methodKey identifies a method for the idempotency check without keeping
// the card number itself.
func methodKey(m Method) string {
	sum := sha256.Sum256([]byte(m.PaymentMethod + "|" + m.CardNumber))
	return hex.EncodeToString(sum[:8])
}

func (p *TestProcessor) transition(id string, from []string, fn func(in *Intent)) (Intent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.intents[id]
	if !ok {
		return Intent{}, ErrIntentNotFound
	}
	for _, s := range from {
		if in.Status == s {
			fn(in)
			return *in, nil
		}
	}
	return Intent{}, ErrUnexpectedState.With("status", in.Status)
}

// Confirm implements Payments.
func (p *TestProcessor) Confirm(_ context.Context, id string, m Method, key string) (Intent, error) {
	in, err := p.idempotent("confirm", key, id+"|"+methodKey(m), func() (Intent, error) {
		decline, err := testOutcome(m)
		if err != nil {
			return Intent{}, err
		}
		return p.transition(id, []string{IntentRequiresPaymentMethod, IntentRequiresConfirmation, IntentRequiresAction}, func(in *Intent) {
			if decline == needsAuthentication {
				in.Status, in.DeclineCode = IntentRequiresAction, ""
				in.NextAction = &NextAction{Type: "redirect_to_url", RedirectURL: TestChallengePath(in.PaymentID)}
				p.stats.Challenges++
				return
			}
			in.NextAction = nil
			if decline != "" {
				in.Status, in.DeclineCode = IntentRequiresPaymentMethod, decline
				p.stats.Declines++
				return
			}
			in.Status, in.DeclineCode = IntentRequiresCapture, ""
			p.stats.Authorizations++
		})
	})
	if hook := p.AfterConfirm; hook != nil && err == nil && in.Status == IntentRequiresCapture {
		hook(id)
	}
	return in, err
}

// TestChallengePath is the app's own 3-D Secure challenge page for a
// payment of the test processor (the checkout page's route).
func TestChallengePath(paymentID string) string { return "/payments/" + paymentID + "/challenge" }

// Authenticate implements Authenticator: the fan's answer on the test
// challenge page moves a requires_action intent to requires_capture (ok)
// or back to requires_payment_method, declined with
// DeclineAuthenticationFailed, as Stripe's test cards do.
func (p *TestProcessor) Authenticate(_ context.Context, id string, ok bool) (Intent, error) {
	if p.fault("authenticate") != 0 {
		return Intent{}, ErrUnknownOutcome
	}
	return p.transition(id, []string{IntentRequiresAction}, func(in *Intent) {
		in.NextAction = nil
		if !ok {
			in.Status, in.DeclineCode = IntentRequiresPaymentMethod, DeclineAuthenticationFailed
			p.stats.Declines++
			return
		}
		in.Status, in.DeclineCode = IntentRequiresCapture, ""
		p.stats.Authorizations++
	})
}

// Get implements Payments.
func (p *TestProcessor) Get(_ context.Context, id string) (Intent, error) {
	if p.fault("get") != 0 {
		return Intent{}, ErrUnknownOutcome
	}
	in, ok := p.Intent(id)
	if !ok {
		return Intent{}, ErrIntentNotFound
	}
	return in, nil
}

// Capture implements Payments.
func (p *TestProcessor) Capture(_ context.Context, id, key string) (Intent, error) {
	return p.idempotent("capture", key, id, func() (Intent, error) {
		return p.transition(id, []string{IntentRequiresCapture}, func(in *Intent) {
			in.Status, in.AmountCaptured = IntentSucceeded, in.AmountCents
			p.stats.Captures++
			p.stats.CapturedCents += in.AmountCents
		})
	})
}

// Cancel implements Payments.
func (p *TestProcessor) Cancel(_ context.Context, id, key string) (Intent, error) {
	return p.idempotent("cancel", key, id, func() (Intent, error) {
		return p.transition(id, []string{IntentRequiresPaymentMethod, IntentRequiresConfirmation, IntentRequiresCapture, IntentRequiresAction}, func(in *Intent) {
			in.Status = IntentCanceled
			p.stats.Cancels++
		})
	})
}

// Refund implements Payments. Like Stripe, it refuses to give back more
// than is left of the captured amount.
func (p *TestProcessor) Refund(_ context.Context, id string, amountCents int64, key string) error {
	_, err := p.idempotent("refund", key, fmt.Sprintf("%s|%d", id, amountCents), func() (Intent, error) {
		if in, ok := p.Intent(id); ok && (amountCents <= 0 || amountCents > in.AmountCaptured-in.AmountRefunded) {
			return Intent{}, ErrUnexpectedState.With("detail", "the refund exceeds what is left of the charge")
		}
		return p.transition(id, []string{IntentSucceeded}, func(in *Intent) {
			p.stats.Refunds++
			p.stats.CapturedCents -= amountCents
			in.AmountRefunded += amountCents
		})
	})
	return err
}
