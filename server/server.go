package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Config is what the HTTP layer needs to know about its deployment.
type Config struct {
	// BaseURL is the public address (for example https://tickets.example);
	// its origin is allowed for cookie-authenticated unsafe requests.
	BaseURL string
	// AllowedOrigins are further origins allowed to make cookie-authenticated
	// unsafe requests and to open sockets (ALLOWED_ORIGINS).
	AllowedOrigins []string
	// SecureCookies marks the session cookie Secure; on when BaseURL is https.
	SecureCookies bool
}

// Checker reports whether a dependency is reachable, for /readyz.
type Checker func(ctx context.Context) error

// Deps are the services the handlers call.
type Deps struct {
	Log      *slog.Logger
	Accounts *account.Service
	Seats    *seatmap.Service
	// Web is the browser app's files, served at /.
	Web fs.FS
	// Postgres and Redis are checked by /readyz; Redis failing means
	// degraded (holds still work), Postgres failing means not ready.
	Postgres Checker
	Redis    Checker
	// Hub serves GET /ws; without it the route answers 503.
	Hub *realtime.Hub
	// Diffs serves GET /api/events/{event}/diffs; without it 503.
	Diffs DiffSource
}

// Server is the Fiber app with its dependencies.
type Server struct {
	app      *fiber.App
	cfg      Config
	deps     Deps
	log      *slog.Logger
	validate *validator.Validate
	origins  map[string]bool
}

// New builds the app and registers every route.
func New(cfg Config, deps Deps) *Server {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log, validate: validator.New(validator.WithRequiredStructEnabled())}
	s.origins = make(map[string]bool)
	for _, o := range append([]string{cfg.BaseURL}, cfg.AllowedOrigins...) {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			s.origins[o] = true
		}
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "boxoffice",
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(deps.Log),
		BodyLimit:             256 << 10,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		ReadBufferSize:        16 << 10,
	})
	s.routes()
	return s
}

// App exposes the Fiber app, for tests that call app.Test.
func (s *Server) App() *fiber.App { return s.app }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting and waits up to the context's deadline for
// requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// route is one registered API route; the list also drives the OpenAPI test.
type route struct {
	method, path string
	handlers     []fiber.Handler
}

// apiRoutes lists every API route with its middleware, in one place.
func (s *Server) apiRoutes() []route {
	auth := s.requireAccount
	return []route{
		{"POST", "/api/accounts", h(s.signUp)},
		{"POST", "/api/sessions", h(s.signIn)},
		{"DELETE", "/api/sessions", h(s.signOut)},
		{"GET", "/api/me", h(auth, s.me)},

		{"GET", "/api/events", h(s.listEvents)},
		{"GET", "/api/events/:event", h(s.getEvent)},
		{"GET", "/api/events/:event/seatmap", h(s.getSeatmap)},
		{"GET", "/api/events/:event/availability", h(s.getAvailability)},
		{"GET", "/api/events/:event/diffs", h(s.getDiffs)},

		{"POST", "/api/events/:event/holds", h(auth, s.createHold)},
		{"GET", "/api/holds/:hold", h(auth, s.getHold)},
		{"DELETE", "/api/holds/:hold", h(auth, s.releaseHold)},

		{"GET", "/api/openapi.json", h(s.openAPI)},
	}
}

func h(hs ...fiber.Handler) []fiber.Handler { return hs }

func (s *Server) routes() {
	s.app.Get("/healthz", s.healthz)
	s.app.Get("/readyz", s.readyz)
	s.wsRoute()
	api := s.app.Group("/api", s.authenticate, s.csrf)
	for _, r := range s.apiRoutes() {
		path := strings.TrimPrefix(r.path, "/api")
		api.Add(r.method, path, r.handlers...)
	}
	api.Use(func(c *fiber.Ctx) error { return errRouteNotFound })
	s.webRoutes()
}
