package logctx_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/internal/logctx"
)

func TestFrom(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, nil))
	if got := logctx.From(context.Background(), base); got != base {
		t.Fatalf("From(empty ctx) = %v, want the fallback", got)
	}
	ctx := logctx.With(context.Background(), base.With("request_id", "r1"))
	logctx.From(ctx, base).Info("hello")
	if !strings.Contains(buf.String(), "request_id=r1") {
		t.Fatalf("line %q lacks the context logger's request_id", buf.String())
	}
}
