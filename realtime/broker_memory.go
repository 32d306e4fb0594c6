package realtime

import (
	"context"
	"sync"
)

// MemoryBroker is a Broker inside one process: for tests and a single node
// without Redis. Several hubs may share one MemoryBroker to act as nodes.
type MemoryBroker struct {
	mu   sync.Mutex
	subs map[string]map[*memoryRunner]bool
	// def is the node that the MemoryBroker's own methods act as.
	def *memoryNode
}

type memoryRunner struct {
	h Handler
	// early holds messages published before Run started.
	early []memoryMsg
}

type memoryMsg struct {
	topic string
	pub   Publication
}

var _ Broker = (*MemoryBroker)(nil)

// NewMemoryBroker returns an empty MemoryBroker.
func NewMemoryBroker() *MemoryBroker {
	b := &MemoryBroker{subs: make(map[string]map[*memoryRunner]bool)}
	b.def = &memoryNode{b: b, r: &memoryRunner{}}
	return b
}

// Node returns a Broker view for one node: its subscriptions are its own.
func (b *MemoryBroker) Node() Broker { return &memoryNode{b: b, r: &memoryRunner{}} }

// Publish delivers pub to every node subscribed to topic, synchronously
// (each handler is non-blocking by contract), each with its own copy of
// the data.
func (b *MemoryBroker) Publish(_ context.Context, topic string, pub Publication) error {
	b.mu.Lock()
	var hs []Handler
	for r := range b.subs[topic] {
		if r.h != nil {
			hs = append(hs, r.h)
		} else {
			r.early = append(r.early, memoryMsg{topic, pub.clone()})
		}
	}
	b.mu.Unlock()
	for _, h := range hs {
		h.HandleMessage(topic, pub.clone())
	}
	return nil
}

// Subscribe, Unsubscribe and Run on the MemoryBroker itself act as one
// default node.
func (b *MemoryBroker) Subscribe(ctx context.Context, topic string) error {
	return b.defaultNode().Subscribe(ctx, topic)
}

// Unsubscribe stops the default node's delivery of topic.
func (b *MemoryBroker) Unsubscribe(ctx context.Context, topic string) error {
	return b.defaultNode().Unsubscribe(ctx, topic)
}

// Run delivers to h as the default node until ctx ends.
func (b *MemoryBroker) Run(ctx context.Context, h Handler) error {
	return b.defaultNode().Run(ctx, h)
}

func (b *MemoryBroker) defaultNode() *memoryNode { return b.def }

type memoryNode struct {
	b *MemoryBroker
	r *memoryRunner
}

func (n *memoryNode) Publish(ctx context.Context, topic string, pub Publication) error {
	return n.b.Publish(ctx, topic, pub)
}

func (n *memoryNode) Subscribe(_ context.Context, topic string) error {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	if n.b.subs[topic] == nil {
		n.b.subs[topic] = make(map[*memoryRunner]bool)
	}
	n.b.subs[topic][n.r] = true
	return nil
}

func (n *memoryNode) Unsubscribe(_ context.Context, topic string) error {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	delete(n.b.subs[topic], n.r)
	if len(n.b.subs[topic]) == 0 {
		delete(n.b.subs, topic)
	}
	return nil
}

func (n *memoryNode) Run(ctx context.Context, h Handler) error {
	n.b.mu.Lock()
	n.r.h = h
	early := n.r.early
	n.r.early = nil
	n.b.mu.Unlock()
	for _, m := range early {
		h.HandleMessage(m.topic, m.pub)
	}
	<-ctx.Done()
	n.b.mu.Lock()
	n.r.h = nil
	n.b.mu.Unlock()
	return nil
}

// clone copies the data: a handler owns what it is handed.
func (p Publication) clone() Publication {
	p.Data = append([]byte(nil), p.Data...)
	return p
}
