// Package waitingroom owns the per-event virtual waiting room
// (docs/architecture.md, "The waiting room"): the pre-queue and its verifiable draw at sale open, queue
// numbers, the serving cursor, the admitter (one per event across all nodes,
// elected by a Redis lease with a fencing token), admission tokens (JWT bound
// to account and event), the proof-of-work challenge before joining and the
// fairness proof (seed commitment and beacon, then the seed and the hashed
// entries; the draw itself is package fairdraw, docs/fairness.md).
//
// Storage. Settings live in Postgres (events.waiting_room, public) and the
// fairness seed in waiting_room_seeds (secret until the sale opened). The
// queue itself lives in Redis, every key of an event under the hash tag
// {wr:EVENT} so each script runs on one Redis Cluster slot:
//
//	q        sorted set account → queue number (1, 2, ...)
//	pre      sorted set account → arrival time, before the shuffle
//	seq      the last number handed out
//	opened   set once the pre-queue was shuffled and numbered
//	cursor   the serving cursor: every number ≤ cursor was admitted or skipped
//	hb       sorted set account → last heartbeat (ms)
//	adm      sorted set account → admission expiry (ms): the active shoppers
//	rate     the smoothed observed admit rate (fans per second)
//	lease    the admitter lease (value: its fencing token); fence: the counter
//	pow:*    used proof-of-work challenges (replay store)
//	jps:*    joins per second, for the automatic difficulty
//	jt       hash account → first join time (ms), for the velocity signals
//	hpm:*    holds per account and minute; fp:* accounts per fingerprint
//	proof:*  the drawn pre-queue's proof hashes, written with the numbers, dropped once in Postgres
//
// Concurrency. Every change to the queue is one Lua script, so joins on any
// node and the admitter never interleave inside a step. Only the lease holder
// admits, and its admit script checks the lease still carries its fencing
// token in the same atomic step, so a paused admitter that lost its lease
// changes nothing. Service is safe for concurrent use; an Admitter runs one
// goroutine (Run) and its Tick must not be called concurrently with itself.
//
// Integration. The admitter encodes its frames (QueueFrame, AdmittedFrame)
// and realtime.Frames carries the bytes (cursor frames on event:{e}:queue,
// admitted frames on the fan's own channel). Heartbeats come from /queue/me polls, which the fan's page
// keeps making beside the socket. Checkout calls Service.Release once an
// order is written (otherwise an admission ends when its token expires).
// Checkout's Screen is Service.Review: the velocity and fingerprint signals
// of a purchase on an event with the room on, which send the order to an
// admin's review queue instead of confirming it.
//
// Presale windows (presale.go). An event's open presale window has a room
// of its own, named by RoomKey: keys under {wr:EVENT:p:WINDOW}, arrival
// order (no pre-queue or draw), its own admitter and rate, and tokens
// whose audience names the window. The general room is RoomKey{EventID}.
//
// Admission tokens are stateless: a token is a function of (account, event,
// expiry), so any node can mint the same token again from the adm set and a
// crash between admitting and publishing loses nothing.
package waitingroom
