package server

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/seatmap"
)

var errNoJobs = apperr.E(apperr.Unavailable, "jobs_unavailable", "the job queue is not available on this node")

// jobList is the body of GET /api/admin/jobs.
type jobList struct {
	Jobs []jobs.Info `json:"jobs"`
	// Counts are the dead and failing jobs by kind, whatever the filter:
	// the dashboard's tile.
	Counts jobs.Counts `json:"counts"`
}

// listJobs: GET /api/admin/jobs[?status=dead|failing|pending|done][&kind=K][&limit=N]
// lists outbox jobs, newest first (status defaults to dead).
func (s *Server) listJobs(c *fiber.Ctx) error {
	if s.deps.Jobs == nil {
		return errNoJobs
	}
	state := c.Query("status", jobs.StateDead)
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	kind := c.Query("kind")
	if len(kind) > 100 {
		return errValidation.With("fields", map[string]string{"kind": "must be at most 100 characters"})
	}
	list, err := s.deps.Jobs.List(c.UserContext(), state, kind, limit)
	if err != nil {
		return err
	}
	counts, err := s.deps.Jobs.Trouble(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(jobList{Jobs: list, Counts: counts})
}

// queryLimit is an admin list's limit= (1 to 1000, default 100).
func queryLimit(c *fiber.Ctx) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errValidation.With("fields", map[string]string{"limit": "must be between 1 and 1000"})
	}
	return n, nil
}

// retryJob: POST /api/admin/jobs/:job/retry makes a dead or failing job due
// now (404 job_not_found, 409 job_done).
func (s *Server) retryJob(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	if s.deps.Jobs == nil {
		return errNoJobs
	}
	id, err := pathID(c, "job", jobs.ErrJobNotFound)
	if err != nil {
		return err
	}
	j, err := s.deps.Jobs.Retry(c.UserContext(), id)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	s.log.Info("admin retried a job", "job", id, "kind", j.Kind, "admin", acct.ID)
	return c.JSON(j)
}

// paymentList is the body of GET /api/admin/payments.
type paymentList struct {
	Payments []checkout.TroublePayment `json:"payments"`
	// Next is the cursor of the next page (after=), absent on the last.
	Next string `json:"next,omitempty"`
	// Counts are the stuck and failing payments, whatever the filter: the
	// dashboard's tile.
	Counts checkout.TroubleCounts `json:"counts"`
}

// listPayments: GET /api/admin/payments[?status=stuck|failing][&limit=N][&after=ID]
// lists the payments the reconciler fails on, oldest first, a page at a
// time (status defaults to stuck).
func (s *Server) listPayments(c *fiber.Ctx) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	svc := s.deps.Checkout
	list, next, err := svc.TroublePayments(c.UserContext(), c.Query("status", checkout.TroubleStuck), c.Query("after"), limit)
	if err != nil {
		return err
	}
	counts, err := svc.TroubleCount(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(paymentList{Payments: list, Next: next, Counts: counts})
}

// retryPayment: POST /api/admin/payments/:payment/retry puts a payment
// back in the reconciler's queue with its backoff reset (404
// payment_not_found, 409 payment_settled).
func (s *Server) retryPayment(c *fiber.Ctx) error {
	if err := s.noBody(c); err != nil {
		return err
	}
	id := c.Params("payment")
	p, err := s.deps.Checkout.RetryPayment(c.UserContext(), id)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	s.log.Info("admin retried a payment", "payment", p.ID, "status", p.Status, "admin", acct.ID)
	return c.JSON(p)
}

// eventLedger: GET /api/admin/events/:event/ledger.
func (s *Server) eventLedger(c *fiber.Ctx) error {
	l, err := s.ledgerOf(c)
	if err != nil {
		return err
	}
	return c.JSON(l)
}

// eventPayouts: GET /api/admin/events/:event/payouts → 200 {payouts}, the
// event's seller payouts and how each transfer went.
func (s *Server) eventPayouts(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	list, err := s.deps.Checkout.EventPayouts(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"payouts": list})
}

// eventLedgerCSV: GET /api/admin/events/:event/ledger.csv, the same ledger
// as a spreadsheet.
func (s *Server) eventLedgerCSV(c *fiber.Ctx) error {
	l, err := s.ledgerOf(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="ledger-event-%d.csv"`, l.EventID))
	return l.WriteCSV(c.Response().BodyWriter())
}

// ledgerOf reads the ledger of the route's event; money figures are never
// cached.
func (s *Server) ledgerOf(c *fiber.Ctx) (checkout.Ledger, error) {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return checkout.Ledger{}, err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.deps.Checkout.Ledger(c.UserContext(), eventID)
}
