package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/seatmap"
)

var (
	errUnknownPreset = apperr.E(apperr.Invalid, "unknown_preset", "preset must be stadium, arena, arena-ga or theater")
	errVenueShape    = apperr.E(apperr.Invalid, "invalid_venue", "send a name and one of preset, layout or design")
	errReleaseShape  = apperr.E(apperr.Invalid, "invalid_release", "send either seat_ids or section with count")
	errSaleOrder     = apperr.E(apperr.Invalid, "invalid_dates", "sale_opens must be before event_date")
	// errAccessibleReleaseAt: a release time already past would release
	// the accessible seats the moment they are held back.
	errAccessibleReleaseAt = apperr.E(apperr.Invalid, "invalid_dates", "accessible_release_at must be in the future")
)

type createVenueRequest struct {
	Name     string          `json:"name" validate:"required,name,max=100"`
	City     string          `json:"city" validate:"omitempty,name,max=100"`
	TimeZone string          `json:"time_zone" validate:"omitempty,max=64"`
	Preset   string          `json:"preset" validate:"omitempty,oneof=stadium arena arena-ga theater"`
	Layout   *seatmap.Layout `json:"layout"`
	// Design is the venue builder's description, from which the layout
	// is generated (seatmap.Design).
	Design *seatmap.Design `json:"design"`
}

// venueSpec turns a venue body into the venue to store: exactly one of
// preset, layout and design says what its seats are.
func (s *Server) venueSpec(body []byte) (seatmap.VenueSpec, error) {
	var req createVenueRequest
	if err := s.decodeStrict(body, &req); err != nil {
		return seatmap.VenueSpec{}, err
	}
	given := 0
	for _, set := range []bool{req.Preset != "", req.Layout != nil, req.Design != nil} {
		if set {
			given++
		}
	}
	if given != 1 {
		return seatmap.VenueSpec{}, errVenueShape
	}
	spec := seatmap.VenueSpec{Name: req.Name, Place: seatmap.Place{City: req.City, TimeZone: req.TimeZone}, Design: req.Design}
	var err error
	switch {
	case req.Preset != "":
		spec.Layout, err = seatmap.Generate(req.Preset)
		if errors.Is(err, seatmap.ErrUnknownPreset) {
			return seatmap.VenueSpec{}, errUnknownPreset
		}
	case req.Design != nil:
		spec.Layout, err = req.Design.Build()
	default:
		spec.Layout = *req.Layout
	}
	return spec, err
}

