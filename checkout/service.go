package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Config tunes checkout. Zero fields take the defaults named.
type Config struct {
	// PaymentGrace is how long past the hold's expiry a payment may still
	// complete (default 5 minutes): the hold's hard payment deadline. A card
	// waiting for authentication (3-D Secure) has until then.
	PaymentGrace time.Duration
	// DeclineRetryWindow is how long a decline keeps the hold so the fan can
	// correct the card or use another (default 2 minutes; never past the
	// hold's expiry). The seats go at once when the fan gives up, on the
	// MaxDeclines-th decline, or when the window ends. Negative releases
	// them at the first decline.
	DeclineRetryWindow time.Duration
	// ReconcileInterval is how often the reconciler runs (default 10 s).
	ReconcileInterval time.Duration
	// ReconcileAfter is how long a payment stays untouched before the
	// reconciler asks the provider about it (default 30 s), so it does not
	// race requests and webhooks that are about to settle it.
	ReconcileAfter time.Duration
	// ReconcileBackoff is how long the reconciler leaves a payment alone
	// after its first failed look (default 10 s); each further failure in
	// a row doubles it, up to ReconcileMaxBackoff (default 1 hour).
	ReconcileBackoff, ReconcileMaxBackoff time.Duration
	// ReconcilePoisonAfter is how many failures in a row set a payment
	// aside as stuck (default 10): it is then looked at every
	// ReconcileMaxBackoff and shown to admins (the event's ledger, the
	// boxoffice_payments_stuck metric) until someone finds out why.
	ReconcilePoisonAfter int
	// CaptureRetryDelay is when the outbox capture job first runs, as a
	// safety net behind the capture right after conversion (default 30 s).
	CaptureRetryDelay time.Duration
	// SecretKey signs ticket barcodes (SECRET_KEY). Required.
	SecretKey []byte
	// WebhookSecret verifies Stripe webhooks (STRIPE_WEBHOOK_SECRET); empty
	// refuses every webhook.
	WebhookSecret string
	// PublishableKey is Stripe's publishable key (STRIPE_PUBLISHABLE_KEY),
	// which the checkout page loads Stripe.js with to turn the card into a
	// payment method id (ClientConfig); unused with the test processor.
	PublishableKey string
	// MailFrom is the confirmation email's sender (default
	// tickets@boxoffice.localhost).
	MailFrom string
	// BaseURL is the public address, for links in emails.
	BaseURL string
	// ResaleFeeBasisPoints is the platform's fee on a resale, in hundredths
	// of a percent of the price (default 1000: 10%; RESALE_FEE_BPS); the
	// seller's payout is the price minus it. Negative means no fee.
	ResaleFeeBasisPoints int
	// PayoutDelay is when a resale seller is paid (PAYOUT_DELAY): this long
	// after the sale when positive; by default (0) a day after the event's
	// date, once the show has happened.
	PayoutDelay time.Duration
	// Admissions, when set, ends the buyer's waiting-room admission once an
	// order is written, freeing an active-shopper place for the next fan
	// (nil: admissions end when their token expires, which with the default
	// 10-minute TTL lets at most active_limit fans buy per 10 minutes).
	Admissions Admissions
	// Screen, when set, judges each purchase once its payment is
	// authorized; a purchase it gives reasons against is written as an
	// order under review (review.go) instead of being captured and
	// confirmed. nil confirms every purchase.
	Screen Screen
	// ConvertBatch caps the purchases a node converts in one round
	// (default 64; convert.go). 1 turns group commit off: every purchase
	// converts alone, at once.
	ConvertBatch int
	// ConvertRounds is how many conversion rounds a node has in flight at
	// once (default 2).
	ConvertRounds int
	// Hooks inject failures in tests; nil in production.
	Hooks *Hooks
}

// Admissions is the waiting room as checkout sees it;
// waitingroom.Service satisfies it.
type Admissions interface {
	// Release ends an account's admission to an event.
	Release(ctx context.Context, eventID, accountID int64) error
}

// Screen judges a purchase whose payment is authorized: reasons (none
// means confirm) send the order to review. waitingroom.Service satisfies it
// with its velocity and fingerprint signals.
type Screen interface {
	Review(ctx context.Context, eventID, accountID int64, holdCreated, paidAt time.Time) ([]string, error)
}

// Hooks are test-only crash points.
type Hooks struct {
	// BeforeConvertCommit runs at the end of the conversion transaction;
	// an error aborts it as if the process had died before the commit.
	BeforeConvertCommit func(paymentID string) error
	// AfterAuthorized runs right after the provider authorized a payment,
	// before anything is recorded; an error returns at once, as if the
	// process had died there.
	AfterAuthorized func(paymentID string) error
}

func (c *Config) setDefaults() {
	if c.PaymentGrace == 0 {
		c.PaymentGrace = 5 * time.Minute
	}
	if c.DeclineRetryWindow == 0 {
		c.DeclineRetryWindow = 2 * time.Minute
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = 10 * time.Second
	}
	if c.ReconcileAfter == 0 {
		c.ReconcileAfter = 30 * time.Second
	}
	if c.ReconcileBackoff == 0 {
		c.ReconcileBackoff = 10 * time.Second
	}
	if c.ReconcileMaxBackoff == 0 {
		c.ReconcileMaxBackoff = time.Hour
	}
	if c.ReconcilePoisonAfter == 0 {
		c.ReconcilePoisonAfter = 10
	}
	if c.CaptureRetryDelay == 0 {
		c.CaptureRetryDelay = 30 * time.Second
	}
	if c.MailFrom == "" {
		c.MailFrom = "tickets@boxoffice.localhost"
	}
	if c.Hooks == nil {
		c.Hooks = &Hooks{}
	}
	if c.ResaleFeeBasisPoints == 0 {
		c.ResaleFeeBasisPoints = 1000
	}
	if c.ResaleFeeBasisPoints < 0 {
		c.ResaleFeeBasisPoints = 0
	}
	if c.ConvertBatch == 0 {
		c.ConvertBatch = 64
	}
	if c.ConvertRounds == 0 {
		c.ConvertRounds = 2
	}
}

