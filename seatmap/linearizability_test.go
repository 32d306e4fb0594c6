package seatmap_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/boxoffice/boxoffice/seatmap"
)

// One seat's model: its state is the id of the hold that has it, or "".
type seatOp struct {
	kind string // hold, release, expire, read
	seat int
	hold string // release, expire: the hold acted on
}

type seatOut struct {
	ok   bool
	hold string // hold: the new hold's id; read: the holder or ""
}

// seatModel is the strict model: a hold is refused only while the seat is
// held. With the Redis gate, a refusal can also come from another fan's gate
// key in the milliseconds before that fan's Postgres commit (or its failure),
// which the model cannot see; gatedSeatModel allows refusals at any time but
// keeps everything else strict: no two successful holds without a release
// between, releases and expiries only by the holder, reads that agree.
var seatModel = newSeatModel(false)

var gatedSeatModel = newSeatModel(true)

func newSeatModel(refusalsAnytime bool) porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			bySeat := map[int][]porcupine.Operation{}
			for _, op := range history {
				s := op.Input.(seatOp).seat
				bySeat[s] = append(bySeat[s], op)
			}
			var out [][]porcupine.Operation
			for _, ops := range bySeat {
				out = append(out, ops)
			}
			return out
		},
		Init: func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			holder, in, out := state.(string), input.(seatOp), output.(seatOut)
			switch in.kind {
			case "hold":
				if out.ok {
					return holder == "", out.hold
				}
				return holder != "" || refusalsAnytime, holder
			case "release", "expire":
				if out.ok {
					return holder == in.hold, ""
				}
				return holder != in.hold, holder
			case "read":
				return out.hold == holder, holder
			}
			return false, holder
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(seatOp), output.(seatOut)
			return fmt.Sprintf("%s(seat %d %.8s) → %v %.8s", in.kind, in.seat, in.hold, out.ok, out.hold)
		},
	}
}

// TestLinearizable records random concurrent histories of hold (of a named
// seat or the best available one), release, expire and read on a few seats
// and checks each seat's history against the one-seat model with porcupine.
func TestLinearizable(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint("postgres alone ", round), func(t *testing.T) { checkLinearizable(t, true, seatModel) })
		t.Run(fmt.Sprint("redis gate ", round), func(t *testing.T) { checkLinearizable(t, false, gatedSeatModel) })
	}
}

func checkLinearizable(t *testing.T, noGate bool, model porcupine.Model) {
	f := newFixture(t, fixtureOpts{layout: smallLayout(1, 1, 3), noGate: noGate})
	const clients, opsPerClient = 8, 30
	accts := f.accounts(clients)
	var (
		mu      sync.Mutex
		history []porcupine.Operation
		wg      sync.WaitGroup
	)
	t0 := time.Now()
	now := func() int64 { return int64(time.Since(t0)) }
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []seatOp // holds this client owns, as release targets
			for range opsPerClient {
				var in seatOp
				switch r := rand.IntN(10); {
				case r < 2:
					in = seatOp{kind: "best", seat: -1}
				case r < 4 || len(mine) == 0:
					in = seatOp{kind: "hold", seat: rand.IntN(len(f.seats))}
				case r < 6:
					in = seatOp{kind: "read", seat: rand.IntN(len(f.seats))}
				default:
					k := rand.IntN(len(mine))
					in = mine[k]
					mine = append(mine[:k], mine[k+1:]...)
					in.kind = "release"
					if r >= 8 {
						in.kind = "expire"
					}
				}
				call := now()
				out := apply(t, f, accts[c], &in)
				ret := now()
				if in.seat < 0 {
					continue // a best-available refusal names no seat
				}
				if in.kind == "hold" && out.ok {
					mine = append(mine, seatOp{seat: in.seat, hold: out.hold})
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: c, Input: in, Output: out, Call: call, Return: ret})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res, info := porcupine.CheckOperationsVerbose(model, history, 30*time.Second)
	if res != porcupine.Ok {
		path := t.TempDir() + "/history.html"
		_ = porcupine.VisualizePath(model, info, path)
		t.Fatalf("history of %d operations is %s (visualisation: %s)", len(history), res, path)
	}
	t.Logf("%d operations linearizable", len(history))
}

// apply performs one operation against the real service and Postgres. A
// best-available hold of one seat becomes a hold of the seat it got (seat
// stays -1 when it got none).
func apply(t *testing.T, f *fixture, acct int64, op *seatOp) seatOut {
	ctx := context.Background()
	in := *op
	switch in.kind {
	case "best":
		h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, Best: &seatmap.BestRequest{Quantity: 1}})
		if errors.Is(err, seatmap.ErrSeatUnavailable) {
			return seatOut{}
		}
		if err != nil {
			t.Errorf("best available: %v", err)
			return seatOut{}
		}
		*op = seatOp{kind: "hold", seat: int(h.Seats[0].Idx)}
		return seatOut{ok: true, hold: h.ID}
	case "hold":
		h, err := f.svc.Hold(ctx, seatmap.HoldRequest{EventID: f.event, AccountID: acct, SeatIDs: []int64{f.seats[in.seat]}})
		if errors.Is(err, seatmap.ErrSeatUnavailable) {
			return seatOut{}
		}
		if err != nil {
			t.Errorf("hold: %v", err)
			return seatOut{}
		}
		return seatOut{ok: true, hold: h.ID}
	case "release":
		err := f.svc.Release(ctx, acct, in.hold)
		if err != nil && !errors.Is(err, seatmap.ErrHoldNotActive) && !errors.Is(err, seatmap.ErrHoldExpired) {
			t.Errorf("release: %v", err)
		}
		return seatOut{ok: err == nil}
	case "expire":
		// Make the hold due, sweep, and see whether it ended expired (a
		// concurrent release may win; then this expiry did not happen).
		if _, err := f.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '1 hour' WHERE id = $1 AND status = 'active'`, in.hold); err != nil {
			t.Errorf("age hold: %v", err)
		}
		// Another client's sweep may have taken the hold (SKIP LOCKED) and
		// not committed yet: sweep until the stored status has moved on.
		for {
			if _, err := f.svc.Sweep(ctx); err != nil {
				t.Errorf("sweep: %v", err)
			}
			var status string
			if err := f.db.QueryRow(ctx, `SELECT status FROM holds WHERE id = $1`, in.hold).Scan(&status); err != nil {
				t.Errorf("hold status: %v", err)
				return seatOut{}
			}
			if status != seatmap.HoldActive {
				return seatOut{ok: status == seatmap.HoldExpired}
			}
			time.Sleep(time.Millisecond)
		}
	case "read":
		var holder *string
		if err := f.db.QueryRow(ctx, `SELECT hold_id::text FROM seats WHERE id = $1 AND status = 'held'`, f.seats[in.seat]).Scan(&holder); err != nil && err.Error() != "no rows in result set" {
			t.Errorf("read: %v", err)
		}
		if holder == nil {
			return seatOut{ok: true}
		}
		return seatOut{ok: true, hold: *holder}
	}
	return seatOut{}
}
