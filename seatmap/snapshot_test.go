package seatmap

import (
	"context"
	"testing"
	"time"
)

// TestSnapshotServesPreviousWhileRefreshing: past the TTL, a caller that
// comes while another reads Postgres gets the previous snapshot at once.
// The service has no database: reading one here would panic.
func TestSnapshotServesPreviousWhileRefreshing(t *testing.T) {
	s := New(nil, nil, nil, nil, Config{SnapshotTTL: time.Millisecond})
	old := &Snapshot{Statuses: []byte("ah"), taken: time.Now().Add(-time.Hour)}
	s.snapshots[7] = old
	s.refreshing[7] = true
	got, err := s.Snapshot(context.Background(), 7)
	if err != nil || got != old {
		t.Fatalf("Snapshot while refreshing = %p, %v; want the previous one %p", got, err, old)
	}
}
