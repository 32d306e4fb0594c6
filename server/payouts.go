package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

// The routes of seller payouts, receipts and organizers. Handlers only
// translate; the rules live in checkout (payouts.go, receipt.go).

// accountPayouts: GET /api/account/payouts → the caller's payout account
// (its status asked of the provider while onboarding) and payouts.
func (s *Server) accountPayouts(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	p, err := s.deps.Checkout.Payouts(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.JSON(p)
}

// connectPayouts: POST /api/account/payouts/connect → {url, account}: where
// to send the seller to finish connecting (the provider's onboarding page,
// or the app's own page when nothing is left to do).
func (s *Server) connectPayouts(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	p, err := s.deps.Checkout.ConnectPayouts(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.JSON(p)
}

// orderReceipt: GET /api/orders/:order/receipt.pdf; another account's
// order is 404, an order not paid yet 409 receipt_not_issued.
func (s *Server) orderReceipt(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	pdf, err := s.deps.Checkout.ReceiptPDF(c.UserContext(), acct.ID, c.Params("order"))
	if err != nil {
		return err
	}
	return sendPDF(c, "receipt.pdf", pdf)
}

// listOrganizers: GET /api/admin/organizers.
func (s *Server) listOrganizers(c *fiber.Ctx) error {
	out, err := s.deps.Checkout.Organizers(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// createOrganizer: POST /api/admin/organizers → 201 organizer.
func (s *Server) createOrganizer(c *fiber.Ctx) error {
	var req checkout.OrganizerSettings
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	o, err := s.deps.Checkout.CreateOrganizer(c.UserContext(), req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(o)
}

// updateOrganizer: PUT /api/admin/organizers/:organizer → organizer.
func (s *Server) updateOrganizer(c *fiber.Ctx) error {
	id, err := pathID(c, "organizer", checkout.ErrOrganizerNotFound)
	if err != nil {
		return err
	}
	var req checkout.OrganizerSettings
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	o, err := s.deps.Checkout.UpdateOrganizer(c.UserContext(), id, req)
	if err != nil {
		return err
	}
	return c.JSON(o)
}

type eventOrganizerRequest struct {
	Organizer ID `json:"organizer" validate:"required"`
}

// setEventOrganizer: PUT /api/admin/events/:event/organizer
// {"organizer": id} → {event, organizer}.
func (s *Server) setEventOrganizer(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req eventOrganizerRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if err := s.deps.Checkout.SetEventOrganizer(c.UserContext(), id, int64(req.Organizer)); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"event": id, "organizer": int64(req.Organizer)})
}
