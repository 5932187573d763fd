package deploycheck

import (
	"regexp"
	"strings"
	"testing"
)

// make release builds what the Dockerfile builds, for both architectures,
// with the version from git describe.
func TestMakeRelease(t *testing.T) {
	mk := string(repoFile(t, "Makefile"))
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z_]+) *\??= *(.*)$`).FindAllStringSubmatch(mk, -1) {
		vars[m[1]] = m[2]
	}
	recipe := regexp.MustCompile(`(?m)^release:.*\n((?:\t.*\n)+)`).FindStringSubmatch(mk)
	if recipe == nil {
		t.Fatal("the Makefile has no release target")
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\(([A-Z_]+)\)`).ReplaceAllStringFunc(s, func(v string) string { return vars[v[2:len(v)-1]] })
	}
	if !strings.Contains(vars["VERSION"], "git describe --always --dirty") {
		t.Errorf("VERSION = %q, want it from git describe --always --dirty", vars["VERSION"])
	}
	for _, arch := range []string{"amd64", "arm64"} {
		found := false
		for _, line := range strings.Split(recipe[1], "\n") {
			line = expand(line)
			if !strings.Contains(line, "GOARCH="+arch) {
				continue
			}
			found = true
			for _, want := range []string{"CGO_ENABLED=0", "GOOS=linux", "go build", "-trimpath", "-X main.version=", "-o bin/waymark-linux-" + arch, "./cmd/waymark"} {
				if !strings.Contains(line, want) {
					t.Errorf("release for %s lacks %q: %s", arch, want, line)
				}
			}
		}
		if !found {
			t.Errorf("make release builds nothing for linux/%s", arch)
		}
	}
}
