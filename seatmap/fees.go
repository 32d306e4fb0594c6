package seatmap

import (
	"fmt"
	"regexp"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// Fees are an event's per-ticket charges on top of (or, for tax, possibly
// inside) a seat's face value. Every price a fan sees is the all-in total
// Price computes from them; see docs/money.md for the rules in prose.
//
// Rounding is per ticket, half up (x.5 cents round up), on integer cents:
// the order's total is the sum of its tickets' totals, so a refund of any
// subset of tickets returns exactly what those tickets cost.
type Fees struct {
	// ServiceBasisPoints is the service fee as hundredths of a percent of
	// the face value (250 = 2.5%); 0..10000.
	ServiceBasisPoints int64 `json:"service_fee_bps"`
	// ServiceCents is a fixed service fee per ticket, added to the
	// percentage.
	ServiceCents int64 `json:"service_fee_cents"`
	// FacilityCents is the venue's facility fee per ticket.
	FacilityCents int64 `json:"facility_fee_cents"`
	// TaxBasisPoints is the tax rate on the face value (fees are not
	// taxed), in hundredths of a percent; 0..10000.
	TaxBasisPoints int64 `json:"tax_bps"`
	// TaxIncluded says the face value already contains the tax (the tax is
	// then the part of it a receipt names); false adds it on top.
	TaxIncluded bool `json:"tax_included"`
}

// Breakdown is what one ticket costs, part by part. TotalCents is what the
// fan pays: FaceCents + ServiceFeeCents + FacilityFeeCents, plus TaxCents
// unless TaxIncluded (then the tax is already inside FaceCents).
type Breakdown struct {
	FaceCents        int64 `json:"face_cents"`
	ServiceFeeCents  int64 `json:"service_fee_cents"`
	FacilityFeeCents int64 `json:"facility_fee_cents"`
	TaxCents         int64 `json:"tax_cents"`
	TaxIncluded      bool  `json:"tax_included"`
	TotalCents       int64 `json:"total_cents"`
}

// FeeCents is the part of the ticket that is fees (service and facility):
// what a refund without fees keeps back.
func (b Breakdown) FeeCents() int64 { return b.ServiceFeeCents + b.FacilityFeeCents }

// Limits of fee settings, so no product can overflow int64 cents.
const (
	maxBasisPoints = 10000     // 100%
	maxFeeCents    = 100000000 // $1,000,000, the largest face value too
)

// ErrInvalidFees is a fee setting out of range.
var ErrInvalidFees = apperr.E(apperr.Invalid, "invalid_fees", "fee settings out of range")

// Validate checks the settings are in range.
func (f Fees) Validate() error {
	switch {
	case f.ServiceBasisPoints < 0 || f.ServiceBasisPoints > maxBasisPoints:
		return ErrInvalidFees.With("field", "service_fee_bps").With("detail", "must be 0..10000")
	case f.TaxBasisPoints < 0 || f.TaxBasisPoints > maxBasisPoints:
		return ErrInvalidFees.With("field", "tax_bps").With("detail", "must be 0..10000")
	case f.ServiceCents < 0 || f.ServiceCents > maxFeeCents:
		return ErrInvalidFees.With("field", "service_fee_cents").With("detail", "must be 0..100000000")
	case f.FacilityCents < 0 || f.FacilityCents > maxFeeCents:
		return ErrInvalidFees.With("field", "facility_fee_cents").With("detail", "must be 0..100000000")
	}
	return nil
}

// halfUp returns round(n / d) with halves rounded up, for n >= 0, d > 0.
func halfUp(n, d int64) int64 { return (2*n + d) / (2 * d) }

// Price is the all-in price of one ticket of face value face (cents).
func (f Fees) Price(face int64) Breakdown {
	b := Breakdown{FaceCents: face, TaxIncluded: f.TaxIncluded}
	b.ServiceFeeCents = halfUp(face*f.ServiceBasisPoints, 10000) + f.ServiceCents
	b.FacilityFeeCents = f.FacilityCents
	if f.TaxIncluded {
		// face = net + tax with tax = net × rate: net = face / (1 + rate).
		b.TaxCents = face - halfUp(face*10000, 10000+f.TaxBasisPoints)
		b.TotalCents = face + b.FeeCents()
	} else {
		b.TaxCents = halfUp(face*f.TaxBasisPoints, 10000)
		b.TotalCents = face + b.FeeCents() + b.TaxCents
	}
	return b
}

// PriceType is a kind of ticket an event offers at a share of the seat's
// price (adult 100, child 50), with a condition the fan is shown ("under
// 12 on the day"). The face value of a ticket of the type is Percent of
// the seat's price, rounded half up to the cent.
type PriceType struct {
	Key       string `json:"key"`
	Name      string `json:"name"`
	Percent   int64  `json:"percent"`
	Condition string `json:"condition,omitempty"`
}

// DefaultPriceType names the price type of an event that offers none: the
// seat's price as it is.
const DefaultPriceType = "standard"

// Face is the face value of a seat priced price under the type.
func (t PriceType) Face(price int64) int64 { return halfUp(price*t.Percent, 100) }

var priceTypeKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// ErrInvalidPriceTypes is a malformed list of price types.
var ErrInvalidPriceTypes = apperr.E(apperr.Invalid, "invalid_price_types", "price types are invalid")

// ValidatePriceTypes checks an event's price types: at most 10, unique
// keys of lower-case letters, digits and _, a name, a percent of 0..100 and
// a condition of at most 200 characters.
func ValidatePriceTypes(types []PriceType) error {
	if len(types) > 10 {
		return ErrInvalidPriceTypes.With("detail", "at most 10 price types")
	}
	seen := make(map[string]bool, len(types))
	for i, t := range types {
		bad := func(detail string) error {
			return ErrInvalidPriceTypes.With("field", fmt.Sprintf("price_types[%d]", i)).With("detail", detail)
		}
		switch {
		case !priceTypeKey.MatchString(t.Key):
			return bad("key must be 1-32 of a-z, 0-9 and _, starting with a letter")
		case seen[t.Key]:
			return bad("duplicate key")
		case t.Name == "" || len(t.Name) > 64:
			return bad("name must be 1-64 characters")
		case t.Percent < 0 || t.Percent > 100:
			return bad("percent must be 0..100")
		case len(t.Condition) > 200:
			return bad("condition must be at most 200 characters")
		}
		seen[t.Key] = true
	}
	return nil
}

// ErrUnknownPriceType is a price type the event does not offer.
var ErrUnknownPriceType = apperr.E(apperr.Invalid, "unknown_price_type", "the event does not offer this price type")

// priceTypeOf finds a price type of an event: "" means the first one
// offered, and an event offering none knows only DefaultPriceType.
func priceTypeOf(types []PriceType, key string) (PriceType, error) {
	if len(types) == 0 {
		if key == "" || key == DefaultPriceType {
			return PriceType{Key: DefaultPriceType, Name: "Standard", Percent: 100}, nil
		}
		return PriceType{}, ErrUnknownPriceType.With("price_type", key)
	}
	if key == "" {
		return types[0], nil
	}
	for _, t := range types {
		if t.Key == key {
			return t, nil
		}
	}
	return PriceType{}, ErrUnknownPriceType.With("price_type", key)
}

// PriceLine is one ticket of a hold being paid: its seat, its price type
// and what it costs. The lines are fixed when the payment starts, so the
// amount charged and the order's breakdown are the same numbers.
type PriceLine struct {
	SeatID    int64  `json:"seat_id,string"`
	PriceType string `json:"price_type"`
	Breakdown
}
