package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/seatmap"
)

// pathID parses a decimal id from a path parameter; anything else is the
// given not-found error, since no such object can exist.
func pathID(c *fiber.Ctx, name string, notFound error) (int64, error) {
	n, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, notFound
	}
	return n, nil
}

// listEvents: GET /api/events[?status=&q=&city=&from=&to=&limit=&after=],
// a page of events by date; past events are left out unless from says
// otherwise. The body stays a JSON array; a next page is announced in a
// Link header (rel="next") and X-Next-Cursor, to pass back as after=.
func (s *Server) listEvents(c *fiber.Ctx) error {
	q := seatmap.EventQuery{Status: c.Query("status"), Text: c.Query("q"), City: c.Query("city"), After: c.Query("after")}
	bad := map[string]string{}
	switch q.Status {
	case "", seatmap.StatusUpcoming, seatmap.StatusOnSale, seatmap.StatusPaused, seatmap.StatusSoldOut, seatmap.StatusCancelled:
	default:
		bad["status"] = "must be one of upcoming on_sale paused sold_out cancelled"
	}
	if len(q.Text) > 200 {
		bad["q"] = "must be at most 200 characters"
	}
	if len(q.City) > 100 {
		bad["city"] = "must be at most 100 characters"
	}
	var ok bool
	if q.From, ok = queryDate(c.Query("from"), false); !ok {
		bad["from"] = "must be a date (2026-07-01) or an RFC 3339 time"
	}
	if q.To, ok = queryDate(c.Query("to"), true); !ok {
		bad["to"] = "must be a date (2026-07-01) or an RFC 3339 time"
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxEventsPage {
			bad["limit"] = "must be a whole number from 1 to " + strconv.Itoa(maxEventsPage)
		}
		q.Limit = n
	}
	if len(bad) > 0 {
		return errValidation.With("fields", bad)
	}
	page, err := s.deps.Seats.Events(c.UserContext(), q)
	if err != nil {
		return err
	}
	if page.Next != "" {
		next := c.Request().URI()
		args := next.QueryArgs()
		args.Set("after", page.Next)
		c.Set("X-Next-Cursor", page.Next)
		c.Set(fiber.HeaderLink, `<`+string(next.Path())+`?`+args.String()+`>; rel="next"`)
	}
	return c.JSON(page.Events)
}

// maxEventsPage is the most events one page of GET /api/events holds.
const maxEventsPage = 100

// queryDate parses a date filter: an RFC 3339 time, or a calendar date in
// UTC; a date given as the end of a range includes its whole day. "" is
// the zero time.
func queryDate(v string, end bool) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, true
}

// getEvent: GET /api/events/:event.
func (s *Server) getEvent(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	ev, err := s.deps.Seats.Event(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(ev)
}

// getSeatmap: GET /api/events/:event/seatmap, the static layout. It never
// changes for an event, so it is cached hard and revalidated by ETag.
func (s *Server) getSeatmap(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	l, err := s.deps.Seats.Layout(c.UserContext(), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, l.ETag)
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, l.ETag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return sendJSONBytes(c, l.JSON, l.Gzip)
}

// getAvailability: GET /api/events/:event/availability, the status of every
// seat as one letter each, shared per node for about a second.
func (s *Server) getAvailability(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	snap, err := s.deps.Seats.Snapshot(c.UserContext(), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	return sendJSONBytes(c, snap.Body, snap.Gzip)
}

// sendJSONBytes sends pre-encoded JSON, gzipped when the client accepts it.
// The bytes are encoded and compressed once and shared by every request.
func sendJSONBytes(c *fiber.Ctx, plain, gz []byte) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	if gz != nil && acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(gz)
	}
	return c.Send(plain)
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (named
// without q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		q := strings.TrimSpace(params)
		if v, ok := strings.CutPrefix(q, "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			return err == nil && f > 0
		}
		return true
	}
	return false
}
