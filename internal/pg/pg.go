// Package pg is the one way Boxoffice talks to Postgres: opening a pool sized
// for load, running a transaction with retries, applying migrations and
// recognising the error codes the domain packages care about.
//
// Postgres is the source of truth for every seat, hold, order and ticket, so
// every state change goes through Transact: it retries serialization failures
// and deadlocks (which concurrent hold storms produce by design), and it rolls
// back on error or panic so no half-done change ever commits.
package pg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects a pool to url. maxConns overrides pgx's default (four per
// core, far too few for a sale where every winner needs a connection); zero
// keeps the URL's pool_max_conns or pgx's default.
func Open(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pg: parse DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pg: connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pg: ping %s: %w", cfg.ConnConfig.Host, err)
	}
	return pool, nil
}

// Beginner is what Transact needs: a pool or a connection.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// maxAttempts bounds retries of one transaction. Contention on a handful of
// seats resolves in a few rounds; past this the caller gets the error.
const maxAttempts = 8

// Transact runs fn in a read-committed transaction and commits it. It retries
// the whole function on serialization failures (40001) and deadlocks (40P01)
// with jittered backoff, so fn must be safe to run again: it must do all its
// work through tx and keep no state outside it between attempts. Any other
// error, or a panic, rolls back.
func Transact(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	return Retry(ctx, func() error { return transactOnce(ctx, db, fn) })
}

// Retry runs fn, a single statement in its own implicit transaction or a
// whole transaction, again on serialization failures and deadlocks, with
// jittered backoff. Transact uses it; a hot path that does all its work in
// one statement uses it directly and saves the BEGIN and COMMIT round trips.
func Retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		err = fn()
		if err == nil || !retryable(err) {
			return err
		}
		backoff := time.Duration(1<<attempt) * time.Millisecond
		backoff += rand.N(backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
	return fmt.Errorf("pg: transaction gave up after %d attempts: %w", maxAttempts, err)
}

func transactOnce(ctx context.Context, db Beginner, fn func(pgx.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("pg: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("pg: commit: %w", err)
	}
	return nil
}

// Postgres error codes that callers branch on.
const (
	codeSerialization = "40001"
	codeDeadlock      = "40P01"
	codeUnique        = "23505"
	codeForeignKey    = "23503"
	codeCheck         = "23514"
)

func retryable(err error) bool {
	return hasCode(err, codeSerialization) || hasCode(err, codeDeadlock)
}

func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// IsUniqueViolation reports whether err is a unique-constraint violation,
// optionally of the named constraint ("" matches any).
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUnique &&
		(constraint == "" || pgErr.ConstraintName == constraint)
}

// IsForeignKeyViolation reports whether err is a foreign-key violation.
func IsForeignKeyViolation(err error) bool { return hasCode(err, codeForeignKey) }

// IsCheckViolation reports whether err violates a CHECK constraint.
func IsCheckViolation(err error) bool { return hasCode(err, codeCheck) }

// Querier is what both a pool and a transaction offer, for helpers that run
// inside or outside a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// IsUnavailable reports whether err means Postgres could not be reached,
// went away, or did not answer in time (as opposed to refusing the
// statement), which the server reports as 503 rather than 500: a failed
// connect, a deadline, SQLSTATE classes 08 (connection exception), 53
// (insufficient resources, such as too many connections) and 57 (operator
// intervention: the server shutting down, crashed or still starting, which
// is what every pooled connection reports when Postgres restarts), and a
// connection cut mid-statement.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:min(2, len(pgErr.Code))] {
		case "08", "53", "57":
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.As(err, &netErr)
}
