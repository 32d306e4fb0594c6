// Package realtime owns the live side of Boxoffice: topics, the brokers that
// carry publications between nodes (Redis pub/sub, or in memory for tests
// and a single node), the per-node Hub that fans them out to sockets, and
// the client protocol's own frames (ops, acks, errors, resync, heartbeat).
//
// It knows topics and bytes, nothing of seats, queues or HTTP: a
// Publication is opaque payload bytes plus, for a topic that is a stream,
// its position (epoch, seq). The domain that encodes a topic's payloads
// also merges them (HubConfig.Merge: seatmap.MergeFrames for seat diffs)
// and replays them for catch-up (seatmap's seat stream); the server
// package upgrades sockets and hands the Hub a Transport. It imports
// neither Fiber nor pgx nor any domain package, and no domain package imports it: cmd
// wires them together.
//
// Concurrency rules:
//   - The broker's read loop never blocks: it hands each message to the Hub,
//     which fans out on shard goroutines.
//   - A topic sends on the leading edge: a payload goes out at once unless
//     the topic's previous frame is still queued for a socket that was
//     idle when it got it; then payloads wait and go out merged
//     (HubConfig.Merge) when that frame is written, or after MaxDelay.
//     Sockets already behind are not waited for; they write their backlog
//     in one batch.
//   - Every connection has a bounded queue counted in bytes and at most one
//     writer goroutine, running only while it has something to write. A connection whose queue overflows gets a resync frame for
//     each of its topics and is closed with CloseSlowConsumer; it never slows
//     down anyone else.
//   - A frame is encoded once and the same bytes are queued to every socket.
//   - A Transport is touched only by its writer (plus Close, which
//     the transport must allow concurrently); the Hub never uses it after
//     Conn.Done is closed.
//
// Close codes sent by the server (RFC 6455 private range 4000-4999 for ours):
//
//	1000 normal close (client went away cleanly)
//	1001 server shutting down
//	1003 binary message (only JSON text frames are accepted)
//	1008 policy violation (too many bad messages in a row)
//	1009 message too big (over the read limit)
//	4008 slow consumer: the server dropped frames for this socket; reconnect
//	     and refetch the snapshot
package realtime
