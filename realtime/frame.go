package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Close codes; see the package documentation.
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseUnsupportedData = 1003
	ClosePolicyViolation = 1008
	CloseTooBig          = 1009
	CloseSlowConsumer    = 4008
)

// MaxOpSize is the largest client message accepted (the read limit).
const MaxOpSize = 1024

// Op is one client → server message: {"op":"subscribe","topic":"..."},
// {"op":"unsubscribe","topic":"..."} or {"op":"ping"}.
type Op struct {
	Op    string `json:"op"`
	Topic string `json:"topic,omitempty"`
	// ID is echoed in the reply, so a client can match replies to ops.
	ID string `json:"id,omitempty"`
}

// Op names.
const (
	OpSubscribe   = "subscribe"
	OpUnsubscribe = "unsubscribe"
	OpPing        = "ping"
)

// OpError is a client message the server refuses; Code and Message go into
// an error frame.
type OpError struct {
	Code    string
	Message string
}

func (e *OpError) Error() string { return "realtime: " + e.Code + ": " + e.Message }

// Errors of client messages.
var (
	ErrBadJSON      = &OpError{"bad_json", "the message is not a JSON object of the expected shape"}
	ErrUnknownOp    = &OpError{"unknown_op", "op must be subscribe, unsubscribe or ping"}
	ErrBadTopic     = &OpError{"unknown_topic", "no such topic"}
	ErrForbidden    = &OpError{"forbidden", "your account may not subscribe to this topic"}
	ErrTooMany      = &OpError{"too_many_topics", "too many subscriptions on this socket"}
	ErrUnavailable  = &OpError{"unavailable", "live updates are unavailable right now; try again"}
	ErrRateLimited  = &OpError{"rate_limited", "too many messages on this socket; slow down"}
	errTrailingData = errors.New("trailing data")
)

// DecodeOp parses one client message strictly: a single JSON object with
// known fields only, a known op, and a topic for (un)subscribe. It never
// panics on any input (FuzzDecodeOp).
func DecodeOp(data []byte) (Op, error) {
	var op Op
	if len(data) > MaxOpSize {
		return op, ErrBadJSON
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		return Op{}, ErrBadJSON
	}
	if _, err := dec.Token(); err == nil {
		return Op{}, fmt.Errorf("%w: %w", ErrBadJSON, errTrailingData)
	}
	if len(op.ID) > 64 {
		return Op{}, ErrBadJSON
	}
	switch op.Op {
	case OpPing:
		return op, nil
	case OpSubscribe, OpUnsubscribe:
		if _, err := ParseTopic(op.Topic); err != nil {
			return Op{}, err
		}
		return op, nil
	}
	return Op{}, ErrUnknownOp
}

// Topic kinds.
const (
	KindSeats   = "seats"
	KindQueue   = "queue"
	KindStats   = "stats"
	KindAccount = "account"
)

// Topic is a parsed topic name: event:{id}:seats, event:{id}:queue,
// event:{id}:stats, or account:{id} (the per-account channel that carries
// admitted frames; every signed-in socket is on its own, clients never
// subscribe to it by name).
type Topic struct {
	Kind string
	ID   int64
}

// String is the topic's canonical name.
func (t Topic) String() string {
	if t.Kind == KindAccount {
		return "account:" + strconv.FormatInt(t.ID, 10)
	}
	return "event:" + strconv.FormatInt(t.ID, 10) + ":" + t.Kind
}

// SeatsTopic, QueueTopic, StatsTopic and AccountTopic name the topics.
func SeatsTopic(eventID int64) string { return Topic{KindSeats, eventID}.String() }

// QueueTopic names an event's waiting-room topic.
func QueueTopic(eventID int64) string { return Topic{KindQueue, eventID}.String() }

// StatsTopic names an event's admin statistics topic.
func StatsTopic(eventID int64) string { return Topic{KindStats, eventID}.String() }

// AccountTopic names an account's private topic.
func AccountTopic(accountID int64) string { return Topic{KindAccount, accountID}.String() }

// ParseTopic parses a client-facing topic name (not account topics, which
// are never subscribed by name). IDs are canonical positive decimals.
func ParseTopic(s string) (Topic, error) {
	rest, ok := strings.CutPrefix(s, "event:")
	if !ok {
		return Topic{}, ErrBadTopic
	}
	id, kind, ok := strings.Cut(rest, ":")
	if !ok {
		return Topic{}, ErrBadTopic
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		return Topic{}, ErrBadTopic
	}
	switch kind {
	case KindSeats, KindQueue, KindStats:
		return Topic{kind, n}, nil
	}
	return Topic{}, ErrBadTopic
}

// ErrorFrame encodes {"type":"error","code":...,"message":...} with the op
// and topic it answers, if any.
func ErrorFrame(op Op, e *OpError) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Op      string `json:"op,omitempty"`
		Topic   string `json:"topic,omitempty"`
		ID      string `json:"id,omitempty"`
	}{"error", e.Code, e.Message, op.Op, op.Topic, op.ID})
	return b
}

// AckFrame encodes the reply to a successful op: {"type":"subscribed",
// "topic":...}, {"type":"unsubscribed",...} or {"type":"pong"}.
func AckFrame(op Op) []byte {
	typ := "pong"
	switch op.Op {
	case OpSubscribe:
		typ = "subscribed"
	case OpUnsubscribe:
		typ = "unsubscribed"
	}
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Topic string `json:"topic,omitempty"`
		ID    string `json:"id,omitempty"`
	}{typ, op.Topic, op.ID})
	return b
}

// ResyncFrame encodes {"type":"resync","topic":...}: the server lost frames
// of the topic for this client, which must refetch its state.
func ResyncFrame(topic string) []byte {
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Topic string `json:"topic"`
	}{"resync", topic})
	return b
}

// position is a place in a topic's stream (see Publication).
type position struct {
	Epoch string `json:"epoch"`
	Seq   int64  `json:"seq"`
}

// heartbeatFrame encodes {"type":"heartbeat","positions":{topic:{epoch,seq}}}.
func heartbeatFrame(topic string, pos position) []byte {
	b, _ := json.Marshal(struct {
		Type      string              `json:"type"`
		Positions map[string]position `json:"positions"`
	}{"heartbeat", map[string]position{topic: pos}})
	return b
}
