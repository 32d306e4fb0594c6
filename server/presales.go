package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/presale"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// HeaderAccessCode carries a presale access code on a hold: the code is
// entered in the same request as the hold it allows.
const HeaderAccessCode = "X-Access-Code"

// localPresale is the Locals key of the presale access admitted found.
const localPresale = "presale"

// errPresalesOff answers the admin routes of a server built without a
// presale service: there is no window to find.
var errPresalesOff = presale.ErrPresaleNotFound

// presaleAccess asks the presale service what this hold may do before the
// general sale; with no presale service, nothing.
func (s *Server) presaleAccess(c *fiber.Ctx, eventID, accountID int64) (*seatmap.PresaleAccess, error) {
	if s.deps.Presales == nil {
		return nil, nil
	}
	return s.deps.Presales.Access(c.UserContext(), eventID, accountID, c.Get(HeaderAccessCode))
}

// queueRoom is the waiting room a fan queues in: while an open presale
// window let the account in, the window's own room, else the event's
// general room. An X-Access-Code sent with the request is entered first,
// in the same step as the join (a code refused is no join); without one, a
// fan no window let in queues for the general sale.
func (s *Server) queueRoom(c *fiber.Ctx, eventID, accountID int64) (waitingroom.RoomKey, error) {
	room := waitingroom.RoomKey{EventID: eventID}
	code := c.Get(HeaderAccessCode)
	access, err := s.presaleAccess(c, eventID, accountID)
	switch {
	case err != nil && (code != "" || !errors.Is(err, presale.ErrCodeRequired)):
		return room, err
	case access != nil:
		room.PresaleID = access.ID
	}
	return room, nil
}

// limitAccessCode rate-limits requests that carry an access code, so codes
// cannot be guessed by trying holds; holds without one pass.
func (s *Server) limitAccessCode() fiber.Handler {
	limit := s.limit(LimitAccessCode)
	return func(c *fiber.Ctx) error {
		if c.Get(HeaderAccessCode) == "" {
			return c.Next()
		}
		return limit(c)
	}
}

// listPresales: GET /api/events/:event/presales, the windows with their
// times (for countdowns) and whether the signed-in fan is let in.
func (s *Server) listPresales(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	if s.deps.Presales == nil {
		return c.JSON([]presale.FanWindow{})
	}
	acct, _ := currentAccount(c)
	ws, err := s.deps.Presales.List(c.UserContext(), eventID, acct.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(ws)
}

// accessCodeRequest is the body of POST /api/events/:event/presales/access.
type accessCodeRequest struct {
	Code string `json:"code" validate:"required,max=64"`
}

// enterAccessCode: POST /api/events/:event/presales/access lets the fan
// into the window of the code, before the seat map or the queue.
func (s *Server) enterAccessCode(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req accessCodeRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if s.deps.Presales == nil {
		return presale.ErrCodeInvalid
	}
	acct, _ := currentAccount(c)
	w, err := s.deps.Presales.Redeem(c.UserContext(), eventID, acct.ID, req.Code)
	if err != nil {
		return err
	}
	return c.JSON(presale.FanWindow{Window: w, HasAccess: true})
}

// createPresaleRequest is the body of POST /api/admin/events/:event/presales.
type createPresaleRequest struct {
	Name               string    `json:"name" validate:"required,name,max=100"`
	StartsAt           time.Time `json:"starts_at" validate:"required"`
	EndsAt             time.Time `json:"ends_at" validate:"required"`
	Sections           []string  `json:"sections" validate:"max=100,dive,required,max=64"`
	MaxSeatsPerAccount int       `json:"max_seats_per_account" validate:"min=0,max=8"`
	SharedCode         string    `json:"shared_code" validate:"max=64"`
	Share              int       `json:"share" validate:"min=0,max=10000000"`
	SharePercent       int       `json:"share_percent" validate:"min=0,max=100"`
	AdmitPerMinute     int       `json:"admit_per_minute" validate:"min=0,max=10000000"`
}

// adminListPresales: GET /api/admin/events/:event/presales.
func (s *Server) adminListPresales(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	if s.deps.Presales == nil {
		return errPresalesOff
	}
	ws, err := s.deps.Presales.AdminList(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(ws)
}

// createPresale: POST /api/admin/events/:event/presales.
func (s *Server) createPresale(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req createPresaleRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if s.deps.Presales == nil {
		return errPresalesOff
	}
	w, err := s.deps.Presales.Create(c.UserContext(), eventID, presale.Spec{Name: req.Name,
		StartsAt: req.StartsAt.UTC(), EndsAt: req.EndsAt.UTC(), Sections: req.Sections,
		MaxSeatsPerAccount: req.MaxSeatsPerAccount, SharedCode: req.SharedCode,
		Share: req.Share, SharePercent: req.SharePercent, AdmitPerMinute: req.AdmitPerMinute})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(w)
}

// generateCodesRequest is the body of POST /api/admin/presales/:presale/codes.
type generateCodesRequest struct {
	Count int `json:"count" validate:"required,min=1,max=10000"`
}

// generateCodes: POST /api/admin/presales/:presale/codes adds a batch of
// single-use codes; GET on the same path exports them.
func (s *Server) generateCodes(c *fiber.Ctx) error {
	presaleID, err := pathID(c, "presale", presale.ErrPresaleNotFound)
	if err != nil {
		return err
	}
	var req generateCodesRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if s.deps.Presales == nil {
		return errPresalesOff
	}
	total, err := s.deps.Presales.Generate(c.UserContext(), presaleID, req.Count)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"generated": req.Count, "total": total})
}

// exportCodes: GET /api/admin/presales/:presale/codes, the window's
// single-use codes as CSV (code, redeemed_by, redeemed_at).
func (s *Server) exportCodes(c *fiber.Ctx) error {
	presaleID, err := pathID(c, "presale", presale.ErrPresaleNotFound)
	if err != nil {
		return err
	}
	if s.deps.Presales == nil {
		return errPresalesOff
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="presale-%d-codes.csv"`, presaleID))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.deps.Presales.WriteCodesCSV(c.UserContext(), presaleID, c.Response().BodyWriter())
}
