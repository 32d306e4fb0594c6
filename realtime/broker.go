package realtime

import "context"

// Publication is what a broker carries on a topic: opaque payload bytes
// and, for a topic that is a stream, the position of the payload in it.
// The hub never looks inside Data; a stream's owner (seatmap for seat
// diffs) encodes, merges and replays it.
type Publication struct {
	// Data is the frame as the client receives it.
	Data []byte
	// Epoch and Seq place Data in the topic's stream: Seq is the last
	// sequence number Data covers, and a new Epoch means the stream was
	// lost and started again. Zero (Epoch "") when the topic is no stream.
	Epoch string
	Seq   int64
}

// positioned reports whether the publication carries a stream position.
func (p Publication) positioned() bool { return p.Epoch != "" }

// Handler receives what a Broker reads. Both methods are called from the
// broker's read loop and must not block.
type Handler interface {
	// HandleMessage is one publication on a subscribed topic. Its Data is
	// owned by the handler from then on.
	HandleMessage(topic string, pub Publication)
	// HandleResync says messages may have been lost (the broker's
	// connection dropped and came back): every topic must resync.
	HandleResync()
}

// Broker carries publications between the nodes. A node subscribes once per
// topic, however many of its sockets want the topic; the Hub counts them.
type Broker interface {
	// Publish sends pub to every node subscribed to topic.
	Publish(ctx context.Context, topic string, pub Publication) error
	// Subscribe starts delivering topic to the handler and returns once
	// the subscription is in place (or ctx ends).
	Subscribe(ctx context.Context, topic string) error
	// Unsubscribe stops delivering topic.
	Unsubscribe(ctx context.Context, topic string) error
	// Run reads publications into h until ctx ends.
	Run(ctx context.Context, h Handler) error
}
