package server

import (
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/media"
	"github.com/boxoffice/boxoffice/seatmap"
)

var (
	errNoMedia   = apperr.E(apperr.Unavailable, "media_unavailable", "image storage is not configured")
	errNoImage   = apperr.E(apperr.Invalid, "missing_image", "send the image as the body, or as the form field image")
	errMediaFile = apperr.E(apperr.NotFound, "not_found", "no such file")
)

// maxImageBody is the image upload's body limit: the largest image plus
// room for a multipart form's headers.
const maxImageBody = media.MaxBytes + 64<<10

// uploadEventImage: POST /api/admin/events/:event/image, the image as the
// raw body (Content-Type image/...) or as the multipart form field
// "image". The stored image is a re-encoded copy; the event's image_url
// then points at it.
func (s *Server) uploadEventImage(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	if s.deps.Media == nil {
		return errNoMedia
	}
	data := c.Body()
	if strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm) {
		fh, err := c.FormFile("image")
		if err != nil {
			return errNoImage
		}
		f, err := fh.Open()
		if err != nil {
			return errNoImage
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, media.MaxBytes+1)); err != nil {
			return errNoImage
		}
	}
	if len(data) == 0 {
		return errNoImage
	}
	if _, err := s.deps.Seats.Event(c.UserContext(), id); err != nil {
		return err
	}
	name, err := s.deps.Media.Put(data)
	if err != nil {
		return err
	}
	if err := s.deps.Seats.SetImage(c.UserContext(), id, name); err != nil {
		return err
	}
	ev, err := s.deps.Seats.Event(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(ev)
}

// getMedia: GET /api/media/:file, a stored image. Its name is its
// content's hash, so it is cached for good.
func (s *Server) getMedia(c *fiber.Ctx) error {
	if s.deps.Media == nil {
		return errMediaFile
	}
	b, err := s.deps.Media.Open(c.Params("file"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/jpeg")
	c.Set(fiber.HeaderCacheControl, cacheImmutable)
	return c.Send(b)
}
