package seatmap

import (
	"encoding/json"
	"strconv"
)

// diffFrame is a seat diff as sockets receive it on an event's seats topic:
//
//	{"type":"seats","event":"E","epoch":"…","from":N,"to":M,"seats":[[idx,"s",version],…]}
//
// From is exclusive: the frame holds the changes with seq in (from, to].
// RedisStream's script writes it (as a string, in Lua); MergeFrames reads
// and merges it.
type diffFrame struct {
	Type  string       `json:"type"`
	Event string       `json:"event"`
	Epoch string       `json:"epoch"`
	From  int64        `json:"from"`
	To    int64        `json:"to"`
	Seats []SeatChange `json:"seats"`
}

func (f *diffFrame) appendJSON(b []byte) []byte {
	b = append(b, `{"type":"seats","event":`...)
	b = strconv.AppendQuote(b, f.Event)
	b = append(b, `,"epoch":`...)
	b = strconv.AppendQuote(b, f.Epoch)
	b = append(b, `,"from":`...)
	b = strconv.AppendInt(b, f.From, 10)
	b = append(b, `,"to":`...)
	b = strconv.AppendInt(b, f.To, 10)
	b = append(b, `,"seats":`...)
	b = appendChanges(b, f.Seats)
	return append(b, '}')
}

// appendChanges appends changes as a JSON array.
func appendChanges(b []byte, changes []SeatChange) []byte {
	b = append(b, '[')
	for i, c := range changes {
		if i > 0 {
			b = append(b, ',')
		}
		b = c.appendJSON(b)
	}
	return append(b, ']')
}

// MergeFrames merges the diff frames an event's seats topic received within
// one coalescing window, oldest first (realtime.MergeFunc; cmd hands it to
// the hub for seats topics). Contiguous frames of one epoch become one
// frame covering their whole seq range, with the latest version of each
// seat; a gap or a new epoch starts another frame, so a client still sees
// it. Anything that is not a diff frame goes through untouched, in order.
// A lone frame is returned as it came, without a decode.
func MergeFrames(payloads [][]byte) [][]byte {
	if len(payloads) <= 1 {
		return payloads
	}
	out := make([][]byte, 0, 1)
	var cur *diffFrame
	var raw []byte // cur's payload as it came, while nothing merged into it
	flush := func() {
		switch {
		case cur == nil:
		case raw != nil:
			out = append(out, raw)
		default:
			cur.Seats = MergeChanges(cur.Seats)
			out = append(out, cur.appendJSON(make([]byte, 0, 96+16*len(cur.Seats))))
		}
		cur, raw = nil, nil
	}
	for _, p := range payloads {
		f := new(diffFrame)
		if err := json.Unmarshal(p, f); err != nil || f.Type != "seats" || f.To <= f.From {
			flush()
			out = append(out, p)
			continue
		}
		if cur != nil && f.Epoch == cur.Epoch && f.From == cur.To {
			cur.To = f.To
			cur.Seats = append(cur.Seats, f.Seats...)
			raw = nil
			continue
		}
		flush()
		cur, raw = f, p
	}
	flush()
	return out
}