// Service is checkout: payments, orders, tickets and their jobs.
type Service struct {
	db       *pgxpool.Pool
	seats    *seatmap.Service
	payments Payments
	mailer   Mailer
	log      *slog.Logger
	cfg      Config
	// converts are the authorized payments waiting for their conversion
	// round on this node (convert.go); convertRounds counts each round's.
	converts      *convertQueue
	convertRounds prometheus.Histogram
}

// New returns a Service. mailer may be nil (no confirmation emails are
// sent; the jobs stay queued).
func New(db *pgxpool.Pool, seats *seatmap.Service, payments Payments, mailer Mailer, log *slog.Logger, cfg Config) *Service {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: db, seats: seats, payments: payments, mailer: mailer, log: log, cfg: cfg,
		convertRounds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "boxoffice_conversion_round_purchases",
			Help:    "Purchases a node converted together in one transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		})}
	s.converts = newConvertQueue(s)
	return s
}

// Provider names the payment provider in use.
func (s *Service) Provider() string { return s.payments.Provider() }

// ClientConfig is what the checkout page needs before it shows a card
// form: the provider and, for Stripe, the publishable key to load Stripe.js
// with. All of it is public.
type ClientConfig struct {
	Provider       string `json:"provider"`
	PublishableKey string `json:"publishable_key,omitempty"`
}

// ClientConfig returns the payment settings for the browser.
func (s *Service) ClientConfig() ClientConfig {
	c := ClientConfig{Provider: s.payments.Provider()}
	if c.Provider == "stripe" {
		c.PublishableKey = s.cfg.PublishableKey
	}
	return c
}

// Payment statuses (the payments table).
const (
	StatusPending               = "pending"
	StatusRequiresPaymentMethod = "requires_payment_method"
	// StatusRequiresAction: the card asked for authentication (3-D
	// Secure); the hold stays while the fan completes it in the browser.
	StatusRequiresAction = "requires_action"
	StatusUnknown        = "unknown"
	StatusAuthorized     = "authorized"
	StatusCapturing      = "capturing"
	StatusSucceeded      = "succeeded"
	StatusDeclined       = "declined"
	StatusVoiding        = "voiding"
	StatusCanceled       = "canceled"
	StatusRefunded       = "refunded"
	// StatusReview: authorized, order written under review, capture
	// withheld until an admin approves (capturing) or rejects (voiding).
	StatusReview = "review"
)

// openBeforeAuth are the statuses of a payment not yet known to be
// authorized: the hold may still be given up at its deadline.
var openBeforeAuth = []string{StatusPending, StatusRequiresPaymentMethod, StatusRequiresAction, StatusUnknown}

// convertible are the statuses from which a conversion may start.
var convertible = []string{StatusPending, StatusRequiresPaymentMethod, StatusRequiresAction, StatusUnknown, StatusAuthorized}

// MaxDeclines is the decline that ends a payment: its seats are released
// at once instead of waiting out the retry window.
const MaxDeclines = 3

// Errors of checkout.
var (
	ErrPaymentNotFound = apperr.E(apperr.NotFound, "payment_not_found", "no such payment")
	ErrOrderNotFound   = apperr.E(apperr.NotFound, "order_not_found", "no such order")
	ErrTicketNotFound  = apperr.E(apperr.NotFound, "ticket_not_found", "no such ticket")
	ErrPaymentDeclined = apperr.E(apperr.Conflict, "payment_declined", "this payment was declined and its seats released; hold seats again to retry")
	ErrNoMethod        = apperr.E(apperr.Invalid, "invalid_payment_method", "send exactly one of card_number or payment_method")
	ErrEventCancelled  = apperr.E(apperr.Conflict, "event_cancelled", "this event was cancelled; nothing of it can be bought any more and you have not been charged")
	ErrPaymentExpired  = apperr.E(apperr.Gone, "payment_expired", "the time to pay for this hold ran out and its seats were released; you have not been charged")
	// ErrNothingToPay: a card payment needs an amount, and free tickets
	// have no checkout of their own yet; the hold is kept, so the fan may
	// pick another price type.
	ErrNothingToPay = apperr.E(apperr.Invalid, "nothing_to_pay", "these tickets cost nothing, and free tickets cannot be checked out yet; choose another ticket type")
	ErrNotTestMode  = apperr.E(apperr.NotFound, "not_found", "the test challenge exists only with the test payment processor")
	ErrNoChallenge  = apperr.E(apperr.Conflict, "payment_not_awaiting_authentication", "this payment is not waiting for card authentication")
)

