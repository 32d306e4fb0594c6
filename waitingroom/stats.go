package waitingroom

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Figures are an event's waiting-room numbers for the admin dashboard, read
// from the room's Redis counters (a few O(1) or O(log n) reads, whatever
// the queue's length).
type Figures struct {
	// QueueLength is how many numbered fans are behind the cursor.
	QueueLength int64 `json:"queue_length"`
	// Prequeue is how many fans wait for the shuffle at sale open.
	Prequeue int64 `json:"prequeue"`
	// Cursor is the serving cursor.
	Cursor int64 `json:"cursor"`
	// AdmitRate is the smoothed observed admissions per second.
	AdmitRate float64 `json:"admit_rate"`
	// ActiveShoppers holds an unexpired admission.
	ActiveShoppers int64 `json:"active_shoppers"`
}

// Figures reads an event's waiting-room figures in one pipeline.
func (s *Service) Figures(ctx context.Context, eventID int64) (Figures, error) {
	k := s.keys(eventID)
	pipe := s.rdb.Pipeline()
	seq := pipe.Get(ctx, k.seq)
	cursor := pipe.Get(ctx, k.cursor)
	rate := pipe.Get(ctx, k.rate)
	pre := pipe.ZCard(ctx, k.pre)
	active := pipe.ZCount(ctx, k.adm, "("+strconv.FormatInt(time.Now().UnixMilli(), 10), "+inf")
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return Figures{}, fmt.Errorf("waitingroom: figures of event %d: %w", eventID, err)
	}
	var f Figures
	n, _ := seq.Int64()
	f.Cursor, _ = cursor.Int64()
	f.QueueLength = max(n-f.Cursor, 0)
	if r, err := rate.Float64(); err == nil && r > 0 {
		f.AdmitRate = r
	}
	f.Prequeue = pre.Val()
	f.ActiveShoppers = active.Val()
	return f, nil
}
