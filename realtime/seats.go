package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// seatsMessage is a seats frame as published: {"type":"seats","event":E,
// "epoch":...,"from":N,"to":M,"seats":[[idx,state,version],...]}. From is
// exclusive: the frame holds the changes with seq in (from, to].
type seatsMessage struct {
	Type  string          `json:"type"`
	Event json.RawMessage `json:"event"`
	Epoch string          `json:"epoch"`
	From  int64           `json:"from"`
	To    int64           `json:"to"`
	Seats []SeatEntry     `json:"seats"`
}

// SeatEntry is one seat's absolute state: [idx, state, version].
type SeatEntry struct {
	Idx     int64
	State   string
	Version int64
}

// MarshalJSON encodes [idx,"state",version].
func (e SeatEntry) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '[')
	b = strconv.AppendInt(b, e.Idx, 10)
	b = append(b, ',')
	b = strconv.AppendQuote(b, e.State)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Version, 10)
	return append(b, ']'), nil
}

// UnmarshalJSON decodes [idx,"state",version].
func (e *SeatEntry) UnmarshalJSON(b []byte) error {
	var raw [3]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[0], &e.Idx); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &e.State); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &e.Version)
}

var errNotSeats = errors.New("not a seats frame")

func parseSeats(payload []byte) (*seatsMessage, error) {
	var m seatsMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, err
	}
	if m.Type != "seats" || m.To <= m.From {
		return nil, errNotSeats
	}
	return &m, nil
}

// MergeSeats keeps, per seat, the entry with the highest version, in idx
// order. Entries may come in any order and more than once.
func MergeSeats(entries []SeatEntry) []SeatEntry {
	best := make(map[int64]SeatEntry, len(entries))
	for _, e := range entries {
		if old, ok := best[e.Idx]; !ok || e.Version > old.Version {
			best[e.Idx] = e
		}
	}
	out := make([]SeatEntry, 0, len(best))
	for _, e := range best {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b SeatEntry) int { return int(a.Idx - b.Idx) })
	return out
}

// seatsPending merges contiguous seats messages of one epoch.
type seatsPending struct {
	msg *seatsMessage
	raw []byte // the single message as received, while nothing merged
}

func newPending(kind string, payload []byte) pending {
	if kind == KindSeats {
		if m, err := parseSeats(payload); err == nil {
			return &seatsPending{msg: m, raw: payload}
		}
	}
	return &latestPending{payload}
}

func (p *seatsPending) merge(payload []byte) bool {
	m, err := parseSeats(payload)
	if err != nil || m.Epoch != p.msg.Epoch || m.From != p.msg.To {
		return false
	}
	p.msg.To = m.To
	p.msg.Seats = append(p.msg.Seats, m.Seats...)
	p.raw = nil
	return true
}

func (p *seatsPending) frame() []byte {
	if p.raw != nil {
		return p.raw
	}
	p.msg.Seats = MergeSeats(p.msg.Seats)
	b, err := json.Marshal(p.msg)
	if err != nil {
		panic(fmt.Sprintf("realtime: encode seats frame: %v", err)) // only plain values
	}
	return b
}

// latestPending keeps only the newest message: queue and stats frames are
// whole states, so the last one says everything.
type latestPending struct{ payload []byte }

func (p *latestPending) merge(payload []byte) bool { p.payload = payload; return true }
func (p *latestPending) frame() []byte             { return p.payload }
