package e2e

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/berth-sched/berth/cmd/berth-local/app"
)

// TestMakeRunOncePrintsPlacementTable runs berth-local's --once mode (what `make run
// ARGS=--once` does) on a control plane of its own, and reads the table it prints.
func TestMakeRunOncePrintsPlacementTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := app.Run(ctx, app.Options{
		SchedulerBinary: binary,
		WorkDir:         t.TempDir(),
		Nodes:           3,
		Once:            true,
		SettleTimeout:   60 * time.Second,
		Out:             &out,
	})
	t.Logf("berth-local output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]*regexp.Regexp{
		"critical-guaranteed": regexp.MustCompile(`(?m)^critical-guaranteed\s+berth-scheduler\s+1000000\s+Guaranteed\s+node-\d+$`),
		"high-burstable":      regexp.MustCompile(`(?m)^high-burstable\s+berth-scheduler\s+10000\s+Burstable\s+node-\d+$`),
		"default-besteffort":  regexp.MustCompile(`(?m)^default-besteffort\s+berth-scheduler\s+1000\s+BestEffort\s+node-\d+$`),
		"batch-burstable":     regexp.MustCompile(`(?m)^batch-burstable\s+berth-scheduler\s+100\s+Burstable\s+node-\d+$`),
		"batch-too-big":       regexp.MustCompile(`(?m)^batch-too-big\s+berth-scheduler\s+100\s+Guaranteed\s+Pending: .*Insufficient cpu`),
		"not-opted-in":        regexp.MustCompile(`(?m)^not-opted-in\s+default-scheduler\s+0\s+BestEffort\s+Pending: not berth's`),
	}
	for pod, re := range rows {
		if !re.Match(out.Bytes()) {
			t.Errorf("table row for %s does not match %s", pod, re)
		}
	}
	if !regexp.MustCompile(`kubeconfig: \S+`).Match(out.Bytes()) {
		t.Errorf("output does not say where the kubeconfig is")
	}
}
