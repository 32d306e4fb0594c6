package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz: the process is up and serving.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz: Postgres and Redis reachable. Without Postgres nothing can be sold
// (503); without Redis holds still work through Postgres alone, so the node
// stays in rotation but reports degraded with the reason.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	checks := fiber.Map{}
	status, code := "ok", fiber.StatusOK
	// The answer names the failing dependency, never its error text (an
	// address or a driver message is for the log, not for anyone asking).
	if err := check(ctx, s.deps.Postgres); err != nil {
		s.log.Warn("readyz: postgres unavailable", "err", err)
		checks["postgres"] = "unavailable"
		status, code = "unavailable", fiber.StatusServiceUnavailable
	} else {
		checks["postgres"] = "ok"
	}
	if err := check(ctx, s.deps.Redis); err != nil {
		s.log.Warn("readyz: redis unavailable", "err", err)
		checks["redis"] = "unavailable"
		if status == "ok" {
			status = "degraded"
		}
	} else {
		checks["redis"] = "ok"
	}
	return c.Status(code).JSON(fiber.Map{"status": status, "checks": checks})
}

func check(ctx context.Context, fn Checker) error {
	if fn == nil {
		return nil
	}
	return fn(ctx)
}
