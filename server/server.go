package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/media"
	"github.com/boxoffice/boxoffice/presale"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/salestats"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
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
	// MetricsToken, when set, is the bearer token /metrics requires
	// (METRICS_TOKEN).
	MetricsToken string
	// RateLimits per rate-limited route (RATE_LIMITS; default
	// DefaultRateLimits()). They apply when Deps.Limiter is set.
	RateLimits map[string]RouteLimits
	// TrustedProxies are the networks of reverse proxies (TRUSTED_PROXIES);
	// from them, the client address for rate limits is X-Real-IP. Without
	// it every fan behind nginx would share nginx's address.
	TrustedProxies []netip.Prefix
	// DevWeb serves Deps.Web as it is on each request, without hashed
	// names or caching, so edits show on reload (the -dev flag).
	DevWeb bool
	// WSMaxPerIP and WSMaxPerAccount cap the open sockets of one client
	// address and of one account on this node (WS_MAX_PER_IP [200],
	// WS_MAX_PER_ACCOUNT [10]); past them /ws answers 429. Off with the
	// rate limits (Deps.Limiter nil, RATE_LIMITS=off).
	WSMaxPerIP      int
	WSMaxPerAccount int
}

// Checker reports whether a dependency is reachable, for /readyz.
type Checker func(ctx context.Context) error

// Deps are the services the handlers call.
type Deps struct {
	Log      *slog.Logger
	Accounts *account.Service
	Seats    *seatmap.Service
	// Checkout sells held seats, and owns orders and tickets. Required.
	Checkout *checkout.Service
	// Queue is the waiting room: its routes, and the admission check on
	// holds while an event's room is on. Required.
	Queue *waitingroom.Service
	// Limiter enforces RateLimits; nil turns rate limiting off.
	Limiter Limiter
	// Web is the browser app's files, served at /.
	Web fs.FS
	// Postgres and Redis are checked by /readyz; Redis failing means
	// degraded (holds still work), Postgres failing means not ready.
	Postgres Checker
	Redis    Checker
	// Metrics, when set, receives the HTTP figures and is served on /metrics.
	Metrics *prometheus.Registry
	// Hub serves GET /ws; without it the route answers 503.
	Hub *realtime.Hub
	// Diffs serves GET /api/events/{event}/diffs; without it 503.
	Diffs seatmap.StreamReader
	// Stats serves GET /api/admin/events/{event}/stats; without it 503.
	Stats *salestats.Engine
	// Jobs is the outbox, for the admin's dead-job list and retries;
	// without it those routes answer 503.
	Jobs *jobs.Runner
	// Media stores event images; without it uploads answer 503.
	Media *media.Store
	// Presales are the presale windows and their access codes; without it
	// no event has a presale.
	Presales *presale.Service
}

// Server is the Fiber app with its dependencies.
type Server struct {
	app      *fiber.App
	cfg      Config
	deps     Deps
	log      *slog.Logger
	validate *validator.Validate
	origins  map[string]bool
	// http counts requests when Deps.Metrics is set.
	http *httpMetrics
	// web is the browser app prepared for serving; nil with DevWeb.
	web     *webAssets
	wsSlots wsSlots
	// limiterWarned is when (Unix s) a failing limiter store was last
	// logged.
	limiterWarned atomic.Int64
}

