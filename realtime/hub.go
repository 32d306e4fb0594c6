package realtime

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HubConfig tunes a Hub. Zero fields take the defaults named.
type HubConfig struct {
	// Shards is the number of fan-out goroutines, each owning a share of
	// the sockets (default 8).
	Shards int
	// QueueBytes bounds the frames waiting for one socket (default 256 KiB).
	// A socket over it is a slow consumer: resync frames, then close 4008.
	QueueBytes int
	// MaxDelay bounds how long a coalescing topic's payloads wait for the
	// frame ahead of them (default 100 ms). A topic with a Merge function
	// sends a payload at once when its previous frame has been written to
	// every socket that was idle when it was queued (the leading edge:
	// nothing to merge with, nothing to wait for); while that frame is
	// still queued, new payloads wait and go out merged as soon as it is
	// written, or after MaxDelay if some socket's write hangs.
	MaxDelay time.Duration
	// FanoutBudget, when positive, bounds the socket writes a second that
	// one coalescing topic causes on this node: its frames go out at least
	// audience/FanoutBudget apart (5,000 sockets at 25,000 writes a
	// second: 200 ms), and what arrives meanwhile goes out merged. A
	// small audience is barely slowed (50 sockets: 2 ms). On a saturated
	// node this caps the fan-out's share of the CPU, which otherwise takes
	// whatever the rest leaves, at the price of diff latency. Zero (the
	// default): a frame goes out as soon as the last one is written.
	FanoutBudget int
	// Merge maps a topic kind (KindSeats, KindQueue, ...) to the function
	// that merges the payloads its topics receive while a frame is queued.
	// The domain that encodes the payloads supplies it
	// (seatmap.MergeFrames for seat diffs, KeepLast for whole-state
	// frames); a kind without one sends every payload as it comes.
	Merge map[string]MergeFunc
	// HeartbeatInterval is how often a seats topic's stream position is
	// sent to its sockets when no data frame already told them (default
	// 500 ms), so a client that lost the last diff notices within about a
	// second. A head from Positions that this node has not delivered is
	// announced only once it has stayed the head for a whole interval: it
	// may still be on its way.
	HeartbeatInterval time.Duration
	// WriteTimeout bounds one write to a socket (default 10 s).
	WriteTimeout time.Duration
	// PingInterval is how often the server pings each socket (default 25 s).
	PingInterval time.Duration
	// CloseGrace is how long a closing socket waits for the client to
	// answer its close frame before dropping the connection (default 1 s).
	CloseGrace time.Duration
	// MaxTopics bounds the subscriptions of one socket (default 32).
	MaxTopics int
	// Positions, when set, reads the current position of an event's seats
	// stream for heartbeats (seatmap.RedisStream.Head): the node may have
	// missed a publication. Without it heartbeats carry the last position
	// this node saw on a publication.
	Positions func(ctx context.Context, eventID int64) (epoch string, seq int64, err error)
	// Log receives warnings; nil discards them.
	Log *slog.Logger
}

