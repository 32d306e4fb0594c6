package seatmap

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// jobRelease is the outbox kind of a scheduled release of held-back seats.
const jobRelease = "seatmap.release"

// releasePayload names the exact seats, chosen when the release was
// scheduled: running the job twice then releases nothing more, whereas
// "count seats of a section" would release a second batch. A release of
// the accessible hold-back names Reason and its At instead (accessible.go):
// it releases every seat still held back for accessibility, which running
// twice cannot repeat either, and only if the event still schedules it At.
// Its seat_ids are absent, not null: ScheduleRelease unnests them.
type releasePayload struct {
	EventID int64      `json:"event_id"`
	SeatIDs []int64    `json:"seat_ids,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	At      *time.Time `json:"at,omitempty"`
}

// ScheduledRelease is a release an admin scheduled.
type ScheduledRelease struct {
	At    time.Time `json:"at"`
	Seats int       `json:"seats"`
}

// ScheduleRelease picks held-back seats now (the named ones, or the best
// Count of Section) and schedules them to go on sale at `at`. Seats already
// in a pending scheduled release are not picked twice; an advisory lock per
// event keeps two concurrent schedules from picking the same seats.
func (s *Service) ScheduleRelease(ctx context.Context, req ReleaseRequest, at time.Time) (ScheduledRelease, error) {
	l, err := s.layout(ctx, req.EventID)
	if err != nil {
		return ScheduledRelease{}, err
	}
	var unknown []int64
	for _, id := range req.SeatIDs {
		if _, ok := l.byID[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return ScheduledRelease{}, ErrUnknownSeats.With("seats", idStrings(unknown))
	}
	var picked []int64
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('seatmap.release:' || ($1::bigint)::text))`, req.EventID); err != nil {
			return fmt.Errorf("seatmap: schedule release lock: %w", err)
		}
		rows, err := tx.Query(ctx, `
			SELECT id FROM seats
			WHERE event_id = $1 AND status = 'reserved'
			  AND (coalesce(cardinality($2::bigint[]), 0) = 0 OR id = ANY($2::bigint[]))
			  AND ($3 = '' OR section = $3)
			  AND id NOT IN (
				SELECT jsonb_array_elements_text(payload->'seat_ids')::bigint FROM jobs
				WHERE kind = $5 AND done_at IS NULL AND (payload->>'event_id')::bigint = $1)
			ORDER BY rank, id
			LIMIT CASE WHEN coalesce(cardinality($2::bigint[]), 0) = 0 THEN $4::int END`,
			req.EventID, req.SeatIDs, req.Section, req.Count, jobRelease)
		if err != nil {
			return fmt.Errorf("seatmap: pick seats to release: %w", err)
		}
		picked, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("seatmap: pick seats to release: %w", err)
		}
		if len(picked) == 0 {
			return ErrNothingReserved
		}
		_, err = jobs.Enqueue(ctx, tx, jobs.Job{
			Kind:      jobRelease,
			DedupeKey: "seatmap.release:" + strconv.FormatInt(req.EventID, 10) + ":" + strconv.FormatInt(picked[0], 10) + ":" + at.UTC().Format(time.RFC3339Nano),
			Payload:   releasePayload{EventID: req.EventID, SeatIDs: picked},
			At:        at,
		})
		return err
	})
	if err != nil {
		return ScheduledRelease{}, err
	}
	return ScheduledRelease{At: at.UTC(), Seats: len(picked)}, nil
}

// RegisterJobs gives the job runner the inventory's handlers.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Register(jobRelease, func(ctx context.Context, raw json.RawMessage) error {
		var p releasePayload
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("seatmap: release job payload: %w", err)
		}
		if p.Reason == ReserveAccessibility {
			_, err := s.releaseAccessible(ctx, p.EventID, p.At)
			return err
		}
		_, err := s.ReleaseReserved(ctx, ReleaseRequest{EventID: p.EventID, SeatIDs: p.SeatIDs})
		if isErr(err, ErrNothingReserved) {
			return nil // already released (by an admin, or an earlier run of this job)
		}
		return err
	})
	r.Register(JobWaitlistOffer, s.sendOfferLive)
}
