package server

import (
	"crypto/subtle"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics count requests by route pattern (not raw path, which would
// let clients create unbounded label values) and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxoffice_http_requests_total", Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "boxoffice_http_request_seconds", Help: "HTTP request latency by method and route pattern.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.seconds)
	return m
}

// observe counts one finished request.
func (m *httpMetrics) observe(method, route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.seconds.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

// metricsHandler serves Prometheus' text format, behind a bearer token when
// one is configured (figures like sales rates are business data).
func (s *Server) metricsHandler(gatherer prometheus.Gatherer) fiber.Handler {
	h := adaptor.HTTPHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return func(c *fiber.Ctx) error {
		if want := s.cfg.MetricsToken; want != "" {
			if subtle.ConstantTimeCompare([]byte(bearerToken(c)), []byte(want)) != 1 {
				return errForbidden
			}
		}
		return h(c)
	}
}
