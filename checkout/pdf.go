package checkout

import (
	"bytes"
	"fmt"

	"github.com/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"
)

// ticketsPDF renders tickets, one A4 page each: event, date, seat, holder
// and the QR code of the static barcode. fpdf's core fonts are Latin-1, so
// text is translated to cp1252 first.
func (s *Service) ticketsPDF(tickets []Ticket) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Boxoffice tickets", true)
	pdf.SetCreator("Boxoffice", true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	for i, t := range tickets {
		code := Barcode(s.cfg.SecretKey, t.ID, t.version)
		png, err := qrcode.Encode(code, qrcode.Medium, 512)
		if err != nil {
			return nil, fmt.Errorf("checkout: QR code of ticket %s: %w", t.ID, err)
		}
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
		pdf.CellFormat(0, 8, "Ticket "+t.ID, "", 1, "L", false, 0, "")
		name := fmt.Sprintf("qr%d", i)
		pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
		pdf.ImageOptions(name, 55, 85, 100, 100, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		pdf.SetY(190)
		pdf.SetFont("Courier", "", 8)
		pdf.MultiCell(0, 4, code, "", "C", false)
		pdf.SetFont("Helvetica", "I", 9)
		pdf.MultiCell(0, 5, "One scan admits once. A transfer or resale replaces this code.", "", "C", false)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("checkout: render PDF: %w", err)
	}
	return buf.Bytes(), nil
}