func (c *HubConfig) setDefaults() {
	if c.Shards <= 0 {
		c.Shards = 8
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 256 << 10
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 100 * time.Millisecond
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 500 * time.Millisecond
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.CloseGrace <= 0 {
		c.CloseGrace = time.Second
	}
	if c.MaxTopics <= 0 {
		c.MaxTopics = 32
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Hub fans the broker's messages out to this node's sockets. It is safe for
// concurrent use; see the package documentation for its goroutines.
type Hub struct {
	cfg    HubConfig
	broker Broker
	log    *slog.Logger
	shards []*shard
	next   atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // shards, heartbeat, broker loop
	conns  sync.WaitGroup // writers

	mu     sync.Mutex
	topics map[string]*topicState
	closed bool

	stats struct {
		conns, slow, frames, delivered, bytesOut, maxQueued atomic.Int64
	}
}

// MergeFunc merges the payloads a topic received while its previous frame
// was still queued, oldest first, into the frames to send, in order: one frame when
// they all merge, more where they cannot (a gap in a stream, a new
// epoch). It may return the payloads themselves and must not keep them.
// The hub calls it on a writer, shard or timer goroutine, one topic at a
// time.
type MergeFunc func(payloads [][]byte) [][]byte

// KeepLast is the MergeFunc of topics whose every frame is a whole state
// (the queue cursor, the admin figures): the newest says everything.
func KeepLast(payloads [][]byte) [][]byte { return payloads[len(payloads)-1:] }

var _ Handler = (*Hub)(nil)

// NewHub returns a hub over broker; Start runs it.
func NewHub(broker Broker, cfg HubConfig) *Hub {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{cfg: cfg, broker: broker, log: cfg.Log, ctx: ctx, cancel: cancel, topics: make(map[string]*topicState)}
	for range cfg.Shards {
		h.shards = append(h.shards, &shard{conns: make(map[*Conn]struct{}), subs: make(map[string]map[*Conn]struct{}), wake: make(chan struct{}, 1)})
	}
	return h
}

// Config returns the effective configuration.
func (h *Hub) Config() HubConfig { return h.cfg }

// Start runs the broker's read loop, the shards and the heartbeat until
// Close.
func (h *Hub) Start() {
	h.wg.Add(3 + len(h.shards))
	go func() { defer h.wg.Done(); h.pings() }()
	go func() {
		defer h.wg.Done()
		if err := h.broker.Run(h.ctx, h); err != nil {
			h.log.Error("realtime: broker stopped", "err", err)
		}
	}()
	go func() { defer h.wg.Done(); h.heartbeats() }()
	for _, s := range h.shards {
		go func() { defer h.wg.Done(); s.run(h.ctx) }()
	}
}

// Close closes every socket with 1001 (going away), waits for their writers
// and stops the hub's goroutines.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	// No socket attaches after closed is set (Attach checks it under
	// h.mu), so these are all of them.
	var conns []*Conn
	for _, s := range h.shards {
		s.mu.Lock()
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
	}
	for _, c := range conns {
		c.CloseWith(CloseGoingAway, "server shutting down")
	}
	h.conns.Wait()
	h.wg.Wait()
}

// HubStats are counters for tests, metrics and the admin dashboard.
type HubStats struct {
	// Conns is the number of open sockets.
	Conns int64
	// SlowClosed counts sockets closed as slow consumers.
	SlowClosed int64
	// Frames counts frames fanned out (once each, however many sockets).
	Frames int64
	// Delivered counts frames written to sockets.
	Delivered int64
	// BytesOut counts the payload bytes of the frames written to sockets
	// (without the WebSocket framing).
	BytesOut int64
	// MaxQueued is the most bytes ever waiting for one socket.
	MaxQueued int64
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	return HubStats{
		Conns: h.stats.conns.Load(), SlowClosed: h.stats.slow.Load(), Frames: h.stats.frames.Load(),
		Delivered: h.stats.delivered.Load(), BytesOut: h.stats.bytesOut.Load(), MaxQueued: h.stats.maxQueued.Load(),
	}
}

// Publish sends pub to topic on every node through the hub's broker.
func (h *Hub) Publish(ctx context.Context, topic string, pub Publication) error {
	return h.broker.Publish(ctx, topic, pub)
}

// OpenSockets is the number of open sockets on this node.
func (h *Hub) OpenSockets() int64 { return h.stats.conns.Load() }

// EventAudience is how many of this node's sockets follow an event: fans on
// its seats or queue topic, admins on its stats topic.
func (h *Hub) EventAudience(eventID int64) (fans, admins int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	refs := func(topic string) int {
		if t := h.topics[topic]; t != nil {
			return t.refs
		}
		return 0
	}
	return refs(SeatsTopic(eventID)) + refs(QueueTopic(eventID)), refs(StatsTopic(eventID))
}

// AdminEvents lists the events whose stats topic has a socket on this node.
func (h *Hub) AdminEvents() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int64
	for _, t := range h.topics {
		if t.kind == KindStats && t.refs > 0 {
			out = append(out, t.event)
		}
	}
	return out
}

// topicState is one topic this node has sockets for: the broker
// subscription's reference count and the coalescer.
type topicState struct {
	hub   *Hub
	name  string
	kind  string
	event int64
	merge MergeFunc // nil: no coalescing

	refs int // guarded by Hub.mu
	// audience is refs for readers holding only mu (FanoutBudget).
	audience atomic.Int64

	subMu      sync.Mutex // serialises broker (un)subscribes of this topic
	subscribed bool

	mu sync.Mutex
	// inflight is the topic's last frame while sockets that were idle when
	// it was queued have not written it yet; payloads arriving meanwhile
	// wait in pending (pendingPos: one of them carried a stream position)
	// until it is written or timer (MaxDelay) fires.
	inflight   *Frame
	timer      *time.Timer
	pending    [][]byte
	pendingPos bool
	pos        position
	posKnown   bool
	// sentPos is the position of the last data frame sent, and sentBeat
	// whether one went out since the previous heartbeat.
	sentPos  position
	sentBeat bool
	// lastHead is the stream head HubConfig.Positions gave at the
	// previous heartbeat.
	lastHead position
	// lastEmit is when the topic's last merged-kind frame went out.
	lastEmit time.Time
}

// spacing is how long t's next frame must wait under FanoutBudget (zero:
// it may go now); t.mu is held.
func (h *Hub) spacing(t *topicState, now time.Time) time.Duration {
	if h.cfg.FanoutBudget <= 0 || t.lastEmit.IsZero() {
		return 0
	}
	gap := time.Duration(t.audience.Load()) * time.Second / time.Duration(h.cfg.FanoutBudget)
	return t.lastEmit.Add(gap).Sub(now)
}

func (h *Hub) topic(name string) *topicState {
	t := h.topics[name]
	if t == nil {
		t = &topicState{hub: h, name: name}
		if strings.HasPrefix(name, "account:") {
			t.kind = KindAccount
		} else if tp, err := ParseTopic(name); err == nil {
			t.kind, t.event = tp.Kind, tp.ID
		}
		t.merge = h.cfg.Merge[t.kind]
		h.topics[name] = t
	}
	return t
}

// acquire counts one more socket on topic and makes sure the node is
// subscribed. A broker failure is logged, not returned: the broker keeps
// the subscription and resyncs the topic when it reconnects.
func (h *Hub) acquire(ctx context.Context, name string) *topicState {
	h.mu.Lock()
	t := h.topic(name)
	t.refs++
	t.audience.Store(int64(t.refs))
	h.mu.Unlock()
	t.subMu.Lock()
	defer t.subMu.Unlock()
	if !t.subscribed {
		if err := h.broker.Subscribe(ctx, name); err != nil {
			h.log.Warn("realtime: subscribe failed; live once the broker is back", "topic", name, "err", err)
		}
		t.subscribed = true
	}
	return t
}

// release counts one socket less and unsubscribes the node from a topic
// nobody here wants any more.
func (h *Hub) release(t *topicState) {
	h.mu.Lock()
	t.refs--
	t.audience.Store(int64(t.refs))
	zero := t.refs == 0
	h.mu.Unlock()
	if !zero {
		return
	}
	go func() {
		t.subMu.Lock()
		defer t.subMu.Unlock()
		h.mu.Lock()
		still := t.refs == 0
		h.mu.Unlock()
		if still && t.subscribed {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := h.broker.Unsubscribe(ctx, t.name); err != nil {
				h.log.Warn("realtime: unsubscribe failed", "topic", t.name, "err", err)
			}
			t.subscribed = false
		}
		// Forget the topic unless someone came back for it meanwhile
		// (they hold the same *topicState and wait on subMu).
		h.mu.Lock()
		if t.refs == 0 && !t.subscribed && h.topics[t.name] == t {
			delete(h.topics, t.name)
		}
		h.mu.Unlock()
	}()
}

// HandleMessage is the broker's read loop handing over one publication: it
// is coalesced and queued to the shards, never waiting on a socket.
func (h *Hub) HandleMessage(topic string, pub Publication) {
	h.mu.Lock()
	t := h.topics[topic]
	if t != nil && t.refs == 0 {
		t = nil
	}
	h.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var pos position
	if pub.positioned() {
		pos = position{pub.Epoch, pub.Seq}
		if !t.posKnown || t.pos.Epoch != pos.Epoch || pos.Seq > t.pos.Seq {
			t.pos, t.posKnown = pos, true
		}
	}
	if t.merge == nil || (t.inflight == nil && len(t.pending) == 0 && h.spacing(t, time.Now()) <= 0) {
		// Nothing queued ahead of it (or a kind that never merges): out
		// at once.
		if pub.positioned() {
			t.sentPos, t.sentBeat = pos, true
		}
		h.emit(topic, pub.Data, t)
		return
	}
	t.pending = append(t.pending, pub.Data)
	if pub.positioned() {
		t.sentPos, t.pendingPos = pos, true
	}
	if t.timer == nil {
		delay := h.cfg.MaxDelay
		if t.inflight == nil {
			// Nothing in flight: only FanoutBudget's spacing holds it.
			delay = h.spacing(t, time.Now())
		}
		t.timer = time.AfterFunc(delay, func() { h.expire(t) })
	}
}

// drained is f written by every socket that was idle when it was queued:
// the topic's waiting payloads go out merged.
func (h *Hub) drained(f *Frame) {
	t := f.topic
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inflight != f {
		return // MaxDelay or a resync went past it
	}
	t.inflight = nil
	h.flushLocked(t)
}

// expire is MaxDelay passing with payloads still waiting: some socket's
// write hangs, and the rest should not wait for it.
func (h *Hub) expire(t *topicState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer = nil
	t.inflight = nil
	h.flushLocked(t)
}

// flushLocked sends a topic's waiting payloads merged, or, while
// FanoutBudget's spacing lasts, sets the timer for its end; t.mu is held.
func (h *Hub) flushLocked(t *topicState) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if len(t.pending) == 0 {
		return
	}
	if wait := h.spacing(t, time.Now()); wait > 0 {
		t.timer = time.AfterFunc(wait, func() { h.expire(t) })
		return
	}
	for _, f := range t.merge(t.pending) {
		h.emit(t.name, f, t)
	}
	clear(t.pending)
	t.pending = t.pending[:0]
	t.sentBeat, t.pendingPos = t.pendingPos, false
}