// Payment is a payment as the API shows it.
type Payment struct {
	ID           string `json:"id"`
	HoldID       string `json:"hold_id"`
	Provider     string `json:"provider"`
	Status       string `json:"status"`
	AmountCents  int64  `json:"amount_cents"`
	Currency     string `json:"currency"`
	ClientSecret string `json:"client_secret,omitempty"`
	DeclineCode  string `json:"decline_code,omitempty"`
	OrderID      string `json:"order_id,omitempty"`
	// Declines counts the declined attempts; RetryUntil, while the payment
	// waits for another card after a decline, is when its seats go.
	Declines   int        `json:"declines,omitempty"`
	RetryUntil *time.Time `json:"retry_until,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	eventID    int64
	accountID  int64
	intentID   string
	// overdue: its hold's payment deadline has passed; retryOver: the
	// retry window of its last decline has (both as of the load, by
	// Postgres's clock; see refuseLapsed).
	overdue, retryOver bool
}

const paymentCols = `p.id, p.hold_id, p.provider, p.status, p.amount_cents, p.currency, coalesce(p.client_secret, ''),
	coalesce(p.decline_code, ''), coalesce(o.id::text, ''), p.created_at, p.event_id, p.account_id, coalesce(p.intent_id, ''),
	p.declines, CASE WHEN p.status = 'requires_payment_method' THEN p.retry_until END,
	coalesce((SELECT h.status = 'payment_pending' AND h.payment_deadline <= now() FROM holds h WHERE h.id = p.hold_id), false),
	coalesce(p.status = 'requires_payment_method' AND p.retry_until <= now(), false)`

func scanPayment(row pgx.Row) (Payment, error) {
	var p Payment
	err := row.Scan(&p.ID, &p.HoldID, &p.Provider, &p.Status, &p.AmountCents, &p.Currency, &p.ClientSecret,
		&p.DeclineCode, &p.OrderID, &p.CreatedAt, &p.eventID, &p.accountID, &p.intentID, &p.Declines, &p.RetryUntil,
		&p.overdue, &p.retryOver)
	return p, err
}

// payment loads a payment by a condition on p; lock adds FOR UPDATE OF p.
func payment(ctx context.Context, q pg.Querier, where string, lock bool, args ...any) (Payment, error) {
	sql := `SELECT ` + paymentCols + ` FROM payments p LEFT JOIN orders o ON o.payment_id = p.id WHERE ` + where
	if lock {
		sql += ` FOR UPDATE OF p`
	}
	p, err := scanPayment(q.QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Payment{}, ErrPaymentNotFound
	}
	if err != nil {
		return Payment{}, fmt.Errorf("checkout: load payment: %w", err)
	}
	if lock {
		if err := orderAfterLock(ctx, q, &p); err != nil {
			return Payment{}, err
		}
	}
	return p, nil
}

// orderAfterLock fills in the order of a payment loaded FOR UPDATE that is
// past its conversion. After waiting for the lock, Postgres re-checks only
// the locked row: the join may miss an order written by the transaction it
// waited for. A fresh statement sees it.
func orderAfterLock(ctx context.Context, q pg.Querier, p *Payment) error {
	if p.OrderID != "" || (p.Status != StatusCapturing && p.Status != StatusSucceeded && p.Status != StatusReview) {
		return nil
	}
	if err := q.QueryRow(ctx, `SELECT id FROM orders WHERE payment_id = $1`, p.ID).Scan(&p.OrderID); err != nil {
		return fmt.Errorf("checkout: order of payment %s: %w", p.ID, err)
	}
	return nil
}

func validUUID(s string) bool { _, err := uuid.Parse(s); return err == nil }

// Checkout starts paying for a hold of the account: the hold moves to
// payment_pending and the payment row is written in one transaction, before
// the provider is called. It is idempotent per hold: a second call returns
// the same payment (and retries creating the provider's intent if the first
// call did not get an answer, under the same idempotency key).
//
// types chooses each seat's price type (seat id → key; a seat not named
// gets the event's first, nil for all). The first call fixes the hold's
// price lines and the amount, the sum of their all-in totals; a repeat
// returns that payment whatever types it names.
func (s *Service) Checkout(ctx context.Context, accountID int64, holdID string, types map[int64]string) (Payment, error) {
	if !validUUID(holdID) {
		return Payment{}, seatmap.ErrHoldNotFound
	}
	var p Payment
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		hold, err := s.seats.StartPayment(ctx, tx, accountID, holdID, s.cfg.PaymentGrace, types)
		if errors.Is(err, seatmap.ErrHoldNotActive) {
			// A hold with a payment is no longer active: this is a repeat
			// (or a concurrent checkout of the same hold won).
			if q, qerr := payment(ctx, tx, `p.hold_id = $1 AND p.account_id = $2`, false, holdID, accountID); qerr == nil {
				p = q
				return nil
			}
		}
		if err != nil {
			return err
		}
		if hold.TotalCents <= 0 {
			return ErrNothingToPay // rolls back the start of the payment
		}
		p = Payment{ID: uuid.NewString(), HoldID: hold.ID, Provider: s.payments.Provider(), Status: StatusPending,
			AmountCents: hold.TotalCents, Currency: hold.Currency, eventID: hold.EventID, accountID: accountID}
		return tx.QueryRow(ctx, `
			INSERT INTO payments (id, hold_id, event_id, account_id, provider, amount_cents, currency, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending') RETURNING created_at`,
			p.ID, p.HoldID, p.eventID, accountID, p.Provider, p.AmountCents, p.Currency).Scan(&p.CreatedAt)
	})
	if err != nil {
		if errors.Is(err, seatmap.ErrHoldNotActive) && s.holdEventCancelled(ctx, accountID, holdID) {
			return Payment{}, ErrEventCancelled
		}
		return Payment{}, err
	}
	if p.Status == StatusVoiding || p.Status == StatusCanceled {
		if err := s.endedError(ctx, p.ID); errors.Is(err, ErrEventCancelled) {
			return Payment{}, err
		}
	}
	if p.intentID == "" && p.Status == StatusPending {
		if err := s.createIntent(ctx, &p); err != nil {
			return Payment{}, err
		}
	}
	return p, nil
}

// holdEventCancelled reports whether the event of a hold of the account is
// cancelled (the cancel released the hold).
func (s *Service) holdEventCancelled(ctx context.Context, accountID int64, holdID string) bool {
	var status string
	err := s.db.QueryRow(ctx, `SELECT e.status FROM holds h JOIN events e ON e.id = h.event_id WHERE h.id = $1 AND h.account_id = $2`,
		holdID, accountID).Scan(&status)
	return err == nil && status == seatmap.StatusCancelled
}

// endedError says why a payment ended without an order: its decline, its
// event's cancellation, or else the loss of its hold.
func (s *Service) endedError(ctx context.Context, paymentID string) error {
	var code, event string
	err := s.db.QueryRow(ctx, `SELECT coalesce(p.decline_code, ''), e.status FROM payments p JOIN events e ON e.id = p.event_id
		WHERE p.id = $1`, paymentID).Scan(&code, &event)
	switch {
	case err != nil:
		s.log.Warn("checkout: why a payment ended", "payment", paymentID, "err", err)
	case code != "":
		return ErrPaymentDeclined.With("decline_code", code)
	case event == seatmap.StatusCancelled:
		return ErrEventCancelled
	}
	return seatmap.ErrHoldLost
}

