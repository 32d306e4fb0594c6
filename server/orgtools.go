package server

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/seatmap"
)

var (
	errBadQuery   = apperr.E(apperr.Invalid, "invalid_query", "q is at most 200 characters; page and per_page are positive numbers")
	errScanScope  = apperr.E(apperr.Forbidden, "scanner_scope", "this scanner checks in tickets of another event only")
	errBadPerPage = apperr.E(apperr.Invalid, "invalid_query", "page is 1 to 100000, per_page 1 to 500")
)

// pageQuery reads page and per_page (0 when absent: the default).
func pageQuery(c *fiber.Ctx) (page, perPage int, err error) {
	for _, p := range []struct {
		name string
		max  int
		to   *int
	}{{"page", 100000, &page}, {"per_page", 500, &perPage}} {
		raw := c.Query(p.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > p.max {
			return 0, 0, errBadPerPage
		}
		*p.to = n
	}
	return page, perPage, nil
}

// findOrders: GET /api/admin/orders?q=&event=&page=&per_page= searches
// every event's orders (or one event's) by the buyer's email or name, the
// order id or a seat ("A 3 12"), newest first, a page at a time.
func (s *Server) findOrders(c *fiber.Ctx) error {
	q := c.Query("q")
	if len(q) > 200 {
		return errBadQuery
	}
	page, perPage, err := pageQuery(c)
	if err != nil {
		return err
	}
	var eventID int64
	if raw := c.Query("event"); raw != "" {
		if eventID, err = strconv.ParseInt(raw, 10, 64); err != nil || eventID <= 0 {
			return seatmap.ErrEventNotFound
		}
		if _, err := s.deps.Seats.EventState(c.UserContext(), eventID); err != nil {
			return err
		}
	}
	out, err := s.deps.Checkout.FindOrders(c.UserContext(), checkout.OrderQuery{Text: strings.Clone(q), EventID: eventID,
		Page: page, PerPage: perPage})
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// adminOrder: GET /api/admin/orders/:order, an order with its payment,
// tickets, transfers, resales, refunds, emails and notes.
func (s *Server) adminOrder(c *fiber.Ctx) error {
	o, err := s.deps.Checkout.AdminOrder(c.UserContext(), strings.Clone(c.Params("order")))
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// adminRefundRequest is the body of an admin refund: amount_cents or
// ticket_ids (neither: the whole order), a reason, and whether the
// refunded tickets' seats go back on sale.
type adminRefundRequest struct {
	AmountCents  int64    `json:"amount_cents" validate:"omitempty,min=1,max=100000000000"`
	TicketIDs    []string `json:"ticket_ids" validate:"omitempty,max=100,dive,uuid"`
	Reason       string   `json:"reason" validate:"required,text,max=500"`
	ReleaseSeats bool     `json:"release_seats"`
}

// refundOrder: POST /api/admin/orders/:order/refund → 202 the refund,
// pending until the outbox has given the money back.
func (s *Server) refundOrder(c *fiber.Ctx) error {
	var req adminRefundRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	admin, _ := currentAccount(c)
	r, err := s.deps.Checkout.RefundByAdmin(c.UserContext(), checkout.AdminRefundRequest{
		OrderID: strings.Clone(c.Params("order")), AdminID: admin.ID, AmountCents: req.AmountCents, TicketIDs: req.TicketIDs,
		Reason: strings.TrimSpace(req.Reason), ReleaseSeats: req.ReleaseSeats})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(r)
}

// resendConfirmation: POST /api/admin/orders/:order/confirmation → 202.
func (s *Server) resendConfirmation(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	admin, _ := currentAccount(c)
	id := strings.Clone(c.Params("order"))
	if err := s.deps.Checkout.ResendConfirmation(c.UserContext(), id, admin.ID); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"order_id": id, "queued": true})
}

type noteRequest struct {
	Body string `json:"body" validate:"required,text,max=2000"`
}

// addOrderNote: POST /api/admin/orders/:order/notes → 201 the note.
func (s *Server) addOrderNote(c *fiber.Ctx) error {
	var req noteRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	admin, _ := currentAccount(c)
	n, err := s.deps.Checkout.AddNote(c.UserContext(), strings.Clone(c.Params("order")), admin.ID, req.Body)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(n)
}

type voidRequest struct {
	Reason string `json:"reason" validate:"omitempty,text,max=500"`
}

// voidTicket: POST /api/admin/tickets/:ticket/void → 200 the ticket.
func (s *Server) voidTicket(c *fiber.Ctx) error {
	var req voidRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	admin, _ := currentAccount(c)
	t, err := s.deps.Checkout.VoidTicket(c.UserContext(), strings.Clone(c.Params("ticket")), admin.ID, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

// eventAttendees: GET /api/admin/events/:event/attendees?page=&per_page=.
func (s *Server) eventAttendees(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	page, perPage, err := pageQuery(c)
	if err != nil {
		return err
	}
	if _, err := s.deps.Seats.EventState(c.UserContext(), id); err != nil {
		return err
	}
	out, err := s.deps.Checkout.Attendees(c.UserContext(), id, page, perPage)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// exportTimeout bounds one CSV download (its query and its writing).
const exportTimeout = 10 * time.Minute

// exportCSV: GET /api/admin/events/:event/exports/:kind.csv streams one of
// the event's exports. Everything that can fail cleanly (the kind, the
// event) is checked first; then the rows go from Postgres to the socket as
// they are read (a chunked response), so an export never sits whole in
// memory. A failure mid-stream can no longer change the status: it is
// logged and the file ends early.
func (s *Server) exportCSV(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	kind := strings.Clone(c.Params("kind"))
	if !checkout.ValidExport(kind) {
		return checkout.ErrUnknownExport
	}
	if _, err := s.deps.Seats.EventState(c.UserContext(), id); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="event-%d-%s.csv"`, id, kind))
	ctx := context.WithoutCancel(c.UserContext())
	log := s.log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(ctx, exportTimeout)
		defer cancel()
		if err := s.deps.Checkout.WriteExport(ctx, id, kind, w); err != nil {
			log.Error("server: export cut short", "event", id, "kind", kind, "err", err)
		}
		_ = w.Flush()
	})
	return nil
}

// counterSaleRequest is a box office sale: the seats (named, the best
// available or a number of standing places), how the money was taken,
// optionally each named seat's price type and the name on the tickets.
type counterSaleRequest struct {
	SeatIDs       []ID             `json:"seat_ids" validate:"omitempty,min=1,max=100"`
	BestAvailable *bestRequest     `json:"best_available"`
	GA            *gaRequest       `json:"ga"`
	Method        string           `json:"method" validate:"required,oneof=cash card_present"`
	Tickets       []checkoutTicket `json:"tickets" validate:"max=100,dive"`
	HolderName    string           `json:"holder_name" validate:"omitempty,name,max=100"`
}

// errCounterTickets: price types are chosen per named seat.
var errCounterTickets = apperr.E(apperr.Invalid, "tickets_need_seat_ids",
	"tickets chooses the price type of named seats: send seat_ids with it (best_available and ga sell at the first price type)")

// counterSale: POST /api/admin/events/:event/counter-sales → 201 the order.
func (s *Server) counterSale(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req counterSaleRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	hold, err := holdShape(req.SeatIDs, req.BestAvailable, req.GA)
	if err != nil {
		return err
	}
	if len(req.Tickets) > 0 && len(req.SeatIDs) == 0 {
		return errCounterTickets
	}
	op, _ := currentAccount(c)
	var types map[int64]string
	if len(req.Tickets) > 0 {
		types = make(map[int64]string, len(req.Tickets))
		for _, t := range req.Tickets {
			types[int64(t.SeatID)] = t.PriceType
		}
	}
	hold.EventID, hold.AccountID = id, op.ID
	o, err := s.deps.Checkout.CounterSale(c.UserContext(), checkout.CounterSaleRequest{Hold: hold,
		Method: req.Method, Types: types, HolderName: req.HolderName})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(o)
}

// roleRequest is the body of a role change.
type roleRequest struct {
	Role    string `json:"role" validate:"required,oneof=fan admin scanner box_office finance"`
	EventID ID     `json:"event_id"`
}

// setAccountRole: PUT /api/admin/accounts/:account/role → 200 the account.
func (s *Server) setAccountRole(c *fiber.Ctx) error {
	id, err := pathID(c, "account", account.ErrAccountNotFound)
	if err != nil {
		return err
	}
	var req roleRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if req.EventID != 0 {
		if _, err := s.deps.Seats.EventState(c.UserContext(), int64(req.EventID)); err != nil {
			return err
		}
	}
	admin, _ := currentAccount(c)
	a, err := s.deps.Accounts.SetRole(c.UserContext(), admin.ID, id, req.Role, int64(req.EventID))
	if err != nil {
		return err
	}
	return c.JSON(a)
}

// findAccounts: GET /api/admin/accounts?q= lists up to 20 accounts whose
// email or name contains q, for the role form.
func (s *Server) findAccounts(c *fiber.Ctx) error {
	q := c.Query("q")
	if len(q) > 200 {
		return errBadQuery
	}
	out, err := s.deps.Accounts.Find(c.UserContext(), strings.Clone(q))
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// scannerScope refuses a check-in by a scanner kept to another event's
// door before the code is looked at.
func scannerScope(acct account.Account, event int64) error {
	if acct.Role == account.RoleScanner && acct.RoleEventID != 0 && acct.RoleEventID != event {
		return errScanScope.With("event", strconv.FormatInt(acct.RoleEventID, 10))
	}
	return nil
}