// createVenue: POST /api/admin/venues, from a preset, an uploaded layout
// or a design.
func (s *Server) createVenue(c *fiber.Ctx) error {
	spec, err := s.venueSpec(c.Body())
	if err != nil {
		return err
	}
	v, err := s.deps.Seats.CreateVenueFrom(c.UserContext(), spec)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

// updateVenue: PUT /api/admin/venues/:venue replaces the venue (same body
// as createVenue) until an event uses it: then 409 venue_in_use.
func (s *Server) updateVenue(c *fiber.Ctx) error {
	id, err := pathID(c, "venue", seatmap.ErrVenueNotFound)
	if err != nil {
		return err
	}
	spec, err := s.venueSpec(c.Body())
	if err != nil {
		return err
	}
	v, err := s.deps.Seats.UpdateVenue(c.UserContext(), id, spec)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// listVenues: GET /api/admin/venues, newest first, each with how many
// events use it (the builder's list) and its sections and seat types (the
// wizard's venue and price steps).
func (s *Server) listVenues(c *fiber.Ctx) error {
	list, err := s.deps.Seats.Venues(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(list)
}

// getVenue: GET /api/admin/venues/:venue, with its layout and design: what
// the builder opens and exports.
func (s *Server) getVenue(c *fiber.Ctx) error {
	id, err := pathID(c, "venue", seatmap.ErrVenueNotFound)
	if err != nil {
		return err
	}
	v, err := s.deps.Seats.VenueDetail(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

type previewVenueRequest struct {
	Design seatmap.Design `json:"design"`
}

// venuePreview is a built design in the shape the seat map draws: its
// sections and every place (ga places included), and the stage.
type venuePreview struct {
	Capacity int                `json:"capacity"`
	Sections []seatmap.Section  `json:"sections"`
	Seats    []seatmap.SeatSpec `json:"seats"`
	Stage    *seatmap.Area      `json:"stage,omitempty"`
}

// previewVenue: POST /api/admin/venues/preview builds a design without
// storing it, for the builder's live preview and its errors.
func (s *Server) previewVenue(c *fiber.Ctx) error {
	var req previewVenueRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	l, err := req.Design.Build()
	if err != nil {
		return err
	}
	places := l.Places()
	return c.JSON(venuePreview{Capacity: len(places), Sections: l.Sections, Seats: places, Stage: l.Stage})
}

// waitingRoomSettings is the waiting_room object of an event's admin body.
type waitingRoomSettings struct {
	Enabled        bool `json:"enabled"`
	AdmitPerMinute int  `json:"admit_per_minute" validate:"omitempty,min=1,max=10000000"`
	ActiveLimit    int  `json:"active_limit" validate:"omitempty,min=1,max=10000000"`
	PowDifficulty  int  `json:"pow_difficulty" validate:"omitempty,min=0,max=32"`
}

type createEventRequest struct {
	VenueID            ID                   `json:"venue_id" validate:"required"`
	Name               string               `json:"name" validate:"required,name,max=200"`
	EventDate          time.Time            `json:"event_date" validate:"required"`
	SaleOpens          time.Time            `json:"sale_opens" validate:"required"`
	Prices             map[string]int64     `json:"prices" validate:"required,min=1,max=1000,dive,keys,min=1,max=64,endkeys,min=0,max=100000000"`
	ReserveShare       *float64             `json:"reserve_share" validate:"omitempty,min=0,max=1"`
	MaxSeatsPerAccount int                  `json:"max_seats_per_account" validate:"omitempty,min=1,max=8"`
	Currency           string               `json:"currency" validate:"omitempty,len=3,lowercase"`
	WaitingRoom        *waitingRoomSettings `json:"waiting_room"`
	ResaleCapPercent   int                  `json:"resale_cap_percent" validate:"omitempty,min=1,max=1000"`
	PrintAtHome        bool                 `json:"print_at_home"`
	// AccessibleReleaseAt schedules the end of the accessible hold-back.
	AccessibleReleaseAt *time.Time          `json:"accessible_release_at"`
	Fees                *feesSettings       `json:"fees"`
	PriceTypes          []priceTypeSettings `json:"price_types" validate:"omitempty,max=10,dive"`
	Description         string              `json:"description" validate:"omitempty,text,max=5000"`
	Artist              string              `json:"artist" validate:"omitempty,name,max=200"`
	Genre               string              `json:"genre" validate:"omitempty,name,max=100"`
}

// feesSettings is the fees object of an event's admin body (seatmap.Fees).
type feesSettings struct {
	ServiceBasisPoints int64 `json:"service_fee_bps" validate:"min=0,max=10000"`
	ServiceCents       int64 `json:"service_fee_cents" validate:"min=0,max=100000000"`
	FacilityCents      int64 `json:"facility_fee_cents" validate:"min=0,max=100000000"`
	TaxBasisPoints     int64 `json:"tax_bps" validate:"min=0,max=10000"`
	TaxIncluded        bool  `json:"tax_included"`
}

func (f *feesSettings) fees() *seatmap.Fees {
	if f == nil {
		return nil
	}
	return &seatmap.Fees{ServiceBasisPoints: f.ServiceBasisPoints, ServiceCents: f.ServiceCents,
		FacilityCents: f.FacilityCents, TaxBasisPoints: f.TaxBasisPoints, TaxIncluded: f.TaxIncluded}
}

// priceTypeSettings is one price type of an event's admin body: its face
// value is percent of the seat's price (seatmap.PriceType).
type priceTypeSettings struct {
	Key       string `json:"key" validate:"required,max=32"`
	Name      string `json:"name" validate:"required,name,max=64"`
	Percent   int64  `json:"percent" validate:"min=0,max=100"`
	Condition string `json:"condition" validate:"max=200"`
}

func priceTypes(in []priceTypeSettings) []seatmap.PriceType {
	if in == nil {
		return nil
	}
	out := make([]seatmap.PriceType, len(in))
	for i, t := range in {
		out[i] = seatmap.PriceType{Key: t.Key, Name: t.Name, Percent: t.Percent, Condition: t.Condition}
	}
	return out
}

// defaultReserveShare is held back when an event does not say: a tenth of
// the seats, kept for the day of the show, accessibility and the artist.
const defaultReserveShare = 0.1

// createEvent: POST /api/admin/events.
func (s *Server) createEvent(c *fiber.Ctx) error {
	var req createEventRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if !req.SaleOpens.Before(req.EventDate) {
		return errSaleOrder
	}
	if at := req.AccessibleReleaseAt; at != nil && !at.After(time.Now()) {
		return errAccessibleReleaseAt
	}
	spec := seatmap.EventSpec{
		VenueID: int64(req.VenueID), Name: req.Name, EventDate: req.EventDate.UTC(), SaleOpens: req.SaleOpens.UTC(),
		Prices: req.Prices, Currency: req.Currency, ReserveShare: defaultReserveShare,
		MaxSeatsPerAccount: req.MaxSeatsPerAccount, ResaleCapPercent: req.ResaleCapPercent, PrintAtHome: req.PrintAtHome,
		AccessibleReleaseAt: req.AccessibleReleaseAt,
		PriceTypes:          priceTypes(req.PriceTypes),
		Info:                seatmap.EventInfo{Description: req.Description, Artist: req.Artist, Genre: req.Genre},
	}
	if f := req.Fees.fees(); f != nil {
		spec.Fees = *f
	}
	if req.ReserveShare != nil {
		spec.ReserveShare = *req.ReserveShare
	}
	if req.WaitingRoom != nil {
		if err := s.validate.Struct(req.WaitingRoom); err != nil {
			return validationError(err)
		}
		raw, err := json.Marshal(req.WaitingRoom)
		if err != nil {
			return err
		}
		spec.WaitingRoom = raw
	}
	id, err := s.deps.Seats.CreateEvent(c.UserContext(), spec)
	if err != nil {
		return err
	}
	if err := s.deps.Checkout.ScheduleReminders(c.UserContext(), id); err != nil {
		// The event exists: failing the request now would invite a second
		// one. The reminder is lost, not the event.
		s.log.Error("reminders of a new event not scheduled", "event", id, "err", err)
	}
	if req.WaitingRoom != nil && req.WaitingRoom.Enabled {
		// Commit the shuffle's seed now, long before the sale opens, so the
		// published commitment can prove the order was not chosen later.
		if _, err := s.deps.Queue.Fairness(c.UserContext(), id); err != nil {
			return err
		}
	}
	ev, err := s.deps.Seats.Event(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(ev)
}

// changeEventRequest changes what it names and nothing else: the name,
// date and sale time (before the sale only), a status action, the
// print_at_home entry rule, the fees, the price types, the event's
// description, artist or genre. refund_fees goes only with status
// cancel (default true: the refunds return the fees too).
type changeEventRequest struct {
	// Name, EventDate and SaleOpens change only before the sale starts
	// (409 sale_started after; seatmap.ChangeDetails).
	Name        *string             `json:"name" validate:"omitempty,name,max=200"`
	EventDate   *time.Time          `json:"event_date"`
	SaleOpens   *time.Time          `json:"sale_opens"`
	Status      string              `json:"status" validate:"omitempty,oneof=open pause resume cancel"`
	PrintAtHome *bool               `json:"print_at_home"`
	Fees        *feesSettings       `json:"fees"`
	PriceTypes  []priceTypeSettings `json:"price_types" validate:"omitempty,max=10,dive"`
	RefundFees  *bool               `json:"refund_fees"`
	Description *string             `json:"description" validate:"omitempty,text,max=5000"`
	Artist      *string             `json:"artist" validate:"omitempty,name,max=200"`
	Genre       *string             `json:"genre" validate:"omitempty,name,max=100"`
}

var (
	errChangeShape = apperr.E(apperr.Invalid, "invalid_change",
		"send name, event_date, sale_opens, status, print_at_home, fees, price_types, description, artist, genre or several")
	errRefundFees = apperr.E(apperr.Invalid, "invalid_change", "refund_fees goes only with status cancel")
)

// changeEvent: PATCH /api/admin/events/:event {name?, event_date?,
// sale_opens?, status?, print_at_home?, ...}.
func (s *Server) changeEvent(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req changeEventRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	info := seatmap.InfoChange{Description: req.Description, Artist: req.Artist, Genre: req.Genre}
	details := seatmap.DetailsChange{Name: req.Name, EventDate: req.EventDate, SaleOpens: req.SaleOpens}
	if req.Status == "" && req.PrintAtHome == nil && req.Fees == nil && req.PriceTypes == nil && info == (seatmap.InfoChange{}) &&
		details == (seatmap.DetailsChange{}) {
		return errChangeShape
	}
	if req.RefundFees != nil && req.Status != seatmap.ActionCancel {
		return errRefundFees
	}
	// The details first: once the sale started they are refused, and
	// nothing else of the request is applied either.
	if details != (seatmap.DetailsChange{}) {
		if err := s.deps.Seats.ChangeDetails(c.UserContext(), id, details); err != nil {
			return err
		}
	}
	if info != (seatmap.InfoChange{}) {
		if err := s.deps.Seats.ChangeInfo(c.UserContext(), id, info); err != nil {
			return err
		}
	}
	if req.Fees != nil || req.PriceTypes != nil {
		if err := s.deps.Seats.SetPricing(c.UserContext(), id, req.Fees.fees(), priceTypes(req.PriceTypes)); err != nil {
			return err
		}
	}
	if req.PrintAtHome != nil {
		if err := s.deps.Seats.SetPrintAtHome(c.UserContext(), id, *req.PrintAtHome); err != nil {
			return err
		}
	}
	var ev seatmap.EventDetail
	switch req.Status {
	case "":
		ev, err = s.deps.Seats.Event(c.UserContext(), id)
	case seatmap.ActionCancel:
		// Voids the tickets and enqueues the refunds with the status change.
		ev, err = s.deps.Checkout.CancelEvent(c.UserContext(), id,
			checkout.CancelOptions{KeepFees: req.RefundFees != nil && !*req.RefundFees})
	default:
		ev, err = s.deps.Seats.ChangeStatus(c.UserContext(), id, req.Status)
	}
	if err != nil {
		return err
	}
	if req.Status == seatmap.ActionOpen {
		if err := s.deps.Checkout.RemindSaleOpened(c.UserContext(), id); err != nil {
			return err
		}
	}
	return c.JSON(ev)
}

// setPricesRequest is the body of PUT /api/admin/events/:event/prices:
// the whole price map, keyed as at creation.
type setPricesRequest struct {
	Prices map[string]int64 `json:"prices" validate:"required,min=1,max=1000,dive,keys,min=1,max=64,endkeys,min=0,max=100000000"`
}

// setPrices: PUT /api/admin/events/:event/prices reprices every seat of
// an event whose sale has not started (409 sale_started after) and
// answers the event as fans now see it.
func (s *Server) setPrices(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req setPricesRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if err := s.deps.Seats.Reprice(c.UserContext(), id, req.Prices); err != nil {
		return err
	}
	ev, err := s.deps.Seats.Event(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(ev)
}

type releaseRequest struct {
	SeatIDs []ID       `json:"seat_ids" validate:"omitempty,max=100000"`
	Section string     `json:"section" validate:"max=64"`
	Count   int        `json:"count" validate:"omitempty,min=1,max=100000"`
	At      *time.Time `json:"at"`
}

// releaseInventory: POST /api/admin/events/:event/inventory/release puts
// held-back seats on sale now (200 {released}), or at `at` (202 {scheduled}),
// when a job releases exactly the seats picked now.
func (s *Server) releaseInventory(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req releaseRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if (len(req.SeatIDs) > 0) == (req.Count > 0) {
		return errReleaseShape
	}
	rr := seatmap.ReleaseRequest{EventID: id, Section: req.Section, Count: req.Count}
	for _, sid := range req.SeatIDs {
		rr.SeatIDs = append(rr.SeatIDs, int64(sid))
	}
	if req.At != nil && req.At.After(time.Now()) {
		sched, err := s.deps.Seats.ScheduleRelease(c.UserContext(), rr, *req.At)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"scheduled": sched})
	}
	n, err := s.deps.Seats.ReleaseReserved(c.UserContext(), rr)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"released": n})
}

// accessibleReleaseRequest is the optional body of an accessible release.
type accessibleReleaseRequest struct {
	At *time.Time `json:"at"`
}

// releaseAccessible: POST /api/admin/events/:event/accessible/release ends
// the accessible hold-back: the accessible seats nobody has claimed go on
// general sale now (200 {released}), or at `at` (202 {scheduled}, replacing
// any earlier time).
func (s *Server) releaseAccessible(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req accessibleReleaseRequest
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := s.decodeStrict(c.Body(), &req); err != nil {
			return err
		}
	}
	if req.At != nil && req.At.After(time.Now()) {
		sched, err := s.deps.Seats.ScheduleAccessibleRelease(c.UserContext(), id, *req.At)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"scheduled": sched})
	}
	n, err := s.deps.Seats.ReleaseAccessible(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"released": n})
}

