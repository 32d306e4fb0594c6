package seatmap

import (
	"context"
	"fmt"
	"time"
)

// readyMinSeats is the size from which CreateEvent readies an event's seat
// rows (readySeats). Below it a hold that scans the whole event costs less
// than a millisecond, less than the VACUUM, and autovacuum analyzes the
// table within a minute anyway.
const readyMinSeats = 1000

// readyTimeout bounds readySeats, which the admin who created the event
// waits for; a VACUUM cut short keeps the pages it finished.
const readyTimeout = 10 * time.Second

// readySeats makes an event's freshly copied seat rows ready for the rush
// that may open right after CreateEvent returns:
//
//   - ANALYZE: statistics that do not know the new event make the planner
//     take its rows for rare, and lock a hold's seats by walking every seat
//     of the event through the (event_id, ...) index instead of two
//     primary-key look-ups: about 30 ms of Postgres a hold on a stadium
//     instead of 0.1 ms (docs/benchmarks.md);
//   - VACUUM (FREEZE): hint bits set, pages marked all-visible and frozen,
//     so neither the rush's first reads nor an autovacuum woken by the
//     49,000 inserts in the middle of it do that work, and no
//     anti-wraparound vacuum rewrites these pages during a later sale.
//
// VACUUM cannot run in a transaction, so this runs after the creating
// transaction commits. ANALYZE goes first: it is the part the hold path
// needs, and it reads a fixed-size sample whatever the table's size, while
// the VACUUM's work grows with the table's pages changed since the last one.
// A failure is logged, not returned: the event exists, and autovacuum comes
// later.
func (s *Service) readySeats(ctx context.Context, eventID int64, seats int) {
	if seats < readyMinSeats {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
	defer cancel()
	attrs := []any{"event", eventID, "seats", seats}
	for _, step := range []struct{ name, sql string }{{"analyze", "ANALYZE seats"}, {"vacuum", "VACUUM (FREEZE) seats"}} {
		start := time.Now()
		if _, err := s.db.Exec(ctx, step.sql); err != nil {
			s.log.Warn("seatmap: readying a new event's seats failed", append(attrs, "err", fmt.Errorf("%s: %w", step.sql, err))...)
			return
		}
		attrs = append(attrs, step.name, time.Since(start))
	}
	s.log.Info("seatmap: new event's seats ready", attrs...)
}
