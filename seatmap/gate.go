package seatmap

import (
	"context"
	"time"
)

// Gate is the fast, forgetful first check of a hold: it turns away requests
// for seats that are already held without touching Postgres. It is an
// accelerator only. Acquire may say a seat is free when it is not (Redis lost
// its keys) and Postgres then refuses; it must never be needed for
// correctness.
type Gate interface {
	// Acquire marks every seat as held by holdID for ttl if none is marked,
	// all or nothing. taken lists the seats already marked (nothing is
	// marked then). An error means the gate is unusable: go to Postgres.
	Acquire(ctx context.Context, eventID int64, seatIDs []int64, holdID string, ttl time.Duration) (taken []int64, err error)
	// Release unmarks the seats that are still marked by holdID.
	Release(ctx context.Context, eventID int64, seatIDs []int64, holdID string) error
	// MarkSold marks the seats as sold without expiry: sold seats keep
	// being turned away at the gate.
	MarkSold(ctx context.Context, eventID int64, seatIDs []int64) error
	// ReturnSold removes the sold marks of seats that went back on sale
	// (an order rejected on review).
	ReturnSold(ctx context.Context, eventID int64, seatIDs []int64) error
	// Holders returns, by position, what marks each seat: a hold id, the
	// sold mark, or "" when unmarked (gaterepair.go).
	Holders(ctx context.Context, eventID int64, seatIDs []int64) ([]string, error)
	// Healthy reports whether the gate's backend answers.
	Healthy(ctx context.Context) error
}

// openGate lets everything through; used when no Redis is configured.
type openGate struct{}

func (openGate) Acquire(context.Context, int64, []int64, string, time.Duration) ([]int64, error) {
	return nil, nil
}
func (openGate) Release(context.Context, int64, []int64, string) error { return nil }
func (openGate) MarkSold(context.Context, int64, []int64) error        { return nil }
func (openGate) ReturnSold(context.Context, int64, []int64) error      { return nil }
func (openGate) Holders(_ context.Context, _ int64, seatIDs []int64) ([]string, error) {
	return make([]string, len(seatIDs)), nil
}
func (openGate) Healthy(context.Context) error { return nil }

var _ Gate = openGate{}
