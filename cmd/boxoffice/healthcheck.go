package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// cmdHealthcheck asks a running node whether it is ready. It exists for the
// container's HEALTHCHECK: the runtime image has no curl or wget, and the
// binary itself is the smallest thing that can speak HTTP there.
func cmdHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("healthcheck", `Usage: boxoffice healthcheck [-url URL] [-timeout D]

GETs the node's /readyz and exits 0 when it answers 200: the node can sell
(Postgres reachable; without Redis it still sells, "degraded"). Exits 1
when it does not answer or answers otherwise (Postgres down: 503). The
default URL is this machine's LISTEN_ADDR, so the Dockerfile's HEALTHCHECK
needs no arguments.

`, stderr)
	target := fs.String("url", "", "the readiness URL [http://127.0.0.1:PORT/readyz, PORT from LISTEN_ADDR]")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *target == "" {
		addr := getenv("LISTEN_ADDR")
		if addr == "" {
			addr = ":8080"
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return &configError{"LISTEN_ADDR", addr, "not host:port"}
		}
		// A wildcard listener answers on loopback.
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		*target = "http://" + net.JoinHostPort(host, port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return fmt.Errorf("-url %q: %w", *target, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", *target, res.Status, body)
	}
	fmt.Fprintf(stdout, "%s: %s\n", *target, body)
	return nil
}
