package manifests

import (
	"testing"

	configv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/yaml"
)

// TestSchedulerConfigUsesTheDeclaredNames keeps the constants berth-local and the tests
// rely on true of the shipped configuration.
func TestSchedulerConfigUsesTheDeclaredNames(t *testing.T) {
	var cfg configv1.KubeSchedulerConfiguration
	if err := yaml.UnmarshalStrict(SchedulerConfig, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Profiles) != 1 || cfg.Profiles[0].SchedulerName == nil || *cfg.Profiles[0].SchedulerName != SchedulerName {
		t.Errorf("profiles %+v, want one named %s", cfg.Profiles, SchedulerName)
	}
	if cfg.LeaderElection.ResourceNamespace != LeaseNamespace {
		t.Errorf("leader-election lease in namespace %q, want %s", cfg.LeaderElection.ResourceNamespace, LeaseNamespace)
	}
}
