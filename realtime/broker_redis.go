package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBroker is the Broker of a multi-node deployment: Redis pub/sub, one
// SUBSCRIBE per topic per node on a single connection. Channel names are
// the topic under a key prefix (Channel).
//
// On a channel a publication is its data as is, or, when it carries a
// stream position, the data behind a header (the layout centrifuge uses):
//
//	__p1:<seq>:<epoch>__<data>
//
// Unpositioned data that itself starts with "__" goes behind "__r__", so
// it is never read as a header. A stream that publishes from inside a
// Redis script, to keep publish order and sequence order one (seatmap's
// seat stream), writes the same header; seatmap's TestRedisStreamFrames
// pins what it writes, and the server's socket tests (TestWSConvergence)
// read it back through this broker.
//
// go-redis resubscribes by itself after its connection drops; the read loop
// notices the drop (a read error) and, once messages flow again, tells the
// handler to resync, since anything published in between is lost.
//
// rdb may be a Redis Cluster client: classic PUBLISH is broadcast over the
// cluster bus to every node, so the one subscription connection (on the
// master go-redis picks for the first channel) hears every event. Sharded
// pub/sub (SSUBSCRIBE) would keep an event's messages on its shard, but a
// go-redis PubSub is one connection to one node, so it would take a
// subscription per shard, moved on every resharding; with a few masters the
// broadcast costs little, so classic pub/sub it is.
type RedisBroker struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	ps     *redis.PubSub
	// PingEvery is how long the read loop waits for a message before it
	// pings Redis to check the connection (default 5 s).
	pingEvery time.Duration

	mu      sync.Mutex
	waiters map[string][]chan struct{}
}

var _ Broker = (*RedisBroker)(nil)

// NewRedisBroker returns a broker over rdb with channel names under prefix.
func NewRedisBroker(rdb redis.UniversalClient, prefix string, log *slog.Logger) *RedisBroker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisBroker{
		rdb: rdb, prefix: prefix, log: log,
		ps:        rdb.Subscribe(context.Background()),
		pingEvery: 5 * time.Second,
		waiters:   make(map[string][]chan struct{}),
	}
}

// Channel is the Redis channel that carries topic.
func (b *RedisBroker) Channel(topic string) string { return b.prefix + topic }

// Publish sends pub on topic's channel.
func (b *RedisBroker) Publish(ctx context.Context, topic string, pub Publication) error {
	if err := b.rdb.Publish(ctx, b.prefix+topic, encodeEnvelope(pub)).Err(); err != nil {
		return fmt.Errorf("realtime: publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe sends SUBSCRIBE and waits for Redis to confirm it. When Redis is
// down the channel is still remembered and subscribed on reconnect (when
// the handler gets HandleResync); the error says the topic is not live yet.
func (b *RedisBroker) Subscribe(ctx context.Context, topic string) error {
	ch := b.prefix + topic
	w := make(chan struct{})
	b.mu.Lock()
	b.waiters[ch] = append(b.waiters[ch], w)
	b.mu.Unlock()
	err := b.ps.Subscribe(ctx, ch)
	if err == nil {
		select {
		case <-w:
			return nil
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	b.mu.Lock()
	ws := b.waiters[ch]
	for i := range ws {
		if ws[i] == w {
			b.waiters[ch] = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(b.waiters[ch]) == 0 {
		delete(b.waiters, ch)
	}
	b.mu.Unlock()
	return fmt.Errorf("realtime: subscribe %s: %w", topic, err)
}

// Unsubscribe sends UNSUBSCRIBE.
func (b *RedisBroker) Unsubscribe(ctx context.Context, topic string) error {
	if err := b.ps.Unsubscribe(ctx, b.prefix+topic); err != nil {
		return fmt.Errorf("realtime: unsubscribe %s: %w", topic, err)
	}
	return nil
}

// Run is the read loop: it hands every message to h without blocking and
// returns when ctx ends (closing the subscription).
func (b *RedisBroker) Run(ctx context.Context, h Handler) error {
	stop := context.AfterFunc(ctx, func() { _ = b.ps.Close() })
	defer stop()
	lost := false
	backoff := 50 * time.Millisecond
	for {
		msg, err := b.ps.ReceiveTimeout(ctx, b.pingEvery)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !lost {
				// Quiet, not necessarily broken: ask. A dead connection
				// fails the ping or the next read.
				if perr := b.ps.Ping(ctx); perr != nil {
					b.log.Warn("realtime: redis ping failed", "err", perr)
				}
				continue
			}
			if !lost {
				b.log.Warn("realtime: redis subscription lost; resubscribing", "err", err)
				lost = true
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Second)
			if lost {
				// Reconnect (and resubscribe) eagerly, so a quiet topic
				// learns of the loss too.
				_ = b.ps.Ping(ctx)
			}
			continue
		}
		backoff = 50 * time.Millisecond
		if lost {
			lost = false
			b.log.Info("realtime: redis subscription back; resyncing every topic")
			h.HandleResync()
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.confirm(m.Channel)
			}
		case *redis.Message:
			topic, ok := strings.CutPrefix(m.Channel, b.prefix)
			if !ok {
				continue
			}
			pub, err := decodeEnvelope(m.Payload)
			if err != nil {
				b.log.Warn("realtime: undecodable message dropped", "topic", topic, "err", err)
				continue
			}
			h.HandleMessage(topic, pub)
		}
	}
}

func (b *RedisBroker) confirm(ch string) {
	b.mu.Lock()
	ws := b.waiters[ch]
	delete(b.waiters, ch)
	b.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// Envelope headers; see RedisBroker.
const (
	envMark       = "__"
	envPositioned = "__p1:"
	envRaw        = "__r__"
)

// encodeEnvelope is pub as it travels on a channel.
func encodeEnvelope(pub Publication) []byte {
	if pub.positioned() {
		b := make([]byte, 0, len(envPositioned)+len(pub.Epoch)+24+len(pub.Data))
		b = append(b, envPositioned...)
		b = strconv.AppendInt(b, pub.Seq, 10)
		b = append(b, ':')
		b = append(b, pub.Epoch...)
		b = append(b, envMark...)
		return append(b, pub.Data...)
	}
	if strings.HasPrefix(string(pub.Data), envMark) {
		return append([]byte(envRaw), pub.Data...)
	}
	return pub.Data
}

var errEnvelope = errors.New("realtime: malformed message header")

// decodeEnvelope reads a channel message back into a publication; only a
// broken header is an error.
func decodeEnvelope(msg string) (Publication, error) {
	if !strings.HasPrefix(msg, envMark) {
		return Publication{Data: []byte(msg)}, nil
	}
	if rest, ok := strings.CutPrefix(msg, envRaw); ok {
		return Publication{Data: []byte(rest)}, nil
	}
	rest, ok := strings.CutPrefix(msg, envPositioned)
	if !ok {
		return Publication{}, errEnvelope
	}
	seq, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return Publication{}, errEnvelope
	}
	epoch, data, ok := strings.Cut(rest, envMark)
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || epoch == "" {
		return Publication{}, errEnvelope
	}
	return Publication{Data: []byte(data), Epoch: epoch, Seq: n}, nil
}
