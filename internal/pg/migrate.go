package pg

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/boxoffice/boxoffice/migrations"
)

// Migrate applies every embedded migration that is not applied yet. Goose
// takes a Postgres advisory lock, so many nodes starting at once apply each
// migration exactly once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("pg: migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker),
		// Branches add numbered migrations independently (00003 and 00004
		// were written side by side): apply a lower one merged later.
		goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("pg: migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("pg: migrate: %w", err)
	}
	for _, r := range results {
		if log != nil {
			log.Info("migration applied", slog.String("file", r.Source.Path), slog.Duration("took", r.Duration))
		}
	}
	return nil
}
