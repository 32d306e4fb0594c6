package server

import (
	"crypto/subtle"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/boxoffice/boxoffice/realtime"
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

// registerHubMetrics reads the hub's counters at scrape time. Rates
// (frames/s, bytes/s) are PromQL's: rate(boxoffice_ws_bytes_out_total[1m]).
func registerHubMetrics(reg prometheus.Registerer, hub *realtime.Hub) {
	counter := func(name, help string, v func(realtime.HubStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(hub.Stats())) })
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "boxoffice_ws_connections", Help: "Open WebSocket connections on this node."},
			func() float64 { return float64(hub.Stats().Conns) }),
		counter("boxoffice_ws_slow_consumer_closes_total", "Sockets closed as slow consumers (queue over its bound: resync, close 4008).",
			func(s realtime.HubStats) int64 { return s.SlowClosed }),
		counter("boxoffice_ws_frames_total", "Frames fanned out by this node's hub, each counted once however many sockets get it.",
			func(s realtime.HubStats) int64 { return s.Frames }),
		counter("boxoffice_ws_frames_out_total", "Frames written to sockets (one per socket per frame).",
			func(s realtime.HubStats) int64 { return s.Delivered }),
		counter("boxoffice_ws_bytes_out_total", "Payload bytes of the frames written to sockets, without WebSocket framing.",
			func(s realtime.HubStats) int64 { return s.BytesOut }),
	)
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
