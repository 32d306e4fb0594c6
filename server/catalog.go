package server

import (
	"strconv"
	"strings"

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

// listEvents: GET /api/events[?status=on_sale].
func (s *Server) listEvents(c *fiber.Ctx) error {
	status := c.Query("status")
	switch status {
	case "", seatmap.StatusUpcoming, seatmap.StatusOnSale, seatmap.StatusPaused, seatmap.StatusSoldOut, seatmap.StatusCancelled:
	default:
		return errValidation.With("fields", map[string]string{"status": "must be one of upcoming on_sale paused sold_out cancelled"})
	}
	evs, err := s.deps.Seats.Events(c.UserContext(), status)
	if err != nil {
		return err
	}
	return c.JSON(evs)
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
