package realtime

import "context"

// Handler receives what a Broker reads. Both methods are called from the
// broker's read loop and must not block.
type Handler interface {
	// HandleMessage is one message published on a subscribed topic. The
	// payload is owned by the handler from then on.
	HandleMessage(topic string, payload []byte)
	// HandleResync says messages may have been lost (the broker's
	// connection dropped and came back): every topic must resync.
	HandleResync()
}

// Broker carries messages between the nodes. A node subscribes once per
// topic, however many of its sockets want the topic; the Hub counts them.
type Broker interface {
	// Publish sends payload to every node subscribed to topic.
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe starts delivering topic to the handler and returns once
	// the subscription is in place (or ctx ends).
	Subscribe(ctx context.Context, topic string) error
	// Unsubscribe stops delivering topic.
	Unsubscribe(ctx context.Context, topic string) error
	// Run reads messages into h until ctx ends.
	Run(ctx context.Context, h Handler) error
}
