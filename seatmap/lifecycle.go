package seatmap

import (
	"context"
	"fmt"
	"time"
)

// sellable is the condition on seats s that keeps an event on sale: seats
// available or held, and accessible seats held back for the fans who ask
// for them (accessible.go).
const sellable = `(s.status IN ('available', 'held') OR (s.status = 'reserved' AND s.reserved_reason = 'accessibility'))`

// Lifecycle moves events along by time and inventory, outside the hot path:
// upcoming → on_sale once sale_opens has passed; on_sale → sold_out when no
// seat is available or held; sold_out → on_sale when seats come back
// (released holds, released inventory). Each step is one conditional UPDATE,
// so every node may run it and they agree.
func (s *Service) Lifecycle(ctx context.Context) (int, error) {
	tag, err := s.db.Exec(ctx, `
		UPDATE events e SET status = CASE
			WHEN e.status = 'upcoming' THEN 'on_sale'
			WHEN e.status = 'on_sale' THEN 'sold_out'
			ELSE 'on_sale' END
		WHERE (e.status = 'upcoming' AND e.sale_opens <= now())
		   OR (e.status = 'on_sale' AND e.sale_opens <= now() AND NOT EXISTS (
				SELECT 1 FROM seats s WHERE s.event_id = e.id AND `+sellable+`))
		   OR (e.status = 'sold_out' AND EXISTS (
				SELECT 1 FROM seats s WHERE s.event_id = e.id AND `+sellable+`))`)
	if err != nil {
		return 0, fmt.Errorf("seatmap: lifecycle: %w", err)
	}
	if n := int(tag.RowsAffected()); n > 0 {
		s.mu.Lock()
		clear(s.events) // statuses changed: reread them
		s.mu.Unlock()
		return n, nil
	}
	return 0, nil
}

// RunLifecycle runs Lifecycle every interval until ctx ends.
func (s *Service) RunLifecycle(ctx context.Context, interval time.Duration) {
	s.every(ctx, interval, "lifecycle", s.Lifecycle)
}