// searchOrders: GET /api/admin/events/:event/orders?q= lists the event's
// newest orders whose buyer's email contains q or whose id starts with it.
func (s *Server) searchOrders(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	q := c.Query("q")
	if len(q) > 200 {
		return apperr.E(apperr.Invalid, "invalid_query", "q is at most 200 characters")
	}
	if _, err := s.deps.Seats.EventState(c.UserContext(), id); err != nil {
		return err
	}
	orders, err := s.deps.Checkout.SearchOrders(c.UserContext(), id, strings.Clone(q))
	if err != nil {
		return err
	}
	return c.JSON(orders)
}

// reviewQueue: GET /api/admin/reviews[?event=], the orders waiting for a
// review decision, oldest first.
func (s *Server) reviewQueue(c *fiber.Ctx) error {
	var eventID int64
	if raw := c.Query("event"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			return seatmap.ErrEventNotFound
		}
		if _, err := s.deps.Seats.EventState(c.UserContext(), id); err != nil {
			return err
		}
		eventID = id
	}
	items, err := s.deps.Checkout.ReviewQueue(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	return c.JSON(items)
}

// reviewDecision is the answer of an approve or reject.
type reviewDecision struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// approveOrder: POST /api/admin/orders/:order/approve.
func (s *Server) approveOrder(c *fiber.Ctx) error {
	return s.decideReview(c, s.deps.Checkout.ApproveOrder, checkout.OrderPaid)
}

// rejectOrder: POST /api/admin/orders/:order/reject.
func (s *Server) rejectOrder(c *fiber.Ctx) error {
	return s.decideReview(c, s.deps.Checkout.RejectOrder, checkout.OrderRejected)
}

// decideReview runs one review decision by the signed-in admin.
func (s *Server) decideReview(c *fiber.Ctx, decide func(ctx context.Context, orderID string, adminID int64) error, status string) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	admin, _ := currentAccount(c)
	id := strings.Clone(c.Params("order"))
	if err := decide(c.UserContext(), id, admin.ID); err != nil {
		return err
	}
	return c.JSON(reviewDecision{ID: id, Status: status})
}
