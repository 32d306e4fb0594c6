package seatmap

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// ReturnSeats puts sold seats back on sale inside tx: an admin refunded
// their tickets and chose to sell them again. Each seat must still be sold
// (not listed, not held by a resale buyer); it becomes available (held
// back again if it is an accessible seat whose hold-back has not ended, as
// Unsell does), its owner's counter gives the seat back, and the seat is
// recorded in returned_seats so the invariants know why its converted hold
// no longer owns it. The sold marks leave the gate while the rows are
// locked. Pass the Outcome to AfterCommit once tx committed.
func (s *Service) ReturnSeats(ctx context.Context, tx pgx.Tx, eventID int64, seatIDs []int64) (Outcome, error) {
	if len(seatIDs) == 0 {
		return Outcome{}, nil
	}
	ids := slices.Clone(seatIDs)
	slices.Sort(ids)
	rows, err := tx.Query(ctx, `
		WITH locked AS MATERIALIZED (
			SELECT id, hold_id, holder_account_id FROM seats WHERE event_id = $1 AND id = ANY($2::bigint[]) AND status = 'sold'
			ORDER BY id FOR UPDATE),
		returned AS (
			INSERT INTO returned_seats (hold_id, seat_id) SELECT hold_id, id FROM locked ON CONFLICT DO NOTHING)
		SELECT id, holder_account_id FROM locked ORDER BY id`, eventID, ids)
	if err != nil {
		return Outcome{}, fmt.Errorf("seatmap: return seats of event %d: %w", eventID, err)
	}
	owners := map[int64]int{}
	n := 0
	for rows.Next() {
		var id, owner int64
		if err := rows.Scan(&id, &owner); err != nil {
			rows.Close()
			return Outcome{}, fmt.Errorf("seatmap: return seats of event %d: %w", eventID, err)
		}
		owners[owner]++
		n++
	}
	if err := rows.Err(); err != nil {
		return Outcome{}, fmt.Errorf("seatmap: return seats of event %d: %w", eventID, err)
	}
	if n != len(ids) {
		return Outcome{}, ErrSeatNotOwned
	}
	changes, err := setSeats(ctx, tx, `
		UPDATE seats s SET status = CASE WHEN s.reserved_reason IS NULL THEN 'available' ELSE 'reserved' END,
		       hold_id = NULL, holder_account_id = NULL, listing_id = NULL, version = s.version + 1
		WHERE s.event_id = $1 AND s.id = ANY($2::bigint[])
		RETURNING s.event_id, s.idx, s.version, s.status`, eventID, ids)
	if err != nil {
		return Outcome{}, err
	}
	accounts := make([]int64, 0, len(owners))
	for a := range owners {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts)
	for _, a := range accounts {
		if _, err := tx.Exec(ctx, `UPDATE account_event_seats SET seats = seats - $3 WHERE account_id = $1 AND event_id = $2`,
			a, eventID, owners[a]); err != nil {
			return Outcome{}, fmt.Errorf("seatmap: return seat allowances: %w", err)
		}
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.GateTimeout)
	defer cancel()
	if err := s.gate.ReturnSold(gctx, eventID, ids); err != nil {
		// Until the marks go, the gate turns fans away from these seats:
		// refuse rather than put seats on sale that nobody can hold.
		return Outcome{}, fmt.Errorf("seatmap: return seats of event %d: %w", eventID, err)
	}
	return Outcome{ended: ended{changes: changes}}, nil
}
