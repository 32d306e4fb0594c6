package realtime

import (
	"context"
	"fmt"
	"strconv"
)

// Frames publishes the non-seat frames that other packages produce: the
// waiting room's queue cursor and admissions, the admin dashboard's
// figures. Those packages declare the one-method interfaces they need
// (for example a waiting-room QueuePublisher); Frames satisfies them.
type Frames struct{ broker Broker }

// NewFrames returns a publisher over broker (every node receives).
func NewFrames(broker Broker) *Frames { return &Frames{broker: broker} }

// PublishQueue broadcasts a queue frame on event:{e}:queue.
func (p *Frames) PublishQueue(ctx context.Context, eventID int64, f QueueFrame) error {
	f.Event = strconv.FormatInt(eventID, 10)
	return p.publish(ctx, QueueTopic(eventID), "queue", f)
}

// PublishStats broadcasts an admin stats frame on event:{e}:stats. stats
// must encode as a JSON object; "type" and "event" are added.
func (p *Frames) PublishStats(ctx context.Context, eventID int64, stats map[string]any) error {
	m := make(map[string]any, len(stats)+1)
	for k, v := range stats {
		m[k] = v
	}
	m["event"] = strconv.FormatInt(eventID, 10)
	return p.publish(ctx, StatsTopic(eventID), "stats", m)
}

// PublishAdmitted tells one account that it was admitted to an event.
func (p *Frames) PublishAdmitted(ctx context.Context, accountID, eventID int64, f AdmittedFrame) error {
	f.Event = strconv.FormatInt(eventID, 10)
	return p.publish(ctx, AccountTopic(accountID), "admitted", f)
}

func (p *Frames) publish(ctx context.Context, topic, typ string, v any) error {
	b, err := typed(typ, v)
	if err != nil {
		return fmt.Errorf("realtime: encode %s frame: %w", typ, err)
	}
	if err := p.broker.Publish(ctx, topic, b); err != nil {
		return err
	}
	return nil
}
