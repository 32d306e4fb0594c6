package seatmap

import (
	"context"
	"fmt"
	"time"

	"github.com/boxoffice/boxoffice/internal/groupcommit"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Group commit of holds (internal/groupcommit). A node takes the holds of
// one event in rounds, at most Config.HoldRounds of them in flight at once:
// each round carries the holds that queued meanwhile (up to
// Config.HoldBatch) in one gate script call, one Postgres statement and one
// diff publish. Rounds in flight together meet in Postgres as concurrent
// holds always have: row locks in seat order, then account order.
// Each hold is still all or nothing with its own answer; one round's holds
// never share a seat or an account (holdKeys), so every round resolves as
// if its holds ran one after another: a later hold for a seat sees the
// earlier's result, and an account's cap counts its earlier hold's seats.

// holdCall is one hold in a round: what to write, filled in with its
// answer when the round is done.
type holdCall struct {
	h        *Hold
	ids      []int64 // sorted
	maxSeats int     // the account's cap as this hold sees it (event, presale, counter)
	share    int64   // the presale window whose share the hold takes places from (0: none)
	gateErr  error   // the gate was unusable for this hold: no release on refusal
	err      error
}

// holdQueue is one event's holds waiting for their round on this node.
type holdQueue = groupcommit.Queue[*holdCall, holdKey]

// holdKey is a seat or an account that two holds of one round must not share.
type holdKey struct {
	account bool
	id      int64
}

func holdKeys(c *holdCall) []holdKey {
	keys := make([]holdKey, 0, len(c.ids)+1)
	keys = append(keys, holdKey{account: true, id: c.h.accountID})
	for _, id := range c.ids {
		keys = append(keys, holdKey{id: id})
	}
	return keys
}

// batchGate is a Gate that can take several holds in one call, each all or
// nothing, in order (RedisGate).
type batchGate interface {
	AcquireBatch(ctx context.Context, eventID int64, holds []gateHold, ttl time.Duration) ([][]int64, error)
}

// gateHold is one hold's part of a batched gate call.
type gateHold struct {
	holdID  string
	seatIDs []int64
}

// commitHold writes a prepared hold: alone and at once with batching off
// (HoldBatch 1) or when it takes places from a presale share (its own
// transaction, takeHold), else through the event's queue. It returns the
// hold's own answer.
func (s *Service) commitHold(ctx context.Context, c *holdCall) error {
	if s.cfg.HoldBatch <= 1 || c.share != 0 {
		s.commitHolds(ctx, c.h.EventID, []*holdCall{c})
		return c.err
	}
	if err := s.holdQueue(c.h.EventID).Do(ctx, c); err != nil {
		return err
	}
	return c.err
}

// holdQueue is the event's queue on this node, made on first use.
func (s *Service) holdQueue(eventID int64) *holdQueue {
	if v, ok := s.holdQueues.Load(eventID); ok {
		return v.(*holdQueue)
	}
	q := groupcommit.New(s.cfg.HoldBatch, s.cfg.HoldRounds, holdKeys, func(ctx context.Context, calls []*holdCall) {
		s.commitHolds(ctx, eventID, calls)
	})
	v, _ := s.holdQueues.LoadOrStore(eventID, q)
	return v.(*holdQueue)
}

// commitHolds runs one round for holds of one event: the gate turns known
// losers away, one statement writes the rest, one publish tells the
// event's watchers. Each call gets its own answer.
func (s *Service) commitHolds(ctx context.Context, eventID int64, calls []*holdCall) {
	s.m.roundHolds.Observe(float64(len(calls)))
	ttl := s.cfg.HoldTTL
	pass := s.gateHolds(ctx, eventID, calls, ttl)
	if len(pass) == 0 {
		return
	}
	var share int64
	if len(pass) == 1 {
		share = pass[0].share
	}
	err := pg.Retry(ctx, func() error {
		return s.takeHold(ctx, share, pass[0].h.ID, len(pass[0].ids), func(q pg.Querier) (bool, error) {
			err := s.writeHolds(ctx, q, eventID, pass, ttl)
			return err == nil && pass[0].err == nil, err
		})
	})
	var changes []SeatChange
	for _, c := range pass {
		if err != nil {
			c.err = err
		}
		if c.err != nil {
			if c.gateErr == nil {
				s.gateRelease(ctx, eventID, c.ids, c.h.ID)
			}
			continue
		}
		for i, st := range c.h.Seats {
			changes = append(changes, SeatChange{Idx: st.Idx, State: StateHeld, Version: c.h.versions[i]})
		}
	}
	s.publish(ctx, eventID, changes)
}

// gateHolds asks the gate about a round's holds, in one call when the gate
// takes several, and answers those it refuses; it returns the rest. A gate
// error sends the holds on to Postgres alone.
func (s *Service) gateHolds(ctx context.Context, eventID int64, calls []*holdCall, ttl time.Duration) []*holdCall {
	gctx, cancel := context.WithTimeout(ctx, s.cfg.GateTimeout)
	defer cancel()
	taken := make([][]int64, len(calls))
	bg, batched := s.gate.(batchGate)
	if batched && len(calls) > 1 {
		holds := make([]gateHold, len(calls))
		for i, c := range calls {
			holds[i] = gateHold{holdID: c.h.ID, seatIDs: c.ids}
		}
		var err error
		if taken, err = bg.AcquireBatch(gctx, eventID, holds, ttl); err != nil {
			s.m.gateErrors.Inc()
			s.log.Warn("seatmap: gate unavailable, holding through Postgres alone", "event", eventID, "holds", len(calls), "err", err)
			taken = make([][]int64, len(calls))
			for _, c := range calls {
				c.gateErr = err
			}
		}
	} else {
		for i, c := range calls {
			if taken[i], c.gateErr = s.gate.Acquire(gctx, eventID, c.ids, c.h.ID, ttl); c.gateErr != nil {
				s.m.gateErrors.Inc()
				s.log.Warn("seatmap: gate unavailable, holding through Postgres alone", "event", eventID, "err", c.gateErr)
			}
		}
	}
	pass := calls[:0:0]
	for i, c := range calls {
		if c.gateErr == nil && len(taken[i]) > 0 {
			s.suspects.add(eventID, taken[i])
			c.err = seatsTaken(taken[i])
			continue
		}
		pass = append(pass, c)
	}
	return pass
}

// writeHolds runs holdSQL for holds that passed the gate and gives
// each its answer; an error is the statement's, for all of them.
func (s *Service) writeHolds(ctx context.Context, q pg.Querier, eventID int64, calls []*holdCall, ttl time.Duration) error {
	n := len(calls)
	holdIDs, currencies := make([]string, n), make([]string, n)
	accounts, totals := make([]int64, n), make([]int64, n)
	caps, accessible, nseats := make([]int32, n), make([]int32, n), make([]int32, n)
	var ords []int32
	var seatIDs []int64
	for i, c := range calls {
		holdIDs[i], currencies[i], accounts[i], totals[i] = c.h.ID, c.h.Currency, c.h.accountID, c.h.TotalCents
		caps[i], accessible[i], nseats[i] = int32(min(c.maxSeats, 1<<31-1)), int32(c.h.Accessible), int32(len(c.ids))
		for _, id := range c.ids {
			ords = append(ords, int32(i+1))
			seatIDs = append(seatIDs, id)
		}
	}
	rows, err := q.Query(ctx, holdSQL, eventID, holdIDs, accounts, caps, accessible, totals, currencies, nseats,
		ords, seatIDs, ttl.Seconds())
	if err != nil {
		return fmt.Errorf("seatmap: hold seats: %w", err)
	}
	defer rows.Close()
	type answer struct {
		allFree              bool
		taken, versions      []int64
		createdAt, expiresAt *time.Time
	}
	answers := make([]answer, n)
	for rows.Next() {
		var ord int
		var a answer
		if err := rows.Scan(&ord, &a.allFree, &a.taken, &a.createdAt, &a.expiresAt, &a.versions); err != nil {
			return fmt.Errorf("seatmap: hold seats: %w", err)
		}
		if ord < 1 || ord > n {
			return fmt.Errorf("seatmap: hold seats: answer for hold %d of %d", ord, n)
		}
		answers[ord-1] = a
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("seatmap: hold seats: %w", err)
	}
	for i, c := range calls {
		a := answers[i]
		switch {
		case !a.allFree:
			c.err = seatsTaken(a.taken)
		case a.expiresAt == nil:
			c.err = ErrCapExceeded.With("max", c.maxSeats)
		default:
			c.err = nil
			c.h.CreatedAt, c.h.ExpiresAt, c.h.versions = *a.createdAt, *a.expiresAt, a.versions
		}
	}
	return nil
}