// createIntent asks the provider for the payment's intent under the key
// ticket_purchase:{hold}: after a lost reply, asking again replays the same
// intent rather than creating a second one.
func (s *Service) createIntent(ctx context.Context, p *Payment) error {
	in, err := s.payments.Create(ctx, CreateParams{AmountCents: p.AmountCents, Currency: p.Currency, HoldID: p.HoldID,
		PaymentID: p.ID, IdempotencyKey: "ticket_purchase:" + p.HoldID})
	if errors.Is(err, ErrAmountRefused) {
		// No intent exists, and none ever will at this amount: the payment
		// ends canceled (its hold released) rather than being retried.
		if _, aerr := s.abandon(ctx, p.ID, StatusCanceled, "", ""); aerr != nil {
			return fmt.Errorf("checkout: end %s, whose amount the provider refused: %w", p.ID, aerr)
		}
		p.Status = StatusCanceled
	}
	if err != nil {
		return fmt.Errorf("checkout: create intent for %s: %w", p.ID, err)
	}
	if in.AmountCents != p.AmountCents {
		return fmt.Errorf("checkout: intent %s has amount %d, payment %s %d", in.ID, in.AmountCents, p.ID, p.AmountCents)
	}
	_, err = s.db.Exec(ctx, `
		UPDATE payments SET intent_id = $2, client_secret = $3, updated_at = now(),
		       status = CASE WHEN status = 'pending' THEN 'requires_payment_method' ELSE status END
		WHERE id = $1 AND intent_id IS NULL`, p.ID, in.ID, in.ClientSecret)
	if err != nil {
		return fmt.Errorf("checkout: record intent of %s: %w", p.ID, err)
	}
	p.intentID, p.ClientSecret = in.ID, in.ClientSecret
	if p.Status == StatusPending {
		p.Status = StatusRequiresPaymentMethod
	}
	return nil
}

// GetPayment returns a payment of the account.
func (s *Service) GetPayment(ctx context.Context, accountID int64, paymentID string) (Payment, error) {
	if !validUUID(paymentID) {
		return Payment{}, ErrPaymentNotFound
	}
	return payment(ctx, s.db, `p.id = $1 AND p.account_id = $2`, false, paymentID, accountID)
}

// ConfirmResult is the outcome of a confirmation (or of a look at the
// payment after the browser finished a card's authentication).
//
//   - succeeded or review: the order is written (OrderID).
//   - declined: DeclineCode says why. With RetryUntil the seats are still
//     held until then for another attempt (a corrected number or another
//     card); without it they were released.
//   - requires_action: the card asks for authentication (3-D Secure): the
//     browser completes NextAction with ClientSecret (Stripe.js
//     handleNextAction), or, with the test processor, opens the app's
//     challenge page; then it asks for the outcome (Complete).
//   - processing: the provider did not answer; the payment is reconciled.
type ConfirmResult struct {
	Status       string      `json:"status"`
	OrderID      string      `json:"order_id,omitempty"`
	DeclineCode  string      `json:"decline_code,omitempty"`
	RetryUntil   *time.Time  `json:"retry_until,omitempty"`
	DeclinesLeft int         `json:"declines_left,omitempty"`
	ClientSecret string      `json:"client_secret,omitempty"`
	NextAction   *NextAction `json:"next_action,omitempty"`
}

// confirmKey is the idempotency key of a confirmation: one per attempt
// (a decline starts the next) and payment method, so a retried request
// replays its answer while another card, or the same card after a
// decline, is a new confirmation of the same intent. One intent can be
// authorized once, so however many attempts there are, at most one charge.
func confirmKey(paymentID string, attempt int, m Method) string {
	return fmt.Sprintf("confirm:%s:%d:%s", paymentID, attempt, methodKey(m))
}

// Confirm pays a payment of the account with a payment method id (made by
// Stripe.js in the browser, or pm_card_visa and the like with the test
// processor) or, with the test processor only, a test card number; then
// settles it: an authorization converts the hold and captures, or, if the
// hold was lost, is cancelled; a decline keeps the hold for the retry
// window (decline); a card asking for authentication answers
// requires_action and keeps the hold until its payment deadline. Many
// concurrent confirmations of one payment settle it once.
//
// A payment past its deadline is refused (ErrPaymentExpired) before the
// provider is asked, its seats released and its intent cancelled, rather
// than left to the reconciler's next pass; so is one whose retry window
// ended (ErrPaymentDeclined). A payment of a cancelled event is
// ErrEventCancelled.
func (s *Service) Confirm(ctx context.Context, accountID int64, paymentID string, m Method) (ConfirmResult, error) {
	if (m.CardNumber == "") == (m.PaymentMethod == "") {
		return ConfirmResult{}, ErrNoMethod
	}
	p, res, done, err := s.openPayment(ctx, accountID, paymentID)
	if done {
		return res, err
	}
	if p.intentID == "" {
		if err := s.createIntent(ctx, &p); err != nil {
			return ConfirmResult{}, err
		}
	}
	attempt := p.Declines + 1
	in, err := s.payments.Confirm(ctx, p.intentID, m, confirmKey(p.ID, attempt, m))
	// The method is never logged: it may be a card number.
	s.log.Info("checkout: payment confirmed at the provider", "payment", p.ID, "attempt", attempt, "intent_status", in.Status,
		"decline_code", in.DeclineCode, "err", errString(err))
	if isUnknown(err) {
		s.markStatus(ctx, p.ID, StatusUnknown, openBeforeAuth)
		return ConfirmResult{Status: "processing"}, nil
	}
	if errors.Is(err, ErrUnexpectedState) {
		// The intent moved on without this request (cancelled with its
		// event, authorized from the browser): settle from what the
		// provider says now.
		if cur, gerr := s.payments.Get(ctx, p.intentID); gerr == nil {
			return s.apply(ctx, p.ID, cur, "")
		}
	}
	if err != nil {
		return ConfirmResult{}, err
	}
	if in.Status == IntentRequiresCapture || in.Status == IntentSucceeded {
		if err := s.cfg.Hooks.AfterAuthorized; err != nil {
			if err := err(p.ID); err != nil {
				return ConfirmResult{}, err
			}
		}
	}
	if in.Status == IntentRequiresPaymentMethod && in.DeclineCode != "" {
		return s.decline(ctx, p.ID, in.DeclineCode, "", attempt)
	}
	return s.apply(ctx, p.ID, in, "")
}

