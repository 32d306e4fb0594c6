package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// sock is one client socket. Its reader records, while the bench measures,
// the publish→receive latency of every change a frame carries (a merged
// frame carries several) and of the frame's newest change.
type sock struct {
	c *websocket.Conn
	// got counts the publishes received (a merged frame covers several),
	// frames the frames.
	got, frames atomic.Int64
	mu          sync.Mutex
	changeLat   []int32 // µs, one per change received
	frameLat    []int32 // µs, one per frame, from its newest change
}

// measuring is set while publishes are timed; frames outside it (a
// heartbeat during the connect phase) are not counted.
var measuring atomic.Bool

// frameLen is the size of the last data frame as received.
var frameLen atomic.Int64

// read reads frames until the socket fails. pong, when not nil, answers an
// application-level ping (Centrifugo's empty JSON object).
func (s *sock) read(pong func(*websocket.Conn) error) {
	var buf []byte
	var versions []int64
	for {
		_, rd, err := s.c.NextReader()
		if err != nil {
			return
		}
		buf, err = readAll(rd, buf[:0])
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		// One WebSocket message may hold several JSON messages, one a line
		// (Centrifugo batches its pushes).
		for line := range bytes.SplitSeq(buf, []byte{'\n'}) {
			if pong != nil && isPing(line) {
				if pong(s.c) != nil {
					return
				}
				continue
			}
			var covered int64
			versions, covered = parseFrame(line, versions[:0])
			if len(versions) == 0 || !measuring.Load() {
				continue
			}
			s.mu.Lock()
			newest := versions[0]
			for _, v := range versions {
				s.changeLat = append(s.changeLat, int32((now-v)/1000))
				newest = max(newest, v)
			}
			s.frameLat = append(s.frameLat, int32((now-newest)/1000))
			s.mu.Unlock()
			s.got.Add(covered)
			s.frames.Add(1)
			frameLen.Store(int64(len(line)))
		}
	}
}

func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// isPing reports a Centrifugo ping: an empty JSON object.
func isPing(line []byte) bool { return string(bytes.TrimSpace(line)) == "{}" }

// parseFrame finds a seats diff in line (a Boxoffice frame, or one inside a
// Centrifugo push) and returns the distinct versions of its changes (each
// version is the time its publish was made, in ns) and how many publishes
// it covers (to - from: more than 1 when the hub merged them).
func parseFrame(line []byte, versions []int64) ([]int64, int64) {
	const marker = `"seats":[`
	i := bytes.Index(line, []byte(marker))
	if i < 0 {
		return versions, 0
	}
	rest := line[i+len(marker):]
	// Entries are [idx,"s",version].
	for len(rest) > 0 && rest[0] == '[' {
		end := bytes.IndexByte(rest, ']')
		if end < 0 {
			break
		}
		if j := bytes.LastIndexByte(rest[:end], ','); j >= 0 {
			if v, err := strconv.ParseInt(string(rest[j+1:end]), 10, 64); err == nil {
				seen := false
				for _, w := range versions {
					seen = seen || w == v
				}
				if !seen {
					versions = append(versions, v)
				}
			}
		}
		rest = rest[end+1:]
		if len(rest) > 0 && rest[0] == ',' {
			rest = rest[1:]
		}
	}
	covered := int64(1)
	if from, ok := intAfter(line, `"from":`); ok {
		if to, ok := intAfter(line, `"to":`); ok && to > from {
			covered = to - from
		}
	}
	return versions, covered
}

// intAfter parses the integer after key in data.
func intAfter(data []byte, key string) (int64, bool) {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := data[i+len(key):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return v, err == nil
}

// diffFrame is the seats diff the bench publishes, in the shape and size of
// Boxoffice's own frames (seatmap's diffFrame): Centrifugo is handed these
// bytes as its publication data.
func diffFrame(seq int64, versions int64, entries int) []byte {
	b := fmt.Appendf(nil, `{"type":"seats","event":"1","epoch":"0123456789abcdef","from":%d,"to":%d,"seats":[`, seq-1, seq)
	for e := range entries {
		if e > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `[%d,"h",%d]`, (int(seq)*entries+e)%100, versions)
	}
	return append(b, ']', '}')
}
