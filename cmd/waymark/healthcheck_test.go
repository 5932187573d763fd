package main

import "testing"

// The healthcheck reaches a server listening on any address from the same
// machine: a wildcard host becomes loopback, a named one is kept.
func TestLocalURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080",
		"0.0.0.0:9000":   "http://127.0.0.1:9000",
		"[::]:8080":      "http://[::1]:8080",
		"127.0.0.1:8081": "http://127.0.0.1:8081",
		"[::1]:8082":     "http://[::1]:8082",
		"localhost:8083": "http://localhost:8083",
	} {
		got, err := localURL(addr)
		if err != nil || got != want {
			t.Errorf("localURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := localURL("8080"); err == nil {
		t.Error("an address without a port was accepted")
	}
}
