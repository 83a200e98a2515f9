package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// badConfigs are invalid scheduler configurations and a fragment the binary's last
// line of output must contain: the field at fault.
var badConfigs = []struct {
	name     string
	profile  string   // YAML of the profiles list
	wantLast []string // fragments of the last line of output
}{
	{
		name:     "unknown plugin",
		profile:  "- schedulerName: berth-scheduler\n  plugins:\n    filter:\n      enabled:\n      - name: NoSuchPlugin\n",
		wantLast: []string{"NoSuchPlugin", "does not exist"},
	},
	{
		name:     "missing scheduler name",
		profile:  "- schedulerName: \"\"\n",
		wantLast: []string{"profiles[0].schedulerName", "Required value"},
	},
}

func TestBadConfigurationStopsTheBinaryNamingTheField(t *testing.T) {
	for _, tc := range badConfigs {
		t.Run(tc.name, func(t *testing.T) {
			config := "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n" +
				"leaderElection:\n  leaderElect: false\n" +
				"clientConnection:\n  kubeconfig: " + kubeconfig + "\n" +
				"profiles:\n" + tc.profile
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			// A configuration the binary wrongly accepts would run forever: bound it.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, binary, "--config="+path, "--secure-port=0").CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("binary still running 30s after start: it accepted the configuration; output:\n%s", out)
			}
			exitErr, ok := err.(*exec.ExitError)
			if !ok || exitErr.ExitCode() == 0 {
				t.Fatalf("binary did not fail on a bad configuration (err %v); output:\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			last := lines[len(lines)-1]
			for _, want := range tc.wantLast {
				if !strings.Contains(last, want) {
					t.Errorf("last line %q does not contain %q", last, want)
				}
			}
		})
	}
}
