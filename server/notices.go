package server

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/seatmap"
)

// rescheduleRequest is the body of POST /api/admin/events/:event/reschedule.
type rescheduleRequest struct {
	EventDate   time.Time  `json:"event_date" validate:"required"`
	Place       string     `json:"place" validate:"omitempty,text,max=300"`
	Reason      string     `json:"reason" validate:"omitempty,text,max=1000"`
	RefundUntil *time.Time `json:"refund_until"`
}

// rescheduleEvent: POST /api/admin/events/:event/reschedule postpones or
// moves an event and mails every holder the new time with a refund link.
func (s *Server) rescheduleEvent(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req rescheduleRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	admin, _ := currentAccount(c)
	r := checkout.RescheduleRequest{EventID: id, AdminID: admin.ID, EventDate: req.EventDate,
		Place: strings.Clone(req.Place), Reason: strings.Clone(req.Reason)}
	if req.RefundUntil != nil {
		r.RefundUntil = *req.RefundUntil
	}
	out, err := s.deps.Checkout.RescheduleEvent(c.UserContext(), r)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// eventNotices is the answer of GET /api/admin/events/:event/notices.
type eventNotices struct {
	checkout.HolderCounts
	Reschedules []checkout.Reschedule `json:"reschedules"`
}

// getEventNotices: GET /api/admin/events/:event/notices, how many fans a
// reschedule or a cancellation would mail, and the event's past changes
// of date.
func (s *Server) getEventNotices(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	counts, err := s.deps.Checkout.EventHolderCounts(c.UserContext(), id)
	if err != nil {
		return err
	}
	list, err := s.deps.Checkout.Reschedules(c.UserContext(), id)
	if err != nil {
		return err
	}
	if list == nil {
		list = []checkout.Reschedule{}
	}
	return c.JSON(eventNotices{HolderCounts: counts, Reschedules: list})
}

// decodeToken reads the {token} body a mailed link's page posts.
func (s *Server) decodeToken(c *fiber.Ctx) (string, error) {
	var req tokenRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return "", err
	}
	return strings.Clone(req.Token), nil
}

// refundOffer: POST /api/events/:event/refund-offer {token}, what a
// holder's refund link offers. A POST so the token stays out of logs.
func (s *Server) refundOffer(c *fiber.Ctx) error {
	return s.withRefundToken(c, s.deps.Checkout.RefundOfferFor)
}

// acceptRefundOffer: POST /api/events/:event/refund-offer/accept {token}
// refunds the holder's tickets of the event instead of keeping them.
func (s *Server) acceptRefundOffer(c *fiber.Ctx) error {
	return s.withRefundToken(c, s.deps.Checkout.ChooseRefund)
}

func (s *Server) withRefundToken(c *fiber.Ctx, do func(ctx context.Context, eventID int64, token string) (checkout.RefundOffer, error)) error {
	id, err := pathID(c, "event", checkout.ErrOfferNotFound)
	if err != nil {
		return err
	}
	token, err := s.decodeToken(c)
	if err != nil {
		return err
	}
	o, err := do(c.UserContext(), id, token)
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// unsubscribe: POST /api/unsubscribe {token}, from a reminder's link:
// no more reminders for that account.
func (s *Server) unsubscribe(c *fiber.Ctx) error {
	token, err := s.decodeToken(c)
	if err != nil {
		return err
	}
	if err := s.deps.Checkout.Unsubscribe(c.UserContext(), token); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// remindersSetting is the body and answer of /api/account/reminders.
type remindersSetting struct {
	Reminders *bool `json:"reminders" validate:"required"`
}

// getReminders: GET /api/account/reminders.
func (s *Server) getReminders(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	on, err := s.deps.Checkout.RemindersOn(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	return c.JSON(remindersSetting{Reminders: &on})
}

// putReminders: PUT /api/account/reminders {reminders} turns the
// account's reminders on or off.
func (s *Server) putReminders(c *fiber.Ctx) error {
	var req remindersSetting
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	if err := s.deps.Checkout.SetReminders(c.UserContext(), acct.ID, *req.Reminders); err != nil {
		return err
	}
	return c.JSON(req)
}
