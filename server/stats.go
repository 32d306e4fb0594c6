package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/seatmap"
)

var errNoStats = apperr.E(apperr.Unavailable, "stats_unavailable", "sale figures are not running on this node")

// getStats: GET /api/admin/events/:event/stats, the figures salestats
// keeps (the same as the 1 Hz stats frame).
func (s *Server) getStats(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	if s.deps.Stats == nil {
		return errNoStats
	}
	st, err := s.deps.Stats.Figures(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(st)
}
