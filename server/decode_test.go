package server

import (
	"testing"

	"github.com/go-playground/validator/v10"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// FuzzDecodeHoldRequest: the hold body decoder never panics, and whatever it
// accepts is a well-formed request: exactly one of seat ids or a quantity,
// ids positive, at most 64 of them. Whatever it refuses is a 4xx error.
func FuzzDecodeHoldRequest(f *testing.F) {
	for _, seed := range []string{
		`{"seat_ids":["1","2"]}`,
		`{"seat_ids":[1,2,3]}`,
		`{"best_available":{"quantity":2,"section":"101","max_price_cents":15000}}`,
		`{"seat_ids":[]}`,
		`{"seat_ids":["-1"]}`,
		`{"seat_ids":["99999999999999999999"]}`,
		`{"seat_ids":["1"],"best_available":{"quantity":1}}`,
		`{"price_cents":1}`,
		`{"seat_ids":null}`,
		`[]`, `null`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	s := &Server{validate: validator.New(validator.WithRequiredStructEnabled())}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := s.decodeHoldRequest(body)
		if err != nil {
			if k := apperr.KindOf(err); k != apperr.Malformed && k != apperr.Invalid {
				t.Fatalf("refusal of %q is %v, not a 4xx", body, err)
			}
			return
		}
		if (req.Best == nil) == (len(req.SeatIDs) == 0) {
			t.Fatalf("accepted %q as %+v: want exactly one of seats or best", body, req)
		}
		if len(req.SeatIDs) > 64 {
			t.Fatalf("accepted %d seats", len(req.SeatIDs))
		}
		for _, id := range req.SeatIDs {
			if id <= 0 {
				t.Fatalf("accepted seat id %d from %q", id, body)
			}
		}
		if req.Best != nil && (req.Best.Quantity < 1 || req.Best.MaxPriceCents < 0) {
			t.Fatalf("accepted best %+v from %q", *req.Best, body)
		}
	})
}
