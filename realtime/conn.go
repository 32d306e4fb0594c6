package realtime

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Frame is one encoded server → client message, shared by every socket it
// goes to. Transports may cache a ready-to-write form of it (a WebSocket
// prepared message) with Prepared.
type Frame struct {
	Data []byte
	// shared is set on frames fanned out to many sockets.
	shared bool

	once     sync.Once
	prepared any

	// topic is set on the data frames of a coalescing topic, whose next
	// payloads wait until this frame is written. waiters counts what it
	// is written for: shardHold per shard still queuing it to its
	// sockets, plus one per socket that was idle when it was queued and
	// has not written it yet. It reaches 0 exactly once (a shard adds its
	// sockets before letting go of its hold), and then the topic sends
	// what waited. A socket that already had frames queued is not waited
	// for: it is behind, and will write this frame in its next batch.
	topic   *topicState
	waiters atomic.Int64
}

// shardHold is one shard's share of Frame.waiters while it queues the
// frame: more than any number of sockets, so the count cannot reach 0
// before every shard is done.
const shardHold = 1 << 32

// release takes n off f's waiters; the last one sends the topic's waiting
// payloads.
func (f *Frame) release(n int64) {
	if f.topic != nil && f.waiters.Add(-n) == 0 {
		f.topic.hub.drained(f)
	}
}

// Shared reports whether the frame goes to many sockets, so a prepared
// form is worth making.
func (f *Frame) Shared() bool { return f.shared }

// Prepared returns prepare(f.Data), computed once for all sockets.
func (f *Frame) Prepared(prepare func([]byte) any) any {
	f.once.Do(func() { f.prepared = prepare(f.Data) })
	return f.prepared
}

// Transport is one socket as the Hub sees it. Write methods are called only
// from the connection's writer, one call at a time; Close may be called at
// any time and must unblock a reader.
type Transport interface {
	WriteFrame(f *Frame, deadline time.Time) error
	WritePing(deadline time.Time) error
	WriteClose(code int, reason string, deadline time.Time) error
	Close() error
}

// BatchTransport is a Transport that writes several frames in one go (one
// system call for the lot). A socket that fell behind drains its queue
// with it: the backlog costs one write, not one per frame, which is when
// the node is busiest.
type BatchTransport interface {
	WriteFrames(fs []*Frame, deadline time.Time) error
}

// Conn is one socket attached to the Hub: a bounded queue and the writer
// that drains it. The writer is a goroutine started when the socket has
// something to write (frames, a ping, its close) and ended when it has
// written it all, so an idle socket holds no goroutine or stack of its own:
// at 10 frames a second a write takes microseconds, and a goroutine parked
// per socket between frames was a quarter of the socket's memory. At most
// one writer runs per socket (running); a slow socket blocks only its own.
// The socket's reader (in the server) decodes ops and calls Subscribe,
// Unsubscribe and Send, then ReaderDone when it stops, and must wait for
// Done before it lets go of the socket.
type Conn struct {
	hub   *Hub
	shard *shard
	t     Transport
	// Account is the signed-in account (0 when anonymous).
	Account int64

	mu     sync.Mutex
	queue  []*Frame
	spare  []*Frame
	queued int
	// counted is the frame this socket was idle for when it was queued
	// (see Frame.waiters), released once written or dropped; writing says
	// the writer holds a batch, so the socket is not idle.
	counted *Frame
	writing bool
	// running says a writer goroutine is on the socket; it stays set once
	// the writer ended the socket, so none starts again.
	running     bool
	closing     bool
	pingDue     bool
	readerGone  bool
	closeCode   int
	closeReason string
	topics      map[string]*topicState

	readerDone chan struct{}
	readerOnce sync.Once
	done       chan struct{}
}

