package server

import (
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// The middleware every request passes first: panics become a 500, every
// response carries the security headers, and a body over its route's limit
// is refused before it is read. Kept in one file so what the server
// enforces at its edge reads in one place (docs/security.md).

// Body limits: 64 KB for every request but the venue upload, whose
// 100,000-seat layout is about 10 MB. deploy/nginx.conf holds the same.
const (
	maxBody       = 64 << 10
	maxUploadBody = 12 << 20
	// maxDrain is how far past its limit a declared body is still read
	// (and dropped) before the 413, for clients that only read the answer
	// once they have sent everything.
	maxDrain = 1 << 20
)

// largeBodies are the routes allowed more than maxBody, by "METHOD path".
var largeBodies = map[string]int{
	"POST /api/admin/venues":         maxUploadBody,
	"POST /api/admin/venues/preview": maxUploadBody,
}

// bodyLimit is a request's body limit: its route's in largeBodies, the
// event image upload's (a path with an id), or maxBody.
func bodyLimit(method, path string) int {
	if n, ok := largeBodies[method+" "+path]; ok {
		return n
	}
	// A venue's replacement (PUT /api/admin/venues/{venue}) is an upload too.
	if rest, ok := strings.CutPrefix(path, "/api/admin/venues/"); ok && method == fiber.MethodPut && !strings.Contains(rest, "/") {
		return maxUploadBody
	}
	if rest, ok := strings.CutPrefix(path, "/api/admin/events/"); ok && method == fiber.MethodPost &&
		strings.HasSuffix(rest, "/image") && !strings.Contains(strings.TrimSuffix(rest, "/image"), "/") {
		return maxImageBody
	}
	return maxBody
}

var (
	errBodyTooLarge = apperr.E(apperr.TooLarge, "body_too_large", "the request body is too large")
	errNULQuery     = apperr.E(apperr.Malformed, "malformed_query", "the query string may not contain the NUL character (%00)")
)

// hardening installs the edge middleware on every route.
func (s *Server) hardening() {
	s.app.Use(s.recoverer(), s.securityHeaders(), s.limitBody, refuseNULQuery)
}

// refuseNULQuery refuses %00 in a query string, which Fiber decodes into
// a NUL that Postgres cannot take (the admin order search, for one).
func refuseNULQuery(c *fiber.Ctx) error {
	if bytes.Contains(c.Request().URI().QueryString(), []byte("%00")) {
		return errNULQuery
	}
	return c.Next()
}

// recoverer turns a handler's panic into the JSON 500 of the error handler
// and logs its stack; the node keeps serving. /ws is left out: its handler
// runs after Fiber's context is released and has its own recover.
func (s *Server) recoverer() fiber.Handler {
	return recover.New(recover.Config{
		Next:             func(c *fiber.Ctx) bool { return c.Path() == "/ws" },
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, e any) {
			s.reqLog(c).Error("handler panic", slog.String("method", c.Method()), slog.String("path", c.Path()),
				slog.Any("panic", e), slog.String("stack", string(debug.Stack())))
		},
	})
}

// securityHeaders sets the headers of every response through Fiber's
// helmet: a Content-Security-Policy allowing only what the pages load,
// no framing, nosniff and a strict referrer. HSTS is sent when the site is
// https (BASE_URL), whatever the hop to this node was.
func (s *Server) securityHeaders() fiber.Handler {
	stripe := s.deps.Checkout != nil && s.deps.Checkout.ClientConfig().Provider == "stripe"
	h := helmet.New(helmet.Config{
		ContentSecurityPolicy: contentSecurityPolicy(stripe, s.wsOrigins()),
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "strict-origin-when-cross-origin",
		// Stripe.js's frames are cross-origin without CORP headers: COEP
		// would block them, and its 3-D Secure flow may open a window.
		CrossOriginEmbedderPolicy: "unsafe-none",
		CrossOriginOpenerPolicy:   "same-origin-allow-popups",
		PermissionPolicy:          "camera=(self), microphone=(), geolocation=(), payment=(self)",
	})
	hsts := strings.HasPrefix(s.cfg.BaseURL, "https://")
	return func(c *fiber.Ctx) error {
		if hsts {
			c.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
		}
		return h(c)
	}
}

