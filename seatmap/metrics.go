package seatmap

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the inventory's Prometheus figures. They are counters and a
// histogram updated on the hold path, never recomputed from Postgres.
type metrics struct {
	holds       *prometheus.CounterVec // by result
	holdSeconds prometheus.Histogram
	ended       *prometheus.CounterVec // holds ended, by how
	gateErrors  prometheus.Counter
	// roundHolds is how many holds each round carried (holdbatch.go).
	roundHolds prometheus.Histogram
}

// Hold results as counted.
const (
	resultOK       = "ok"
	resultConflict = "conflict"
	resultCap      = "cap"
	resultInvalid  = "invalid"
	resultError    = "error"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		holds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxoffice_holds_total", Help: "Hold requests by result (ok, conflict, cap, invalid, error).",
		}, []string{"result"}),
		holdSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "boxoffice_hold_seconds",
			Help:    "Time to take a hold (gate and Postgres), successful or not.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2},
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxoffice_holds_ended_total", Help: "Holds ended, by status (released, expired).",
		}, []string{"status"}),
		gateErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "boxoffice_gate_errors_total", Help: "Redis gate calls that failed; holds then went through Postgres alone.",
		}),
		roundHolds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "boxoffice_hold_round_holds",
			Help:    "Holds of one event a node wrote together in one round (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
	}
	// Every result from zero, so rate() has a series before the first one.
	for _, r := range []string{resultOK, resultConflict, resultCap, resultInvalid, resultError} {
		m.holds.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.holds, m.holdSeconds, m.ended, m.gateErrors, m.roundHolds)
	}
	return m
}

// observeHold counts one hold request by the class of its outcome, which
// it returns.
func (m *metrics) observeHold(start time.Time, err error) string {
	m.holdSeconds.Observe(time.Since(start).Seconds())
	result := resultOK
	switch {
	case err == nil:
	case isErr(err, ErrSeatUnavailable):
		result = resultConflict
	case isErr(err, ErrCapExceeded):
		result = resultCap
	case isErr(err, ErrSeatCount), isErr(err, ErrUnknownSeats), isErr(err, ErrDuplicateSeats), isErr(err, ErrNotOnSale), isErr(err, ErrEventNotFound):
		result = resultInvalid
	default:
		result = resultError
	}
	m.holds.WithLabelValues(result).Inc()
	return result
}

func isErr(err error, target error) bool { return errors.Is(err, target) }