// Attach registers a socket and starts its writer. accountID, when not 0,
// subscribes the socket to its account topic (admitted frames). It returns
// nil when the hub is closing.
func (h *Hub) Attach(ctx context.Context, t Transport, accountID int64) *Conn {
	c := &Conn{
		hub: h, shard: h.shards[h.next.Add(1)%uint64(len(h.shards))], t: t, Account: accountID,
		topics: make(map[string]*topicState), readerDone: make(chan struct{}), done: make(chan struct{}),
	}
	// Attached under h.mu, so Close, which sets closed under it, then
	// closes every socket of the shards, cannot miss this one.
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.conns.Add(1)
	h.stats.conns.Add(1)
	c.shard.attach(c)
	h.mu.Unlock()
	if accountID != 0 {
		// Best effort: without it the socket misses its account's frames
		// (admitted), which the page also learns by polling.
		if err := c.subscribe(ctx, AccountTopic(accountID)); err != nil {
			h.log.Warn("realtime: subscribe to the account topic", "account", accountID, "err", err)
		}
	}
	return c
}

// Subscribe adds topic to the socket (idempotent) once the node receives it.
func (c *Conn) Subscribe(ctx context.Context, topic string) error {
	return c.subscribe(ctx, topic)
}

func (c *Conn) subscribe(ctx context.Context, topic string) error {
	c.mu.Lock()
	if _, ok := c.topics[topic]; ok || c.closing {
		c.mu.Unlock()
		return nil
	}
	if len(c.topics) >= c.hub.cfg.MaxTopics {
		c.mu.Unlock()
		return ErrTooMany
	}
	c.topics[topic] = nil // reserved while the node subscribes
	c.mu.Unlock()
	t := c.hub.acquire(ctx, topic)
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		c.hub.release(t)
		return nil
	}
	c.topics[topic] = t
	c.mu.Unlock()
	c.shard.add(topic, c)
	return nil
}

// Unsubscribe removes topic from the socket.
func (c *Conn) Unsubscribe(topic string) {
	c.mu.Lock()
	t, ok := c.topics[topic]
	if ok && t != nil {
		delete(c.topics, topic)
	}
	c.mu.Unlock()
	if ok && t != nil {
		c.shard.remove(topic, c)
		c.hub.release(t)
	}
}

// Send queues one frame for this socket only (replies, errors).
func (c *Conn) Send(data []byte) { c.enqueue(&Frame{Data: data}) }

// CloseWith makes the writer send a close frame with code and close the
// socket once the queue ahead of it is written.
func (c *Conn) CloseWith(code int, reason string) {
	c.mu.Lock()
	if !c.closing {
		c.closing, c.closeCode, c.closeReason = true, code, reason
	}
	c.mu.Unlock()
	c.signal()
}

// ReaderDone tells the writer the reader stopped (the client closed or
// failed): the writer closes the socket and ends.
func (c *Conn) ReaderDone() {
	c.readerOnce.Do(func() {
		c.mu.Lock()
		c.readerGone = true
		c.mu.Unlock()
		close(c.readerDone)
		c.signal()
	})
}

// ping asks the writer to ping the client.
func (c *Conn) ping() {
	c.mu.Lock()
	c.pingDue = true
	c.mu.Unlock()
	c.signal()
}

// Done is closed once the writer ended and the hub let go of the transport.
func (c *Conn) Done() <-chan struct{} { return c.done }

// signal makes sure a writer looks at the socket's state: one is started
// unless one is running (it checks the state again before it ends).
func (c *Conn) signal() {
	c.mu.Lock()
	start := c.startLocked()
	c.mu.Unlock()
	if start {
		go c.writer()
	}
}

// startLocked marks a writer running and reports whether the caller must
// start it; c.mu is held.
func (c *Conn) startLocked() bool {
	if c.running {
		return false
	}
	c.running = true
	return true
}