// contentSecurityPolicy allows the app's own scripts, styles, workers and
// API, and js.stripe.com (its script and frames, and api.stripe.com) only
// when payments go through Stripe. The pages have no inline script or style
// attribute; canvases draw the seat map and the ticket codes.
func contentSecurityPolicy(stripe bool, wsOrigins []string) string {
	script, frame, connect := "'self'", "'none'", "'self'"
	if len(wsOrigins) > 0 {
		connect += " " + strings.Join(wsOrigins, " ")
	}
	if stripe {
		script += " https://js.stripe.com"
		frame = "https://js.stripe.com https://hooks.stripe.com"
		connect += " https://api.stripe.com"
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src " + script,
		"style-src 'self'",
		"img-src 'self' data:",
		"font-src 'self'",
		"connect-src " + connect,
		"worker-src 'self'",
		"frame-src " + frame,
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// wsOrigins are the ws:// and wss:// forms of the allowed origins: older
// browsers do not count a socket to the page's own host as 'self'.
func (s *Server) wsOrigins() []string {
	var out []string
	for o := range s.origins {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" {
			continue
		}
		switch u.Scheme {
		case "https":
			out = append(out, "wss://"+u.Host)
		case "http":
			out = append(out, "ws://"+u.Host)
		}
	}
	return out
}

// limitBody refuses a body over its route's limit with 413. Bodies are
// streamed (StreamRequestBody): a declared Content-Length over the limit is
// refused before any of it is read, and a chunked body is read only up to
// the limit. The connection is closed after a refusal, since the rest of
// the body is never read.
func (s *Server) limitBody(c *fiber.Ctx) error {
	limit := bodyLimit(c.Method(), c.Path())
	req := c.Request()
	if n := req.Header.ContentLength(); n > limit {
		// A body a little over the limit is read and dropped, so the
		// client, still sending, gets the 413 rather than a reset; a
		// larger one is not read at all.
		if stream := req.BodyStream(); stream != nil && n-limit <= maxDrain {
			_, _ = io.CopyN(io.Discard, stream, int64(n))
		}
		c.Context().SetConnectionClose()
		return errBodyTooLarge
	}
	if stream := req.BodyStream(); stream != nil && req.Header.ContentLength() == -1 { // chunked
		body, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
		if err != nil {
			return errMalformedJSON.With("detail", "the request body could not be read")
		}
		if len(body) > limit {
			c.Context().SetConnectionClose()
			return errBodyTooLarge
		}
		req.SetBodyStream(bytes.NewReader(body), len(body))
	}
	// A body within its limit is read whole now, as without streaming: a
	// handler that answers without reading it (a 401) must not leave the
	// rest of it on the connection.
	if req.Header.ContentLength() > 0 {
		_ = req.Body()
	}
	return c.Next()
}

// newValidator is the request validator with the checks struct tags use
// beyond validator's own: maxbytes (bcrypt reads only 72 bytes of a
// password, and validator's max counts characters) and name (a display
// name lands in email headers and other fans' emails: something visible,
// nothing that breaks a line).
func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	must := func(err error) {
		if err != nil {
			panic(err) // a tag registered twice: a programming error
		}
	}
	must(v.RegisterValidation("maxbytes", func(fl validator.FieldLevel) bool {
		n, err := strconv.Atoi(fl.Param())
		return err == nil && len(fl.Field().String()) <= n
	}))
	must(v.RegisterValidation("name", func(fl validator.FieldLevel) bool { return validName(fl.Field().String()) }))
	must(v.RegisterValidation("text", func(fl validator.FieldLevel) bool { return validText(fl.Field().String()) }))
	return v
}

// validText: plain text with lines and paragraphs (an event description):
// no control characters but newline, carriage return and tab.
func validText(s string) bool {
	for _, r := range s {
		if (unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t') || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// validName: at least one visible character, and no control characters,
// line or paragraph separators anywhere.
func validName(s string) bool {
	visible := false
	for _, r := range s {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029', r == utf8.RuneError:
			return false
		case unicode.IsGraphic(r) && !unicode.IsSpace(r):
			visible = true
		}
	}
	return visible
}

// prefixStrings is TRUSTED_PROXIES in the form Fiber takes.
func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		if p.Bits() == p.Addr().BitLen() {
			out[i] = p.Addr().String()
		} else {
			out[i] = p.String()
		}
	}
	return out
}
