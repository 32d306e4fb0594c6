package checkout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/jackc/pgx/v5"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// organizer makes a fresh organizer and gives it the fixture's event.
func (f *fixture) organizer(name string) checkout.Organizer {
	f.t.Helper()
	ctx := context.Background()
	o := must(f.svc.CreateOrganizer(ctx, checkout.OrganizerSettings{Name: name + " " + testkit.RandomHex(3),
		Address: "1 Main Street\nSpringfield", TaxID: "VAT-" + testkit.RandomHex(4)}))(f.t)
	if err := f.svc.SetEventOrganizer(ctx, f.event, o.ID); err != nil {
		f.t.Fatal(err)
	}
	return o
}

// receiptNumbers returns an organizer's receipt numbers, in order.
func (f *fixture) receiptNumbers(organizer int64) []int64 {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT receipt_number FROM orders WHERE organizer_id = $1 ORDER BY 1`, organizer)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestReceiptNumbersGapless: two organizers sell at once, 24 purchases
// each, all concurrent; a third of them crash just before their
// conversion commits (the transaction that took a receipt number rolls
// back) and are converted later by the reconciler, and some fans are
// declined. Each paid order's receipt is then issued three times at once.
// Each organizer's receipts are numbered 1..n with n its paid orders: no
// gap, no repeat, and each order has one.
func TestReceiptNumbersGapless(t *testing.T) {
	const perOrganizer = 24
	ctx := context.Background()
	type side struct {
		f   *fixture
		org checkout.Organizer
	}
	var sides []side
	for _, name := range []string{"North Hall", "South Hall"} {
		var mu sync.Mutex
		crashed := map[string]bool{}
		n := 0
		hooks := &checkout.Hooks{BeforeConvertCommit: func(paymentID string) error {
			mu.Lock()
			defer mu.Unlock()
			n++
			if n%3 == 0 && !crashed[paymentID] {
				crashed[paymentID] = true
				return errCrash
			}
			return nil
		}}
		f := newFixtureSeats(t, checkout.Config{Hooks: hooks}, perOrganizer)
		if len(sides) > 0 {
			// One processor for both, so the reconciler finds every intent.
			f.proc = sides[0].f.proc
			f.svc = checkout.New(f.db, f.seats, f.proc, nil, nil, checkout.Config{SecretKey: testKey, Hooks: hooks})
		}
		sides = append(sides, side{f, f.organizer(name)})
	}
	var wg sync.WaitGroup
	for _, s := range sides {
		for i := range perOrganizer {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fan := s.f.account("fan")
				h, err := s.f.seats.Hold(ctx, seatmap.HoldRequest{EventID: s.f.event, AccountID: fan, SeatIDs: []int64{s.f.ids[i]}})
				if err != nil {
					t.Errorf("hold: %v", err)
					return
				}
				p, err := s.f.svc.Checkout(ctx, fan, h.ID, nil)
				if err != nil {
					t.Errorf("checkout: %v", err)
					return
				}
				card := visa()
				if i%7 == 0 {
					card = checkout.Method{CardNumber: "4000 0000 0000 0002"}
				}
				if _, err := s.f.svc.Confirm(ctx, fan, p.ID, card); err != nil && !errors.Is(err, errCrash) {
					t.Errorf("confirm: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	time.Sleep(5 * time.Millisecond)
	reconcileAll(t, sides[0].f.restart(checkout.Config{}))
	// Receipts are numbered when first issued: every paid order's, by
	// three issuers at once (the email and the fan racing).
	for _, s := range sides {
		rows, err := s.f.db.Query(ctx, `SELECT id::text, account_id FROM orders WHERE event_id = $1 AND status = 'paid'`, s.f.event)
		if err != nil {
			t.Fatal(err)
		}
		paid, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
			ID   string
			Acct int64
		}])
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range paid {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.f.svc.Receipt(ctx, o.Acct, o.ID); err != nil {
						t.Errorf("receipt of %s: %v", o.ID, err)
					}
				}()
			}
		}
	}
	wg.Wait()
	for _, s := range sides {
		paid := s.f.count(`SELECT count(*) FROM orders WHERE event_id = $1 AND status = 'paid'`, s.f.event)
		declined := perOrganizer / 7
		if perOrganizer%7 != 0 {
			declined++
		}
		if paid != perOrganizer-declined {
			t.Errorf("%s: %d paid orders, want %d", s.org.Name, paid, perOrganizer-declined)
		}
		got := s.f.receiptNumbers(s.org.ID)
		if len(got) != paid {
			t.Errorf("%s: %d receipt numbers for %d paid orders", s.org.Name, len(got), paid)
		}
		for i, n := range got {
			if n != int64(i+1) {
				t.Errorf("%s: receipt numbers %v, want 1..%d without a gap", s.org.Name, got, paid)
				break
			}
		}
	}
}

// TestReceiptPDF: the receipt names the organizer as it was when the order
// was paid (a later change of its details does not rewrite it), its
// number and the money's parts (face, ticket fees, tax, total); another
// fan asking for it gets ErrOrderNotFound; and the confirmation email
// carries it as a second attachment.
func TestReceiptPDF(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	dir := t.TempDir()
	f.svc = checkout.New(f.db, f.seats, f.proc, &checkout.DirMailer{Dir: dir}, nil, checkout.Config{SecretKey: testKey})
	org := f.organizer("Riverside Arts")
	fees := seatmap.Fees{ServiceBasisPoints: 1000, ServiceCents: 150, FacilityCents: 200, TaxBasisPoints: 825}
	if _, err := f.db.Exec(ctx, `UPDATE events SET fees = $2 WHERE id = $1`, f.event, must(json.Marshal(fees))(t)); err != nil {
		t.Fatal(err)
	}
	fan, other := f.account("Zoë Receipt"), f.account("other")
	order := f.buy(fan, 0, 1)
	must(f.svc.UpdateOrganizer(ctx, org.ID, checkout.OrganizerSettings{Name: "Renamed Later", TaxID: "NEW-1"}))(t)

	r := must(f.svc.Receipt(ctx, fan, order))(t)
	if r.Number != 1 || r.Issuer.Name != org.Name || r.Issuer.TaxID != org.TaxID || r.Issuer.Address != org.Address {
		t.Errorf("receipt %d issued by %+v, want 1 by %+v", r.Number, r.Issuer, org)
	}
	// 25.00 face: 10% + 1.50 service, 2.00 facility, 8.25% tax added.
	b := r.Order.Breakdown
	if b.FaceCents != 5000 || b.ServiceFeeCents+b.FacilityFeeCents != 1200 || b.TaxCents != 412 || r.Order.TotalCents != 6612 {
		t.Errorf("breakdown %+v total %d, want face 5000, fees 1200, tax 412, total 6612", b, r.Order.TotalCents)
	}
	pdf := must(f.svc.ReceiptPDF(ctx, fan, order))(t)
	for _, want := range []string{"%PDF-", "Receipt No. 000001", org.Name, "Tax ID: " + org.TaxID, "1 Main Street",
		"50.00", "12.00", "4.12", "66.12 USD", order} {
		if !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("receipt PDF lacks %q", want)
		}
	}
	if bytes.Contains(pdf, []byte("Renamed Later")) {
		t.Error("the receipt shows the organizer's later name")
	}
	if _, err := f.svc.ReceiptPDF(ctx, other, order); !errors.Is(err, checkout.ErrOrderNotFound) {
		t.Errorf("another fan's receipt: %v, want ErrOrderNotFound", err)
	}

	f.drainJobs(f.svc.RegisterJobs)
	files, _ := filepath.Glob(filepath.Join(dir, "*"+order+"*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d emails for the order, want 1", len(files))
	}
	eml := must(os.ReadFile(files[0]))(t)
	if !bytes.Contains(eml, []byte(`receipt-000001.pdf`)) || bytes.Count(eml, []byte("application/pdf")) < 2 {
		t.Error("the confirmation email does not attach the receipt")
	}
}
