package server

import (
	"bytes"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/apperr"
)

// noBody refuses any field in a body that takes none: an amount, price or
// status sent by a client is refused, never trusted.
func (s *Server) noBody(c *fiber.Ctx) error {
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return nil
	}
	var empty struct{}
	return s.decodeStrict(c.Body(), &empty)
}

// checkoutRequest chooses each ticket's price type; the body is optional
// (every ticket then gets the event's first price type).
type checkoutRequest struct {
	Tickets []checkoutTicket `json:"tickets" validate:"max=100,dive"`
}

type checkoutTicket struct {
	SeatID    ID     `json:"seat_id" validate:"required"`
	PriceType string `json:"price_type" validate:"required,max=32"`
}

var errDuplicateTicket = apperr.E(apperr.Invalid, "duplicate_seats", "a seat is named more than once")

// checkout: POST /api/holds/:hold/checkout {tickets?: [{seat_id, price_type}]} → 201 {payment}.
func (s *Server) checkout(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	var req checkoutRequest
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := s.decodeStrict(c.Body(), &req); err != nil {
			return err
		}
	}
	var types map[int64]string
	for _, t := range req.Tickets {
		if types == nil {
			types = make(map[int64]string, len(req.Tickets))
		}
		if _, dup := types[int64(t.SeatID)]; dup {
			return errDuplicateTicket
		}
		types[int64(t.SeatID)] = t.PriceType
	}
	acct, _ := currentAccount(c)
	p, err := svc.Checkout(c.UserContext(), acct.ID, c.Params("hold"), types)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"payment": p})
}

// paymentsConfig: GET /api/payments/config → {provider, publishable_key?},
// read by the checkout page to choose its card form (Stripe.js Elements or
// the test processor's card number field).
func (s *Server) paymentsConfig(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.JSON(s.deps.Checkout.ClientConfig())
}

// confirmRequest is the body of POST /api/payments/:payment/confirm: a
// payment method id (Stripe.js makes one in the browser) or, with the test
// processor only, a test card number, which is never logged or stored and
// which StripePayments refuses before calling Stripe.
type confirmRequest struct {
	CardNumber    string `json:"card_number" validate:"max=32"`
	PaymentMethod string `json:"payment_method" validate:"max=128"`
}

// confirmPayment: POST /api/payments/:payment/confirm.
func (s *Server) confirmPayment(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	var req confirmRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	res, err := svc.Confirm(c.UserContext(), acct.ID, c.Params("payment"),
		checkout.Method{CardNumber: req.CardNumber, PaymentMethod: req.PaymentMethod})
	if err != nil {
		return err
	}
	return confirmAnswer(c, res)
}

// confirmAnswer sends a confirmation's outcome: 202 while the provider's
// answer is unknown, else 200 (a decline and a card waiting for
// authentication are outcomes, not errors).
func confirmAnswer(c *fiber.Ctx, res checkout.ConfirmResult) error {
	if res.Status == "processing" {
		return c.Status(fiber.StatusAccepted).JSON(res)
	}
	return c.JSON(res)
}

// getPayment: GET /api/payments/:payment; another account's is 404. The
// checkout page reads it back after a decline or the test challenge.
func (s *Server) getPayment(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	p, err := s.deps.Checkout.GetPayment(c.UserContext(), acct.ID, c.Params("payment"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"payment": p})
}

// completePayment: POST /api/payments/:payment/complete, after the browser
// finished a card's authentication: the payment is settled from what the
// provider says now (an order, a decline, or still requires_action).
func (s *Server) completePayment(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	res, err := s.deps.Checkout.Complete(c.UserContext(), acct.ID, c.Params("payment"))
	if err != nil {
		return err
	}
	return confirmAnswer(c, res)
}

// abandonPayment: POST /api/payments/:payment/abandon, the fan giving up
// a payment not yet paid: the seats are released at once and the intent
// cancelled.
func (s *Server) abandonPayment(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	p, err := s.deps.Checkout.GiveUp(c.UserContext(), acct.ID, c.Params("payment"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"payment": p})
}

// testChallengeRequest is the fan's answer on the test processor's 3-D
// Secure challenge page.
type testChallengeRequest struct {
	Result string `json:"result" validate:"required,oneof=complete fail"`
}

// testChallenge: POST /api/payments/:payment/test-challenge {result};
// 404 unless the test processor is in use.
func (s *Server) testChallenge(c *fiber.Ctx) error {
	var req testChallengeRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	res, err := s.deps.Checkout.TestChallenge(c.UserContext(), acct.ID, c.Params("payment"), req.Result == "complete")
	if err != nil {
		return err
	}
	return confirmAnswer(c, res)
}

// stripeWebhook: POST /api/webhooks/stripe. The signature covers the raw
// body, so the body is passed on byte for byte (copied: Fiber reuses it).
func (s *Server) stripeWebhook(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	body := bytes.Clone(c.Body())
	res, err := svc.HandleStripeWebhook(c.UserContext(), body, c.Get("Stripe-Signature"))
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// listOrders: GET /api/orders.
func (s *Server) listOrders(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	acct, _ := currentAccount(c)
	orders, err := svc.Orders(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	return c.JSON(orders)
}

// getOrder: GET /api/orders/:order; another account's order is 404.
func (s *Server) getOrder(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	acct, _ := currentAccount(c)
	o, err := svc.Order(c.UserContext(), acct.ID, c.Params("order"))
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// listTickets: GET /api/tickets.
func (s *Server) listTickets(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	acct, _ := currentAccount(c)
	ts, err := svc.Tickets(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	return c.JSON(ts)
}

// getTicket: GET /api/tickets/:ticket; another account's ticket is 404.
func (s *Server) getTicket(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	acct, _ := currentAccount(c)
	t, err := svc.Ticket(c.UserContext(), acct.ID, c.Params("ticket"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

// ticketPDF: GET /api/tickets/:ticket/pdf; another account's ticket is 404.
func (s *Server) ticketPDF(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	acct, _ := currentAccount(c)
	pdf, err := svc.TicketPDF(c.UserContext(), acct.ID, c.Params("ticket"))
	if err != nil {
		return err
	}
	return sendPDF(c, "ticket.pdf", pdf)
}

// orderPDF: GET /api/orders/:order/pdf, every ticket of the order (the
// email's attachment); another account's order is 404.
func (s *Server) orderPDF(c *fiber.Ctx) error {
	svc := s.deps.Checkout
	acct, _ := currentAccount(c)
	pdf, err := svc.OrderPDF(c.UserContext(), acct.ID, c.Params("order"))
	if err != nil {
		return err
	}
	return sendPDF(c, "tickets.pdf", pdf)
}

func sendPDF(c *fiber.Ctx, name string, pdf []byte) error {
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(pdf)
}

// orderCalendar: GET /api/orders/:order/calendar.ics, the show as an
// iCalendar event to add to a calendar; another account's order is 404.
func (s *Server) orderCalendar(c *fiber.Ctx) error {
	acct, _ := currentAccount(c)
	ics, err := s.deps.Checkout.OrderCalendar(c.UserContext(), acct.ID, c.Params("order"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/calendar; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="boxoffice-order.ics"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(ics)
}
