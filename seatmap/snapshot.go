package seatmap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Snapshot is the status of every seat of an event at a stream position:
// one availability letter per seat in idx order. Body is the API response,
// encoded once and shared by every client that asks within the cache TTL;
// Gzip is the same bytes compressed.
type Snapshot struct {
	Position
	Statuses  []byte
	Available int
	// GA is the count left of each general-admission area (nil when the
	// event has none).
	GA    []GACount
	Body  []byte
	Gzip  []byte
	taken time.Time
}

// Snapshot returns the event's availability, from the per-node cache when it
// is younger than SnapshotTTL. The stream position is read before Postgres,
// so every change after it is in the stream: a client that applies the diffs
// after Seq converges.
//
// Past the TTL, the first caller reads Postgres and waits for it; callers
// that come while that read is in flight get the previous snapshot at once
// (at most the TTL plus one read old; their diffs carry them on) instead of
// queueing behind the read. Under a storm only one request per node per
// TTL waits for Postgres, which keeps the cache's p99 near its p50.
func (s *Service) Snapshot(ctx context.Context, eventID int64) (*Snapshot, error) {
	s.mu.Lock()
	snap := s.snapshots[eventID]
	fresh := snap != nil && time.Since(snap.taken) < s.cfg.SnapshotTTL
	refreshing := s.refreshing[eventID]
	s.mu.Unlock()
	if fresh || (snap != nil && refreshing) {
		return snap, nil
	}
	return s.refreshSnapshot(ctx, eventID)
}

// snapshotSince returns a snapshot read from Postgres at or after t (the
// cached one when it is that recent): one that has every hold committed
// before t. Callers that come together share one read.
func (s *Service) snapshotSince(ctx context.Context, eventID int64, t time.Time) (*Snapshot, error) {
	for ctx.Err() == nil {
		s.mu.Lock()
		snap := s.snapshots[eventID]
		s.mu.Unlock()
		if snap != nil && !snap.taken.Before(t) {
			return snap, nil
		}
		// A read already in flight may have started before t: then
		// this takes the next one.
		if _, err := s.refreshSnapshot(ctx, eventID); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("seatmap: snapshot of %d: %w", eventID, ctx.Err())
}

// refreshSnapshot reads the event's snapshot from Postgres and caches it;
// callers that come while a read is in flight share it.
func (s *Service) refreshSnapshot(ctx context.Context, eventID int64) (*Snapshot, error) {
	v, err, _ := s.flight.Do("snapshot:"+strconv.FormatInt(eventID, 10), func() (any, error) {
		s.mu.Lock()
		s.refreshing[eventID] = true
		s.mu.Unlock()
		snap, err := s.takeSnapshot(context.WithoutCancel(ctx), eventID)
		s.mu.Lock()
		delete(s.refreshing, eventID)
		if err == nil {
			s.snapshots[eventID] = snap
		}
		s.mu.Unlock()
		return snap, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*Snapshot), nil
}

func (s *Service) takeSnapshot(ctx context.Context, eventID int64) (*Snapshot, error) {
	l, err := s.layout(ctx, eventID)
	if err != nil {
		return nil, err
	}
	pos, err := s.pub.Position(ctx, eventID)
	if err != nil {
		// Without a position clients cannot line diffs up with the
		// snapshot; an empty epoch tells them to refetch on the next diff.
		s.log.Warn("seatmap: stream position unavailable", "event", eventID, "err", err)
		pos = Position{}
	}
	taken := time.Now()
	statuses, err := s.readStatuses(ctx, eventID, len(l.seats))
	if err != nil {
		return nil, fmt.Errorf("seatmap: snapshot of %d: %w", eventID, err)
	}
	ga := gaCounts(l, statuses)
	body, err := json.Marshal(struct {
		Position
		Encoding string    `json:"encoding"`
		Statuses string    `json:"statuses"`
		GA       []GACount `json:"ga,omitempty"`
	}{pos, "chars", string(statuses), ga})
	if err != nil {
		return nil, fmt.Errorf("seatmap: encode snapshot: %w", err)
	}
	return &Snapshot{
		Position:  pos,
		Statuses:  statuses,
		Available: bytes.Count(statuses, []byte{StateAvailable}),
		GA:        ga,
		Body:      body,
		Gzip:      gzipBytes(body),
		taken:     taken,
	}, nil
}

// readStatuses reads the availability letter of each of an event's n
// seats into its idx. The rows come unordered and are placed by idx: an
// aggregate ordered by idx sorted 49,000 rows on every snapshot, most of
// a snapshot's Postgres time in the stadium sale.
func (s *Service) readStatuses(ctx context.Context, eventID int64, n int) ([]byte, error) {
	rows, err := s.db.Query(ctx, `SELECT idx, status FROM seats WHERE event_id = $1`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	statuses := make([]byte, n)
	seen := 0
	var idx int32
	var status string
	for rows.Next() {
		if err := rows.Scan(&idx, &status); err != nil {
			return nil, err
		}
		if idx < 0 || int(idx) >= n || statuses[idx] != 0 {
			return nil, fmt.Errorf("seat idx %d outside 0..%d or repeated", idx, n-1)
		}
		statuses[idx] = stateLetter(status)
		seen++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if seen != n {
		return nil, fmt.Errorf("%d seats, the layout has %d", seen, n)
	}
	return statuses, nil
}
