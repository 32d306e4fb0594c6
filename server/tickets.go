package server

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

// The routes after the purchase: rotating entry codes, check-in, transfer
// and resale. Handlers only translate; the rules live in checkout.

// ticketCode: GET /api/tickets/:ticket/code → {code, expires_at, qr_png}.
func (s *Server) ticketCode(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	acct, _ := currentAccount(c)
	code, err := svc.TicketCode(c.UserContext(), acct.ID, c.Params("ticket"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.JSON(code)
}

// checkInRequest names the code and the door scanning it: the event (a
// ticket of another event is refused) and, optionally, the entrance.
// ScannedAt is set by a door sending the scans it queued while offline:
// the code is checked as of then (at most 30 minutes ago).
type checkInRequest struct {
	Code      string     `json:"code" validate:"required,max=256"`
	Event     ID         `json:"event" validate:"required"`
	Entrance  string     `json:"entrance" validate:"max=64"`
	ScannedAt *time.Time `json:"scanned_at"`
}

// checkIn: POST /api/checkins (scanner or admin) → 200 {ticket, seat, holder}.
func (s *Server) checkIn(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	var req checkInRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := scannerScope(acct, int64(req.Event)); err != nil {
		return err
	}
	scannedAt := time.Now()
	if req.ScannedAt != nil {
		scannedAt = *req.ScannedAt
	}
	a, err := svc.CheckInScanned(c.UserContext(), acct.ID, int64(req.Event), strings.TrimSpace(req.Entrance), req.Code, scannedAt)
	if err != nil {
		return err
	}
	return c.JSON(a)
}

// checkInSummary: GET /api/admin/events/:event/checkins/summary, the
// event's check-ins per entrance for the dashboard.
func (s *Server) checkInSummary(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	if _, err := s.deps.Seats.EventState(c.UserContext(), id); err != nil {
		return err
	}
	sum, err := s.deps.Checkout.CheckInSummary(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(sum)
}

type transferRequest struct {
	ToEmail string `json:"to_email" validate:"required,email,max=254"`
}

// offerTransfer: POST /api/tickets/:ticket/transfers → 201 transfer.
func (s *Server) offerTransfer(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	var req transferRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	t, err := svc.OfferTransfer(c.UserContext(), acct.ID, c.Params("ticket"), account.NormalizeEmail(req.ToEmail))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

// listTransfers: GET /api/transfers, the caller's pending transfers both ways.
func (s *Server) listTransfers(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	acct, _ := currentAccount(c)
	ts, err := svc.Transfers(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	return c.JSON(ts)
}

// acceptTransfer: POST /api/transfers/:transfer/accept → 200 the ticket.
func (s *Server) acceptTransfer(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	t, err := svc.AcceptTransfer(c.UserContext(), acct.ID, c.Params("transfer"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

// declineTransfer: POST /api/transfers/:transfer/decline → 200.
func (s *Server) declineTransfer(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := svc.DeclineTransfer(c.UserContext(), acct.ID, c.Params("transfer")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": c.Params("transfer"), "status": checkout.TransferDeclined})
}

// cancelTransfer: POST /api/transfers/:transfer/cancel → 200, or
// DELETE /api/transfers/:transfer → 204; only the sender, while pending.
func (s *Server) cancelTransfer(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := svc.CancelTransfer(c.UserContext(), acct.ID, c.Params("transfer")); err != nil {
		return err
	}
	if c.Method() == fiber.MethodDelete {
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.JSON(fiber.Map{"id": c.Params("transfer"), "status": checkout.TransferCancelled})
}

type listingRequest struct {
	PriceCents int64 `json:"price_cents" validate:"required,min=1"`
}

// listTicket: POST /api/tickets/:ticket/listing → 201 listing; 422 above the cap.
func (s *Server) listTicket(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	var req listingRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	l, err := svc.ListTicket(c.UserContext(), acct.ID, c.Params("ticket"), req.PriceCents)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(l)
}

// withdrawListing: DELETE /api/tickets/:ticket/listing → 204.
func (s *Server) withdrawListing(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := svc.WithdrawListing(c.UserContext(), acct.ID, c.Params("ticket")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// eventListings: GET /api/events/:event/listings, the listings a buyer can
// hold now.
func (s *Server) eventListings(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	if _, err := s.deps.Seats.Event(c.UserContext(), eventID); err != nil {
		return err
	}
	ls, err := svc.Listings(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	return c.JSON(ls)
}

// holdListing: POST /api/listings/:listing/holds → 201 hold, then the same
// checkout as any hold. The rules of a hold apply: the rate limit, the
// waiting room's admission token (the event comes from the listing, so the
// check runs here rather than as the event route's middleware), the
// per-account cap (seatmap) and the review signals.
func (s *Server) holdListing(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	eventID, err := svc.ListingEvent(c.UserContext(), c.Params("listing"))
	if err != nil {
		return err
	}
	if err := s.checkVerified(c, acct, eventID); err != nil {
		return err
	}
	if err := s.deps.Queue.CheckAdmission(c.UserContext(), eventID, acct.ID, c.Get(HeaderAdmissionToken)); err != nil {
		return err
	}
	h, err := svc.HoldListing(c.UserContext(), acct.ID, c.Params("listing"))
	if err != nil {
		return err
	}
	s.recordHold(c, eventID, acct.ID)
	return c.Status(fiber.StatusCreated).JSON(h)
}
