package checkout_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/checkout"
)

// TestTimesInVenueTimeZone: the confirmation email, the PDF and the order
// print the show's time in the venue's time zone, named, not in UTC.
func TestTimesInVenueTimeZone(t *testing.T) {
	f := newFixture(t, checkout.Config{})
	ctx := context.Background()
	if _, err := f.db.Exec(ctx, `UPDATE venues SET time_zone = 'America/New_York', city = 'New York'
		WHERE id = (SELECT venue_id FROM events WHERE id = $1)`, f.event); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE events SET event_date = '2027-07-04T00:30:00Z' WHERE id = $1`, f.event); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f.svc = checkout.New(f.db, f.seats, f.proc, &checkout.DirMailer{Dir: dir}, nil, checkout.Config{SecretKey: testKey})
	fan := f.account("Night Owl")
	res := must(f.svc.Confirm(ctx, fan, f.checkout(fan, f.hold(fan, 0).ID).ID, visa()))(t)
	f.drainJobs(f.svc.RegisterJobs)

	const local, utc = "Saturday 3 July 2027, 20:30 EDT", "00:30 UTC"
	files, _ := filepath.Glob(filepath.Join(dir, "*"+res.OrderID+"*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d .eml files for the order, want 1", len(files))
	}
	eml, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(eml, []byte(local)) || bytes.Contains(eml, []byte(utc)) {
		t.Errorf("the email does not say %q:\n%s", local, eml)
	}
	o := must(f.svc.Order(ctx, fan, res.OrderID))(t)
	if o.TimeZone != "America/New_York" || o.Tickets[0].TimeZone != "America/New_York" {
		t.Errorf("order time_zone %q, ticket %q", o.TimeZone, o.Tickets[0].TimeZone)
	}
	text := pdfText(t, must(f.svc.OrderPDF(ctx, fan, res.OrderID))(t))
	if !strings.Contains(text, local) || strings.Contains(text, utc) {
		t.Errorf("the PDF does not say %q:\n%s", local, text)
	}
}

// pdfText is the inflated content of a PDF's streams, where fpdf writes
// the page text as (...) Tj.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	var out strings.Builder
	for _, m := range regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`).FindAllSubmatch(pdf, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue // not a deflated stream
		}
		b, _ := io.ReadAll(zr)
		out.Write(b)
	}
	return out.String()
}
