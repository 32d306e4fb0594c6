package seatmap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/pg"
)

// endedHold is a hold that a transaction ended.
type endedHold struct {
	ID        string
	EventID   int64
	AccountID int64
	SeatIDs   []int64
}

// ended is what a transaction that ended holds leaves to do after commit.
type ended struct {
	holds   []endedHold
	changes map[int64][]SeatChange // by event
}

// endHolds ends the holds that pickSQL selects, moving them to status and
// freeing their seats, inside tx. pickSQL must select hold ids with FOR
// UPDATE (and SKIP LOCKED where several workers share the work); its
// arguments are args. It keeps the package's lock order: hold rows, then
// seats by id, then account counters by account.
//
// It drops the holds' gate keys before the caller commits, while the seat
// rows are still locked: a hold racing for a freed seat then either waits on
// the row lock and wins after the commit, or finds the key gone. Dropping
// them after the commit would leave a window where Postgres says the seat is
// free but the gate still turns fans away. If the commit then fails, the gate
// merely lacks keys for held seats, which costs an extra Postgres attempt.
func (s *Service) endHolds(ctx context.Context, tx pgx.Tx, status, pickSQL string, args ...any) (ended, error) {
	rows, err := tx.Query(ctx, fmt.Sprintf(`
		WITH picked AS MATERIALIZED (%s)
		UPDATE holds h SET status = $%d, ended_at = now() FROM picked WHERE h.id = picked.id
		RETURNING h.id, h.event_id, h.account_id, h.seat_ids`, pickSQL, len(args)+1), append(args, status)...)
	if err != nil {
		return ended{}, fmt.Errorf("seatmap: end holds: %w", err)
	}
	var out ended
	out.holds, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (endedHold, error) {
		var h endedHold
		err := r.Scan(&h.ID, &h.EventID, &h.AccountID, &h.SeatIDs)
		return h, err
	})
	if err != nil {
		return ended{}, fmt.Errorf("seatmap: end holds: %w", err)
	}
	if len(out.holds) == 0 {
		return out, nil
	}
	holdIDs := make([]string, len(out.holds))
	var seatIDs []int64
	for i, h := range out.holds {
		holdIDs[i] = h.ID
		seatIDs = append(seatIDs, h.SeatIDs...)
	}
	// Seats are found by id (no index on hold_id: see the schema); the
	// hold id fences them, and the hold rows locked above keep anyone else
	// from moving these seats meanwhile.
	// A resale hold's seat goes back to resale with its prior hold and
	// owner (resale.go); a seat still held back for accessibility goes
	// back to reserved (accessible.go); every other seat becomes available,
	// or is offered to the waiting list (waitlist.go). The hold rows are
	// read under the locks taken above.
	out.changes, err = setSeats(ctx, tx, `
		WITH locked AS MATERIALIZED (
			SELECT id FROM seats WHERE id = ANY($2::bigint[]) ORDER BY id FOR UPDATE)
		UPDATE seats s SET status = CASE WHEN h.listing_id IS NOT NULL THEN 'resale'
		                                 WHEN s.reserved_reason IS NOT NULL THEN 'reserved' ELSE 'available' END,
		       hold_id = h.prior_hold_id, holder_account_id = h.prior_account_id, listing_id = h.listing_id,
		       version = s.version + 1
		FROM locked, holds h
		WHERE s.id = locked.id AND s.status = 'held' AND s.hold_id = ANY($1::uuid[]) AND h.id = s.hold_id
		RETURNING s.event_id, s.idx, s.version, s.status`, holdIDs, seatIDs)
	if err != nil {
		return ended{}, err
	}
	if err := s.offerFreed(ctx, tx, out.changes); err != nil {
		return ended{}, err
	}
	if err := returnAllowances(ctx, tx, out.holds); err != nil {
		return ended{}, err
	}
	for _, h := range out.holds {
		s.gateRelease(ctx, h.EventID, h.SeatIDs, h.ID)
	}
	return out, nil
}

// setSeats runs an UPDATE of seats that returns (event_id, idx, version,
// status) and turns its rows into changes, by event.
func setSeats(ctx context.Context, tx pgx.Tx, sql string, args ...any) (map[int64][]SeatChange, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("seatmap: update seats: %w", err)
	}
	out := make(map[int64][]SeatChange)
	for rows.Next() {
		var eventID int64
		var status string
		var c SeatChange
		if err := rows.Scan(&eventID, &c.Idx, &c.Version, &status); err != nil {
			return nil, fmt.Errorf("seatmap: update seats: %w", err)
		}
		c.State = stateLetter(status)
		out[eventID] = append(out[eventID], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seatmap: update seats: %w", err)
	}
	return out, nil
}

// returnAllowances gives each account back the seats of its ended holds, in
// (account, event) order so concurrent transactions lock counters alike,
// and each presale window back the places of its ended holds (presale.go).
func returnAllowances(ctx context.Context, tx pgx.Tx, ended []endedHold) error {
	type key struct{ account, event int64 }
	sums := make(map[key]int)
	for _, h := range ended {
		sums[key{h.AccountID, h.EventID}] += len(h.SeatIDs)
	}
	keys := make([]key, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.event, b.event))
	})
	batch := &pgx.Batch{}
	for _, k := range keys {
		batch.Queue(`UPDATE account_event_seats SET seats = seats - $3 WHERE account_id = $1 AND event_id = $2`,
			k.account, k.event, sums[k])
	}
	queueReturnShares(batch, ended)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("seatmap: return seat allowances: %w", err)
	}
	return nil
}

// publishEnded publishes the seats freed by a committed transaction.
func (s *Service) publishEnded(ctx context.Context, status string, e ended) {
	s.m.ended.WithLabelValues(status).Add(float64(len(e.holds)))
	for eventID, changes := range e.changes {
		s.publish(ctx, eventID, changes)
	}
}

// Sweep expires every active hold past its expiry, in batches, and returns
// how many it expired. Many nodes may sweep at once: SKIP LOCKED gives each
// hold to one of them.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		var done ended
		err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
			var err error
			done, err = s.endHolds(ctx, tx, HoldExpired, `
				SELECT id FROM holds WHERE status = 'active' AND expires_at <= now()
				ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`, s.cfg.SweepBatch)
			return err
		})
		if err != nil {
			return total, err
		}
		s.publishEnded(ctx, HoldExpired, done)
		total += len(done.holds)
		if len(done.holds) < s.cfg.SweepBatch {
			return total, nil
		}
	}
}

// RunSweeper sweeps every SweepInterval until ctx ends, and repairs the
// gate keys that outlived their holds (RepairGate) and the seat changes the
// stream missed (RepairStream). Errors are logged and the next tick tries
// again.
func (s *Service) RunSweeper(ctx context.Context) {
	s.every(ctx, s.cfg.SweepInterval, "sweep", func(ctx context.Context) (int, error) {
		n, err := s.Sweep(ctx)
		m, gerr := s.RepairGate(ctx)
		k, serr := s.RepairStream(ctx)
		return n + m + k, errors.Join(err, gerr, serr)
	})
}

// every runs step every interval until ctx ends, logging failures (the next
// tick tries again) and, at debug level, how much each tick changed.
func (s *Service) every(ctx context.Context, interval time.Duration, name string, step func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := step(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("seatmap: "+name+" failed", "err", err)
			}
			if n > 0 {
				s.log.Debug("seatmap: "+name, "changed", n)
			}
		}
	}
}
