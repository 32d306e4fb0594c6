package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/loadtest"
	"github.com/boxoffice/boxoffice/seatmap"
)

const flashsaleHelp = `Usage: boxoffice flashsale -event ID [flags]

Drives a flash sale against a running server the way fans do: each fan
solves the waiting room's proof of work, joins, waits for admission (when
the room is on), holds seats (named from the map with a hot-section bias,
or best available), checks out and pays with a test card. Watchers follow
the seat map over WebSocket and time each hold to its diff frame. A
progress line runs on stderr; a summary is printed at the end and a JSON
report written with -report. With -database-url the event's invariants are
checked straight in Postgres (oversold 0, conservation, one capture per
order, no dangling authorization); broken invariants exit 1.

Fans come from a tokens file written by 'boxoffice seed fans N -tokens FILE'
(fast: no password hashing); without one, fans sign up themselves.

Run the server with RATE_LIMITS=off (or raised limits) and PAYMENTS=test:
the per-IP and per-account limits that stop real bots also stop a load test
from one machine.

With -nodes the fans and watchers are spread over several app nodes of
one deployment, as a load balancer would spread them, and a caller whose
node refuses connections moves on to the next: -nodes 3 means -url and the
two ports after it (8080, 8081, 8082 for the default -url), or name the
further nodes: -nodes http://127.0.0.1:9001,http://127.0.0.1:9002. The
summary counts the requests each node answered.

With -serve the driver starts the app nodes itself, in its own process:
-nodes N of them (one without -nodes) on free loopback ports, built from
the environment 'serve' reads (DATABASE_URL, REDIS_URL, SECRET_KEY, ...),
so they share one Postgres and one Redis as a deployment's nodes do. Their
rate limits are off and their payments go to the test processor whatever
the environment says; -url is not used. The summary then gives each node's
requests, Postgres round trips and most sockets open at once, and the CPU
time of the whole process (nodes and driver) per seat bought. Seed the
event and the fans first, for example:

  boxoffice seed demo -opens-in 0s
  boxoffice seed fans 2000 -tokens fans.tokens
  REVIEW_SIGNALS=off boxoffice flashsale -serve -nodes 2 -event ID -fans 2000 -tokens fans.tokens

Only loopback targets are accepted unless -allow-remote is given: pointed
at a site you do not run, this is a denial-of-service attack. Use
-allow-remote only for your own staging deployment.

`

