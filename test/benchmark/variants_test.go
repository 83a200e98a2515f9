//go:build benchmark

package benchmark

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	configv1 "k8s.io/kube-scheduler/config/v1"
	"k8s.io/utils/ptr"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/pkg/plugins"
)

// variantSpecs are the -variant flags, NAME=FILE each, in the order given.
var variantSpecs []string

func init() {
	flag.Func("variant", "NAME=FILE: also run every workload under berth's profile with FILE's plugins and pluginConfig in place of its own, as profile NAME (repeatable; see docs/benchmarks.md)", func(v string) error {
		variantSpecs = append(variantSpecs, v)
		return nil
	})
}

// profileOverlay is a -variant file: the two parts of a KubeSchedulerConfiguration
// profile an experiment on berth's profile changes. Each extension point under plugins
// replaces berth's for that point (enabled and disabled together); each pluginConfig
// entry replaces berth's entry for the same plugin, or is added.
type profileOverlay struct {
	Plugins      *configv1.Plugins       `json:"plugins,omitempty"`
	PluginConfig []configv1.PluginConfig `json:"pluginConfig,omitempty"`
}

// variantName is what a variant may be called: it names sub-benchmarks, data item
// files and the summary's columns.
var variantName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// withVariants appends a profile per spec (NAME=FILE) to the standard profiles, each
// berth's profile with FILE's overlay; berth is the profile named "berth" in out.
func withVariants(out []profile, specs []string) ([]profile, error) {
	i := slices.IndexFunc(out, func(p profile) bool { return p.name == "berth" })
	if i < 0 {
		return nil, errors.New("-variant: there is no berth profile to vary")
	}
	berth := out[i]
	for _, spec := range specs {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || file == "" {
			return nil, fmt.Errorf("-variant %q: want NAME=FILE", spec)
		}
		if !variantName.MatchString(name) {
			return nil, fmt.Errorf("-variant %q: NAME must be lower-case letters, digits and '-'", spec)
		}
		if slices.ContainsFunc(out, func(p profile) bool { return p.name == name }) {
			return nil, fmt.Errorf("-variant %q: there is already a profile named %s", spec, name)
		}
		o, err := readOverlay(file)
		if err != nil {
			return nil, fmt.Errorf("-variant %s: %w", name, err)
		}
		out = append(out, profile{name: name, base: berth.base, mutate: func(cfg *localcluster.SchedulerConfig) error {
			if err := berth.mutate(cfg); err != nil {
				return err
			}
			if o.Plugins != nil {
				if cfg.Profiles[0].Plugins == nil {
					cfg.Profiles[0].Plugins = &configv1.Plugins{}
				}
				overlayPlugins(cfg.Profiles[0].Plugins, o.Plugins)
			}
			for _, pc := range o.PluginConfig {
				if err := overridePluginConfig(cfg, pc); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	return out, nil
}

// readOverlay decodes a -variant file strictly and case-sensitively, as the scheduler
// decodes its configuration: a misspelt or wrong-case field is an error, not an
// experiment that silently measured berth's own profile.
func readOverlay(file string) (profileOverlay, error) {
	var o profileOverlay
	raw, err := os.ReadFile(file)
	if err != nil {
		return o, err
	}
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return o, fmt.Errorf("%s: %w", file, err)
	}
	strict, err := sigsjson.UnmarshalStrict(js, &o, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return o, fmt.Errorf("%s: %w", file, err)
	}
	if len(strict) > 0 {
		return o, fmt.Errorf("%s: %w (a variant sets plugins and pluginConfig, as in a KubeSchedulerConfiguration profile)", file, errors.Join(strict...))
	}
	if o.Plugins == nil && len(o.PluginConfig) == 0 {
		return o, fmt.Errorf("%s: sets neither plugins nor pluginConfig: the variant would be berth's profile", file)
	}
	for i, pc := range o.PluginConfig {
		if pc.Name == "" {
			return o, fmt.Errorf("%s: pluginConfig[%d] has no plugin name", file, i)
		}
	}
	return o, nil
}

// overlayPlugins replaces each extension point of dst that src lists, enabled or
// disabled. Every field of configv1.Plugins is a PluginSet.
func overlayPlugins(dst, src *configv1.Plugins) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := range s.NumField() {
		set, ok := s.Field(i).Interface().(configv1.PluginSet)
		if ok && (len(set.Enabled) > 0 || len(set.Disabled) > 0) {
			d.Field(i).Set(s.Field(i))
		}
	}
}

func TestVariantIsBerthsProfileWithTheOverlay(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "headroom-first.yaml")
	overlay := `plugins:
  filter:
    enabled:
    - name: PriorityHeadroom
pluginConfig:
- name: PriorityPlacement
  args: {packBelowPriority: 0}
`
	if err := os.WriteFile(file, []byte(overlay), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := withVariants(slices.Clone(profiles[:2]), []string{"first=" + file})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[2].name != "first" {
		t.Fatalf("got profiles %v, want default, berth, first", profileNames(out))
	}
	render := func(p profile) configv1.KubeSchedulerProfile {
		path, err := p.render(filepath.Join(dir, p.name), nil)
		if err != nil {
			t.Fatal(err)
		}
		return readRendered(t, path).Profiles[0]
	}
	berth, variant := render(out[1]), render(out[2])

	if got := variant.Plugins.Filter.Enabled; len(got) != 1 || got[0].Name != "PriorityHeadroom" {
		t.Errorf("filter.enabled %v, want the overlay's [PriorityHeadroom]", got)
	}
	if !reflect.DeepEqual(variant.Plugins.MultiPoint, berth.Plugins.MultiPoint) {
		t.Errorf("multiPoint %v, want berth's %v: the overlay does not list it", variant.Plugins.MultiPoint, berth.Plugins.MultiPoint)
	}
	if len(berth.Plugins.Filter.Enabled) != 0 {
		t.Errorf("berth's own profile got the variant's filter.enabled %v", berth.Plugins.Filter.Enabled)
	}
	args := map[string]string{}
	for _, pc := range variant.PluginConfig {
		args[pc.Name] = string(pc.Args.Raw)
	}
	if got := args["PriorityPlacement"]; got != `{"packBelowPriority":0}` {
		t.Errorf("PriorityPlacement args %s, want the overlay's", got)
	}
	if len(variant.PluginConfig) != len(berth.PluginConfig) || args["PriorityHeadroom"] == "" {
		t.Errorf("pluginConfig for %v, want berth's plugins with PriorityPlacement's replaced", slices.Collect(maps.Keys(args)))
	}
	if name := ptr.Deref(variant.SchedulerName, ""); name != "default-scheduler" {
		t.Errorf("schedulerName %q, want default-scheduler", name)
	}
}

func TestVariantFlagErrorsNameTheProblem(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.yaml", "pluginConfig:\n- name: PriorityPlacement\n  args: {packBelowPriority: 0}\n")
	tests := []struct {
		name    string
		specs   []string
		wantErr string
	}{
		{"no file", []string{"nopack"}, "want NAME=FILE"},
		{"an upper-case name", []string{"NoPack=" + good}, "NAME must be lower-case letters, digits and '-'"},
		{"a standard profile's name", []string{"berth=" + good}, "there is already a profile named berth"},
		{"the same name twice", []string{"x=" + good, "x=" + good}, "there is already a profile named x"},
		{"a missing file", []string{"x=" + filepath.Join(dir, "none.yaml")}, "no such file"},
		{"a wrong-case field", []string{"x=" + write("case.yaml", "pluginconfig:\n- name: PriorityPlacement\n")}, `unknown field "pluginconfig"`},
		{"a field of the whole configuration", []string{"x=" + write("profiles.yaml", "profiles: []\n")}, `unknown field "profiles"`},
		{"a field given twice", []string{"x=" + write("twice.yaml", "pluginConfig: []\npluginConfig: []\n")}, "already set"},
		{"an empty overlay", []string{"x=" + write("empty.yaml", "plugins: null\n")}, "sets neither plugins nor pluginConfig"},
		{"an entry without a plugin name", []string{"x=" + write("noname.yaml", "pluginConfig:\n- args: {}\n")}, "pluginConfig[0] has no plugin name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := withVariants(slices.Clone(profiles[:2]), tt.specs)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func profileNames(ps []profile) []string {
	var names []string
	for _, p := range ps {
		names = append(names, p.name)
	}
	return names
}

// TestShippedVariantsAreConfigurationsBerthSchedulerAccepts renders every overlay in
// config/variants (the experiments docs/benchmarks.md reports) onto berth's profile and
// checks the result as berth-scheduler checks its configuration before it starts, so a
// variant cannot rot into one every workload fails on; and that the check does catch a
// bad overlay.
func TestShippedVariantsAreConfigurationsBerthSchedulerAccepts(t *testing.T) {
	files, err := filepath.Glob("config/variants/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no variants in config/variants (%v)", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("pluginConfig:\n- name: PriorityPlacement\n  args: {packBelowPriority: low}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range append(files, bad) {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			out, err := withVariants(slices.Clone(profiles[:2]), []string{name + "=" + file})
			if err != nil {
				t.Fatal(err)
			}
			path, err := out[2].render(filepath.Join(t.TempDir(), name), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = plugins.CheckConfigFile(path)
			if file == bad {
				if err == nil || !strings.Contains(err.Error(), "packBelowPriority") {
					t.Fatalf("a bad overlay: got %v, want an error naming packBelowPriority", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSummaryHasTwoColumnsPerVariant checks the table as a reader sees it: a
// variant's median and its ratio to default's after berth's, and "–" where a profile
// has no figure. A row of rare events shows the runs' sum: one stall in three runs.
func TestSummaryHasTwoColumnsPerVariant(t *testing.T) {
	figures := map[string]map[string]map[string][]float64{
		"PreemptionAsync/1000Nodes": {
			"default":  {"throughput, average": {300, 296}, wallTime: {8, 8}, flushedTitle: {0, 1, 0}},
			"berth":    {"throughput, average": {259, 261}, wallTime: {9, 9}, flushedTitle: {0, 0, 0}},
			"pack-off": {"throughput, average": {303, 303}},
		},
	}
	want := `
#### PreemptionAsync/1000Nodes (2 run(s), medians)

| figure | default profile | berth profile | berth/default | pack-off | pack-off/default |
|---|---:|---:|---:|---:|---:|
| throughput, average (pods/s) | 298 | 260 | 0.87 | 303 | 1.02 |
| measured phase, wall time (s) | 8 | 9 | 1.12 | – | – |
| pods bound only after the periodic flush (whole workload) (pods, all runs) | 1 | 0 | 0.00 | – | – |
`
	if got := summaryTable(figures, []string{"pack-off"}); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
