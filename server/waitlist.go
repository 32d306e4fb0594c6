package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/seatmap"
)

// waitlistRequest is the body of POST /api/events/:event/waitlist: how many
// places, optionally only in one section and up to a price each.
type waitlistRequest struct {
	Quantity      int    `json:"quantity" validate:"required,min=1,max=64"`
	Section       string `json:"section" validate:"max=64"`
	MaxPriceCents int64  `json:"max_price_cents" validate:"min=0"`
}

// joinWaitlist: POST /api/events/:event/waitlist.
func (s *Server) joinWaitlist(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req waitlistRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	e, err := s.deps.Seats.JoinWaitlist(c.UserContext(), seatmap.WaitlistRequest{EventID: eventID, AccountID: acct.ID,
		Section: req.Section, MaxPriceCents: req.MaxPriceCents, Quantity: req.Quantity})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(e)
}

// getWaitlist: GET /api/events/:event/waitlist, the fan's own entry (with
// position, or offer); a fan who is not on the list gets 404.
func (s *Server) getWaitlist(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	e, err := s.deps.Seats.Waitlist(c.UserContext(), eventID, acct.ID)
	if err != nil {
		return err
	}
	return c.JSON(e)
}

// leaveWaitlist: DELETE /api/events/:event/waitlist leaves the line, or
// declines an open offer (its places pass on).
func (s *Server) leaveWaitlist(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Seats.LeaveWaitlist(c.UserContext(), eventID, acct.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