// refuseLapsed releases, before the provider is asked, a payment whose
// time ran out: past its hold's payment deadline (ErrPaymentExpired) or
// past the retry window of its last decline (ErrPaymentDeclined). Its
// intent is cancelled at once rather than at the reconciler's next pass.
func (s *Service) refuseLapsed(ctx context.Context, p Payment) error {
	if !contains(openBeforeAuth, p.Status) || (!p.overdue && !p.retryOver) {
		return nil
	}
	if _, err := s.release(ctx, p.ID); err != nil {
		return err
	}
	if p.retryOver && !p.overdue {
		return ErrPaymentDeclined.With("decline_code", p.DeclineCode)
	}
	return ErrPaymentExpired
}

// release gives up a payment not yet authorized: its seats go back on
// sale at once and its intent is cancelled (voiding until the provider
// confirms; the reconciler retries). Its decline code, if any, stays.
func (s *Service) release(ctx context.Context, paymentID string) (Payment, error) {
	p, err := s.abandon(ctx, paymentID, StatusVoiding, "", "")
	if err != nil {
		return p, err
	}
	if err := s.void(ctx, paymentID); err != nil {
		s.log.Warn("checkout: void failed; the reconciler retries", "payment", paymentID, "err", err)
	}
	return p, nil
}

// GiveUp is the fan's "release the seats" on a payment that is not paid
// (waiting for another card after a decline, or for authentication): the
// seats go back on sale at once and the intent is cancelled, so nothing
// can be charged for it afterwards. A payment already authorized is not
// given up: its result is returned (a paid order, say).
func (s *Service) GiveUp(ctx context.Context, accountID int64, paymentID string) (Payment, error) {
	p, err := s.GetPayment(ctx, accountID, paymentID)
	if err != nil {
		return Payment{}, err
	}
	if contains(openBeforeAuth, p.Status) {
		if _, err := s.release(ctx, p.ID); err != nil {
			return Payment{}, err
		}
		s.log.Info("checkout: the fan gave up the payment; seats released", "payment", p.ID)
	}
	return s.GetPayment(ctx, accountID, paymentID)
}

// openPayment is the first step of a fan's action on a payment: the
// account's payment, or done with the answer to give at once: its result
// if it is settled already, or the refusal if its time ran out.
func (s *Service) openPayment(ctx context.Context, accountID int64, paymentID string) (Payment, ConfirmResult, bool, error) {
	p, err := s.GetPayment(ctx, accountID, paymentID)
	if err != nil {
		return p, ConfirmResult{}, true, err
	}
	if res, done, err := s.settledResult(ctx, p); done {
		return p, res, true, err
	}
	if err := s.refuseLapsed(ctx, p); err != nil {
		return p, ConfirmResult{}, true, err
	}
	return p, ConfirmResult{}, false, nil
}

// Complete settles a payment from the provider's view now: the checkout
// page calls it once the browser finished a card's authentication (Stripe.js
// handleNextAction), without waiting for the webhook. It answers like
// Confirm: succeeded (the order), declined (authentication failed: the
// retry window applies), requires_action (not finished yet) or processing.
func (s *Service) Complete(ctx context.Context, accountID int64, paymentID string) (ConfirmResult, error) {
	p, res, done, err := s.openPayment(ctx, accountID, paymentID)
	if done {
		return res, err
	}
	if p.intentID == "" {
		return s.openResult(p), nil
	}
	in, err := s.payments.Get(ctx, p.intentID)
	if isUnknown(err) {
		return ConfirmResult{Status: "processing"}, nil
	}
	if err != nil {
		return ConfirmResult{}, err
	}
	return s.apply(ctx, p.ID, in, "")
}

// TestChallenge answers the test processor's 3-D Secure challenge of a
// payment of the account (the app's challenge page: Complete or Fail), then
// settles it as Complete does. With another provider it is ErrNotTestMode.
func (s *Service) TestChallenge(ctx context.Context, accountID int64, paymentID string, ok bool) (ConfirmResult, error) {
	a, has := s.payments.(Authenticator)
	if !has || s.payments.Provider() != "test" {
		return ConfirmResult{}, ErrNotTestMode
	}
	p, res, done, err := s.openPayment(ctx, accountID, paymentID)
	if done {
		return res, err
	}
	if p.Status != StatusRequiresAction {
		return ConfirmResult{}, ErrNoChallenge.With("status", p.Status)
	}
	in, err := a.Authenticate(ctx, p.intentID, ok)
	if errors.Is(err, ErrUnexpectedState) {
		in, err = s.payments.Get(ctx, p.intentID)
	}
	if isUnknown(err) {
		return ConfirmResult{Status: "processing"}, nil
	}
	if err != nil {
		return ConfirmResult{}, err
	}
	return s.apply(ctx, p.ID, in, "")
}