// New builds the app and registers every route.
func New(cfg Config, deps Deps) *Server {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.RateLimits == nil {
		cfg.RateLimits = DefaultRateLimits()
	}
	if cfg.WSMaxPerIP <= 0 {
		cfg.WSMaxPerIP = DefaultWSMaxPerIP
	}
	if cfg.WSMaxPerAccount <= 0 {
		cfg.WSMaxPerAccount = DefaultWSMaxPerAccount
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log, validate: newValidator()}
	s.wsSlots = wsSlots{byIP: map[string]int{}, byID: map[int64]int{}}
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
		// The largest body of any route (the venue upload); limitBody
		// holds every other route to its own, smaller limit, before the
		// body is read: bodies are streamed to it.
		BodyLimit:         maxUploadBody,
		StreamRequestBody: true,
		// X-Forwarded-Host and X-Forwarded-Proto count only from
		// TRUSTED_PROXIES: otherwise any client could name the host the
		// origin check compares with.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          prefixStrings(cfg.TrustedProxies),
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            30 * time.Second,
		IdleTimeout:             120 * time.Second,
		ReadBufferSize:          16 << 10,
		// A WebSocket keeps its upgrade request's buffers for its whole
		// life; this gives the 16 KiB read buffer back once the handshake
		// is read (docs/benchmarks.md, memory per socket).
		ReduceMemoryUsage: true,
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
	auth, admin, scanner := s.requireAccount, s.requireRole(account.RoleAdmin), s.requireRole(account.RoleScanner)
	// Organizer roles (orgtools.go): finance reads money, the box office
	// sells at the door and finds orders.
	finance, boxOffice := s.requireRole(account.RoleFinance), s.requireRole(account.RoleBoxOffice)
	return []route{
		{"POST", "/api/accounts", h(s.limit(LimitAuth), s.signUp)},
		{"POST", "/api/sessions", h(s.limit(LimitSignIn), s.signIn)},
		{"DELETE", "/api/sessions", h(s.signOut)},
		{"GET", "/api/me", h(s.requireAccountToEnrol, s.me)},
		{"POST", "/api/sessions/second-step", h(s.limit(LimitSecondFactor), s.completeSignIn)},
		{"POST", "/api/account/password-reset", h(s.limit(LimitRecovery), s.requestPasswordReset)},
		{"POST", "/api/account/password-reset/confirm", h(s.limit(LimitRecovery), s.resetPassword)},
		{"POST", "/api/account/email/verify", h(s.limit(LimitRecovery), s.verifyEmail)},
		{"POST", "/api/account/email/verify/resend", h(auth, s.limit(LimitRecovery), s.resendVerification)},
		{"POST", "/api/account/email", h(auth, s.limit(LimitRecovery), s.requestEmailChange)},
		{"POST", "/api/account/email/confirm", h(s.limit(LimitRecovery), s.confirmEmailChange)},
		{"DELETE", "/api/account/sessions", h(s.requireAccountToEnrol, s.signOutEverywhere)},
		{"GET", "/api/account/export", h(auth, s.exportAccount)},
		{"DELETE", "/api/account", h(auth, s.limit(LimitRecovery), s.deleteAccount)},
		{"POST", "/api/account/totp", h(s.requireAccountToEnrol, s.beginTOTP)},
		{"POST", "/api/account/totp/confirm", h(s.requireAccountToEnrol, s.limit(LimitSecondFactor), s.confirmTOTP)},
		{"DELETE", "/api/account/totp", h(auth, s.limit(LimitRecovery), s.disableTOTP)},
		{"POST", "/api/account/totp/recovery-codes", h(auth, s.limit(LimitSecondFactor), s.renewRecoveryCodes)},
		{"GET", "/api/account/reminders", h(auth, s.getReminders)},
		{"PUT", "/api/account/reminders", h(auth, s.putReminders)},
		{"POST", "/api/unsubscribe", h(s.limit(LimitRecovery), s.unsubscribe)},
		{"POST", "/api/events/:event/refund-offer", h(s.limit(LimitRecovery), s.refundOffer)},
		{"POST", "/api/events/:event/refund-offer/accept", h(s.limit(LimitRecovery), s.acceptRefundOffer)},

		{"GET", "/api/events", h(s.listEvents)},
		{"GET", "/api/events/:event", h(s.getEvent)},
		{"GET", "/api/events/:event/seatmap", h(s.getSeatmap)},
		{"GET", "/api/events/:event/availability", h(s.getAvailability)},
		{"GET", "/api/events/:event/diffs", h(s.getDiffs)},

		{"GET", "/api/events/:event/queue/challenge", h(s.limit(LimitChallenge), auth, s.queueChallenge)},
		{"POST", "/api/events/:event/queue", h(s.limit(LimitJoin), auth, s.limitAccessCode(), s.joinQueue)},
		{"GET", "/api/events/:event/queue/me", h(auth, s.queueMe)},
		{"GET", "/api/events/:event/queue/fairness", h(s.queueFairness)},
		{"GET", "/api/events/:event/queue/proof", h(s.queueProof)},
		{"PUT", "/api/admin/events/:event/queue/beacon", h(admin, s.setQueueBeacon)},
		{"PUT", "/api/admin/events/:event/queue", h(s.requireRole(account.RoleAdmin), s.configureQueue)},

		{"POST", "/api/events/:event/waitlist", h(s.limit(LimitJoin), auth, s.verifiedEmail, s.joinWaitlist)},
		{"GET", "/api/events/:event/waitlist", h(auth, s.getWaitlist)},
		{"DELETE", "/api/events/:event/waitlist", h(auth, s.leaveWaitlist)},

		{"GET", "/api/events/:event/presales", h(s.listPresales)},
		{"POST", "/api/events/:event/presales/access", h(s.limit(LimitAccessCode), auth, s.enterAccessCode)},
		{"GET", "/api/admin/events/:event/presales", h(admin, s.adminListPresales)},
		{"POST", "/api/admin/events/:event/presales", h(admin, s.createPresale)},
		{"GET", "/api/admin/presales/:presale/codes", h(admin, s.exportCodes)},
		{"POST", "/api/admin/presales/:presale/codes", h(admin, s.generateCodes)},
		{"POST", "/api/admin/events/:event/lottery", h(admin, s.createLottery)},
		{"GET", "/api/events/:event/lottery", h(s.getLottery)},
		{"POST", "/api/events/:event/registrations", h(s.limit(LimitJoin), auth, s.verifiedEmail, s.register)},
		{"GET", "/api/events/:event/registrations", h(auth, s.getRegistration)},
		{"DELETE", "/api/events/:event/registrations", h(auth, s.withdrawRegistration)},
		{"GET", "/api/account/registrations", h(auth, s.accountRegistrations)},

		{"POST", "/api/events/:event/holds", h(s.limit(LimitHolds), auth, s.limitAccessCode(), s.verifiedEmail, s.admitted, s.createHold)},
		{"GET", "/api/holds/:hold", h(auth, s.getHold)},
		{"DELETE", "/api/holds/:hold", h(auth, s.releaseHold)},
		{"POST", "/api/holds/:hold/checkout", h(s.limit(LimitCheckout), auth, s.checkout)},
		{"GET", "/api/payments/config", h(s.paymentsConfig)},
		{"POST", "/api/payments/:payment/confirm", h(auth, s.confirmPayment)},
		{"GET", "/api/payments/:payment", h(auth, s.getPayment)},
		{"POST", "/api/payments/:payment/complete", h(s.limit(LimitCheckout), auth, s.completePayment)},
		{"POST", "/api/payments/:payment/abandon", h(auth, s.abandonPayment)},
		{"POST", "/api/payments/:payment/test-challenge", h(s.limit(LimitCheckout), auth, s.testChallenge)},
		{"POST", "/api/webhooks/stripe", h(s.stripeWebhook)},
		{"GET", "/api/orders", h(auth, s.listOrders)},
		{"GET", "/api/orders/:order", h(auth, s.getOrder)},
		{"GET", "/api/orders/:order/pdf", h(auth, s.orderPDF)},
		{"GET", "/api/orders/:order/calendar.ics", h(auth, s.orderCalendar)},
		{"GET", "/api/orders/:order/receipt.pdf", h(auth, s.orderReceipt)},
		{"GET", "/api/account/payouts", h(auth, s.accountPayouts)},
		{"POST", "/api/account/payouts/connect", h(auth, s.limit(LimitTransfer), s.connectPayouts)},
		{"GET", "/api/tickets", h(auth, s.listTickets)},
		{"GET", "/api/tickets/:ticket", h(auth, s.getTicket)},
		{"GET", "/api/tickets/:ticket/pdf", h(auth, s.ticketPDF)},
		{"GET", "/api/tickets/:ticket/code", h(auth, s.ticketCode)},
		{"POST", "/api/tickets/:ticket/transfers", h(auth, s.limit(LimitTransfer), s.offerTransfer)},
		{"GET", "/api/transfers", h(auth, s.listTransfers)},
		{"POST", "/api/transfers/:transfer/accept", h(auth, s.acceptTransfer)},
		{"POST", "/api/transfers/:transfer/decline", h(auth, s.declineTransfer)},
		{"POST", "/api/transfers/:transfer/cancel", h(auth, s.cancelTransfer)},
		{"DELETE", "/api/transfers/:transfer", h(auth, s.cancelTransfer)},
		{"POST", "/api/tickets/:ticket/listing", h(auth, s.listTicket)},
		{"DELETE", "/api/tickets/:ticket/listing", h(auth, s.withdrawListing)},
		{"GET", "/api/events/:event/listings", h(s.eventListings)},
		{"POST", "/api/listings/:listing/holds", h(s.limit(LimitHolds), auth, s.holdListing)},
		{"POST", "/api/checkins", h(scanner, s.checkIn)},

		{"POST", "/api/admin/venues", h(admin, s.createVenue)},
		{"GET", "/api/admin/venues", h(admin, s.listVenues)},
		{"POST", "/api/admin/venues/preview", h(admin, s.previewVenue)},
		{"GET", "/api/admin/venues/:venue", h(admin, s.getVenue)},
		{"PUT", "/api/admin/venues/:venue", h(admin, s.updateVenue)},
		{"POST", "/api/admin/events", h(admin, s.createEvent)},
		{"PATCH", "/api/admin/events/:event", h(admin, s.changeEvent)},
		{"PUT", "/api/admin/events/:event/prices", h(admin, s.setPrices)},
		{"POST", "/api/admin/events/:event/reschedule", h(admin, s.rescheduleEvent)},
		{"GET", "/api/admin/events/:event/notices", h(admin, s.getEventNotices)},
		{"POST", "/api/admin/events/:event/image", h(admin, s.uploadEventImage)},
		{"GET", "/api/media/:file", h(s.getMedia)},
		{"POST", "/api/admin/events/:event/inventory/release", h(admin, s.releaseInventory)},
		{"POST", "/api/admin/events/:event/accessible/release", h(admin, s.releaseAccessible)},
		{"GET", "/api/admin/events/:event/stats", h(admin, s.getStats)},
		{"GET", "/api/admin/events/:event/checkins/summary", h(admin, s.checkInSummary)},
		{"GET", "/api/admin/events/:event/orders", h(admin, s.searchOrders)},
		{"GET", "/api/admin/reviews", h(admin, s.reviewQueue)},
		{"POST", "/api/admin/orders/:order/approve", h(admin, s.approveOrder)},
		{"POST", "/api/admin/orders/:order/reject", h(admin, s.rejectOrder)},
		{"GET", "/api/admin/jobs", h(admin, s.listJobs)},
		{"POST", "/api/admin/jobs/:job/retry", h(admin, s.retryJob)},
		{"GET", "/api/admin/payments", h(admin, s.listPayments)},
		{"POST", "/api/admin/payments/:payment/retry", h(admin, s.retryPayment)},
		{"GET", "/api/admin/events/:event/ledger", h(finance, s.eventLedger)},
		{"GET", "/api/admin/events/:event/ledger.csv", h(finance, s.eventLedgerCSV)},
		{"GET", "/api/admin/events/:event/payouts", h(finance, s.eventPayouts)},
		{"GET", "/api/admin/events/:event/exports/:kind.csv", h(finance, s.exportCSV)},
		{"GET", "/api/admin/events/:event/attendees", h(admin, s.eventAttendees)},
		{"POST", "/api/admin/events/:event/counter-sales", h(boxOffice, s.counterSale)},
		{"GET", "/api/admin/orders", h(boxOffice, s.findOrders)},
		{"GET", "/api/admin/orders/:order", h(boxOffice, s.adminOrder)},
		{"POST", "/api/admin/orders/:order/refund", h(admin, s.refundOrder)},
		{"POST", "/api/admin/orders/:order/confirmation", h(admin, s.resendConfirmation)},
		{"POST", "/api/admin/orders/:order/notes", h(admin, s.addOrderNote)},
		{"POST", "/api/admin/tickets/:ticket/void", h(admin, s.voidTicket)},
		{"GET", "/api/admin/accounts", h(admin, s.findAccounts)},
		{"PUT", "/api/admin/accounts/:account/role", h(admin, s.setAccountRole)},
		{"GET", "/api/admin/organizers", h(admin, s.listOrganizers)},
		{"POST", "/api/admin/organizers", h(admin, s.createOrganizer)},
		{"PUT", "/api/admin/organizers/:organizer", h(admin, s.updateOrganizer)},
		{"PUT", "/api/admin/events/:event/organizer", h(admin, s.setEventOrganizer)},

		{"GET", "/api/openapi.json", h(s.openAPI)},
		{"GET", "/api/docs", h(s.apiDocs)},
	}
}

func h(hs ...fiber.Handler) []fiber.Handler { return hs }

func (s *Server) routes() {
	// The access log and request id wrap everything, the recovered panic too.
	s.app.Use(s.observe)
	s.hardening()
	if s.deps.Metrics != nil {
		s.http = newHTTPMetrics(s.deps.Metrics)
		if s.deps.Hub != nil {
			registerHubMetrics(s.deps.Metrics, s.deps.Hub)
		}
		s.app.Get("/metrics", s.metricsHandler(s.deps.Metrics))
	}
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
