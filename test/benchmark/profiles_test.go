//go:build benchmark

package benchmark

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
// the latter from the very file the deployment ships, then the -variant profiles. All
// are named default-scheduler, the name scheduler_perf's pods and its throughput
// metrics use.
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
	out, err := withVariants([]profile{upstream, berth}, variantSpecs)
	if err != nil {
		return nil, err
	}
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

func TestProfilePluginConfigRendersIntoBothProfiles(t *testing.T) {
	spread := map[string]any{"name": "PodTopologySpread", "args": map[string]any{"defaultingType": "List", "defaultConstraints": []any{}}}
	headroom := map[string]any{"name": "PriorityHeadroom", "args": map[string]any{"reservations": []any{}}}
	tests := []struct {
		name    string
		value   any
		wantErr string
		// want maps a profile to the plugins whose pluginConfig its rendering has, in order.
		want map[string][]string
	}{{
		name:  "an entry for a plugin the profile has no args for is added",
		value: []any{spread},
		want: map[string][]string{
			"default": {"PodTopologySpread"},
			"berth":   {"PriorityHeadroom", "PriorityTaints", "PriorityPlacement", "QoSPlacement", "QoSAwarePreemption", "PodTopologySpread"},
		},
	}, {
		name:  "an entry for a plugin the profile configures replaces it in place",
		value: []any{headroom},
		want: map[string][]string{
			"default": {"PriorityHeadroom"},
			"berth":   {"PriorityHeadroom", "PriorityTaints", "PriorityPlacement", "QoSPlacement", "QoSAwarePreemption"},
		},
	}, {
		name:    "not a list",
		value:   map[string]any{"name": "PodTopologySpread"},
		wantErr: "want a list of {name, args}",
	}, {
		name:    "an unknown field",
		value:   []any{map[string]any{"name": "PodTopologySpread", "argz": map[string]any{}}},
		wantErr: `unknown field "argz"`,
	}, {
		name:    "no plugin name",
		value:   []any{map[string]any{"args": map[string]any{}}},
		wantErr: "[0] has no plugin name",
	}, {
		name:    "empty",
		value:   []any{},
		wantErr: "is empty",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := map[string]any{"name": "Case" + strings.ReplaceAll(tt.name, " ", "_"), profilePluginConfigKey: tt.value}
			// The two standard profiles; -variant ones have their own pluginConfig.
			for _, p := range profiles[:2] {
				path, err := p.configFor(tc)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("%s: got error %v, want one containing %q", p.name, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				if path == p.configPath {
					t.Fatalf("%s: the test case got the profile's own configuration", p.name)
				}
				cfg := readRendered(t, path)
				var got []string
				for _, pc := range cfg.Profiles[0].PluginConfig {
					got = append(got, pc.Name)
				}
				if !slices.Equal(got, tt.want[p.name]) {
					t.Errorf("%s: pluginConfig for %v, want %v", p.name, got, tt.want[p.name])
				}
				for _, e := range tt.value.([]any) {
					e := e.(map[string]any)
					want, _ := json.Marshal(e["args"])
					for _, pc := range cfg.Profiles[0].PluginConfig {
						if pc.Name == e["name"] && string(pc.Args.Raw) != string(want) {
							t.Errorf("%s: %s args %s, want %s", p.name, pc.Name, pc.Args.Raw, want)
						}
					}
				}
				if name := ptr.Deref(cfg.Profiles[0].SchedulerName, ""); name != "default-scheduler" {
					t.Errorf("%s: schedulerName %q, want default-scheduler", p.name, name)
				}
			}
		})
	}
}

func TestConfigWithoutProfilePluginConfigIsTheProfiles(t *testing.T) {
	for _, p := range profiles {
		path, err := p.configFor(map[string]any{"name": "Plain"})
		if err != nil || path != p.configPath {
			t.Errorf("%s: got %q, %v; want %q", p.name, path, err, p.configPath)
		}
	}
}

// readRendered reads back a configuration render wrote.
func readRendered(t *testing.T, path string) configv1.KubeSchedulerConfiguration {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg configv1.KubeSchedulerConfiguration
	if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}
