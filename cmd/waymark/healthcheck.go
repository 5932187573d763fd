package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"
)

// healthcheck asks the server running on this machine whether it is alive
// (/healthz) or, with --ready, ready (/readyz), and exits 0 only on 200.
// Container images without curl (scratch, distroless) run it as their
// HEALTHCHECK. It reads WAYMARK_ADDR like serve does, so it finds the port
// without being told.
func healthcheck(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	addr := fl.String("addr", "", "address the server listens on (default WAYMARK_ADDR, else :8080)")
	ready := fl.Bool("ready", false, "ask /readyz (store reachable, flows loaded, not draining) instead of /healthz")
	timeout := fl.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *addr == "" {
		*addr = env.getenv("WAYMARK_ADDR")
	}
	if *addr == "" {
		*addr = ":8080"
	}
	target, err := localURL(*addr)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark healthcheck: %v\n", err)
		return 2
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+path, nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark healthcheck: %s: %v\n", path, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(env.stderr, "waymark healthcheck: %s answered %d\n", path, resp.StatusCode)
		return 1
	}
	return 0
}

// localURL turns a listen address into the URL to reach it from this
// machine: a wildcard or empty host becomes the loopback address.
func localURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
