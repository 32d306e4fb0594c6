package realtime

import (
	"testing"
	"time"
)

// TestTickFor: a topic's window stays at Tick for a small audience and
// stretches with the number of sockets to keep within the delivery budget,
// up to MaxTick.
func TestTickFor(t *testing.T) {
	h := &Hub{cfg: HubConfig{}}
	h.cfg.setDefaults() // 50 ms, 50,000 deliveries/s, at most 150 ms
	for _, tt := range []struct {
		sockets int
		want    time.Duration
	}{{1, 50 * time.Millisecond}, {2500, 50 * time.Millisecond}, {5000, 100 * time.Millisecond},
		{6000, 120 * time.Millisecond}, {100000, 150 * time.Millisecond}} {
		if got := h.tickFor(tt.sockets); got != tt.want {
			t.Errorf("tickFor(%d) = %v, want %v", tt.sockets, got, tt.want)
		}
	}
}
