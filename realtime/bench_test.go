package realtime

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// discard is a Transport that writes nowhere and counts each frame off
// wg, so a benchmark measures the hub's own work per delivery.
type discard struct{ wg *sync.WaitGroup }

func (d discard) WriteFrame(*Frame, time.Time) error { d.wg.Done(); return nil }
func (d discard) WriteFrames(fs []*Frame, _ time.Time) error {
	d.wg.Add(-len(fs))
	return nil
}
func (discard) WritePing(time.Time) error               { return nil }
func (discard) WriteClose(int, string, time.Time) error { return nil }
func (discard) Close() error                            { return nil }

// BenchmarkFanout: one seats topic followed by 5,000 sockets; each op is
// one ~200-byte positioned publication delivered to all of them (no Merge:
// nothing coalesces). cpu-ns/delivery is the hub's CPU of one
// frame to one socket, without the network.
func BenchmarkFanout(b *testing.B) {
	const sockets = 5000
	br := NewMemoryBroker()
	h := NewHub(br, HubConfig{HeartbeatInterval: time.Hour})
	h.Start()
	defer h.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for range sockets {
		c := h.Attach(ctx, discard{&wg}, 0)
		if err := c.Subscribe(ctx, SeatsTopic(1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		seq := int64(i + 1)
		data := fmt.Appendf(nil, `{"type":"seats","event":"1","epoch":"e","from":%d,"to":%d,"seats":[[1,"h",%d],[2,"h",%d],[3,"h",%d],[4,"h",%d]]}`,
			seq-1, seq, seq, seq, seq, seq)
		wg.Add(sockets)
		br.Publish(ctx, SeatsTopic(1), Publication{Data: data, Epoch: "e", Seq: seq})
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*sockets), "cpu-ns/delivery")
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSocketMemory reports what the hub holds per idle socket that
// follows one seats topic: the growth of the Go heap in use and of
// goroutine stacks from no socket to 5,000 after forced collections
// (heap-B/socket, stack-B/socket), and the goroutines per socket. It
// measures memory, not time: b.N only repeats the measurement.
func BenchmarkSocketMemory(b *testing.B) {
	const sockets = 5000
	for range b.N {
		br := NewMemoryBroker()
		h := NewHub(br, HubConfig{HeartbeatInterval: time.Hour})
		h.Start()
		ctx := context.Background()
		var wg sync.WaitGroup
		before := settled()
		conns := make([]*Conn, sockets)
		for i := range conns {
			conns[i] = h.Attach(ctx, discard{&wg}, 0)
			if err := conns[i].Subscribe(ctx, SeatsTopic(1)); err != nil {
				b.Fatal(err)
			}
		}
		// One frame to every socket first, so each has written once.
		wg.Add(sockets)
		_ = br.Publish(ctx, SeatsTopic(1), Publication{Data: []byte(`{"type":"seats"}`), Epoch: "e", Seq: 1})
		wg.Wait()
		after := settled()
		b.ReportMetric((float64(after.HeapInuse)-float64(before.HeapInuse))/sockets, "heap-B/socket")
		b.ReportMetric((float64(after.StackInuse)-float64(before.StackInuse))/sockets, "stack-B/socket")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/sockets, "goroutines/socket")
		for _, c := range conns {
			c.ReaderDone()
		}
		h.Close()
	}
}

type memStats struct {
	runtime.MemStats
	goroutines int
}

// settled is the memory in use once garbage is collected (twice: pooled
// objects survive one collection).
func settled() memStats {
	time.Sleep(100 * time.Millisecond) // writers that are ending end
	runtime.GC()
	runtime.GC()
	var m memStats
	runtime.ReadMemStats(&m.MemStats)
	m.goroutines = runtime.NumGoroutine()
	return m
}
