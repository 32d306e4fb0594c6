package checkout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// WebhookTolerance is how old a signed webhook may be (Stripe's default).
const WebhookTolerance = 300 * time.Second

// Webhook errors.
var (
	ErrBadSignature   = apperr.E(apperr.Malformed, "invalid_signature", "the webhook signature does not verify")
	ErrNoWebhookKey   = apperr.E(apperr.NotFound, "not_found", "webhooks are not configured")
	ErrWebhookPayload = apperr.E(apperr.Malformed, "invalid_event", "the webhook body is not a Stripe event")
)

// WebhookResult says what a webhook delivery did.
type WebhookResult struct {
	Received  bool   `json:"received"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Status    string `json:"status,omitempty"`
}

// HandleStripeWebhook verifies a Stripe event on its raw body (signature
// and a 300 s tolerance), then applies it once: the event id is recorded in
// the transaction of its effect, so a redelivery changes nothing. The event's
// content is not trusted for state: the PaymentIntent is fetched again and
// the payment settled from what Stripe says now, so events may arrive late,
// twice or out of order.
func (s *Service) HandleStripeWebhook(ctx context.Context, payload []byte, signature string) (WebhookResult, error) {
	secret := s.cfg.WebhookSecret
	if secret == "" {
		return WebhookResult{}, ErrNoWebhookKey
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, secret, webhook.ConstructEventOptions{
		Tolerance: WebhookTolerance, IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		if errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrNoValidSignature) ||
			errors.Is(err, webhook.ErrTooOld) || errors.Is(err, webhook.ErrInvalidHeader) {
			return WebhookResult{}, ErrBadSignature.With("detail", err.Error())
		}
		return WebhookResult{}, ErrWebhookPayload
	}
	if ev.ID == "" {
		return WebhookResult{}, ErrWebhookPayload
	}
	var seen bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_events WHERE id = $1)`, ev.ID).Scan(&seen); err != nil {
		return WebhookResult{}, fmt.Errorf("checkout: webhook dedupe: %w", err)
	}
	if seen {
		return WebhookResult{Received: true, Duplicate: true}, nil
	}
	intentID := ""
	if ev.Data != nil && strings.HasPrefix(string(ev.Type), "payment_intent.") {
		intentID, _ = ev.Data.Object["id"].(string)
	}
	var p Payment
	if intentID != "" {
		p, err = payment(ctx, s.db, `p.intent_id = $1`, false, intentID)
		if err != nil && !errors.Is(err, ErrPaymentNotFound) {
			return WebhookResult{}, err
		}
	}
	if intentID == "" || p.ID == "" {
		// Not ours to act on; remember it so a redelivery is cheap.
		err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error { _, err := recordEvent(ctx, tx, ev.ID, string(ev.Type)); return err })
		if errors.Is(err, errDuplicateEvent) {
			return WebhookResult{Received: true, Duplicate: true}, nil
		}
		return WebhookResult{Received: true}, err
	}
	in, err := s.payments.Get(ctx, intentID)
	if err != nil {
		// Stripe redelivers on a non-2xx answer.
		return WebhookResult{}, fmt.Errorf("checkout: webhook re-fetch %s: %w", intentID, err)
	}
	res, err := s.apply(ctx, p.ID, in, ev.ID)
	if err != nil && apperr.KindOf(err) != apperr.Conflict {
		return WebhookResult{}, err
	}
	if res.Status == "duplicate" {
		return WebhookResult{Received: true, Duplicate: true}, nil
	}
	cur, _ := payment(ctx, s.db, `p.id = $1`, false, p.ID)
	return WebhookResult{Received: true, Status: cur.Status}, nil
}
