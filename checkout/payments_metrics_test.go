package checkout_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/boxoffice/boxoffice/checkout"
)

// TestMeteredPayments: each provider call is counted once by operation and
// outcome.
func TestMeteredPayments(t *testing.T) {
	ctx := context.Background()
	proc := checkout.NewTestProcessor()
	reg := prometheus.NewPedanticRegistry()
	p := checkout.NewMeteredPayments(proc, reg)
	create := func(key string) checkout.Intent {
		t.Helper()
		in, err := p.Create(ctx, checkout.CreateParams{AmountCents: 4200, Currency: "eur", HoldID: key, PaymentID: key, IdempotencyKey: "c-" + key})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a, b, c := create("a"), create("b"), create("c")
	if _, err := p.Confirm(ctx, a.ID, checkout.Method{CardNumber: "4242424242424242"}, "k-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Confirm(ctx, b.ID, checkout.Method{CardNumber: "4000000000000002"}, "k-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Confirm(ctx, c.ID, checkout.Method{CardNumber: "4242424242424242"}, "k-c"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Capture(ctx, a.ID, "cap-a"); err != nil {
		t.Fatal(err)
	}
	if err := p.Refund(ctx, a.ID, 4200, "ref-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Cancel(ctx, c.ID, "can-c"); err != nil {
		t.Fatal(err)
	}
	proc.Inject("capture", checkout.FaultTimeout)
	if _, err := p.Capture(ctx, c.ID, "cap-c"); err == nil {
		t.Fatal("capture with a timeout fault: no error")
	}
	for _, tc := range []struct {
		op, outcome string
		want        float64
	}{
		{"create", checkout.OutcomeCreated, 3},
		{"confirm", checkout.OutcomeAuthorized, 2},
		{"confirm", checkout.OutcomeDeclined, 1},
		{"capture", checkout.OutcomeCaptured, 1},
		{"capture", checkout.OutcomeUnknown, 1},
		{"refund", checkout.OutcomeRefunded, 1},
		{"cancel", checkout.OutcomeVoided, 1},
	} {
		c, err := counterOf(reg, "test", tc.op, tc.outcome)
		if err != nil || c != tc.want {
			t.Errorf("boxoffice_payments_total{op=%q,outcome=%q} = %v (%v), want %v", tc.op, tc.outcome, c, err, tc.want)
		}
	}
	if n := testutil.CollectAndCount(reg, "boxoffice_payments_total"); n != 7 {
		t.Errorf("%d series, want 7", n)
	}
}

func counterOf(g prometheus.Gatherer, labels ...string) (float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := m.GetLabel() // sorted by name: op, outcome, provider
			if l[2].GetValue() == labels[0] && l[0].GetValue() == labels[1] && l[1].GetValue() == labels[2] {
				return m.GetCounter().GetValue(), nil
			}
		}
	}
	return 0, nil
}
