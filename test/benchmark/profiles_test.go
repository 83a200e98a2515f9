//go:build benchmark

package benchmark

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	configv1 "k8s.io/kube-scheduler/config/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
)

// profilePluginConfigKey is the one test-case field of config/performance-config.yaml
// that is berth's, not scheduler_perf's: pluginConfig entries that both profiles get
// for that test case (each replacing the profile's own entry for the same plugin), so
// that a workload needing another scheduler configuration (upstream's batching/
// scheduler-config-no-topology.yaml, say) still compares the same two profiles.
// writeProfileCase removes it before scheduler_perf, which decodes strictly, reads the
// case.
const profilePluginConfigKey = "profilePluginConfig"

// defaultProfileConfig is upstream's default profile and nothing else.
const defaultProfileConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: false
profiles:
- schedulerName: default-scheduler
`

// profile is one scheduler configuration every test case runs with.
type profile struct {
	name string
	// base is the KubeSchedulerConfiguration it is rendered from, and mutate what
	// rendering changes in it.
	base   []byte
	mutate func(*localcluster.SchedulerConfig) error
	// configPath is base rendered for test cases without profilePluginConfig.
	configPath string
}

// standardProfiles renders upstream's default profile and berth's recommended one,
// the latter from the very file the deployment ships. Both are named
// default-scheduler, the name scheduler_perf's pods and its throughput metrics use.
func standardProfiles() ([]profile, error) {
	upstream := profile{name: "default", base: []byte(defaultProfileConfig)}
	berth := profile{name: "berth", base: manifests.SchedulerConfig, mutate: func(cfg *localcluster.SchedulerConfig) error {
		if len(cfg.Profiles) != 1 {
			return fmt.Errorf("manifests/base/scheduler-config.yaml has %d profiles, the benchmark expects one", len(cfg.Profiles))
		}
		cfg.LeaderElection.LeaderElect = ptr.To(false)
		cfg.Profiles[0].SchedulerName = ptr.To("default-scheduler")
		return nil
	}}
	out := []profile{upstream, berth}
	for i := range out {
		path, err := out[i].render(filepath.Join(workDir, out[i].name), nil)
		if err != nil {
			return nil, err
		}
		out[i].configPath = path
	}
	return out, nil
}

// render writes the profile, with extra's entries in place of its own for the same
// plugins, to dir/scheduler-config.yaml.
func (p profile) render(dir string, extra []configv1.PluginConfig) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var mutateErr error
	path, err := localcluster.RenderSchedulerConfig(p.base, dir, "", func(cfg *localcluster.SchedulerConfig) {
		if p.mutate != nil {
			if mutateErr = p.mutate(cfg); mutateErr != nil {
				return
			}
		}
		for _, e := range extra {
			mutateErr = overridePluginConfig(cfg, e)
			if mutateErr != nil {
				return
			}
		}
	})
	if err != nil {
		return "", fmt.Errorf("profile %s: %w", p.name, err)
	}
	if mutateErr != nil {
		return "", fmt.Errorf("profile %s: %w", p.name, mutateErr)
	}
	return path, nil
}

// overridePluginConfig puts e into the configuration's only profile, replacing the
// entry for the same plugin if there is one.
func overridePluginConfig(cfg *localcluster.SchedulerConfig, e configv1.PluginConfig) error {
	if len(cfg.Profiles) != 1 {
		return fmt.Errorf("%s applies to one profile, the configuration has %d", profilePluginConfigKey, len(cfg.Profiles))
	}
	pc := &cfg.Profiles[0].PluginConfig
	for i := range *pc {
		if (*pc)[i].Name == e.Name {
			(*pc)[i] = e
			return nil
		}
	}
	*pc = append(*pc, e)
	return nil
}

// configFor is the scheduler configuration p runs tc with: its own, or, if tc has
// profilePluginConfig, its own with those entries, rendered into the work directory.
func (p profile) configFor(tc map[string]any) (string, error) {
	extra, err := profilePluginConfig(tc)
	if err != nil || extra == nil {
		return p.configPath, err
	}
	return p.render(filepath.Join(workDir, p.name, tc["name"].(string)), extra)
}

// profilePluginConfig decodes tc's profilePluginConfig, strictly, as the
// KubeSchedulerConfiguration's own pluginConfig list; nil if tc has none.
func profilePluginConfig(tc map[string]any) ([]configv1.PluginConfig, error) {
	v, ok := tc[profilePluginConfigKey]
	if !ok {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var pcs []configv1.PluginConfig
	if err := yaml.UnmarshalStrict(raw, &pcs); err != nil {
		return nil, fmt.Errorf("%s: %s.%s: want a list of {name, args} as in a KubeSchedulerConfiguration profile's pluginConfig: %w", configFile, tc["name"], profilePluginConfigKey, err)
	}
	if len(pcs) == 0 {
		return nil, fmt.Errorf("%s: %s.%s is empty; leave it out instead", configFile, tc["name"], profilePluginConfigKey)
	}
	for i, pc := range pcs {
		if pc.Name == "" {
			return nil, fmt.Errorf("%s: %s.%s[%d] has no plugin name", configFile, tc["name"], profilePluginConfigKey, i)
		}
	}
	return pcs, nil
}
