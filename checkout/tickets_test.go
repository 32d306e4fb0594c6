package checkout_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/boxoffice/boxoffice/checkout"
)

// TestBarcode: a barcode verifies offline with the key and names its ticket
// and version; another key, another version or any edit fails.
func TestBarcode(t *testing.T) {
	id := uuid.NewString()
	code := checkout.Barcode(testKey, id, 1)
	gotID, gotV, ok := checkout.VerifyBarcode(testKey, code)
	if !ok || gotID != id || gotV != 1 {
		t.Fatalf("VerifyBarcode(%q) = %q, %d, %v", code, gotID, gotV, ok)
	}
	if !strings.HasPrefix(code, id+".1.") || len(code) > 64 {
		t.Errorf("barcode %q: want id.version.mac, short enough for a small QR code", code)
	}
	bumped := checkout.Barcode(testKey, id, 2)
	forged := strings.Replace(bumped, ".2.", ".1.", 1)
	for name, c := range map[string]string{
		"other key":       checkout.Barcode([]byte("another secret key of 32 bytes!!"), id, 1),
		"version swapped": forged,
		"mac edited":      code[:len(code)-1] + flip(code[len(code)-1]),
		"truncated":       code[:len(code)-3],
		"empty":           "",
		"not a uuid":      "x.1." + strings.Split(code, ".")[2],
	} {
		if name == "other key" {
			if _, _, ok := checkout.VerifyBarcode(testKey, c); ok {
				t.Errorf("%s: verified", name)
			}
			continue
		}
		if _, _, ok := checkout.VerifyBarcode(testKey, c); ok {
			t.Errorf("%s: %q verified", name, c)
		}
	}
}

// flip returns another base64url character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// FuzzVerifyBarcode: no input makes the barcode parser panic or accept a
// code it did not sign.
func FuzzVerifyBarcode(f *testing.F) {
	f.Add(checkout.Barcode(testKey, "3f1c2b8e-8a41-4c1e-9f0e-2f5d1c7a9b10", 1))
	f.Add("3f1c2b8e-8a41-4c1e-9f0e-2f5d1c7a9b10.1.AAAAAAAAAAAAAA")
	f.Add("..")
	f.Add("")
	f.Fuzz(func(t *testing.T, code string) {
		id, v, ok := checkout.VerifyBarcode(testKey, code)
		if ok && checkout.Barcode(testKey, id, v) != code {
			t.Fatalf("accepted %q which is not the signed form", code)
		}
	})
}
