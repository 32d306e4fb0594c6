package checkout

import (
	"testing"

	"github.com/skip2/go-qrcode"
)

// TestQRRuns: the rectangles drawn for a ticket's QR code cover exactly its
// dark modules: rebuilt into a bitmap they give the encoder's bitmap back.
func TestQRRuns(t *testing.T) {
	for _, code := range []string{"B.3f1c1f57-8c5b-4c3e-9d59-0123456789ab.1.abcdefabcdefabcdefab", "x"} {
		qr, err := qrcode.New(code, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		want := qr.Bitmap()
		got := make([][]bool, len(want))
		for i := range got {
			got[i] = make([]bool, len(want[i]))
		}
		for _, r := range qrRuns(want) {
			for c := r.col; c < r.col+r.n; c++ {
				if got[r.row][c] {
					t.Fatalf("module %d,%d drawn twice", r.row, c)
				}
				got[r.row][c] = true
			}
		}
		for i := range want {
			for j := range want[i] {
				if got[i][j] != want[i][j] {
					t.Fatalf("%q: module %d,%d drawn %v, want %v", code, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}
