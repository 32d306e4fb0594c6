package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Seller payouts: a resale writes the seller's payout row (recordPayout)
// and schedules a JobPayout for when it is due (Config.PayoutDelay). The
// job moves the row pending → transferring in a short transaction, asks
// the provider for the transfer under the key payout:{id} (payout:{id}:{n}
// after n refusals) and records paid, or failed on a definite refusal;
// a reply that never came leaves it transferring, and the retry repeats
// the same key, so the provider replays the first transfer instead of
// making a second. The destination is fixed on the row when it first
// moves to transferring, so a retry never asks with other parameters.
//
// A cancelled event voids every payout not in flight (CancelEvent); one in
// flight finishes first, and the refund of the order its ticket came from
// waits for it (errPayoutInFlight), since the refund deducts what was paid.

// Payouts is the provider side of paying resale sellers, on Stripe
// Connect's model: a connected account per seller, onboarded on the
// provider's page, and transfers from the platform's balance to it.
// StripePayments (Connect Express) and TestProcessor (simulated accounts,
// ready at once) implement it.
type Payouts interface {
	// CreatePayoutAccount creates the seller's connected account.
	CreatePayoutAccount(ctx context.Context, a PayoutAccountParams) (string, error)
	// OnboardingLink returns the page where the seller gives the provider
	// their details; the provider sends them back to returnURL.
	OnboardingLink(ctx context.Context, providerAccount, refreshURL, returnURL string) (string, error)
	// PayoutsEnabled reports whether the account can receive money.
	PayoutsEnabled(ctx context.Context, providerAccount string) (bool, error)
	// Transfer sends money to a connected account and returns the
	// transfer's id.
	Transfer(ctx context.Context, t TransferParams) (string, error)
}

// PayoutAccountParams describes a seller's new connected account.
type PayoutAccountParams struct {
	// AccountRef is the Boxoffice account id, kept in the provider's
	// metadata.
	AccountRef     string
	Email          string
	IdempotencyKey string
}

// TransferParams describes one payout's transfer.
type TransferParams struct {
	AmountCents    int64
	Currency       string
	Destination    string
	PayoutID       string
	Group          string
	IdempotencyKey string
}

// JobPayout transfers one payout to its seller.
const JobPayout = "checkout.payout"

type payoutJob struct {
	PayoutID string `json:"payout_id"`
}

// Payout statuses (the payouts table).
const (
	PayoutPending      = "pending"
	PayoutTransferring = "transferring"
	PayoutPaid         = "paid"
	PayoutFailed       = "failed"
	PayoutVoid         = "void"
)

// Payout account statuses (the payout_accounts table, and "none").
const (
	PayoutAccountNone       = "none"
	PayoutAccountOnboarding = "onboarding"
	PayoutAccountActive     = "active"
)

// Errors of payouts.
var (
	ErrPayoutAccountRequired = apperr.E(apperr.Conflict, "payout_account_required",
		"connect a payout account before listing a ticket for resale (POST /api/account/payouts/connect), and finish its onboarding")
	ErrPayoutsUnavailable = apperr.E(apperr.Unavailable, "payouts_unavailable", "the payment provider in use cannot pay sellers")
	// errBuyerNotCharged keeps a payout waiting until the buyer's payment
	// is captured: a seller is never paid with money not yet taken. The
	// payout job tries again; it is a state, not a fault (409, not 500).
	errBuyerNotCharged = apperr.E(apperr.Conflict, "buyer_not_charged",
		"the resale buyer's payment is not captured yet; the payout waits for it")
	// errPayoutInFlight keeps a refund waiting while a payout it must
	// deduct is being transferred.
	errPayoutInFlight = errors.New("checkout: a resale payout of the order is being transferred; the refund waits for its outcome")
)

// PayoutAccount is a seller's payout account as the API shows it.
type PayoutAccount struct {
	// Status is none (not connected), onboarding (connected, the
	// provider still needs details) or active (payouts are made).
	Status   string `json:"status"`
	Provider string `json:"provider,omitempty"`
}

// PayoutConnect is the answer to a connect: where to send the seller.
type PayoutConnect struct {
	URL     string        `json:"url"`
	Account PayoutAccount `json:"account"`
}