// enqueue adds a frame without ever blocking. Past QueueBytes the socket is
// a slow consumer: its queue is replaced by a resync frame per topic and
// it is closed with CloseSlowConsumer.
func (c *Conn) enqueue(f *Frame) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if c.queued+len(f.Data) > c.hub.cfg.QueueBytes {
		clear(c.queue)
		c.queue, c.queued = c.queue[:0], 0
		for name := range c.topics {
			c.queue = append(c.queue, &Frame{Data: ResyncFrame(name)})
		}
		c.closing, c.closeCode, c.closeReason = true, CloseSlowConsumer, "slow consumer: resync"
		dropped := c.counted
		c.counted = nil
		c.mu.Unlock()
		if dropped != nil {
			dropped.release(1)
		}
		c.hub.stats.slow.Add(1)
		c.signal()
		return
	}
	if f.topic != nil && len(c.queue) == 0 && !c.writing && c.counted == nil {
		// Idle: the topic waits for this write before its next frame.
		f.waiters.Add(1)
		c.counted = f
	}
	c.queue = append(c.queue, f)
	c.queued += len(f.Data)
	q := int64(c.queued)
	start := c.startLocked()
	c.mu.Unlock()
	for {
		m := c.hub.stats.maxQueued.Load()
		if q <= m || c.hub.stats.maxQueued.CompareAndSwap(m, q) {
			break
		}
	}
	if start {
		go c.writer()
	}
}

// writer writes what the socket has to write and ends when there is
// nothing left; it is the only goroutine writing to the transport. When the
// socket is done (closed, failed or its reader gone) it ends the socket.
func (c *Conn) writer() {
	h := c.hub
	for {
		c.mu.Lock()
		if len(c.queue) == 0 && !c.closing && !c.pingDue && !c.readerGone {
			c.running = false
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.queue, c.spare = c.spare[:0], nil
		c.queued = 0
		counted := c.counted
		c.counted, c.writing = nil, len(batch) > 0
		closing, code, reason := c.closing, c.closeCode, c.closeReason
		ping, gone := c.pingDue, c.readerGone
		c.pingDue = false
		c.mu.Unlock()
		ok := !gone && c.write(batch, ping)
		if ok {
			c.mu.Lock()
			c.writing = false
			if c.spare == nil {
				c.spare = batch[:0]
			}
			c.mu.Unlock()
		}
		if counted != nil {
			// Written, or never will be: the topic need not wait. After
			// writing is cleared, so the frame this may send finds the
			// socket idle.
			counted.release(1)
		}
		if !ok {
			if gone && closing {
				// The client closed first (the transport's close handler
				// asked for closing): answer its close, best effort.
				_ = c.t.WriteClose(code, reason, time.Now().Add(time.Second))
			}
			c.end()
			return
		}
		if closing {
			if c.t.WriteClose(code, reason, time.Now().Add(time.Second)) == nil {
				// Give the client a moment to answer the close.
				t := time.NewTimer(h.cfg.CloseGrace)
				select {
				case <-c.readerDone:
				case <-t.C:
				}
				t.Stop()
			}
			c.end()
			return
		}
	}
}

// end closes the socket and lets the hub go of it; the writer calls it
// once, and no writer starts after it (running stays set).
func (c *Conn) end() {
	h := c.hub
	_ = c.t.Close()
	c.detach()
	close(c.done)
	h.stats.conns.Add(-1)
	h.conns.Done()
}

// write writes a ping (when due) and batch to the transport, reporting
// whether the socket is still good.
func (c *Conn) write(batch []*Frame, ping bool) bool {
	h := c.hub
	if ping && c.t.WritePing(time.Now().Add(h.cfg.WriteTimeout)) != nil {
		return false
	}
	n := 0
	for _, f := range batch {
		n += len(f.Data)
	}
	if bt, ok := c.t.(BatchTransport); ok && len(batch) > 1 {
		if bt.WriteFrames(batch, time.Now().Add(h.cfg.WriteTimeout)) != nil {
			return false
		}
	} else {
		for _, f := range batch {
			if c.t.WriteFrame(f, time.Now().Add(h.cfg.WriteTimeout)) != nil {
				return false
			}
		}
	}
	clear(batch)
	h.stats.delivered.Add(int64(len(batch)))
	h.stats.bytesOut.Add(int64(n))
	return true
}

// detach removes the socket from its shard and topics.
func (c *Conn) detach() {
	c.shard.detach(c)
	c.mu.Lock()
	c.closing = true
	topics := c.topics
	c.topics = map[string]*topicState{}
	c.queue = nil
	dropped := c.counted
	c.counted = nil
	c.mu.Unlock()
	if dropped != nil {
		dropped.release(1)
	}
	for name, t := range topics {
		if t != nil {
			c.shard.remove(name, c)
			c.hub.release(t)
		}
	}
}
