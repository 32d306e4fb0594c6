package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/boxoffice/boxoffice/fairdraw"
	"github.com/boxoffice/boxoffice/waitingroom"
)

const verifyQueueHelp = `Usage: boxoffice verify-queue EVENT [-url BASE] [-hash HASH] [-timeout D]

Checks that a waiting room numbered its pre-queue fairly: fetches the
event's public proof (GET BASE/api/events/EVENT/queue/proof), checks the
revealed seed against the commitment published before the sale, redraws
the order from the seed, the beacon and the fans' hashes in join order
(docs/fairness.md) and compares it with the order the server published.
Prints OK and exits 0 when they match; prints the first number that
differs and exits 1 when they do not, or when the sale has not opened yet.
With -hash (your proof_hash, shown on your queue page) it also prints your
number. It needs no account and no database: anyone can run it.

`

// cmdVerifyQueue is the outside check of a pre-queue's draw; the recompute
// is fairdraw's, the same code the server draws with.
func cmdVerifyQueue(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	event, base, hash, err := verifyArgs("verify-queue", verifyQueueHelp, args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, base.timeout)
	defer cancel()
	p, err := fetchPublic[waitingroom.QueueProof](ctx, base.url+"/api/events/"+event+"/queue/proof")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "event %s: %s, commitment %s (made %s), beacon %q\n",
		event, p.Algorithm, p.SeedCommitment, p.CommittedAt.Format(time.RFC3339), p.Beacon)
	want, err := p.Verify()
	var mismatch *fairdraw.Mismatch
	switch {
	case errors.Is(err, fairdraw.ErrNotDrawn):
		return fmt.Errorf("nothing to verify yet: the pre-queue is drawn, and the seed revealed, when the sale opens")
	case errors.As(err, &mismatch):
		fmt.Fprintf(stdout, "DIFFERS: %s\n", strings.TrimPrefix(mismatch.Error(), "fairdraw: "))
		return errors.New("the published order is not the one the proof gives")
	case err != nil:
		return fmt.Errorf("the proof does not check out: %w", err)
	}
	fmt.Fprintf(stdout, "OK: the seed matches the commitment and the %d pre-queued fans' published order is the recomputed one (drawn %s)\n",
		len(want), p.DrawnAt.Format(time.RFC3339))
	if hash != "" {
		h := strings.ToLower(strings.TrimSpace(hash))
		for i, e := range want {
			if e == h {
				fmt.Fprintf(stdout, "%s… is number %d of %d\n", h[:12], i+1, len(want))
				return nil
			}
		}
		return fmt.Errorf("the hash %q is not in this pre-queue (fans who joined after the sale opened are numbered in arrival order)", hash)
	}
	return nil
}

// verifyServer is where a verify command fetches from, and for how long.
type verifyServer struct {
	url     string
	timeout time.Duration
}

// verifyArgs reads the arguments the verify commands share: one EVENT id
// (before or after the flags), -url, -hash and -timeout.
func verifyArgs(name, help string, args []string, stderr io.Writer) (event string, server verifyServer, hash string, err error) {
	fs := newFlags(name, help, stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&hash, "hash", "", "a hash to look up (optional)")
	fs.DurationVar(&server.timeout, "timeout", time.Minute, "give up fetching the proof after this long")
	// The event may come before or after the flags.
	if err := parseFlags(fs, args); err != nil {
		return "", server, "", err
	}
	if fs.NArg() > 0 {
		event = fs.Arg(0)
		if err := parseFlags(fs, fs.Args()[1:]); err != nil {
			return "", server, "", err
		}
	}
	if event == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: give one EVENT id\n\n", name)
		fs.Usage()
		return "", server, "", errUsage
	}
	if id, err := strconv.ParseInt(event, 10, 64); err != nil || id < 1 {
		fmt.Fprintf(stderr, "%s: EVENT must be an event id (a positive whole number), not %q\n", name, event)
		return "", server, "", errUsage
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "%s: -url must be an http(s) base URL such as http://127.0.0.1:8080, not %q\n", name, *base)
		return "", server, "", errUsage
	}
	server.url = strings.TrimSuffix(u.String(), "/")
	return event, server, hash, nil
}

// fetchPublic GETs and decodes a public proof (a queue's or a lottery's),
// turning an API error body into its message.
func fetchPublic[T any](ctx context.Context, target string) (T, error) {
	var p T
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return p, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return p, fmt.Errorf("fetch the proof (is the server running at -url?): %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return p, fmt.Errorf("read %s: %w", target, err)
	}
	if res.StatusCode != http.StatusOK {
		var apiErr struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &apiErr) == nil && apiErr.Error.Code != "" {
			return p, fmt.Errorf("%s: %s: %s (%s)", target, res.Status, apiErr.Error.Message, apiErr.Error.Code)
		}
		return p, fmt.Errorf("%s: %s", target, res.Status)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("%s: not a proof: %w", target, err)
	}
	return p, nil
}
