package checkout

import (
	"context"

	"github.com/stripe/stripe-go/v76"
)

var _ Payouts = (*StripePayments)(nil)

// CreatePayoutAccount implements Payouts: an Express connected account
// that may receive transfers. The key makes a retried connect reuse the
// account the first call made.
func (s *StripePayments) CreatePayoutAccount(ctx context.Context, a PayoutAccountParams) (string, error) {
	params := &stripe.AccountParams{
		Type:  stripe.String(string(stripe.AccountTypeExpress)),
		Email: stripe.String(a.Email),
		Capabilities: &stripe.AccountCapabilitiesParams{
			Transfers: &stripe.AccountCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
	}
	params.Context = ctx
	params.AddMetadata("account_id", a.AccountRef)
	params.SetIdempotencyKey(a.IdempotencyKey)
	acct, err := s.api.Accounts.New(params)
	if _, err = intentOf(nil, err); err != nil {
		return "", err
	}
	return acct.ID, nil
}

// OnboardingLink implements Payouts: a one-time Stripe-hosted onboarding
// page for the account.
func (s *StripePayments) OnboardingLink(ctx context.Context, providerAccount, refreshURL, returnURL string) (string, error) {
	params := &stripe.AccountLinkParams{
		Account:    stripe.String(providerAccount),
		RefreshURL: stripe.String(refreshURL),
		ReturnURL:  stripe.String(returnURL),
		Type:       stripe.String(string(stripe.AccountLinkTypeAccountOnboarding)),
	}
	params.Context = ctx
	link, err := s.api.AccountLinks.New(params)
	if _, err = intentOf(nil, err); err != nil {
		return "", err
	}
	return link.URL, nil
}

// PayoutsEnabled implements Payouts: whether Stripe lets the account
// receive money (onboarding finished and checked).
func (s *StripePayments) PayoutsEnabled(ctx context.Context, providerAccount string) (bool, error) {
	params := &stripe.AccountParams{}
	params.Context = ctx
	acct, err := s.api.Accounts.GetByID(providerAccount, params)
	if _, err = intentOf(nil, err); err != nil {
		return false, err
	}
	return acct.PayoutsEnabled, nil
}

// Transfer implements Payouts: money from the platform's balance to the
// connected account, under the payout's idempotency key.
func (s *StripePayments) Transfer(ctx context.Context, t TransferParams) (string, error) {
	params := &stripe.TransferParams{
		Amount:        stripe.Int64(t.AmountCents),
		Currency:      stripe.String(t.Currency),
		Destination:   stripe.String(t.Destination),
		TransferGroup: stripe.String(t.Group),
	}
	params.Context = ctx
	params.AddMetadata("payout_id", t.PayoutID)
	params.SetIdempotencyKey(t.IdempotencyKey)
	tr, err := s.api.Transfers.New(params)
	if _, err = intentOf(nil, err); err != nil {
		return "", err
	}
	return tr.ID, nil
}
