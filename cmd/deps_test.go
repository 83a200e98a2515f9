// Package cmd_test holds checks on what berth's binaries link.
package cmd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinariesLinkNoTestPackage keeps berth's test packages (test/...) out of every
// shipped binary: what a running program needs lives outside test/ (berth-local's
// cluster in internal/localcluster), and the package graph tools draw, which skip
// test/, stays true.
func TestBinariesLinkNoTestPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/...: %v", err)
	}
	module, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	testPrefix := strings.TrimSpace(string(module)) + "/test/"
	deps := strings.Fields(string(out))
	linked := map[string]bool{}
	for _, dep := range deps {
		linked[dep] = true
		if strings.HasPrefix(dep, testPrefix) {
			t.Errorf("a binary under cmd/ links %s", dep)
		}
	}
	// The listing is the real one: it has the binaries and what they are built on.
	for _, want := range []string{"cmd/berth-scheduler", "cmd/berth-local", "internal/localcluster", "pkg/plugins"} {
		if !linked[strings.TrimSuffix(testPrefix, "test/")+want] {
			t.Errorf("go list -deps ./cmd/... does not list %s; listed:\n%s", want, out)
		}
	}
}
