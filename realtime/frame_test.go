package realtime

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeOp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"op":"subscribe","topic":"event:12:seats"}`, nil},
		{`{"op":"unsubscribe","topic":"event:12:queue","id":"7"}`, nil},
		{`{"op":"subscribe","topic":"event:12:stats"}`, nil},
		{`{"op":"ping"}`, nil},
		{`{"op":"subscribe","topic":"event:012:seats"}`, ErrBadTopic},
		{`{"op":"subscribe","topic":"event:-1:seats"}`, ErrBadTopic},
		{`{"op":"subscribe","topic":"event:1:admin"}`, ErrBadTopic},
		{`{"op":"subscribe","topic":"account:1"}`, ErrBadTopic},
		{`{"op":"subscribe"}`, ErrBadTopic},
		{`{"op":"dance"}`, ErrUnknownOp},
		{`{"op":"ping","extra":1}`, ErrBadJSON},
		{`{"op":"ping"} {"op":"ping"}`, ErrBadJSON},
		{`not json`, ErrBadJSON},
		{`[]`, ErrBadJSON},
		{``, ErrBadJSON},
		{`{"op":"ping","id":"` + strings.Repeat("x", 65) + `"}`, ErrBadJSON},
		{`{"op":"ping","pad":"` + strings.Repeat("x", MaxOpSize) + `"}`, ErrBadJSON},
	} {
		_, err := DecodeOp([]byte(tc.in))
		if !errors.Is(err, tc.want) {
			t.Errorf("DecodeOp(%.40q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

func TestTopicNames(t *testing.T) {
	for _, name := range []string{SeatsTopic(1), QueueTopic(22), StatsTopic(333)} {
		tp, err := ParseTopic(name)
		if err != nil || tp.String() != name {
			t.Errorf("ParseTopic(%q) = %v, %v", name, tp, err)
		}
	}
	if AccountTopic(5) != "account:5" {
		t.Error(AccountTopic(5))
	}
}

// FuzzDecodeOp: no input panics the frame decoder, and whatever it accepts
// names a known op and, for (un)subscribe, a topic that round-trips.
func FuzzDecodeOp(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		op, err := DecodeOp(data)
		if err != nil {
			var oe *OpError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an OpError", err)
			}
			return
		}
		switch op.Op {
		case OpPing:
		case OpSubscribe, OpUnsubscribe:
			tp, err := ParseTopic(op.Topic)
			if err != nil || tp.String() != op.Topic {
				t.Fatalf("accepted topic %q: %v", op.Topic, err)
			}
		default:
			t.Fatalf("accepted op %q", op.Op)
		}
	})
}
