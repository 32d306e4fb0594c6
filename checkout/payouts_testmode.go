package checkout

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

var _ Payouts = (*TestProcessor)(nil)

// CreatePayoutAccount implements Payouts: a simulated connected account,
// ready at once (there is nobody to onboard with).
func (p *TestProcessor) CreatePayoutAccount(_ context.Context, a PayoutAccountParams) (string, error) {
	in, err := p.idempotent("account", a.IdempotencyKey, a.AccountRef, func() (Intent, error) {
		return Intent{ID: "acct_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]}, nil
	})
	return in.ID, err
}

// OnboardingLink implements Payouts: the app's own return page, since a
// simulated account needs no onboarding.
func (*TestProcessor) OnboardingLink(_ context.Context, _, _, returnURL string) (string, error) {
	return returnURL, nil
}

// PayoutsEnabled implements Payouts: every simulated account is.
func (*TestProcessor) PayoutsEnabled(_ context.Context, providerAccount string) (bool, error) {
	return strings.HasPrefix(providerAccount, "acct_test_"), nil
}

// Transfer implements Payouts with the processor's idempotency rules and
// faults (operation "transfer").
func (p *TestProcessor) Transfer(_ context.Context, t TransferParams) (string, error) {
	params := fmt.Sprintf("%d|%s|%s", t.AmountCents, t.Currency, t.Destination)
	in, err := p.idempotent("transfer", t.IdempotencyKey, params, func() (Intent, error) {
		if t.AmountCents <= 0 || !strings.HasPrefix(t.Destination, "acct_test_") {
			return Intent{}, ErrUnexpectedState.With("detail", "no such destination, or nothing to transfer")
		}
		p.mu.Lock()
		p.stats.Transfers++
		p.stats.TransferredCents += t.AmountCents
		p.mu.Unlock()
		return Intent{ID: "tr_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16], AmountCents: t.AmountCents}, nil
	})
	return in.ID, err
}
