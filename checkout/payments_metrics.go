package checkout

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// Payment outcomes counted by MeteredPayments.
const (
	OutcomeCreated    = "created"
	OutcomeAuthorized = "authorized"
	OutcomeDeclined   = "declined"
	// OutcomeAction: the card asked for a further step (3-D Secure).
	OutcomeAction   = "requires_action"
	OutcomeCaptured = "captured"
	OutcomeVoided   = "voided"
	OutcomeRefunded = "refunded"
	// OutcomeUnknown: the provider did not answer; reconciliation settles it.
	OutcomeUnknown = "unknown"
	// OutcomeError: the provider refused the call (a bad state or method).
	OutcomeError = "error"
)

// MeteredPayments counts a provider's calls by operation and outcome in
// boxoffice_payments_total; rates and ratios (declines per authorization)
// are PromQL's. Calls repeated with the same idempotency key (a retried
// capture job) count again: the counter says what the provider was asked.
type MeteredPayments struct {
	Payments
	calls *prometheus.CounterVec
}

var _ Payments = (*MeteredPayments)(nil)

// NewMeteredPayments wraps p and registers its counter with reg.
func NewMeteredPayments(p Payments, reg prometheus.Registerer) *MeteredPayments {
	m := &MeteredPayments{Payments: p, calls: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "boxoffice_payments_total",
		Help: "Payment provider calls by provider, operation and outcome (authorized, declined, captured, voided, refunded, unknown, error...).",
	}, []string{"provider", "op", "outcome"})}
	// Zero series for the outcomes a dashboard plots, so rate() has a
	// series before the first sale.
	for _, o := range [][2]string{{"confirm", OutcomeAuthorized}, {"confirm", OutcomeDeclined}, {"capture", OutcomeCaptured},
		{"cancel", OutcomeVoided}, {"refund", OutcomeRefunded}} {
		m.calls.WithLabelValues(p.Provider(), o[0], o[1])
	}
	reg.MustRegister(m.calls)
	return m
}

func (m *MeteredPayments) count(op, ok string, err error) {
	outcome := ok
	switch {
	case isUnknown(err):
		outcome = OutcomeUnknown
	case err != nil:
		outcome = OutcomeError
	}
	m.calls.WithLabelValues(m.Provider(), op, outcome).Inc()
}

// Create counts created intents.
func (m *MeteredPayments) Create(ctx context.Context, p CreateParams) (Intent, error) {
	in, err := m.Payments.Create(ctx, p)
	m.count("create", OutcomeCreated, err)
	return in, err
}

// Confirm counts authorizations, declines and cards asking for a step.
func (m *MeteredPayments) Confirm(ctx context.Context, intentID string, method Method, key string) (Intent, error) {
	in, err := m.Payments.Confirm(ctx, intentID, method, key)
	outcome := OutcomeAuthorized
	switch {
	case in.DeclineCode != "" || in.Status == IntentRequiresPaymentMethod:
		outcome = OutcomeDeclined
	case in.Status == IntentRequiresAction:
		outcome = OutcomeAction
	case in.Status == IntentSucceeded:
		outcome = OutcomeCaptured
	}
	m.count("confirm", outcome, err)
	return in, err
}

// Capture counts captures.
func (m *MeteredPayments) Capture(ctx context.Context, intentID, key string) (Intent, error) {
	in, err := m.Payments.Capture(ctx, intentID, key)
	m.count("capture", OutcomeCaptured, err)
	return in, err
}

// Cancel counts voided authorizations.
func (m *MeteredPayments) Cancel(ctx context.Context, intentID, key string) (Intent, error) {
	in, err := m.Payments.Cancel(ctx, intentID, key)
	m.count("cancel", OutcomeVoided, err)
	return in, err
}

// Refund counts refunds.
func (m *MeteredPayments) Refund(ctx context.Context, intentID string, amountCents int64, key string) error {
	err := m.Payments.Refund(ctx, intentID, amountCents, key)
	m.count("refund", OutcomeRefunded, err)
	return err
}

// Authenticate passes the test processor's 3-D Secure answer through (the
// challenge counts as a confirmation's outcome); a provider without one is
// ErrIntentNotFound.
func (m *MeteredPayments) Authenticate(ctx context.Context, intentID string, ok bool) (Intent, error) {
	a, has := m.Payments.(Authenticator)
	if !has {
		return Intent{}, ErrIntentNotFound
	}
	in, err := a.Authenticate(ctx, intentID, ok)
	outcome := OutcomeAuthorized
	if in.Status != IntentRequiresCapture {
		outcome = OutcomeDeclined
	}
	m.count("authenticate", outcome, err)
	return in, err
}
