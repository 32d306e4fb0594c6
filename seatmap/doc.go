// Package seatmap owns venues, events and the seat inventory: creating an
// event's seats from a layout, holding, releasing and expiring seats, the
// availability snapshot and best-available selection, and the seat side of
// resale and transfer (resale.go: resale seats, resale holds, owner moves).
//
// The hard rule lives here: a seat is never held or sold twice. Postgres is
// the source of truth and every transition is a conditional UPDATE fenced by
// hold id and version, taken in a transaction that locks seats in id order.
// Redis (the Gate) only turns losers away early; when Redis forgets or fails,
// the cost is an extra Postgres attempt, never a second hold.
//
// Locks are always taken in the same order — hold rows, then seats sorted by
// id, then per-account counters sorted by account — so concurrent holds,
// releases and sweeps cannot deadlock on each other (and the transaction
// helper retries if anything else does). No transaction writes a row shared
// by the whole event.
//
// Seat changes are also this package's to tell: one SeatChange type, its JSON
// ([idx,"letter",version]), the diff frame sockets receive (frame.go), how
// frames merge while the hub coalesces them (MergeFrames), and the per-event
// stream in Redis with its epoch, seq and catch-up (RedisStream, behind
// Publisher and StreamReader). realtime carries the frames as bytes with
// their stream position and never decodes them.
//
// Service is safe for concurrent use; its caches are per node.
package seatmap
