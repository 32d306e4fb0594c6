package account

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// revokedChannel is the Postgres notification channel on which a session's
// end reaches every node's cache: the payload is the token's hash in hex,
// or revokeAll.
const revokedChannel = "boxoffice_sessions_revoked"

// listenProbeEvery is how long the listener waits in silence before it
// checks that its connection still answers.
const listenProbeEvery = 30 * time.Second

// revokeAll in a notification empties every node's cache (roles changed).
const revokeAll = "*"

// revoke queues the notification in tx: Postgres delivers it when, and
// only if, tx commits, so no node drops a session that still exists, and
// every node hears of a deletion that did commit.
func revoke(ctx context.Context, tx pgx.Tx, payload string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, revokedChannel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", revokedChannel, err)
	}
	return nil
}

// forget drops one session from this node's cache.
func (s *Service) forget(sum [32]byte) {
	s.revocations.Add(1)
	s.mu.Lock()
	delete(s.cache, sum)
	s.mu.Unlock()
}

// forgetAll empties this node's cache.
func (s *Service) forgetAll() {
	s.revocations.Add(1)
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// Listening reports whether this node hears revocations now, so its cache
// may keep sessions for CacheTTL rather than DeafCacheTTL.
func (s *Service) Listening() bool { return s.listening.Load() }

// Listen keeps one Postgres connection listening for revocations until ctx
// ends, dropping each revoked session from this node's cache. While the
// connection is lost the cache falls back to DeafCacheTTL and is emptied
// (revocations may have been missed), and Listen reconnects with backoff.
// Behind a transaction-pooling proxy that cannot LISTEN, the node simply
// stays on DeafCacheTTL.
func (s *Service) Listen(ctx context.Context, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		s.listening.Store(false)
		s.forgetAll()
		if ctx.Err() != nil {
			return
		}
		log.Warn("session revocations not heard; sessions are cached briefly until they are again",
			"err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// listenOnce listens on one connection until it fails or ctx ends.
func (s *Service) listenOnce(ctx context.Context) error {
	pc, err := s.db.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool for good: a LISTENing session must
	// not be handed to another caller.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+revokedChannel); err != nil {
		return err
	}
	// Sessions cached before LISTEN took effect may have missed a
	// revocation: start afresh, then trust the cache for CacheTTL.
	s.forgetAll()
	s.listening.Store(true)
	for {
		wait, cancel := context.WithTimeout(ctx, listenProbeEvery)
		n, err := conn.WaitForNotification(wait)
		cancel()
		if err != nil && ctx.Err() == nil && wait.Err() != nil {
			// Quiet for a while: prove the connection still works (a dead
			// peer would otherwise leave the cache trusted for ever).
			probe, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = conn.Exec(probe, "SELECT 1")
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if n.Payload == revokeAll {
			s.forgetAll()
			continue
		}
		var sum [32]byte
		if b, err := hex.DecodeString(n.Payload); err == nil && len(b) == len(sum) {
			copy(sum[:], b)
			s.forget(sum)
		} else {
			s.forgetAll() // a payload this version does not know: be safe
		}
	}
}