// openResult answers for a payment still waiting for the fan: another card
// after a decline, or the authentication of the one given.
func (s *Service) openResult(p Payment) ConfirmResult {
	switch {
	case p.Status == StatusRequiresPaymentMethod && p.RetryUntil != nil:
		return ConfirmResult{Status: StatusDeclined, DeclineCode: p.DeclineCode, RetryUntil: p.RetryUntil,
			DeclinesLeft: MaxDeclines - p.Declines}
	case p.Status == StatusRequiresAction:
		return ConfirmResult{Status: StatusRequiresAction, ClientSecret: p.ClientSecret}
	}
	return ConfirmResult{Status: "processing"}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// settledResult answers for a payment that is already settled.
func (s *Service) settledResult(ctx context.Context, p Payment) (ConfirmResult, bool, error) {
	switch p.Status {
	case StatusCapturing, StatusSucceeded:
		return ConfirmResult{Status: StatusSucceeded, OrderID: p.OrderID}, true, nil
	case StatusReview:
		return ConfirmResult{Status: StatusReview, OrderID: p.OrderID}, true, nil
	case StatusDeclined:
		return ConfirmResult{}, true, ErrPaymentDeclined.With("decline_code", p.DeclineCode)
	case StatusVoiding, StatusCanceled, StatusRefunded:
		return ConfirmResult{}, true, s.endedError(ctx, p.ID)
	}
	return ConfirmResult{}, false, nil
}

// apply settles a payment from its intent's state as the provider reports
// it. eventID, when set, is a webhook event recorded in the transaction of
// the effect; a repeated event changes nothing.
func (s *Service) apply(ctx context.Context, paymentID string, in Intent, eventID string) (ConfirmResult, error) {
	switch in.Status {
	case IntentRequiresCapture, IntentSucceeded:
		return s.settle(ctx, paymentID, in, eventID)
	case IntentCanceled:
		p, err := s.abandon(ctx, paymentID, StatusCanceled, "", eventID)
		return s.abandonResult(ctx, p, err)
	case IntentRequiresPaymentMethod:
		if in.DeclineCode != "" {
			return s.decline(ctx, paymentID, in.DeclineCode, eventID, 0)
		}
	case IntentRequiresAction:
		s.markStatus(ctx, paymentID, StatusRequiresAction, []string{StatusPending, StatusRequiresPaymentMethod, StatusUnknown})
	}
	if eventID != "" {
		if err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error { _, err := recordEvent(ctx, tx, eventID, "noop"); return err }); err != nil {
			return ConfirmResult{}, err
		}
	}
	p, err := payment(ctx, s.db, `p.id = $1`, false, paymentID)
	if err != nil {
		return ConfirmResult{}, err
	}
	if res, done, err := s.settledResult(ctx, p); done {
		return res, err
	}
	res := s.openResult(p)
	if res.Status == StatusRequiresAction {
		res.NextAction = in.NextAction
	}
	return res, nil
}

// decline records a declined attempt. The hold stays for the retry window
// (DeclineRetryWindow, never past the hold's expiry) so the fan can try
// again; the MaxDeclines-th decline, or one with no window left, releases
// the seats at once and cancels the intent instead. Either way a declined
// attempt leaves no authorization behind: the intent is not authorized.
//
// attempt is the attempt the caller confirmed (1 for the first), so a
// decline is counted once however many replies report it. An observer that
// did not make the attempt (webhook, reconciler, the page's Complete)
// passes 0: it records a decline only for a payment whose attempt's outcome
// was open (unknown, or waiting for an authentication that then failed).
func (s *Service) decline(ctx context.Context, paymentID, code, eventID string, attempt int) (ConfirmResult, error) {
	var out seatmap.Outcome
	var p Payment
	var recorded, released bool
	var retryUntil time.Time
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		recorded, released = false, false
		if _, err := recordEvent(ctx, tx, eventID, "payment_intent.payment_failed"); err != nil {
			return err
		}
		var err error
		if p, err = payment(ctx, tx, `p.id = $1`, true, paymentID); err != nil {
			return err
		}
		switch {
		case !contains(openBeforeAuth, p.Status):
			return nil // settled meanwhile
		case attempt > 0 && p.Declines != attempt-1:
			return nil // this attempt's decline is recorded already
		case attempt == 0 && p.Status != StatusUnknown && p.Status != StatusRequiresAction && p.Status != StatusPending:
			return nil
		}
		declines := p.Declines + 1
		var holdOpen, timeLeft bool
		err = tx.QueryRow(ctx, `
			SELECT w.until, h.status = 'payment_pending', w.until > now()
			FROM holds h CROSS JOIN LATERAL (SELECT least(now() + make_interval(secs => $2), h.expires_at) AS until) w
			WHERE h.id = $1`, p.HoldID, max(s.cfg.DeclineRetryWindow, 0).Seconds()).Scan(&retryUntil, &holdOpen, &timeLeft)
		if err != nil {
			return fmt.Errorf("checkout: retry window of %s: %w", p.ID, err)
		}
		recorded = true
		if !holdOpen || !timeLeft || declines >= MaxDeclines || s.cfg.DeclineRetryWindow < 0 {
			released = true
			if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'voiding', declines = $2, decline_code = $3, retry_until = NULL,
				updated_at = now() WHERE id = $1`, p.ID, declines, code); err != nil {
				return fmt.Errorf("checkout: mark declined %s: %w", p.ID, err)
			}
			_, out, err = s.seats.FailPayment(ctx, tx, p.HoldID)
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE payments SET status = 'requires_payment_method', declines = $2, decline_code = $3,
			retry_until = $4, updated_at = now() WHERE id = $1`, p.ID, declines, code, retryUntil)
		if err != nil {
			return fmt.Errorf("checkout: mark declined %s: %w", p.ID, err)
		}
		p.Declines, p.DeclineCode, p.RetryUntil, p.Status = declines, code, &retryUntil, StatusRequiresPaymentMethod
		return nil
	})
	if errors.Is(err, errDuplicateEvent) {
		return ConfirmResult{Status: "duplicate"}, nil
	}
	if err != nil {
		return ConfirmResult{}, err
	}
	if recorded {
		s.recordDecline(ctx, p)
	}
	if released {
		s.seats.AfterCommit(ctx, out)
		// The intent is cancelled, so the page that still holds its client
		// secret cannot authorize it behind a payment settled as declined.
		if err := s.void(ctx, paymentID); err != nil {
			s.log.Warn("checkout: cancel of a declined intent failed; the reconciler retries", "payment", paymentID, "err", err)
		}
		return ConfirmResult{Status: StatusDeclined, DeclineCode: code}, nil
	}
	if !recorded {
		if p, err = payment(ctx, s.db, `p.id = $1`, false, paymentID); err != nil {
			return ConfirmResult{}, err
		}
		if res, done, err := s.settledResult(ctx, p); done {
			return res, err
		}
	}
	return s.openResult(p), nil
}

