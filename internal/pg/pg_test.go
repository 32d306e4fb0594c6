package pg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestIsUnavailable: what a Postgres restart or outage looks like to a
// request (found by TestDrillPostgresRestart: pooled connections reported
// 57P01 and requests got a 500) is unavailability, a 503; a statement the
// server refused is not.
func TestIsUnavailable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("account: authenticate: %w", err) }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown (57P01)", wrap(&pgconn.PgError{Severity: "FATAL", Code: "57P01"}), true},
		{"crash shutdown (57P02)", wrap(&pgconn.PgError{Code: "57P02"}), true},
		{"starting up (57P03)", wrap(&pgconn.PgError{Code: "57P03"}), true},
		{"connection failure (08006)", wrap(&pgconn.PgError{Code: "08006"}), true},
		{"too many connections (53300)", wrap(&pgconn.PgError{Code: "53300"}), true},
		{"cut mid-statement", wrap(io.ErrUnexpectedEOF), true},
		{"connection reset", wrap(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"deadline", wrap(context.DeadlineExceeded), true},
		{"unique violation", wrap(&pgconn.PgError{Code: "23505"}), false},
		{"syntax error", wrap(&pgconn.PgError{Code: "42601"}), false},
		{"empty code", wrap(&pgconn.PgError{}), false},
		{"a bug", errors.New("index out of range"), false},
		{"nil", nil, false},
	} {
		if got := IsUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
