package realtime

import "context"

// Frames publishes the frames other packages encode, on the topics this
// package names: the waiting room's cursor and admissions, the admin
// dashboard's figures. Those packages declare the one-method interfaces
// they need (for example waitingroom.Publisher) and own their frames'
// encoding; Frames only routes the bytes.
type Frames struct{ broker Broker }

// NewFrames returns a publisher over broker (every node receives).
func NewFrames(broker Broker) *Frames { return &Frames{broker: broker} }

// PublishQueue broadcasts a waiting-room frame on event:{e}:queue.
func (p *Frames) PublishQueue(ctx context.Context, eventID int64, frame []byte) error {
	return p.broker.Publish(ctx, QueueTopic(eventID), Publication{Data: frame})
}

// PublishStats broadcasts an admin figures frame on event:{e}:stats.
func (p *Frames) PublishStats(ctx context.Context, eventID int64, frame []byte) error {
	return p.broker.Publish(ctx, StatsTopic(eventID), Publication{Data: frame})
}

// PublishAdmitted sends a frame to one account's sockets (account:{id}).
func (p *Frames) PublishAdmitted(ctx context.Context, accountID int64, frame []byte) error {
	return p.broker.Publish(ctx, AccountTopic(accountID), Publication{Data: frame})
}

// PublishAccount sends a frame to one account's sockets (account:{id}):
// seatmap's waiting-list offers.
func (p *Frames) PublishAccount(ctx context.Context, accountID int64, frame []byte) error {
	return p.broker.Publish(ctx, AccountTopic(accountID), Publication{Data: frame})
}