// HandleResync is the broker saying messages may be lost: every socket gets
// a resync frame for each of its topics, and positions are relearnt.
func (h *Hub) HandleResync() {
	h.mu.Lock()
	var ts []*topicState
	for _, t := range h.topics {
		if t.refs > 0 {
			ts = append(ts, t)
		}
	}
	h.mu.Unlock()
	for _, t := range ts {
		t.mu.Lock()
		if t.timer != nil {
			t.timer.Stop()
			t.timer = nil
		}
		clear(t.pending)
		t.pending, t.pendingPos = t.pending[:0], false
		t.inflight = nil
		t.posKnown = false
		h.emit(t.name, ResyncFrame(t.name), nil)
		t.mu.Unlock()
	}
}

// emit queues one encoded frame to every shard; the shards fan it out.
// On a coalescing topic t (t.mu held) the frame becomes its inflight
// frame: each shard holds it until it has queued it to its sockets, and
// each socket that was idle holds it until written (see Frame.waiters).
func (h *Hub) emit(topic string, data []byte, t *topicState) {
	h.stats.frames.Add(1)
	f := &Frame{Data: data, shared: true}
	if t != nil && t.merge != nil {
		f.topic = t
		f.waiters.Store(int64(len(h.shards)) * shardHold)
		t.inflight = f
		t.lastEmit = time.Now()
	}
	for _, s := range h.shards {
		s.post(delivery{topic, f})
	}
}

