package sim

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/kubernetes/pkg/features"

	"github.com/berth-sched/berth/pkg/plugins"
)

// TestRunFeatureGatesAreTheGatesARunSees: what RunFeatureGates reports (and
// manifest.json records) is what the process's gates are once Run has set them, as in
// every worker, and asynchronous preemption is off.
func TestRunFeatureGatesAreTheGatesARunSees(t *testing.T) {
	want, err := RunFeatureGates()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig([]byte(DefaultConfig))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), smokeWorkload(), cfg, Options{Registry: plugins.Registry(), Seed: 1}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for f := range utilfeature.DefaultMutableFeatureGate.GetAll() {
		got[string(f)] = utilfeature.DefaultFeatureGate.Enabled(f)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("RunFeatureGates differs from the gates a run sees (-reported +seen):\n%s", d)
	}
	if enabled, ok := want[string(features.SchedulerAsyncPreemption)]; !ok || enabled {
		t.Errorf("RunFeatureGates()[SchedulerAsyncPreemption] = %v (present %v), want false", enabled, ok)
	}
}