func cmdFlashsale(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("flashsale", flashsaleHelp, stderr)
	var cfg loadtest.Config
	fs.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8080", "base URL of the server")
	fs.StringVar(&cfg.Event, "event", "", "event id (required)")
	nodes := fs.String("nodes", "", "more app nodes: a count N (-url and the N-1 ports after it) or a comma-separated list of further base URLs")
	fs.IntVar(&cfg.Fans, "fans", 100, "number of fans (1..10,000,000)")
	tokens := fs.String("tokens", "", "file of \"email token\" lines from 'boxoffice seed fans'; fans beyond it sign up")
	fs.IntVar(&cfg.Watchers, "watchers", 0, "WebSocket watchers of the seat map")
	fs.IntVar(&cfg.MeasuringWatchers, "measuring-watchers", 50, "watchers that record every frame for latency and convergence")
	seats := fs.String("seats", "3,4,0,3", "relative weights of wanting 1, 2, 3, ... seats")
	fs.Float64Var(&cfg.HotBias, "hot", 0.5, "share of seat picks aimed at the hot sections (the priciest fifth)")
	fs.Float64Var(&cfg.BestAvailable, "best", 0.5, "share of human fans asking for best available instead of naming seats")
	fs.Float64Var(&cfg.GA, "ga", 0.3, "share of human fans holding a quantity of a general-admission area, when the event has one")
	fs.Float64Var(&cfg.Bots, "bots", 0, "share of fans that are bots (no think time, -bot-seats seats, hot seats, more retries)")
	fs.IntVar(&cfg.BotSeats, "bot-seats", 8, "seats a bot asks for")
	fs.DurationVar(&cfg.Think, "think", 0, "mean human think time before holding and before paying (exponential)")
	fs.Float64Var(&cfg.Decline, "decline", 0.05, "share of payments made with the declining test card")
	fs.Float64Var(&cfg.Waitlist, "waitlist", 0, "share of human fans who join the waiting list when sold out and buy the places they are offered")
	fs.DurationVar(&cfg.Duration, "duration", defaultFlashDuration, "time cap of the run")
	fs.IntVar(&cfg.Concurrency, "concurrency", 256, "fans in flight at once")
	fs.DurationVar(&cfg.QueuePoll, "queue-poll", defaultQueuePoll, "how often a waiting fan polls /queue/me")
	report := fs.String("report", "", "write the JSON report to this file")
	dbURL := fs.String("database-url", "", "check the invariants in this Postgres after the run (e.g. $DATABASE_URL)")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a non-loopback -url (your own staging deployment only)")
	quiet := fs.Bool("quiet", false, "no progress line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (the driver, and the nodes with -serve) for the whole run to this file")
	serve := fs.Bool("serve", false, "start the app nodes in this process (-nodes N of them, on loopback ports, configured from the environment as serve is) instead of driving running ones")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.Event == "" || cfg.Fans < 1 || cfg.Fans > 10_000_000 || cfg.Watchers < 0 || cfg.Watchers > 100_000 ||
		cfg.Concurrency < 1 || cfg.Duration <= 0 || cfg.Duration > maxFlashDuration {
		fmt.Fprintf(stderr, "flashsale: -event is required; -fans 1..10000000, -watchers 0..100000, -concurrency ≥ 1, -duration up to %v\n", maxFlashDuration)
		return errUsage
	}
	nodeCount := 0
	if *serve {
		var err error
		if nodeCount, err = parseNodeCount(*nodes); err != nil {
			fmt.Fprintf(stderr, "flashsale: -nodes %q: %v\n", *nodes, err)
			return errUsage
		}
	} else if *nodes != "" {
		var err error
		if cfg.Nodes, err = parseNodes(cfg.BaseURL, *nodes); err != nil {
			fmt.Fprintf(stderr, "flashsale: -nodes %q: %v\n", *nodes, err)
			return errUsage
		}
	}
	for _, w := range strings.Split(*seats, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
		if err != nil || f < 0 {
			fmt.Fprintf(stderr, "flashsale: -seats %q: weights are non-negative numbers\n", *seats)
			return errUsage
		}
		cfg.SeatWeights = append(cfg.SeatWeights, f)
	}
	if *tokens != "" {
		var err error
		if cfg.Tokens, err = readTokens(*tokens, cfg.Fans); err != nil {
			return err
		}
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	if *dbURL != "" {
		db, err := pg.Open(ctx, *dbURL, 4)
		if err != nil {
			return fmt.Errorf("-database-url: %w", err)
		}
		defer db.Close()
		eventID, err := strconv.ParseInt(cfg.Event, 10, 64)
		if err != nil {
			return fmt.Errorf("-event %q: not a numeric id, so its invariants cannot be checked", cfg.Event)
		}
		cfg.Invariants = func(ctx context.Context) (loadtest.Invariants, error) { return checkInvariants(ctx, db, eventID) }
	}
	var served *servedNodes
	if *serve {
		var err error
		if served, err = startNodes(ctx, getenv, nodeCount, stderr); err != nil {
			return fmt.Errorf("-serve: %w", err)
		}
		defer served.close()
		cfg.BaseURL, cfg.Nodes = served.urls()
		served.begin()
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer stop()
	}
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if served != nil {
		served.finish(rep)
	}
	rep.WriteSummary(stdout)
	if *report != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*report, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("-report: %w", err)
		}
	}
	if !rep.OK() {
		return errors.New("the run broke an invariant or a watcher did not converge (see above)")
	}
	return nil
}

