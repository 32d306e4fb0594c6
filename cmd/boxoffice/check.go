package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/boxoffice/boxoffice/internal/pg"
)

const checkHelp = `Usage: boxoffice check -event ID

Checks one event's hard rule straight in Postgres (DATABASE_URL): no seat
sold twice; every seat available, held, sold or reserved exactly once; at
most one captured payment per order; no authorized payment without an
order. Run it after a load test: a load generator (the k6 scripts, whose
summary names this command) sees responses, not the database. Prints the
figures; exits 1 when a rule is broken.

`

func cmdCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("check", checkHelp, stderr)
	event := fs.Int64("event", 0, "event id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *event <= 0 || fs.NArg() > 0 {
		fmt.Fprint(stderr, "check: -event ID is required (a positive number)\n")
		return errUsage
	}
	url := getenv("DATABASE_URL")
	if url == "" {
		return errors.New("DATABASE_URL is not set")
	}
	db, err := pg.Open(ctx, url, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	inv, err := checkInvariants(ctx, db, *event)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "event %d invariants %s\n", *event, inv)
	if !inv.OK {
		return fmt.Errorf("event %d breaks its hard rule (see above)", *event)
	}
	return nil
}
