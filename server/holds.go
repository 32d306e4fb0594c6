package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/seatmap"
)

// holdRequest is the body of POST /api/events/:event/holds: exactly one of
// seat_ids, best_available or ga.
type holdRequest struct {
	SeatIDs       []ID         `json:"seat_ids" validate:"omitempty,min=1,max=64"`
	BestAvailable *bestRequest `json:"best_available"`
	GA            *gaRequest   `json:"ga"`
}

// gaRequest asks for a quantity of places of a general-admission area.
type gaRequest struct {
	Section  string `json:"section" validate:"required,max=64"`
	Quantity int    `json:"quantity" validate:"required,min=1,max=64"`
}

type bestRequest struct {
	Quantity      int    `json:"quantity" validate:"required,min=1,max=64"`
	Section       string `json:"section" validate:"max=64"`
	MaxPriceCents int64  `json:"max_price_cents" validate:"min=0"`
	// Accessible of the seats are accessible, the rest their companions
	// (seatmap checks it is at most quantity).
	Accessible int `json:"accessible" validate:"min=0,max=64"`
}

var errHoldShape = apperr.E(apperr.Invalid, "invalid_hold_request", "send one of seat_ids, best_available or ga")

// decodeHoldRequest turns a hold body into a domain request. It is the
// parser of untrusted input that FuzzDecodeHoldRequest exercises. Counts
// beyond 64 are refused here as malformed; the event's own cap (at most 8)
// is checked by seatmap.
func (s *Server) decodeHoldRequest(body []byte) (seatmap.HoldRequest, error) {
	var req holdRequest
	if err := s.decodeStrict(body, &req); err != nil {
		return seatmap.HoldRequest{}, err
	}
	return holdShape(req.SeatIDs, req.BestAvailable, req.GA)
}

// holdShape is the domain request of a body's one hold shape: seat ids,
// best available or general admission (a counter sale has the same three).
func holdShape(seatIDs []ID, best *bestRequest, ga *gaRequest) (seatmap.HoldRequest, error) {
	shapes := 0
	for _, given := range []bool{len(seatIDs) > 0, best != nil, ga != nil} {
		if given {
			shapes++
		}
	}
	if shapes != 1 {
		return seatmap.HoldRequest{}, errHoldShape
	}
	out := seatmap.HoldRequest{}
	if ga != nil {
		out.GA = &seatmap.GARequest{Section: ga.Section, Quantity: ga.Quantity}
		return out, nil
	}
	if best != nil {
		out.Best = &seatmap.BestRequest{Quantity: best.Quantity, Section: best.Section, MaxPriceCents: best.MaxPriceCents,
			Accessible: best.Accessible}
		return out, nil
	}
	out.SeatIDs = make([]int64, len(seatIDs))
	for i, id := range seatIDs {
		out.SeatIDs[i] = int64(id)
	}
	return out, nil
}

// createHold: POST /api/events/:event/holds.
func (s *Server) createHold(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	req, err := s.decodeHoldRequest(c.Body())
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	req.EventID, req.AccountID = eventID, acct.ID
	req.Presale, _ = c.Locals(localPresale).(*seatmap.PresaleAccess)
	hold, err := s.deps.Seats.Hold(c.UserContext(), req)
	if err != nil {
		return err
	}
	s.recordHold(c, eventID, acct.ID)
	return c.Status(fiber.StatusCreated).JSON(hold)
}

// getHold: GET /api/holds/:hold; another account's hold is 404.
func (s *Server) getHold(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	hold, err := s.deps.Seats.GetHold(c.UserContext(), acct.ID, c.Params("hold"))
	if err != nil {
		return err
	}
	return c.JSON(hold)
}

// releaseHold: DELETE /api/holds/:hold frees the seats at once.
func (s *Server) releaseHold(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Seats.Release(c.UserContext(), acct.ID, c.Params("hold")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
