package server

import (
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/internal/logctx"
)

// HeaderRequestID carries a request's id: taken from the client (or the
// proxy in front) when it is valid, made otherwise, and always returned.
const HeaderRequestID = "X-Request-ID"

// localRequestID is the Locals key of the request id.
const localRequestID = "request_id"

// maxRequestIDLen bounds a client's request id: it is echoed in a header
// and written to every log line of the request.
const maxRequestIDLen = 64

// requestIDFrom returns the client's X-Request-ID when it is short and of a
// safe charset (letters, digits, and . _ : -), or a new random id.
func requestIDFrom(c *fiber.Ctx) string {
	if id := c.Get(HeaderRequestID); validRequestID(id) {
		return strings.Clone(id) // Fiber reuses the header's buffer
	}
	return newRequestID()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := range len(id) {
		switch b := id[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID is 16 hex digits: an id to find lines by, not a secret, so
// the fast non-cryptographic source is enough.
func newRequestID() string {
	return strconv.FormatUint(rand.Uint64()|1<<63, 16)
}

// requestID returns the request's id (set by observe).
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// reqLog is the logger of this request: the server's, with its request id.
func (s *Server) reqLog(c *fiber.Ctx) *slog.Logger { return logctx.From(c.UserContext(), s.log) }

// quietRoutes are logged at debug level: probes and scrapes arrive every
// few seconds and say nothing about users.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// observe is the outermost middleware. It gives the request its id (the
// response header, error bodies and a logger in the request's context carry
// it), runs the error handler so the final status is known, then writes the
// access log line and the HTTP metrics.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	id := requestIDFrom(c)
	c.Set(HeaderRequestID, id)
	c.Locals(localRequestID, id)
	log := s.log.With(slog.String("request_id", id))
	c.SetUserContext(logctx.With(c.UserContext(), log))

	if err := c.Next(); err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}

	elapsed := time.Since(start)
	status := c.Response().StatusCode()
	route := c.Route().Path
	method := strings.Clone(c.Method()) // Fiber reuses the buffer
	if s.http != nil {
		s.http.observe(method, route, status, elapsed)
	}
	level := slog.LevelInfo
	if quietRoutes[route] {
		level = slog.LevelDebug
	}
	if !log.Enabled(c.UserContext(), level) {
		return nil
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.Int("bytes", responseBytes(c)),
	}
	if a, ok := currentAccount(c); ok {
		attrs = append(attrs, slog.Int64("account_id", a.ID))
	}
	log.LogAttrs(c.UserContext(), level, "request", attrs...)
	return nil
}

// responseBytes is the size of the response body without reading a
// streamed one (a file): its Content-Length then, or -1 when chunked.
func responseBytes(c *fiber.Ctx) int {
	if c.Response().IsBodyStream() {
		return c.Response().Header.ContentLength()
	}
	return len(c.Response().Body())
}
