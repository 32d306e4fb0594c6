// Command boxoffice is the whole platform in one binary: the server, the
// migrations, the demo seed, account administration and the load driver.
// main only parses arguments and starts and stops things; App builds every
// dependency from Config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	// The tz database in the binary: venues' time zones load on a machine
	// (or image) without /usr/share/zoneinfo.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

const usage = `boxoffice: concert on-sales that never oversell.

Usage:
  boxoffice serve [-dev]             HTTP, WebSocket, sweeper and workers (the default; migrates first)
  boxoffice migrate                  apply the embedded database migrations
  boxoffice seed demo [-opens-in D]  a demo stadium with two events, an arena with a standing floor (idempotent)
  boxoffice seed fans N              N fan accounts with sessions, for load tests
  boxoffice admin grant EMAIL ROLE   give an account the admin or scanner role
  boxoffice flashsale -event ID ...  the flash-sale load driver (loopback targets only)
  boxoffice check -event ID          check an event's hard rule in Postgres (after a load test)
  boxoffice healthcheck [-url URL]   exit 0 when the local node is ready (container HEALTHCHECK)
  boxoffice verify-queue EVENT       recompute a waiting room's pre-queue order from its public proof
  boxoffice verify-lottery EVENT     recompute a registered-fan lottery's winners from its public data

Run 'boxoffice COMMAND -h' for a command's help and flags. Configuration comes
from the environment: LISTEN_ADDR, DATABASE_URL, REDIS_URL, BASE_URL,
SECRET_KEY, PAYMENTS, STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY,
STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE, SMTP_URL, HOLD_TTL, WAITLIST_OFFER_TTL, PAYMENT_GRACE,
SESSION_CACHE_TTL, FANOUT_WRITES_PER_SECOND,
MAX_SEATS_PER_ACCOUNT, DB_MAX_CONNS, ALLOWED_ORIGINS, LOG_LEVEL,
RESALE_FEE_BPS, PAYOUT_DELAY, REDIS_PREFIX, METRICS_TOKEN, PPROF_ADDR, RATE_LIMITS,
TRUSTED_PROXIES, REVIEW_SIGNALS, WS_MAX_PER_IP, WS_MAX_PER_ACCOUNT,
BOXOFFICE_ENV (see docs/operations.md and docs/security.md).
`

// errUsage means the arguments were wrong and usage was printed.
var errUsage = errors.New("usage")

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && isHelp(args[0]) {
		cmd = "help" // the commands, not serve's flags
	} else if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, args, getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args, getenv, stdout, stderr)
	case "seed":
		err = cmdSeed(ctx, args, getenv, stdout, stderr)
	case "admin":
		err = cmdAdmin(ctx, args, getenv, stdout, stderr)
	case "flashsale":
		err = cmdFlashsale(ctx, args, getenv, stdout, stderr)
	case "check":
		err = cmdCheck(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		err = cmdHealthcheck(ctx, args, getenv, stdout, stderr)
	case "verify-queue":
		err = cmdVerifyQueue(ctx, args, getenv, stdout, stderr)
	case "verify-lottery":
		err = cmdVerifyLottery(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "boxoffice: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "boxoffice %s: %v\n", cmd, err)
		return 1
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// newFlags returns a flag set whose --help prints help and the flags.
func newFlags(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, help)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning a parse error into errUsage (the flag
// package has already printed it).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func numCPU() int { return runtime.NumCPU() }
