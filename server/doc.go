// Package server is the HTTP edge of Boxoffice: the Fiber app, its routes,
// authentication and CSRF middleware, request decoding with allow-listed
// fields, and the one mapping of error kinds to HTTP statuses. It is the only
// package that imports Fiber; handlers turn requests into plain calls on the
// domain services with a context.Context and never let *fiber.Ctx or its
// reused strings escape.
//
// GET /ws (ws.go) upgrades to a WebSocket with gofiber/contrib/websocket:
// origin and account are checked before the upgrade, the handler goroutine
// is the socket's only reader and hands the socket to a realtime.Hub, whose
// writer goroutine is its only data writer; the handler waits for that
// writer to finish before it returns, since contrib/websocket recycles the
// connection afterwards.
package server
