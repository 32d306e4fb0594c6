// Package server is the HTTP edge of Boxoffice: the Fiber app, its routes,
// authentication and CSRF middleware, request decoding with allow-listed
// fields, and the one mapping of error kinds to HTTP statuses. It is the only
// package that imports Fiber; handlers turn requests into plain calls on the
// domain services with a context.Context and never let *fiber.Ctx or its
// reused strings escape.
//
// GET /ws (ws.go) upgrades to a WebSocket itself (fasthttp's hijack, then
// the WebSocket library's upgrader on the bare connection): origin and
// account are checked before the upgrade, the socket's goroutine is its
// only reader and hands the socket to a realtime.Hub, whose writer is its
// only data writer; the reader waits for that writer to finish before it
// closes the connection.
package server
