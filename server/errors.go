package server

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// statusOf is the one place error kinds become HTTP statuses.
func statusOf(k apperr.Kind) int {
	switch k {
	case apperr.Malformed:
		return fiber.StatusBadRequest
	case apperr.Unauthenticated:
		return fiber.StatusUnauthorized
	case apperr.Forbidden:
		return fiber.StatusForbidden
	case apperr.NotFound:
		return fiber.StatusNotFound
	case apperr.Conflict:
		return fiber.StatusConflict
	case apperr.Gone:
		return fiber.StatusGone
	case apperr.Invalid:
		return fiber.StatusUnprocessableEntity
	case apperr.RateLimited:
		return fiber.StatusTooManyRequests
	case apperr.Unavailable:
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// Errors of the HTTP layer itself.
var (
	errMalformedJSON = apperr.E(apperr.Malformed, "malformed_json", "the request body is not valid JSON of the expected shape")
	errRouteNotFound = apperr.E(apperr.NotFound, "not_found", "no such route")
	errInternal      = apperr.E(apperr.Internal, "internal", "internal error")
	errUnavailable   = apperr.E(apperr.Unavailable, "unavailable", "the service is overloaded or degraded; try again shortly")
	errCSRF          = apperr.E(apperr.Forbidden, "csrf", "cross-site request refused: send the request from an allowed origin or use a bearer token")
	errForbidden     = apperr.E(apperr.Forbidden, "forbidden", "your account may not do this")
)

// errorHandler writes every error as {"error": {"code", "message", ...}},
// the API's one error shape. Fiber's own errors
// (unknown route, body too large, bad method) keep their status; internal
// errors are logged with their detail and shown as "internal error".
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code := "http_" + strconv.Itoa(fe.Code)
			if fe.Code == fiber.StatusNotFound {
				code = "not_found"
			}
			return writeError(c, fe.Code, code, fe.Message, nil)
		}
		e := apperr.As(err)
		if e == nil && unavailable(err) {
			log.Warn("request failed: a backing service is unavailable", slog.String("path", c.Path()), slog.String("err", err.Error()))
			e = errUnavailable
		}
		if e == nil || e.Kind == apperr.Internal {
			log.Error("request failed", slog.String("method", c.Method()), slog.String("path", c.Path()),
				slog.String("err", err.Error()))
			e = errInternal
		}
		if e.Kind == apperr.RateLimited {
			if ra, ok := e.Details["retry_after_seconds"]; ok {
				c.Set(fiber.HeaderRetryAfter, toString(ra))
			}
		}
		return writeError(c, statusOf(e.Kind), e.Code, e.Message, e.Details)
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return "1"
}

func writeError(c *fiber.Ctx, status int, code, message string, details map[string]any) error {
	body := make(map[string]any, len(details)+2)
	for k, v := range details {
		body[k] = v
	}
	body["code"] = code
	body["message"] = message
	return c.Status(status).JSON(fiber.Map{"error": body})
}

// unavailable reports errors that mean "try again shortly" rather than a
// bug: Postgres down or restarting, or every Redis connection busy (an
// overloaded node), so clients get 503 and back off instead of a 500.
func unavailable(err error) bool {
	return pg.IsUnavailable(err) || errors.Is(err, redis.ErrPoolTimeout)
}