// Defaults and bounds of the flashsale flags.
const (
	defaultFlashDuration = 2 * time.Minute
	maxFlashDuration     = time.Hour
	defaultQueuePoll     = time.Second
)

// maxNodes bounds -nodes: more than a load driver on one machine can
// usefully spread over.
const maxNodes = 64

// parseNodes reads -nodes: a count N gives the N-1 ports after base's
// (base's host, same scheme), anything else is a comma-separated list of
// further base URLs. It returns the nodes beyond base.
func parseNodes(base, spec string) ([]string, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(spec)); err == nil {
		if n < 1 || n > maxNodes {
			return nil, fmt.Errorf("a count of nodes is 1..%d", maxNodes)
		}
		u, err := url.Parse(base)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("-url %q is not a base URL to count ports from", base)
		}
		port, err := strconv.Atoi(u.Port())
		if err != nil {
			return nil, fmt.Errorf("-url %q names no port to count from", base)
		}
		if port+n-1 > 65535 {
			return nil, fmt.Errorf("ports %d..%d run past 65535", port, port+n-1)
		}
		var out []string
		for i := 1; i < n; i++ {
			v := *u
			v.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port+i))
			out = append(out, v.String())
		}
		return out, nil
	}
	var out []string
	for _, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is neither a count nor an http(s) base URL", s)
		}
		out = append(out, s)
	}
	if len(out)+1 > maxNodes {
		return nil, fmt.Errorf("at most %d nodes", maxNodes)
	}
	return out, nil
}

// readTokens reads up to n tokens from an "email token" file.
func readTokens(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-tokens: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < n {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			out = append(out, fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("-tokens: %w", err)
	}
	return out, nil
}

// checkInvariants reads the event's hard-rule figures straight from
// Postgres: seatmap's and checkout's invariants plus oversold seats, double
// captures and dangling authorizations.
func checkInvariants(ctx context.Context, db *pgxpool.Pool, eventID int64) (loadtest.Invariants, error) {
	seats := seatmap.New(db, nil, nil, nil, seatmap.Config{})
	inv, err := seats.CheckInvariants(ctx, eventID)
	if err != nil {
		return loadtest.Invariants{}, err
	}
	out := loadtest.Invariants{Capacity: inv.Capacity, Available: inv.Available, Held: inv.Held,
		Sold: inv.Sold, Reserved: inv.Reserved, Violations: inv.Violations}
	money, err := checkout.New(db, seats, nil, nil, nil, checkout.Config{}).CheckInvariants(ctx, eventID)
	if err != nil {
		return out, err
	}
	out.Violations = append(out.Violations, money...)
	extra := []struct {
		n    *int
		name string
		sql  string
	}{
		{&out.Oversold, "oversold seats (two live tickets)", `
			SELECT count(*) FROM (SELECT seat_id FROM tickets WHERE event_id = $1 AND status <> 'void'
			GROUP BY seat_id HAVING count(*) > 1) d`},
		{&out.DoubleCaptures, "orders with more than one captured payment", `
			SELECT count(*) FROM (SELECT o.hold_id FROM orders o JOIN payments p ON p.hold_id = o.hold_id
			WHERE o.event_id = $1 AND p.status IN ('capturing', 'succeeded') GROUP BY o.hold_id HAVING count(*) > 1) d`},
		{&out.DanglingAuthorize, "authorized payments without an order", `
			SELECT count(*) FROM payments p WHERE p.event_id = $1 AND p.status = 'authorized'
			AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.payment_id = p.id)`},
	}
	for _, c := range extra {
		if err := db.QueryRow(ctx, c.sql, eventID).Scan(c.n); err != nil {
			return out, fmt.Errorf("invariant %q: %w", c.name, err)
		}
		if *c.n > 0 {
			out.Violations = append(out.Violations, fmt.Sprintf("%s: %d", c.name, *c.n))
		}
	}
	out.OK = len(out.Violations) == 0
	return out, nil
}
