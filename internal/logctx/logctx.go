// Package logctx carries a request's logger in its context.Context, so a
// line logged anywhere while serving a request names that request (the
// server puts a logger with the request id there).
//
// Concurrency: contexts are immutable; the functions are safe for
// concurrent use.
package logctx

import (
	"context"
	"log/slog"
)

type key struct{}

// With returns ctx carrying log.
func With(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, key{}, log)
}

// From returns the logger ctx carries, or fallback when it carries none.
func From(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(key{}).(*slog.Logger); ok {
		return l
	}
	return fallback
}
