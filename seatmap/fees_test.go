package seatmap

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestFeesPrice(t *testing.T) {
	tests := []struct {
		name string
		fees Fees
		face int64
		want Breakdown
	}{
		{"no fees", Fees{}, 5000, Breakdown{FaceCents: 5000, TotalCents: 5000}},
		{"percent rounds half up", Fees{ServiceBasisPoints: 1250}, 1004, // 125.5 → 126
			Breakdown{FaceCents: 1004, ServiceFeeCents: 126, TotalCents: 1130}},
		{"percent rounds down below half", Fees{ServiceBasisPoints: 1250}, 1003, // 125.375 → 125
			Breakdown{FaceCents: 1003, ServiceFeeCents: 125, TotalCents: 1128}},
		{"percent and fixed", Fees{ServiceBasisPoints: 1000, ServiceCents: 150, FacilityCents: 200}, 4500,
			Breakdown{FaceCents: 4500, ServiceFeeCents: 600, FacilityFeeCents: 200, TotalCents: 5300}},
		{"tax added on the face only", Fees{ServiceCents: 300, TaxBasisPoints: 825}, 2000, // 165
			Breakdown{FaceCents: 2000, ServiceFeeCents: 300, TaxCents: 165, TotalCents: 2465}},
		{"tax added half up", Fees{TaxBasisPoints: 825}, 1000, // 82.5 → 83
			Breakdown{FaceCents: 1000, TaxCents: 83, TotalCents: 1083}},
		{"tax included", Fees{TaxBasisPoints: 2000, FacilityCents: 100, TaxIncluded: true}, 1200, // net 1000
			Breakdown{FaceCents: 1200, FacilityFeeCents: 100, TaxCents: 200, TaxIncluded: true, TotalCents: 1300}},
		{"tax included rounds the net half up", Fees{TaxBasisPoints: 1900, TaxIncluded: true}, 1000, // net 840.34 → 840
			Breakdown{FaceCents: 1000, TaxCents: 160, TaxIncluded: true, TotalCents: 1000}},
		{"free ticket still pays fixed fees", Fees{ServiceBasisPoints: 1000, ServiceCents: 99, TaxBasisPoints: 700}, 0,
			Breakdown{ServiceFeeCents: 99, TotalCents: 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fees.Price(tt.face)
			if got != tt.want {
				t.Errorf("Price(%d):\n got %+v\nwant %+v", tt.face, got, tt.want)
			}
		})
	}
}

// TestFeesPriceProperty: for random settings and faces, the parts add up
// to the total to the cent, nothing is negative, included tax stays
// inside the face, and the total never falls as the face rises (the event
// list's from/to prices rely on it).
func TestFeesPriceProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		f := Fees{ServiceBasisPoints: r.Int64N(maxBasisPoints + 1), ServiceCents: r.Int64N(5000),
			FacilityCents: r.Int64N(5000), TaxBasisPoints: r.Int64N(maxBasisPoints + 1), TaxIncluded: r.IntN(2) == 0}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		face := r.Int64N(maxFeeCents + 1)
		b := f.Price(face)
		sum := b.FaceCents + b.ServiceFeeCents + b.FacilityFeeCents
		if !b.TaxIncluded {
			sum += b.TaxCents
		}
		if sum != b.TotalCents || b.FaceCents != face || b.TaxCents < 0 || b.ServiceFeeCents < 0 {
			t.Fatalf("%+v face %d: %+v does not add up", f, face, b)
		}
		if b.TaxIncluded && b.TaxCents > face {
			t.Fatalf("%+v face %d: included tax %d above the face", f, face, b.TaxCents)
		}
		if next := f.Price(face + 1); next.TotalCents < b.TotalCents {
			t.Fatalf("%+v: total falls from %d to %d as the face rises to %d", f, b.TotalCents, next.TotalCents, face+1)
		}
	}
}

func TestFeesValidate(t *testing.T) {
	for _, f := range []Fees{{ServiceBasisPoints: -1}, {ServiceBasisPoints: 10001}, {TaxBasisPoints: 10001},
		{ServiceCents: -5}, {FacilityCents: maxFeeCents + 1}} {
		if err := f.Validate(); !errors.Is(err, ErrInvalidFees) {
			t.Errorf("Validate(%+v) = %v, want invalid_fees", f, err)
		}
	}
}

func TestPriceTypes(t *testing.T) {
	types := []PriceType{{Key: "adult", Name: "Adult", Percent: 100}, {Key: "child", Name: "Child", Percent: 50, Condition: "under 12"}}
	if err := ValidatePriceTypes(types); err != nil {
		t.Fatal(err)
	}
	if got := types[1].Face(1001); got != 501 { // 500.5 rounds up
		t.Errorf("child face of 1001 = %d, want 501", got)
	}
	if got, _ := priceTypeOf(types, ""); got.Key != "adult" {
		t.Errorf("default type = %q, want the first, adult", got.Key)
	}
	if _, err := priceTypeOf(types, "senior"); !errors.Is(err, ErrUnknownPriceType) {
		t.Errorf("unknown type: %v", err)
	}
	if got, err := priceTypeOf(nil, DefaultPriceType); err != nil || got.Percent != 100 {
		t.Errorf("no types offered: %+v %v", got, err)
	}
	if _, err := priceTypeOf(nil, "child"); !errors.Is(err, ErrUnknownPriceType) {
		t.Errorf("a type of an event offering none: %v", err)
	}
	for _, bad := range [][]PriceType{
		{{Key: "Adult", Name: "A", Percent: 100}},
		{{Key: "a", Name: "A", Percent: 101}},
		{{Key: "a", Name: "", Percent: 100}},
		{{Key: "a", Name: "A", Percent: 100}, {Key: "a", Name: "B", Percent: 50}},
	} {
		if err := ValidatePriceTypes(bad); !errors.Is(err, ErrInvalidPriceTypes) {
			t.Errorf("ValidatePriceTypes(%+v) = %v", bad, err)
		}
	}
}

// TestMaxFaceFor: best-available's all-in limit becomes the largest face
// value within it, for random fees and price types.
func TestMaxFaceFor(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		ev := Event{Fees: Fees{ServiceBasisPoints: r.Int64N(3000), ServiceCents: r.Int64N(500), FacilityCents: r.Int64N(500),
			TaxBasisPoints: r.Int64N(3000), TaxIncluded: r.IntN(2) == 0}}
		if r.IntN(2) == 0 {
			ev.PriceTypes = []PriceType{{Key: "child", Name: "Child", Percent: 1 + r.Int64N(100)}}
		}
		limit := r.Int64N(200000)
		face, ok := maxFaceFor(ev, limit)
		typ, _ := priceTypeOf(ev.PriceTypes, "")
		c := func(f int64) int64 { return ev.Fees.Price(typ.Face(f)).TotalCents }
		if !ok {
			if c(1) <= limit {
				t.Fatalf("%+v limit %d: none fits, but face 1 costs %d", ev, limit, c(1))
			}
			continue
		}
		if c(face) > limit || c(face+1) <= limit {
			t.Fatalf("%+v limit %d: face %d costs %d, face+1 costs %d", ev, limit, face, c(face), c(face+1))
		}
	}
}
