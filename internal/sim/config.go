package sim

import (
	"context"
	"fmt"

	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/pkg/plugins"
)

// DefaultConfig is upstream's default KubeSchedulerConfiguration: one profile,
// default-scheduler, with the default plugins. berth-sim calls it "default".
const DefaultConfig = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"

// LoadConfig decodes, defaults and validates a KubeSchedulerConfiguration as
// kube-scheduler's --config does (the same decoder and validation).
func LoadConfig(data []byte) (*schedconfig.KubeSchedulerConfiguration, error) {
	obj, gvk, err := scheme.Codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
	if !ok {
		return nil, fmt.Errorf("couldn't decode as KubeSchedulerConfiguration, got %s", gvk)
	}
	cfg.TypeMeta.APIVersion = gvk.GroupVersion().String()
	if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Check refuses what berth-scheduler refuses at start, in the same words
// (plugins.CheckConfig, name naming the configuration), then decodes data as a run's
// worker will and builds the scheduler's profiles from it over an empty cluster, so
// that nothing a run would fail on is left for the run.
func Check(ctx context.Context, name string, data []byte, registry frameworkruntime.Registry) error {
	if err := plugins.CheckConfig(name, data); err != nil {
		return err
	}
	cfg, err := LoadConfig(data)
	if err != nil {
		return err
	}
	runMu.Lock()
	defer runMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err = newRun(ctx, &workload.Workload{}, cfg, Options{Registry: registry})
	return err
}
