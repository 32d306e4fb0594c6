package checkout_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
)

// TestConfirmationWithoutSMTP: with no SMTP_URL the confirmation job writes
// an .eml with the PDF attached into a folder; running the job again sends
// nothing more (idempotent). The ticket PDF renders.
func TestConfirmationWithoutSMTP(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	dir := t.TempDir()
	f.svc = checkout.New(f.db, f.seats, f.proc, &checkout.DirMailer{Dir: dir}, nil,
		checkout.Config{SecretKey: testKey})
	fan := f.account("Zoë Ticketholder")
	h := f.hold(fan, 0, 1)
	p := f.checkout(fan, h.ID)
	res := must(f.svc.Confirm(ctx, fan, p.ID, visa()))(t)
	f.drainJobs(f.svc.RegisterJobs)
	// Other tests' orders share the database, so look for this order's
	// file, named after its Message-ID.
	files, _ := filepath.Glob(filepath.Join(dir, "*"+res.OrderID+"*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d .eml files for the order, want 1", len(files))
	}
	eml, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Subject: Your tickets for", "application/pdf", "Message-ID: <order-" + res.OrderID} {
		if !bytes.Contains(eml, []byte(want)) {
			t.Errorf(".eml lacks %q", want)
		}
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE id = $1 AND confirmation_sent_at IS NOT NULL`, res.OrderID); n != 1 {
		t.Error("confirmation not recorded")
	}
	// Enqueue a duplicate by hand (a second key) and run it: skipped.
	if _, err := jobs.Enqueue(ctx, f.db, jobs.Job{Kind: checkout.JobConfirmation, Payload: map[string]string{"order_id": res.OrderID}}); err != nil {
		t.Fatal(err)
	}
	os.Remove(files[0])
	f.drainJobs(f.svc.RegisterJobs)
	if files, _ := filepath.Glob(filepath.Join(dir, "*"+res.OrderID+"*.eml")); len(files) != 0 {
		t.Errorf("a second confirmation was sent")
	}
	o := must(f.svc.Order(ctx, fan, res.OrderID))(t)
	pdf := must(f.svc.TicketPDF(ctx, fan, o.Tickets[0].ID))(t)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 1000 {
		t.Errorf("ticket PDF: %d bytes starting %q", len(pdf), pdf[:min(8, len(pdf))])
	}
	// Only an event that admits printed tickets gets the QR code drawn.
	if err := f.seats.SetPrintAtHome(ctx, f.event, true); err != nil {
		t.Fatal(err)
	}
	withQR := must(f.svc.TicketPDF(ctx, fan, o.Tickets[0].ID))(t)
	if len(withQR) < len(pdf)+1000 {
		t.Errorf("ticket PDF with print_at_home is %d bytes, without %d: no QR code drawn?", len(withQR), len(pdf))
	}
	if strings.Contains(string(eml), "4242") {
		t.Error("the email mentions the card number")
	}
}

// TestConfirmationSaysWhichCodeAdmits: at an event where only the app's
// rotating code admits (print_at_home off, the default), the confirmation
// email says so and that the PDF does not admit; with print_at_home on it
// says the PDF's code admits once.
func TestConfirmationSaysWhichCodeAdmits(t *testing.T) {
	for _, tc := range []struct {
		printAtHome bool
		want        string
	}{{false, "This page does not admit"}, {true, "each QR code admits once"}} {
		t.Run(fmt.Sprint("print_at_home=", tc.printAtHome), func(t *testing.T) {
			f := newFixture(t, checkout.Config{})
			ctx := context.Background()
			if err := f.seats.SetPrintAtHome(ctx, f.event, tc.printAtHome); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			f.svc = checkout.New(f.db, f.seats, f.proc, &checkout.DirMailer{Dir: dir}, nil, checkout.Config{SecretKey: testKey})
			order := f.buy(f.account("fan"), 0)
			f.drainJobs(f.svc.RegisterJobs)
			files, _ := filepath.Glob(filepath.Join(dir, "*"+order+"*.eml"))
			if len(files) != 1 {
				t.Fatalf("%d .eml files for the order, want 1", len(files))
			}
			eml, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			// Undo quoted-printable soft line breaks before searching.
			text := strings.ReplaceAll(strings.ReplaceAll(string(eml), "=\r\n", ""), "=\n", "")
			if !strings.Contains(text, tc.want) {
				t.Errorf("the email lacks %q", tc.want)
			}
		})
	}
}
