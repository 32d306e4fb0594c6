// Package salestats owns the admin dashboard's figures of a sale: per event,
// seat counts by section and status, revenue, hold and sale rates, the
// waiting room's figures and this node's hold results and sockets. An
// Engine keeps one seat counter per watched event and advances it from the
// seat-diff stream, so a tick costs the changes since the last one, never a
// scan of the seats. Each second it publishes a stats frame for every event
// an admin follows on this node (through a Lease, one node per event) and
// refreshes the figures of on-sale events for Prometheus (Collect).
//
// It reads seatmap, waitingroom and checkout's funnel (holding, paying,
// payment failures) and declares what it needs from the realtime hub
// (Audience) and the publisher (Publisher); it imports neither realtime nor
// the server, which serves its figures over HTTP.
//
// Concurrency: an Engine is safe for concurrent use. Figures of one event
// are computed one caller at a time; Collect never waits on them (it skips
// an event being recomputed).
package salestats
