package seatmap

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Gate repair. A gate key outlives its hold when the call that should have
// removed it failed: the release after a decline or an expiry timed out on
// a busy Redis (GateTimeout), say. Postgres still frees the seat, but the
// stale key turns every fan away from it with a 409 until the key expires
// with the hold's TTL, ten minutes later: the last seats of a sale looked
// free on every map and could not be bought. Nothing checks Postgres on a
// gate refusal (that is the gate's point), so the refusals themselves
// report the seats they were refused for, and the sweeper's tick looks at
// those keys: a key whose hold Postgres has ended (released or expired; a
// hold id never comes back) is removed, with the same compare-and-delete
// as a release, so a key that a new hold took meanwhile stays.

// suspectBatch bounds the seats one repair pass looks at.
const suspectBatch = 2000

// suspectQuiet is how long a repaired or checked seat is not reported again.
const suspectQuiet = 5 * time.Second

// gateSuspects are seats the gate refused recently, by event, with when
// they were last checked (zero: not yet).
type gateSuspects struct {
	mu      sync.Mutex
	byEvent map[int64]map[int64]time.Time
}

// add notes seats the gate refused; seats checked within suspectQuiet are
// skipped, so a storm over one seat costs one check.
func (g *gateSuspects) add(eventID int64, seatIDs []int64) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byEvent == nil {
		g.byEvent = make(map[int64]map[int64]time.Time)
	}
	m := g.byEvent[eventID]
	if m == nil {
		m = make(map[int64]time.Time)
		g.byEvent[eventID] = m
	}
	for _, id := range seatIDs {
		if checked, ok := m[id]; ok && (checked.IsZero() || now.Sub(checked) < suspectQuiet) {
			continue
		}
		if len(m) < 4*suspectBatch {
			m[id] = time.Time{}
		}
	}
}

// take returns up to suspectBatch unchecked seats per event, marking them
// checked now, and forgets seats checked long ago.
func (g *gateSuspects) take() map[int64][]int64 {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[int64][]int64)
	for ev, m := range g.byEvent {
		for id, checked := range m {
			switch {
			case checked.IsZero() && len(out[ev]) < suspectBatch:
				out[ev] = append(out[ev], id)
				m[id] = now
			case !checked.IsZero() && now.Sub(checked) >= suspectQuiet:
				delete(m, id)
			}
		}
		if len(m) == 0 {
			delete(g.byEvent, ev)
		}
	}
	return out
}

// RepairGate removes the gate keys, among the seats the gate refused since
// the last pass, whose holds Postgres has ended; it returns how many seats
// it freed. The sweeper runs it on every tick.
func (s *Service) RepairGate(ctx context.Context) (int, error) {
	freed := 0
	for eventID, seatIDs := range s.suspects.take() {
		gctx, cancel := context.WithTimeout(ctx, s.cfg.GateTimeout)
		holders, err := s.gate.Holders(gctx, eventID, seatIDs)
		cancel()
		if err != nil {
			return freed, fmt.Errorf("seatmap: gate repair: %w", err)
		}
		bySeat := make(map[string][]int64) // hold id → its seats still keyed
		var holdIDs []string
		for i, h := range holders {
			if h == "" || h == soldMark {
				continue
			}
			if _, ok := bySeat[h]; !ok {
				holdIDs = append(holdIDs, h)
			}
			bySeat[h] = append(bySeat[h], seatIDs[i])
		}
		if len(holdIDs) == 0 {
			continue
		}
		rows, err := s.db.Query(ctx, `SELECT id::text FROM holds WHERE id = ANY($1::uuid[]) AND status IN ('released', 'expired')`, holdIDs)
		if err != nil {
			return freed, fmt.Errorf("seatmap: gate repair: %w", err)
		}
		ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return freed, fmt.Errorf("seatmap: gate repair: %w", err)
		}
		for _, h := range ended {
			gctx, cancel := context.WithTimeout(ctx, s.cfg.GateTimeout)
			err := s.gate.Release(gctx, eventID, bySeat[h], h)
			cancel()
			if err != nil {
				return freed, fmt.Errorf("seatmap: gate repair: %w", err)
			}
			freed += len(bySeat[h])
			s.log.Warn("seatmap: removed stale gate keys of an ended hold", "event", eventID, "hold", h, "seats", len(bySeat[h]))
		}
	}
	return freed, nil
}