// DeclineRecorder is what the screen may also do: note each declined
// attempt, so a buyer who ran through cards is looked at before the order
// is confirmed (waitingroom.Service counts them for its review signals).
type DeclineRecorder interface {
	RecordDecline(ctx context.Context, eventID, accountID int64) error
}

// recordDecline tells the screen about a decline; a failure only weakens
// the signal.
func (s *Service) recordDecline(ctx context.Context, p Payment) {
	r, ok := s.cfg.Screen.(DeclineRecorder)
	if !ok {
		return
	}
	if err := r.RecordDecline(ctx, p.eventID, p.accountID); err != nil {
		s.log.Warn("checkout: record decline for review", "payment", p.ID, "err", err)
	}
}

// markStatus moves a payment to status when it is in one of from.
func (s *Service) markStatus(ctx context.Context, paymentID, status string, from []string) {
	_, err := s.db.Exec(ctx, `UPDATE payments SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3)`,
		paymentID, status, from)
	if err != nil {
		s.log.Error("checkout: mark payment", "payment", paymentID, "status", status, "err", err)
	}
}

// errDuplicateEvent aborts a transaction whose webhook event was applied.
var errDuplicateEvent = errors.New("checkout: duplicate webhook event")

// recordEvent records a webhook event in tx; false means it was already
// there (the caller must roll back). An empty id records nothing.
func recordEvent(ctx context.Context, tx pgx.Tx, id, typ string) (bool, error) {
	if id == "" {
		return true, nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO webhook_events (id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, typ)
	if err != nil {
		return false, fmt.Errorf("checkout: record webhook event: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, errDuplicateEvent
	}
	return true, nil
}

// settle finishes an authorized payment: one transaction (the node's
// conversion round, convert.go) converts the hold (fenced by hold id and
// seat versions), writes the order and tickets and enqueues the
// confirmation email and a capture job; after the commit the payment is
// captured. If the conversion cannot succeed (the hold was lost
// or released with its cancelled event, the resold ticket or listing is
// gone: any conflict), the authorization is voided, the hold released and
// the caller told why (ErrHoldLost, ErrEventCancelled): nobody pays for
// seats they did not get. An authorization that arrives for a payment
// already declined or cancelled is voided the same way. A
// purchase the screen flags is written the same way but under review: its
// seats sold, its tickets and capture held back (review.go).
func (s *Service) settle(ctx context.Context, paymentID string, in Intent, eventID string) (ConfirmResult, error) {
	// Authorized: an earlier attempt's decline no longer says anything.
	if _, err := s.db.Exec(ctx, `UPDATE payments SET status = 'authorized', decline_code = NULL, retry_until = NULL,
		updated_at = now() WHERE id = $1 AND status = ANY($2)`, paymentID, openBeforeAuth); err != nil {
		s.log.Error("checkout: mark authorized", "payment", paymentID, "err", err)
	}
	c := &conversion{paymentID: paymentID, webhookEvent: eventID, reasons: s.screen(ctx, paymentID)}
	if err := s.convert(ctx, c); err != nil {
		return ConfirmResult{}, err
	}
	switch err := c.err; {
	case c.duplicate:
		return ConfirmResult{Status: "duplicate"}, nil
	case errors.Is(err, seatmap.ErrHoldLost), apperr.KindOf(err) == apperr.Conflict:
		// The conversion cannot succeed (the hold is gone, the resold
		// ticket died, the event was cancelled): nobody pays for it.
		if !errors.Is(err, seatmap.ErrHoldLost) {
			s.log.Warn("checkout: conversion refused; voiding the payment", "payment", paymentID, "err", err)
		}
		c.lost = true
	case err != nil:
		return ConfirmResult{}, err
	}
	if c.recorded {
		eventID = "" // recorded with the conversion round
	}
	if c.lost {
		if _, err := s.abandon(ctx, paymentID, StatusVoiding, "", eventID); err != nil && !errors.Is(err, errDuplicateEvent) {
			return ConfirmResult{}, err
		}
		if err := s.void(ctx, paymentID); err != nil {
			s.log.Warn("checkout: void failed; the reconciler retries", "payment", paymentID, "err", err)
		}
		return ConfirmResult{}, s.endedError(ctx, paymentID)
	}
	if !c.already {
		s.log.Info("checkout: order written", "payment", paymentID, "order", c.orderID, "review", c.reasons)
		// The purchase is done: free the buyer's place among the active
		// shoppers. A failure only delays that until the admission expires.
		if s.cfg.Admissions != nil {
			if err := s.cfg.Admissions.Release(ctx, c.buyerEvent, c.buyer); err != nil {
				s.log.Warn("checkout: release admission", "event", c.buyerEvent, "account", c.buyer, "err", err)
			}
		}
	}
	if c.review {
		return ConfirmResult{Status: StatusReview, OrderID: c.orderID}, nil
	}
	var err error
	if !c.already && c.intentID != "" {
		// Just moved to capturing by this call: the intent is known.
		err = s.captureIntent(ctx, paymentID, c.intentID)
	} else {
		err = s.capture(ctx, paymentID)
	}
	if err != nil {
		s.log.Warn("checkout: capture failed; the capture job retries", "payment", paymentID, "err", err)
	}
	return ConfirmResult{Status: StatusSucceeded, OrderID: c.orderID}, nil
}

// confirmOrder moves a payment whose order is written to capturing and
// enqueues the order's confirmation email and the capture job (a safety
// net behind the capture right after the commit), inside tx.
func (s *Service) confirmOrder(ctx context.Context, tx pgx.Tx, paymentID, orderID string) error {
	var b pgx.Batch
	if err := s.queueConfirm(&b, paymentID, orderID); err != nil {
		return err
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("checkout: confirm order %s: %w", orderID, err)
	}
	return nil
}

// queueConfirm adds confirmOrder's statements to a batch.
func (s *Service) queueConfirm(b *pgx.Batch, paymentID, orderID string) error {
	b.Queue(`UPDATE payments SET status = 'capturing', updated_at = now() WHERE id = $1`, paymentID)
	if err := jobs.Queue(b, jobs.Job{Kind: JobConfirmation, DedupeKey: "confirmation:" + orderID,
		Payload: orderJob{OrderID: orderID}}); err != nil {
		return err
	}
	return jobs.Queue(b, jobs.Job{Kind: JobCapture, DedupeKey: "capture:" + paymentID,
		Payload: paymentJob{PaymentID: paymentID}, Delay: s.cfg.CaptureRetryDelay})
}

// abandon gives up a payment that is not yet converted: it moves to status
// (declined, canceled or voiding) and its hold is released at once. A
// payment already past that point is left alone.
func (s *Service) abandon(ctx context.Context, paymentID, status, declineCode, eventID string) (Payment, error) {
	var out seatmap.Outcome
	var p Payment
	changed := false
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		changed = false
		if _, err := recordEvent(ctx, tx, eventID, "payment_intent."+status); err != nil {
			return err
		}
		var err error
		p, err = payment(ctx, tx, `p.id = $1`, true, paymentID)
		if err != nil {
			return err
		}
		from := convertible
		if status == StatusCanceled {
			from = append([]string{StatusVoiding}, convertible...)
		}
		if !contains(from, p.Status) {
			return nil
		}
		if declineCode == "" {
			declineCode = p.DeclineCode // an earlier decline says why it ended
		}
		if status == StatusCanceled && declineCode != "" {
			status = StatusDeclined // a declined intent, now cancelled
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = $2, decline_code = nullif($3, ''), retry_until = NULL,
			updated_at = now() WHERE id = $1`, paymentID, status, declineCode); err != nil {
			return fmt.Errorf("checkout: mark %s: %w", status, err)
		}
		_, out, err = s.seats.FailPayment(ctx, tx, p.HoldID)
		changed = true
		return err
	})
	if err != nil {
		return Payment{}, err
	}
	if changed {
		s.seats.AfterCommit(ctx, out)
		p.Status, p.DeclineCode = status, declineCode
	}
	return p, nil
}

// abandonResult turns the payment abandon left into a confirmation result.
func (s *Service) abandonResult(ctx context.Context, p Payment, err error) (ConfirmResult, error) {
	if errors.Is(err, errDuplicateEvent) {
		return ConfirmResult{Status: "duplicate"}, nil
	}
	if err != nil {
		return ConfirmResult{}, err
	}
	if p.Status == StatusDeclined {
		return ConfirmResult{Status: StatusDeclined, DeclineCode: p.DeclineCode}, nil
	}
	res, done, err := s.settledResult(ctx, p)
	if !done {
		return ConfirmResult{Status: "processing"}, nil
	}
	return res, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// capture takes the money of a converted payment under the key
// capture:{payment}; it is a no-op once the payment succeeded.
func (s *Service) capture(ctx context.Context, paymentID string) error {
	p, err := payment(ctx, s.db, `p.id = $1`, false, paymentID)
	if err != nil {
		return err
	}
	if p.Status != StatusCapturing {
		return nil
	}
	return s.captureIntent(ctx, p.ID, p.intentID)
}

// captureIntent captures a capturing payment's intent and marks the
// payment succeeded.
func (s *Service) captureIntent(ctx context.Context, paymentID, intentID string) error {
	in, err := s.payments.Capture(ctx, intentID, "capture:"+paymentID)
	if errors.Is(err, ErrUnexpectedState) {
		// Someone captured it already (a lost reply, a retry): look.
		in, err = s.payments.Get(ctx, intentID)
	}
	if err != nil {
		return fmt.Errorf("checkout: capture %s: %w", paymentID, err)
	}
	if in.Status != IntentSucceeded {
		return fmt.Errorf("checkout: capture %s: intent is %s", paymentID, in.Status)
	}
	s.markStatus(ctx, paymentID, StatusSucceeded, []string{StatusCapturing})
	return nil
}

// void cancels the intent of a payment that must not be paid (status
// voiding: its hold was lost, its event cancelled, its deadline passed or
// its card declined), or refunds it if it was captured anyway. A declined
// payment then ends declined, any other canceled (or refunded). The
// provider call is idempotent; the reconciler retries a failure.
func (s *Service) void(ctx context.Context, paymentID string) error {
	p, err := payment(ctx, s.db, `p.id = $1`, false, paymentID)
	if err != nil {
		return err
	}
	if p.Status != StatusVoiding {
		return nil
	}
	if p.intentID == "" {
		// The create's reply may have been lost: replay it to learn the id
		// (a replay refused for its amount ends the payment: no intent).
		if err := s.createIntent(ctx, &p); errors.Is(err, ErrAmountRefused) {
			return nil
		} else if err != nil {
			return err
		}
	}
	final := StatusCanceled
	if p.DeclineCode != "" {
		final = StatusDeclined
	}
	in, err := s.payments.Cancel(ctx, p.intentID, "cancel:"+p.ID)
	if errors.Is(err, ErrUnexpectedState) {
		in, err = s.payments.Get(ctx, p.intentID)
	}
	if errors.Is(err, ErrIntentNotFound) {
		// The provider has no such intent (the test processor forgets
		// everything on restart): there is nothing to cancel.
		s.log.Warn("checkout: voided payment's intent is unknown to the provider", "payment", paymentID, "intent", p.intentID)
		in, err = Intent{Status: IntentCanceled}, nil
	}
	if err != nil {
		return fmt.Errorf("checkout: void %s: %w", paymentID, err)
	}
	if in.Status == IntentSucceeded {
		if err := s.refund(ctx, p, "", RefundHoldLost); err != nil {
			return fmt.Errorf("checkout: refund %s: %w", paymentID, err)
		}
		final = StatusRefunded
	} else if in.Status != IntentCanceled {
		return fmt.Errorf("checkout: void %s: intent is %s", paymentID, in.Status)
	}
	s.markStatus(ctx, paymentID, final, []string{StatusVoiding})
	s.log.Info("checkout: authorization voided", "payment", paymentID, "status", final)
	return nil
}
