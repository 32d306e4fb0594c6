package checkout

import (
	"bytes"
	"fmt"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"
)

// ticketsPDF renders tickets, one A4 page each: event, date, seat, holder
// and, where the event admits printed tickets (print_at_home), the QR code
// of the static barcode; elsewhere the page says to show the app's
// rotating code instead, and carries no code that could be mistaken for
// one that admits. The QR code is drawn as vector squares (a PNG
// would cost a deflate per ticket: a fifth of a node's CPU in a flash sale,
// where every order's confirmation renders its PDF). fpdf's core fonts are
// Latin-1, so text is translated to cp1252 first.
func (s *Service) ticketsPDF(tickets []Ticket) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Boxoffice tickets", true)
	pdf.SetCreator("Boxoffice", true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	for _, t := range tickets {
		pdf.AddPage()
		pdf.SetFont("Helvetica", "B", 22)
		pdf.MultiCell(0, 10, tr(t.EventName), "", "L", false)
		pdf.SetFont("Helvetica", "", 13)
		pdf.CellFormat(0, 8, t.EventDate.UTC().Format("Monday 2 January 2006, 15:04 MST"), "", 1, "L", false, 0, "")
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "B", 16)
		pdf.CellFormat(0, 9, tr(fmt.Sprintf("Section %s  ·  Row %s  ·  Seat %d", t.Seat.Section, t.Seat.Row, t.Seat.Number)), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 13)
		pdf.CellFormat(0, 8, tr("Holder: "+t.HolderName), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		pdf.MultiCell(0, 6, tr(priceText(t.PriceTypeName, t.Breakdown, t.currency)), "", "L", false)
		pdf.SetFont("Helvetica", "", 13)
		pdf.CellFormat(0, 8, "Ticket "+t.ID, "", 1, "L", false, 0, "")
		if !t.PrintAtHome {
			pdf.Ln(20)
			pdf.SetFont("Helvetica", "B", 16)
			pdf.MultiCell(0, 9, tr(useTheApp(s.cfg.BaseURL)), "", "C", false)
			continue
		}
		code := Barcode(s.cfg.SecretKey, t.ID, t.version)
		qr, err := qrcode.New(code, qrcode.Medium)
		if err != nil {
			return nil, fmt.Errorf("checkout: QR code of ticket %s: %w", t.ID, err)
		}
		drawQR(pdf, qr.Bitmap(), 55, 85, 100)
		pdf.SetY(190)
		pdf.SetFont("Courier", "", 8)
		pdf.MultiCell(0, 4, code, "", "C", false)
		pdf.SetFont("Helvetica", "I", 9)
		pdf.MultiCell(0, 5, "This printed code admits once. A transfer or resale replaces it.", "", "C", false)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("checkout: render PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// useTheApp is what the PDF and email say at an event that admits only the
// rotating code (print_at_home off).
func useTheApp(baseURL string) string {
	where := "My tickets in the Boxoffice app"
	if baseURL != "" {
		where += " (" + strings.TrimRight(baseURL, "/") + "/tickets)"
	}
	return "This page does not admit. At the door, open " + where +
		" and show the code there: it changes every few seconds, so printouts and screenshots do not work."
}

// qrRun is a horizontal run of dark modules of a QR bitmap: row, first
// column, length.
type qrRun struct{ row, col, n int }

// qrRuns turns a QR bitmap (dark = true) into horizontal runs, so a row of
// dark modules is one rectangle, not one per module.
func qrRuns(bitmap [][]bool) []qrRun {
	var runs []qrRun
	for r, row := range bitmap {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			runs = append(runs, qrRun{r, start, c - start})
		}
	}
	return runs
}

// drawQR draws a QR bitmap (with its quiet zone) as filled black
// rectangles in a size × size square at (x, y), in the page's units.
func drawQR(pdf *fpdf.Fpdf, bitmap [][]bool, x, y, size float64) {
	if len(bitmap) == 0 {
		return
	}
	m := size / float64(len(bitmap))
	pdf.SetFillColor(0, 0, 0)
	for _, r := range qrRuns(bitmap) {
		pdf.Rect(x+float64(r.col)*m, y+float64(r.row)*m, float64(r.n)*m, m, "F")
	}
}
