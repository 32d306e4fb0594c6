package waitingroom

import (
	"context"
	"time"
)

// QueueFrame is the cursor broadcast on topic event:{e}:queue, once per
// admitter tick whatever the queue's length, so a million waiting fans cost
// one frame a tick. A fan computes
// position = number - Serving and eta = position / AdmitRate.
type QueueFrame struct {
	Type  string `json:"type"` // "queue"
	Event int64  `json:"event,string"`
	// Presale is the window whose room the frame is of (absent: the
	// general room's); pages follow only their own room's frames.
	Presale int64 `json:"presale,omitempty,string"`
	// Serving is the cursor: every number up to it was admitted or skipped.
	Serving int64 `json:"serving"`
	// AdmitRate is the smoothed observed admission rate, fans per second.
	AdmitRate float64 `json:"admit_rate"`
	// QueueLength is how many numbers are past the cursor.
	QueueLength int64 `json:"queue_length"`
}

// AdmittedFrame goes to one admitted fan's own channel.
type AdmittedFrame struct {
	Type           string    `json:"type"` // "admitted"
	Event          int64     `json:"event,string"`
	Presale        int64     `json:"presale,omitempty,string"`
	AdmissionToken string    `json:"admission_token"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// Publisher carries the admitter's frames, encoded here as JSON, to fans;
// realtime.Frames satisfies it without waitingroom importing realtime.
// Calls must not block for long: they run inside the tick. Errors are
// logged; fans also poll /queue/me.
type Publisher interface {
	// PublishQueue broadcasts a cursor frame on event:{e}:queue.
	PublishQueue(ctx context.Context, eventID int64, frame []byte) error
	// PublishAdmitted sends an admitted frame to one account.
	PublishAdmitted(ctx context.Context, accountID int64, frame []byte) error
}

// NopPublisher publishes nothing (one node without sockets, tests).
type NopPublisher struct{}

// PublishQueue does nothing.
func (NopPublisher) PublishQueue(context.Context, int64, []byte) error { return nil }

// PublishAdmitted does nothing.
func (NopPublisher) PublishAdmitted(context.Context, int64, []byte) error { return nil }

var _ Publisher = NopPublisher{}
