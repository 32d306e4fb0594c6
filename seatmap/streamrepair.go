package seatmap

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Stream repair. A seat change is published after its transaction commits;
// a node that dies (or whose publish fails) in between leaves a committed
// change that no socket ever hears of: browsers would show that seat stale
// until they next load a snapshot. Every node therefore follows the stream
// of each event it has recently served holds for, keeping the highest
// version the stream has carried per seat, and every StreamCheck compares
// that with Postgres. A seat whose Postgres version is ahead of the stream
// on two checks in a row (so not a publish still in flight) is published
// again with its state and version from Postgres. Receivers keep the
// highest version, so a repair that races the real publish, or that two
// nodes both make, is harmless.

// StreamReader is a Publisher that can read back what it published after a
// position, merged per seat: the stream repair, the admin figures and the
// catch-up route need it (RedisStream is one). ErrStreamGone means the
// stream no longer reaches back to after (trimmed, or a new epoch).
type StreamReader interface {
	Diffs(ctx context.Context, eventID int64, after Position) (Diffs, error)
}

// Diffs is a catch-up answer: the seats changed in (From, To] of an epoch,
// one change per seat with its latest state. It is also the body of GET
// /api/events/{event}/diffs.
type Diffs struct {
	Epoch string       `json:"epoch"`
	From  int64        `json:"from"`
	To    int64        `json:"to"`
	Seats []SeatChange `json:"seats"`
}

// ErrStreamGone: the stream no longer holds what came after a position.
var ErrStreamGone = errors.New("seatmap: stream no longer reaches back")

// streamActive is how long after its last hold on this node an event is
// still followed.
const streamActive = time.Minute

// followedStream is one event's stream as this node has followed it.
type followedStream struct {
	pos      Position
	versions []int64        // by idx: the highest version the stream carried
	behind   map[int32]bool // seats behind Postgres at the last check
	checked  time.Time
}

// streamFollower is the per-node state of the stream repair.
type streamFollower struct {
	mu     sync.Mutex
	events map[int64]*followedStream
}

// RepairStream advances this node's view of the streams it follows and,
// every StreamCheck, republishes the committed changes the streams missed;
// it returns how many seats it republished. The sweeper runs it each tick.
func (s *Service) RepairStream(ctx context.Context) (int, error) {
	reader, ok := s.pub.(StreamReader)
	if !ok {
		return 0, nil
	}
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	if s.stream.events == nil {
		s.stream.events = make(map[int64]*followedStream)
	}
	active := s.recent.activeSince(time.Now().Add(-streamActive))
	for ev := range s.stream.events {
		if !active[ev] {
			delete(s.stream.events, ev)
		}
	}
	repaired := 0
	var errs []error
	for ev := range active {
		n, err := s.repairEvent(ctx, reader, ev)
		repaired += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return repaired, errors.Join(errs...)
}

func (s *Service) repairEvent(ctx context.Context, reader StreamReader, eventID int64) (int, error) {
	f := s.stream.events[eventID]
	if f == nil {
		// Start following: the position first, then Postgres, as a
		// snapshot does, so every change after the position is either in
		// the view already or in the stream.
		pos, err := s.pub.Position(ctx, eventID)
		if err != nil || pos.Epoch == "" {
			return 0, err
		}
		versions, _, err := s.seatVersions(ctx, eventID)
		if err != nil {
			return 0, err
		}
		s.stream.events[eventID] = &followedStream{pos: pos, versions: versions, behind: map[int32]bool{}, checked: time.Now()}
		return 0, nil
	}
	d, err := reader.Diffs(ctx, eventID, f.pos)
	if errors.Is(err, ErrStreamGone) {
		delete(s.stream.events, eventID) // start again on the next tick
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	for _, c := range d.Seats {
		if int(c.Idx) < len(f.versions) && c.Version > f.versions[c.Idx] {
			f.versions[c.Idx] = c.Version
		}
	}
	f.pos = Position{Epoch: d.Epoch, Seq: d.To}
	if time.Since(f.checked) < s.cfg.StreamCheck {
		return 0, nil
	}
	f.checked = time.Now()
	versions, states, err := s.seatVersions(ctx, eventID)
	if err != nil {
		return 0, err
	}
	var repair []SeatChange
	behind := make(map[int32]bool)
	for i, v := range versions {
		if i >= len(f.versions) || v <= f.versions[i] {
			continue
		}
		if f.behind[int32(i)] {
			repair = append(repair, SeatChange{Idx: int32(i), State: states[i], Version: v})
			f.versions[i] = v
		} else {
			behind[int32(i)] = true
		}
	}
	f.behind = behind
	if len(repair) > 0 {
		s.log.Warn("seatmap: republishing committed changes the seat stream missed", "event", eventID, "seats", len(repair))
		if err := s.pub.PublishSeats(ctx, eventID, repair); err != nil {
			return 0, fmt.Errorf("seatmap: stream repair of event %d: %w", eventID, err)
		}
	}
	return len(repair), nil
}

// seatVersions reads every seat's version and state letter by idx (idx
// runs from 0 without gaps, as the layout relies on).
func (s *Service) seatVersions(ctx context.Context, eventID int64) ([]int64, []byte, error) {
	rows, err := s.db.Query(ctx, `SELECT status, version FROM seats WHERE event_id = $1 ORDER BY idx`, eventID)
	if err != nil {
		return nil, nil, fmt.Errorf("seatmap: seat versions of %d: %w", eventID, err)
	}
	defer rows.Close()
	var versions []int64
	var states []byte
	for rows.Next() {
		var status string
		var v int64
		if err := rows.Scan(&status, &v); err != nil {
			return nil, nil, fmt.Errorf("seatmap: seat versions of %d: %w", eventID, err)
		}
		versions, states = append(versions, v), append(states, stateLetter(status))
	}
	return versions, states, rows.Err()
}
