package checkout

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// barcodeMACLen is how many bytes of the HMAC a barcode carries: 80 bits
// make guessing a valid code hopeless while keeping the QR code small.
const barcodeMACLen = 10

// Barcode is a ticket's static code: its id, its version and a truncated
// HMAC-SHA256 under the secret key of both, "id.version.mac". A scanner with
// the key verifies it offline; a transfer or resale bumps the version, so
// the old code stops verifying.
func Barcode(key []byte, ticketID string, version int64) string {
	v := strconv.FormatInt(version, 10)
	return ticketID + "." + v + "." + barcodeMAC(key, ticketID, v)
}

func barcodeMAC(key []byte, id, version string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ticket\x00" + id + "\x00" + version))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:barcodeMACLen])
}

// VerifyBarcode checks a barcode with the key and returns the ticket id and
// version it names; ok is false for anything forged, truncated or malformed.
// It is a parser of untrusted input (FuzzVerifyBarcode).
func VerifyBarcode(key []byte, code string) (ticketID string, version int64, ok bool) {
	parts := strings.Split(code, ".")
	if len(parts) != 3 || len(code) > 128 {
		return "", 0, false
	}
	id, err := uuid.Parse(parts[0])
	if err != nil || id.String() != parts[0] {
		return "", 0, false
	}
	version, err = strconv.ParseInt(parts[1], 10, 64)
	if err != nil || version < 1 || strconv.FormatInt(version, 10) != parts[1] {
		return "", 0, false
	}
	want := barcodeMAC(key, parts[0], parts[1])
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return "", 0, false
	}
	return parts[0], version, true
}
