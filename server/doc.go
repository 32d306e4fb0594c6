// Package server is the HTTP edge of Boxoffice: the Fiber app, its routes,
// authentication and CSRF middleware, request decoding with allow-listed
// fields, and the one mapping of error kinds to HTTP statuses. It is the only
// package that imports Fiber; handlers turn requests into plain calls on the
// domain services with a context.Context and never let *fiber.Ctx or its
// reused strings escape.
package server
