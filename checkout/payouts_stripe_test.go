package checkout_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/testkit"
)

// TestPayoutStripeConnect runs a resale seller's payout through Stripe
// Connect against stripe-mock (behind testkit.StripeConnect, which keeps
// Stripe's idempotency and can lose a reply): listing is refused until
// alice connected an Express account and finished onboarding; her payout
// is then transferred to that account with the key payout:{id}. The first
// transfer's reply is lost and the job runs three more times: Stripe
// created one transfer of 1800 cents.
func TestPayoutStripeConnect(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	mock := testkit.NewStripeConnect(t)
	sp := checkout.NewStripePayments(checkout.StripeConfig{SecretKey: "sk_test_123", APIBase: mock.URL, NoRetries: true})
	svc := checkout.New(f.db, f.seats, sp, nil, nil, checkout.Config{SecretKey: testKey, PayoutDelay: time.Millisecond,
		BaseURL: "https://tickets.example"})
	ctx := context.Background()
	alice, bob := f.account("alice"), f.account("bob")
	buy := func(acct int64, holdID string) string {
		t.Helper()
		p := must(svc.Checkout(ctx, acct, holdID, nil))(t)
		res := must(svc.Confirm(ctx, acct, p.ID, checkout.Method{PaymentMethod: "pm_card_visa"}))(t)
		if res.OrderID == "" {
			t.Fatalf("purchase did not convert: %+v", res)
		}
		return res.OrderID
	}
	ticket := f.ticketOf(buy(alice, f.hold(alice, 0).ID))

	if _, err := svc.ListTicket(ctx, alice, ticket, 2000); !errors.Is(err, checkout.ErrPayoutAccountRequired) {
		t.Fatalf("listing without a payout account: %v, want ErrPayoutAccountRequired", err)
	}
	conn := must(svc.ConnectPayouts(ctx, alice))(t)
	if u, err := url.Parse(conn.URL); err != nil || u.Scheme != "https" || conn.Account.Status != checkout.PayoutAccountOnboarding {
		t.Errorf("connect = %+v, want an onboarding link", conn)
	}
	again := must(svc.ConnectPayouts(ctx, alice))(t)
	if n := mock.Created("/v1/accounts"); n != 1 || again.Account.Status != checkout.PayoutAccountOnboarding {
		t.Errorf("two connects made %d accounts (status %s), want 1", n, again.Account.Status)
	}
	acctReq := mock.Requests("/v1/accounts")[0]
	form, _ := url.ParseQuery(acctReq.Body)
	if form.Get("type") != "express" || form.Get("capabilities[transfers][requested]") != "true" ||
		acctReq.IdempotencyKey != "payout_account:"+itoa(alice) {
		t.Errorf("account request = %+v", acctReq)
	}
	links := mock.Requests("/v1/account_links")
	if len(links) == 0 {
		t.Fatal("no account link was made")
	}
	form, _ = url.ParseQuery(links[0].Body)
	if form.Get("type") != "account_onboarding" || form.Get("return_url") != "https://tickets.example/tickets?payouts=connected" {
		t.Errorf("account link request = %v", form)
	}
	if _, err := svc.ListTicket(ctx, alice, ticket, 2000); !errors.Is(err, checkout.ErrPayoutAccountRequired) {
		t.Fatalf("listing before onboarding finished: %v, want ErrPayoutAccountRequired", err)
	}

	mock.Onboard()
	if st := must(svc.Payouts(ctx, alice))(t).Account.Status; st != checkout.PayoutAccountActive {
		t.Fatalf("payout account is %s after onboarding, want active", st)
	}
	l := must(svc.ListTicket(ctx, alice, ticket, 2000))(t)
	h := must(svc.HoldListing(ctx, bob, l.ID))(t)
	buy(bob, h.ID)
	var payoutID, destination string
	if err := f.db.QueryRow(ctx, `SELECT po.id, pa.provider_account_id FROM payouts po
		JOIN payout_accounts pa ON pa.account_id = po.seller_account_id WHERE po.listing_id = $1`, l.ID).Scan(&payoutID, &destination); err != nil {
		t.Fatal(err)
	}

	mock.LoseNextReply("/v1/transfers")
	if err := svc.PayOut(ctx, payoutID); !errors.Is(err, checkout.ErrUnknownOutcome) {
		t.Fatalf("pay out with the reply lost: %v, want ErrUnknownOutcome", err)
	}
	if st, _, _ := f.payout(payoutID); st != checkout.PayoutTransferring {
		t.Fatalf("payout is %s after the lost reply, want transferring", st)
	}
	for range 2 {
		if err := svc.PayOut(ctx, payoutID); err != nil {
			t.Fatalf("pay out again: %v", err)
		}
	}
	time.Sleep(2 * time.Millisecond)
	f.drainJobs(svc.RegisterJobs)

	if n := mock.Created("/v1/transfers"); n != 1 {
		t.Errorf("Stripe created %d transfers, want 1", n)
	}
	reqs := mock.Requests("/v1/transfers")
	if len(reqs) != 2 {
		t.Errorf("%d transfer requests, want 2 (the lost one and its replay)", len(reqs))
	}
	for _, r := range reqs {
		form, _ := url.ParseQuery(r.Body)
		if r.IdempotencyKey != "payout:"+payoutID || form.Get("amount") != "1800" || form.Get("currency") != "usd" ||
			form.Get("destination") != destination || form.Get("metadata[payout_id]") != payoutID {
			t.Errorf("transfer request = %+v", r)
		}
	}
	if st, _, transfer := f.payout(payoutID); st != checkout.PayoutPaid || transfer == "" {
		t.Errorf("payout %s, transfer %q; want paid with a transfer", st, transfer)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