// heartbeats sends each quiet seats topic's position to its sockets.
func (h *Hub) heartbeats() {
	tick := time.NewTicker(h.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
		h.mu.Lock()
		var ts []*topicState
		for _, t := range h.topics {
			if t.refs > 0 && t.kind == KindSeats {
				ts = append(ts, t)
			}
		}
		h.mu.Unlock()
		for _, t := range ts {
			h.heartbeat(t)
		}
	}
}

func (h *Hub) heartbeat(t *topicState) {
	var pos position
	known := false
	if h.cfg.Positions != nil {
		ctx, cancel := context.WithTimeout(h.ctx, h.cfg.HeartbeatInterval)
		epoch, seq, err := h.cfg.Positions(ctx, t.event)
		cancel()
		if err == nil && epoch != "" {
			pos, known = position{epoch, seq}, true
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if known {
		// A head this node has not delivered may be a publication still
		// on its way through the broker: announcing it would send every
		// client to the catch-up endpoint for a diff about to arrive (and
		// under load that is most beats). The head is announced once it
		// was already the head a beat ago; until then the node's own.
		stable := pos == t.lastHead
		t.lastHead = pos
		if !stable && (!t.posKnown || pos != t.pos) {
			pos, known = t.pos, t.posKnown
		}
	} else {
		pos, known = t.pos, t.posKnown
	}
	if !known {
		return
	}
	if t.sentBeat && t.sentPos == pos {
		// A data frame since the last beat already said this.
		t.sentBeat = false
		return
	}
	t.sentBeat = false
	if len(t.pending) > 0 {
		// The frame for this position is about to go out.
		return
	}
	h.emit(t.name, heartbeatFrame(t.name, pos), nil)
}

// delivery is one frame for the subscribers of a topic.
type delivery struct {
	topic string
	frame *Frame
}

// shard owns a share of the sockets and the goroutine that fans frames out
// to them.
type shard struct {
	mu    sync.Mutex
	conns map[*Conn]struct{} // every socket of the shard, for pings
	subs  map[string]map[*Conn]struct{}
	inbox []delivery
	wake  chan struct{}
}

func (s *shard) post(d delivery) {
	s.mu.Lock()
	s.inbox = append(s.inbox, d)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *shard) run(ctx context.Context) {
	var batch []delivery
	var conns []*Conn
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		s.mu.Lock()
		batch, s.inbox = s.inbox, batch[:0]
		s.mu.Unlock()
		for i, d := range batch {
			s.mu.Lock()
			conns = conns[:0]
			for c := range s.subs[d.topic] {
				conns = append(conns, c)
			}
			s.mu.Unlock()
			for _, c := range conns {
				c.enqueue(d.frame)
			}
			d.frame.release(shardHold)
			batch[i] = delivery{}
		}
		clear(conns)
	}
}

func (s *shard) attach(c *Conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
}

func (s *shard) detach(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// pings asks every socket's writer to ping its client each PingInterval:
// one ticker for the node instead of one per socket.
func (h *Hub) pings() {
	tick := time.NewTicker(h.cfg.PingInterval)
	defer tick.Stop()
	var conns []*Conn
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
		for _, s := range h.shards {
			s.mu.Lock()
			conns = conns[:0]
			for c := range s.conns {
				conns = append(conns, c)
			}
			s.mu.Unlock()
			for _, c := range conns {
				c.ping()
			}
		}
		clear(conns)
	}
}

func (s *shard) add(topic string, c *Conn) {
	s.mu.Lock()
	m := s.subs[topic]
	if m == nil {
		m = make(map[*Conn]struct{})
		s.subs[topic] = m
	}
	m[c] = struct{}{}
	s.mu.Unlock()
}

func (s *shard) remove(topic string, c *Conn) {
	s.mu.Lock()
	if m := s.subs[topic]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(s.subs, topic)
		}
	}
	s.mu.Unlock()
}
