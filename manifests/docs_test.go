package manifests

import (
	"os"
	"strings"
	"testing"
)

// TestPluginDocsShowTheShippedProfile keeps the profile printed in docs/plugins.md the
// same as the file berth ships, so readers never configure from a stale copy.
func TestPluginDocsShowTheShippedProfile(t *testing.T) {
	doc, err := os.ReadFile("../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), string(SchedulerConfig)) {
		t.Errorf("docs/plugins.md does not contain manifests/base/scheduler-config.yaml verbatim; paste the current file into its \"recommended profile\" section")
	}
}