// SellerPayout is one payout as its seller sees it.
type SellerPayout struct {
	ID         string     `json:"id"`
	ListingID  string     `json:"listing_id"`
	Event      string     `json:"event"`
	EventName  string     `json:"event_name"`
	GrossCents int64      `json:"gross_cents"`
	FeeCents   int64      `json:"fee_cents"`
	NetCents   int64      `json:"net_cents"`
	Currency   string     `json:"currency"`
	Status     string     `json:"status"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	PaidAt     *time.Time `json:"paid_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// SellerPayouts is a seller's payout account and payouts, newest first.
type SellerPayouts struct {
	Account PayoutAccount  `json:"account"`
	Payouts []SellerPayout `json:"payouts"`
}

// payoutProvider is the provider's payout side, or ErrPayoutsUnavailable.
func (s *Service) payoutProvider() (Payouts, error) {
	if po, ok := s.payments.(Payouts); ok {
		return po, nil
	}
	return nil, ErrPayoutsUnavailable
}

// ConnectPayouts connects the account's payout account (once; a repeat
// reuses it) and returns where to send the seller: the provider's
// onboarding page, or, when nothing is left to do (an active account, or
// the test processor's simulated one), the app's own return page.
func (s *Service) ConnectPayouts(ctx context.Context, accountID int64) (PayoutConnect, error) {
	po, err := s.payoutProvider()
	if err != nil {
		return PayoutConnect{}, err
	}
	acct, providerID, err := s.ensurePayoutAccount(ctx, po, accountID)
	if err != nil {
		return PayoutConnect{}, err
	}
	base := strings.TrimRight(s.cfg.BaseURL, "/")
	ret := base + "/tickets?payouts=connected"
	if acct.Status == PayoutAccountActive {
		return PayoutConnect{URL: ret, Account: acct}, nil
	}
	url, err := po.OnboardingLink(ctx, providerID, base+"/tickets?payouts=refresh", ret)
	if err != nil {
		return PayoutConnect{}, fmt.Errorf("checkout: onboarding link of %d: %w", accountID, err)
	}
	return PayoutConnect{URL: url, Account: acct}, nil
}

// ensurePayoutAccount returns the account's payout account, creating it
// at the provider first if there is none. The provider call carries the
// key payout_account:{account}, so two connects at once (or a retry after
// a lost reply) make one account, and the row keeps the first.
func (s *Service) ensurePayoutAccount(ctx context.Context, po Payouts, accountID int64) (PayoutAccount, string, error) {
	acct, providerID, err := s.payoutAccount(ctx, accountID)
	if err != nil || acct.Status != PayoutAccountNone {
		return acct, providerID, err
	}
	var email string
	if err := s.db.QueryRow(ctx, `SELECT email FROM accounts WHERE id = $1`, accountID).Scan(&email); err != nil {
		return PayoutAccount{}, "", fmt.Errorf("checkout: account %d: %w", accountID, err)
	}
	id, err := po.CreatePayoutAccount(ctx, PayoutAccountParams{AccountRef: fmt.Sprint(accountID), Email: email,
		IdempotencyKey: fmt.Sprintf("payout_account:%d", accountID)})
	if err != nil {
		return PayoutAccount{}, "", fmt.Errorf("checkout: payout account of %d: %w", accountID, err)
	}
	status := PayoutAccountOnboarding
	if s.payments.Provider() == "test" {
		status = PayoutAccountActive // simulated: nothing to onboard
	}
	if _, err := s.db.Exec(ctx, `
		INSERT INTO payout_accounts (account_id, provider, provider_account_id, status) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id) DO NOTHING`, accountID, s.payments.Provider(), id, status); err != nil {
		return PayoutAccount{}, "", fmt.Errorf("checkout: record payout account of %d: %w", accountID, err)
	}
	return s.payoutAccount(ctx, accountID)
}

// payoutAccount reads the account's payout account; one still onboarding
// is asked about at the provider and recorded active once it is.
func (s *Service) payoutAccount(ctx context.Context, accountID int64) (PayoutAccount, string, error) {
	var a PayoutAccount
	var providerID string
	err := s.db.QueryRow(ctx, `SELECT provider, provider_account_id, status FROM payout_accounts WHERE account_id = $1`, accountID).
		Scan(&a.Provider, &providerID, &a.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return PayoutAccount{Status: PayoutAccountNone}, "", nil
	}
	if err != nil {
		return PayoutAccount{}, "", fmt.Errorf("checkout: payout account of %d: %w", accountID, err)
	}
	if a.Status != PayoutAccountOnboarding {
		return a, providerID, nil
	}
	po, err := s.payoutProvider()
	if err != nil {
		return a, providerID, nil
	}
	enabled, err := po.PayoutsEnabled(ctx, providerID)
	if err != nil {
		return PayoutAccount{}, "", fmt.Errorf("checkout: payout account status of %d: %w", accountID, err)
	}
	if enabled {
		if _, err := s.db.Exec(ctx, `UPDATE payout_accounts SET status = 'active', updated_at = now() WHERE account_id = $1`,
			accountID); err != nil {
			return PayoutAccount{}, "", fmt.Errorf("checkout: activate payout account of %d: %w", accountID, err)
		}
		a.Status = PayoutAccountActive
	}
	return a, providerID, nil
}

// Payouts returns the account's payout account and its payouts.
func (s *Service) Payouts(ctx context.Context, accountID int64) (SellerPayouts, error) {
	a, _, err := s.payoutAccount(ctx, accountID)
	if err != nil {
		return SellerPayouts{}, err
	}
	rows, err := s.db.Query(ctx, `
		SELECT po.id::text, po.listing_id::text, po.event_id::text, e.name, po.gross_cents, po.fee_cents, po.net_cents,
		       po.currency, po.status, po.due_at, po.paid_at, po.created_at
		FROM payouts po JOIN events e ON e.id = po.event_id
		WHERE po.seller_account_id = $1 ORDER BY po.created_at DESC, po.id LIMIT 500`, accountID)
	if err != nil {
		return SellerPayouts{}, fmt.Errorf("checkout: payouts of %d: %w", accountID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SellerPayout, error) {
		var p SellerPayout
		err := r.Scan(&p.ID, &p.ListingID, &p.Event, &p.EventName, &p.GrossCents, &p.FeeCents, &p.NetCents,
			&p.Currency, &p.Status, &p.DueAt, &p.PaidAt, &p.CreatedAt)
		return p, err
	})
	if err != nil {
		return SellerPayouts{}, fmt.Errorf("checkout: payouts of %d: %w", accountID, err)
	}
	if list == nil {
		list = []SellerPayout{}
	}
	return SellerPayouts{Account: a, Payouts: list}, nil
}

// EventPayout is a seller payout as the organizer follows it: the
// seller's payout, who the seller is, the resale order that earned it and
// how its transfer went (attempts, the last error while it fails).
type EventPayout struct {
	SellerPayout
	SellerEmail string `json:"seller_email"`
	OrderID     string `json:"order_id"`
	Attempts    int    `json:"attempts"`
	LastError   string `json:"last_error,omitempty"`
}

// EventPayouts lists an event's seller payouts, newest first (at most
// 500; the payouts export has them all), or ErrEventNotFound.
func (s *Service) EventPayouts(ctx context.Context, eventID int64) ([]EventPayout, error) {
	rows, err := s.db.Query(ctx, `
		SELECT po.id::text, po.listing_id::text, po.event_id::text, e.name, po.gross_cents, po.fee_cents, po.net_cents,
		       po.currency, po.status, po.due_at, po.paid_at, po.created_at, a.email, po.order_id::text, po.attempts,
		       coalesce(po.last_error, '')
		FROM payouts po JOIN events e ON e.id = po.event_id JOIN accounts a ON a.id = po.seller_account_id
		WHERE po.event_id = $1 ORDER BY po.created_at DESC, po.id LIMIT 500`, eventID)
	if err != nil {
		return nil, fmt.Errorf("checkout: payouts of event %d: %w", eventID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventPayout, error) {
		var p EventPayout
		err := r.Scan(&p.ID, &p.ListingID, &p.Event, &p.EventName, &p.GrossCents, &p.FeeCents, &p.NetCents,
			&p.Currency, &p.Status, &p.DueAt, &p.PaidAt, &p.CreatedAt, &p.SellerEmail, &p.OrderID, &p.Attempts, &p.LastError)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("checkout: payouts of event %d: %w", eventID, err)
	}
	if len(list) > 0 {
		return list, nil
	}
	// None: an event without resales, or no event.
	var exists bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)`, eventID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("checkout: payouts of event %d: %w", eventID, err)
	}
	if !exists {
		return nil, seatmap.ErrEventNotFound
	}
	return []EventPayout{}, nil
}

// requirePayoutAccount refuses a listing by a seller who could not be
// paid. With Stripe the seller must have connected an account and
// finished onboarding (ErrPayoutAccountRequired); the test processor
// connects a simulated account on the spot, so the resale flow runs
// without any setup.
func (s *Service) requirePayoutAccount(ctx context.Context, accountID int64) error {
	po, err := s.payoutProvider()
	if err != nil {
		return nil // a provider that cannot pay: payouts stay pending for the operator
	}
	if s.payments.Provider() == "test" {
		_, _, err := s.ensurePayoutAccount(ctx, po, accountID)
		return err
	}
	a, _, err := s.payoutAccount(ctx, accountID)
	if err != nil {
		return err
	}
	if a.Status != PayoutAccountActive {
		return ErrPayoutAccountRequired.With("payout_account", a.Status)
	}
	return nil
}

// schedulePayout sets when a new payout is due and enqueues its job, in
// the conversion transaction: Config.PayoutDelay after the sale, or by
// default a day after the event's date, when the show has happened.
func (s *Service) schedulePayout(ctx context.Context, tx pgx.Tx, payoutID string) error {
	var due time.Time
	err := tx.QueryRow(ctx, `
		UPDATE payouts po SET due_at = CASE WHEN $2::float8 > 0 THEN now() + make_interval(secs => $2)
		                                    ELSE e.event_date + interval '1 day' END
		FROM events e WHERE e.id = po.event_id AND po.id = $1 RETURNING po.due_at`,
		payoutID, s.cfg.PayoutDelay.Seconds()).Scan(&due)
	if err != nil {
		return fmt.Errorf("checkout: schedule payout %s: %w", payoutID, err)
	}
	_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobPayout, DedupeKey: "payout:" + payoutID,
		Payload: payoutJob{PayoutID: payoutID}, At: due})
	return err
}

// registerPayouts adds the payout job's handler to r. Money owed to a
// seller is never given up on: a failing payout is retried until it is
// paid (or voided by a cancellation) and shows as failing meanwhile.
func (s *Service) registerPayouts(r *jobs.Runner) {
	r.Register(JobPayout, func(ctx context.Context, raw json.RawMessage) error {
		var j payoutJob
		if err := json.Unmarshal(raw, &j); err != nil {
			return err
		}
		return s.PayOut(ctx, j.PayoutID)
	}, jobs.RetryForever)
}

// payoutClaim is what PayOut needs of a payout once it is in flight.
type payoutClaim struct {
	status, destination, currency string
	seller, eventID               int64
	net                           int64
	attempts                      int
}

// PayOut transfers a payout's net to its seller, once however often it
// runs (see the top of this file). A payout already paid or void is
// skipped; one whose buyer's payment is not captured yet, or whose seller
// has no active payout account, waits.
func (s *Service) PayOut(ctx context.Context, payoutID string) error {
	po, err := s.payoutProvider()
	if err != nil {
		return err
	}
	var c payoutClaim
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var cancelled, captured bool
		var dest, connected, accountStatus *string
		err := tx.QueryRow(ctx, `
			SELECT po.status, po.destination, po.currency, po.seller_account_id, po.event_id, po.net_cents, po.attempts,
			       e.status = 'cancelled', p.status = 'succeeded', pa.provider_account_id, pa.status
			FROM payouts po JOIN events e ON e.id = po.event_id
			JOIN orders o ON o.id = po.order_id JOIN payments p ON p.id = o.payment_id
			LEFT JOIN payout_accounts pa ON pa.account_id = po.seller_account_id
			WHERE po.id = $1 FOR UPDATE OF po`, payoutID).
			Scan(&c.status, &dest, &c.currency, &c.seller, &c.eventID, &c.net, &c.attempts, &cancelled, &captured,
				&connected, &accountStatus)
		if err != nil {
			return fmt.Errorf("checkout: payout %s: %w", payoutID, err)
		}
		switch {
		case c.status == PayoutTransferring:
			// In flight: the retry repeats the same request.
			c.destination = *dest
			return nil
		case c.status != PayoutPending && c.status != PayoutFailed:
			return nil
		case cancelled:
			c.status = PayoutVoid
			_, err := tx.Exec(ctx, `UPDATE payouts SET status = 'void' WHERE id = $1`, payoutID)
			return err
		case !captured:
			return errBuyerNotCharged
		case accountStatus == nil || *accountStatus != PayoutAccountActive:
			return ErrPayoutAccountRequired.With("payout", payoutID)
		}
		c.status, c.destination = PayoutTransferring, *connected
		_, err = tx.Exec(ctx, `UPDATE payouts SET status = 'transferring', destination = $2 WHERE id = $1`, payoutID, c.destination)
		return err
	})
	if err != nil || c.status != PayoutTransferring {
		return err
	}
	key := "payout:" + payoutID
	if c.attempts > 0 {
		key = fmt.Sprintf("payout:%s:%d", payoutID, c.attempts)
	}
	transferID, err := po.Transfer(ctx, TransferParams{AmountCents: c.net, Currency: c.currency, Destination: c.destination,
		PayoutID: payoutID, Group: fmt.Sprintf("event_%d", c.eventID), IdempotencyKey: key})
	if isUnknown(err) {
		return fmt.Errorf("checkout: transfer of payout %s: %w", payoutID, err) // stays transferring
	}
	if err != nil {
		// A definite refusal: nothing was sent. Retried under a new key
		// (the provider keeps its answer under the old one), unless the
		// event was cancelled meanwhile: then it is void.
		if _, uerr := s.db.Exec(ctx, `
			UPDATE payouts po SET status = CASE WHEN e.status = 'cancelled' THEN 'void' ELSE 'failed' END,
			       attempts = attempts + 1, last_error = $2
			FROM events e WHERE e.id = po.event_id AND po.id = $1 AND po.status = 'transferring'`, payoutID, err.Error()); uerr != nil {
			s.log.Error("checkout: record a refused payout", "payout", payoutID, "err", uerr)
		}
		return fmt.Errorf("checkout: transfer of payout %s: %w", payoutID, err)
	}
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE payouts SET status = 'paid', transfer_id = $2, paid_at = now(), last_error = NULL
			WHERE id = $1 AND status = 'transferring'`, payoutID, transferID)
		if err != nil || tag.RowsAffected() == 0 {
			return err // recorded by an earlier run
		}
		s.log.Info("checkout: payout paid", "payout", payoutID, "transfer", transferID, "net_cents", c.net)
		cur := strings.ToUpper(c.currency)
		return enqueueNotice(ctx, tx, c.seller, "payout-paid-"+payoutID, "Your resale payout was sent",
			fmt.Sprintf("We sent your resale payout of %s %s to your payout account.\n\nTransfer: %s\n", cents(c.net), cur, transferID))
	})
}

// payoutInFlight reports a refund that must wait: a payout for a ticket
// of the order is being transferred, and the refund deducts what it pays.
func payoutInFlight(ctx context.Context, q pg.Querier, orderID string) error {
	var n int
	err := q.QueryRow(ctx, `
		SELECT count(*) FROM payouts po JOIN listings l ON l.id = po.listing_id JOIN tickets t ON t.id = l.ticket_id
		WHERE t.order_id = $1 AND po.status = 'transferring'`, orderID).Scan(&n)
	if err != nil {
		return fmt.Errorf("checkout: payouts in flight of order %s: %w", orderID, err)
	}
	if n > 0 {
		return errPayoutInFlight
	}
	return nil
}
