package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/presale"
	"github.com/boxoffice/boxoffice/seatmap"
)

// createLotteryRequest is the body of POST /api/admin/events/:event/lottery.
type createLotteryRequest struct {
	PresaleID ID        `json:"presale_id" validate:"required"`
	Target    int       `json:"target" validate:"required,min=1,max=100000"`
	ClosesAt  time.Time `json:"closes_at" validate:"required"`
	DrawsAt   time.Time `json:"draws_at" validate:"required"`
}

// createLottery: POST /api/admin/events/:event/lottery sets up the
// event's registered-fan lottery and schedules its draw.
func (s *Server) createLottery(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req createLotteryRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if s.deps.Presales == nil {
		return errPresalesOff
	}
	l, err := s.deps.Presales.CreateLottery(c.UserContext(), eventID, presale.LotterySpec{PresaleID: int64(req.PresaleID),
		Target: req.Target, ClosesAt: req.ClosesAt.UTC(), DrawsAt: req.DrawsAt.UTC()})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(l)
}

// lotteryEventID reads the event of a fan's lottery route; a node without
// presales answers every such route with missing.
func (s *Server) lotteryEventID(c *fiber.Ctx, missing error) (int64, error) {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return 0, err
	}
	if s.deps.Presales == nil {
		return 0, missing
	}
	return eventID, nil
}

// getLottery: GET /api/events/:event/lottery, the public proof: the seed's
// commitment and times, the hashed registrants once closed, the seed and
// winners once drawn.
func (s *Server) getLottery(c *fiber.Ctx) error {
	eventID, err := s.lotteryEventID(c, presale.ErrLotteryNotFound)
	if err != nil {
		return err
	}
	l, err := s.deps.Presales.Lottery(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(l)
}

// register: POST /api/events/:event/registrations registers the fan for
// the event's lottery: 201 the first time, 200 with the same registration
// after.
func (s *Server) register(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	eventID, err := s.lotteryEventID(c, presale.ErrLotteryNotFound)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	r, created, err := s.deps.Presales.Register(c.UserContext(), eventID, acct.ID)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(r)
}

// getRegistration: GET /api/events/:event/registrations, the fan's own
// registration and result; 404 when not registered.
func (s *Server) getRegistration(c *fiber.Ctx) error {
	eventID, err := s.lotteryEventID(c, presale.ErrNotRegistered)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	r, err := s.deps.Presales.Registration(c.UserContext(), eventID, acct.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(r)
}

// withdrawRegistration: DELETE /api/events/:event/registrations, before
// registration closes.
func (s *Server) withdrawRegistration(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	eventID, err := s.lotteryEventID(c, presale.ErrNotRegistered)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Presales.Withdraw(c.UserContext(), eventID, acct.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// accountRegistrations: GET /api/account/registrations, the fan's lottery
// registrations with their results, for the account page.
func (s *Server) accountRegistrations(c *fiber.Ctx) error {
	if s.deps.Presales == nil {
		return c.JSON([]presale.Registration{})
	}
	acct, _ := currentAccount(c)
	rs, err := s.deps.Presales.Registrations(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(rs)
}
