package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/boxoffice/boxoffice/internal/pg"
)

// openApp loads the config and opens the app's connections.
func openApp(ctx context.Context, getenv func(string) string, stderr io.Writer) (*App, error) {
	cfg, err := loadConfig(getenv, numCPU())
	if err != nil {
		return nil, err
	}
	return openConfigured(ctx, cfg, stderr)
}

// openConfigured opens the connections of an app with a loaded config.
func openConfigured(ctx context.Context, cfg Config, stderr io.Writer) (*App, error) {
	a := &App{Config: cfg, Log: newLogger(stderr, cfg.LogLevel)}
	if err := a.Open(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openMigrated opens the app's connections and applies pending migrations,
// for commands that write to the database before (or without) serving.
func openMigrated(ctx context.Context, getenv func(string) string, stderr io.Writer) (*App, error) {
	a, err := openApp(ctx, getenv, stderr)
	if err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx, a.DB, a.Log); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", `Usage: boxoffice serve [-dev]

Serves the API, the browser app and the WebSocket on LISTEN_ADDR, and runs
the hold sweeper. Applies pending migrations first. Stops cleanly on SIGINT
or SIGTERM, finishing requests in flight.

`, stderr)
	dev := fs.Bool("dev", false, "serve web/static from disk instead of the embedded copy (edit and reload)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, numCPU())
	if err != nil {
		return err
	}
	if err := cfg.productionChecks(); err != nil {
		return err
	}
	a, err := openConfigured(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if *dev {
		a.WebDir = "web/static"
	}
	if a.Config.SecretGenerated {
		fmt.Fprintf(stderr, "SECRET_KEY is not set: using a key generated for this run only, so tickets and tokens\n"+
			"will not survive a restart. For a stable dev key: export SECRET_KEY=%s\n", hex.EncodeToString(a.Config.SecretKey))
	}
	if err := a.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Boxoffice is serving on %s (%s)\n", a.Addr(), a.Config.BaseURL)
	<-ctx.Done()
	a.Log.Info("shutting down")
	return nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", `Usage: boxoffice migrate

Applies the embedded migrations that DATABASE_URL does not have yet. Safe to
run from several nodes at once (an advisory lock serialises them).

`, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := openMigrated(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintln(stdout, "migrations: up to date")
	return nil
}

const seedHelp = `Usage:
  boxoffice seed demo [-opens-in DURATION]
  boxoffice seed fans N [-tokens FILE] [-password P]

demo: creates a demo stadium (about 50,000 seats) and two events: one on sale
now with the waiting room off, and one whose sale opens later (-opens-in,
default 2m) with the waiting room on; and a demo arena with a standing floor
of 5,000 in front of the stage (a general-admission area) and one event on
sale now. Idempotent: running it again changes nothing.

fans: creates N fan accounts in bulk for load tests, all with one password
(hashed once), each with a live session; writes "email token" lines to FILE.

`

func cmdSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "demo" && args[0] != "fans") {
		fmt.Fprint(stderr, seedHelp)
		if len(args) > 0 && isHelp(args[0]) {
			return nil
		}
		return errUsage
	}
	what, args := args[0], args[1:]
	fs := newFlags("seed "+what, seedHelp, stderr)
	opensIn := fs.Duration("opens-in", 2*time.Minute, "demo: delay until the second event's sale opens")
	tokens := fs.String("tokens", "fans.tokens", "fans: file to write \"email token\" lines to")
	password := fs.String("password", "load-test-password", "fans: the password of every seeded fan")
	n := 0
	if what == "fans" {
		if len(args) == 0 {
			fmt.Fprint(stderr, seedHelp)
			return errUsage
		}
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil || n < 1 || n > 10_000_000 {
			fmt.Fprintf(stderr, "seed fans: N must be a whole number from 1 to 10000000, not %q\n", args[0])
			return errUsage
		}
		args = args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := openMigrated(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if what == "demo" {
		return seedDemo(ctx, a, *opensIn, stdout)
	}
	return seedFans(ctx, a, n, *password, *tokens, stdout)
}

func cmdAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const help = `Usage: boxoffice admin grant EMAIL ROLE [EVENT]

Gives the existing account EMAIL the role admin, scanner, box_office,
finance or fan. EVENT (an event id, scanner only) keeps a scanner to that
one event's door.

`
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stderr, help)
		return nil
	}
	if (len(args) != 3 && len(args) != 4) || args[0] != "grant" {
		fmt.Fprint(stderr, help)
		return errUsage
	}
	var event int64
	if len(args) == 4 {
		var err error
		if event, err = strconv.ParseInt(args[3], 10, 64); err != nil || event <= 0 {
			fmt.Fprint(stderr, help)
			return errUsage
		}
	}
	a, err := openApp(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Accounts.GrantScoped(ctx, args[1], args[2], event); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is now %s\n", args[1], args[2])
	return nil
}
