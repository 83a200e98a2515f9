package sim

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	frameworkplugins "k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"sigs.k8s.io/yaml"
)

// Sweep is one --sweep flag: a plugin's score weight or one of its arguments, and the
// values to try. Sweeps expand into the cartesian grid over every configuration.
type Sweep struct {
	// Plugin is the plugin's name in the registry.
	Plugin string
	// Path is "weight", or the argument's path inside the plugin's args, dotted
	// (e.g. guaranteedPriorityGap, qosCost.guaranteed, scoringStrategy.type).
	Path string
	// Values are the values to try, as YAML scalars.
	Values []string
}

// String is the flag form, Plugin.path=v1,v2.
func (s Sweep) String() string {
	return s.Plugin + "." + s.Path + "=" + strings.Join(s.Values, ",")
}

// ParseSweep reads "Plugin.path=v1,v2,...". The plugin must be one the scheduler knows
// (upstream's in-tree plugins or registry's), and a weight a number between minWeight
// and maxWeight; whether it is enabled, and whether the argument exists, is checked
// against each configuration by Apply.
func ParseSweep(flag string, registry frameworkruntime.Registry) (Sweep, error) {
	target, values, ok := strings.Cut(flag, "=")
	plugin, path, okDot := strings.Cut(target, ".")
	if !ok || !okDot || plugin == "" || path == "" || values == "" {
		return Sweep{}, fmt.Errorf("--sweep %q: want Plugin.weight=V1,V2,... or Plugin.argument=V1,V2,... (e.g. PriorityPlacement.weight=1,2,4)", flag)
	}
	known := knownPlugins(registry)
	if !slices.Contains(known, plugin) {
		return Sweep{}, fmt.Errorf("--sweep %q: unknown plugin %q; known plugins: %s", flag, plugin, strings.Join(known, ", "))
	}
	s := Sweep{Plugin: plugin, Path: path}
	for _, v := range strings.Split(values, ",") {
		if v = strings.TrimSpace(v); v == "" {
			return Sweep{}, fmt.Errorf("--sweep %q: empty value", flag)
		}
		if path == "weight" {
			if err := checkWeight(v); err != nil {
				return Sweep{}, fmt.Errorf("--sweep %q: %w", flag, err)
			}
		}
		s.Values = append(s.Values, v)
	}
	return s, nil
}

// The range of a score plugin's weight. Upstream's validation package has no bound for
// it to reuse: its framework runs a weight of 0 as 1 (getValidScoreWeights: "a weight
// of zero is not permitted") and lets a negative one invert the plugin's scores, and
// the field (schedconfig.Plugin.Weight) is an int32.
const (
	minWeight = 1
	maxWeight = math.MaxInt32
)

// checkWeight refuses a weight sweep value that is a number outside [minWeight,
// maxWeight], which would run as another weight than its label says or not decode;
// anything else is left to decoding the configuration, as setWeight reads it.
func checkWeight(value string) error {
	var w any
	if yaml.Unmarshal([]byte(value), &w) != nil {
		return nil // not YAML: decoding refuses it with its own message
	}
	if f, ok := w.(float64); ok && (f < minWeight || f > maxWeight) {
		return fmt.Errorf("weight %s is out of range: a score plugin's weight is between %d and %d (upstream's scheduler runs a weight of 0 as 1)", value, minWeight, maxWeight)
	}
	return nil
}

func knownPlugins(registry frameworkruntime.Registry) []string {
	var names []string
	for name := range frameworkplugins.NewInTreeRegistry() {
		names = append(names, name)
	}
	for name := range registry {
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Setting is one value of one sweep.
type Setting struct {
	Sweep Sweep
	Value string
}

// Grid expands sweeps into the cartesian product of their values, in flag order
// (the last sweep varies fastest). No sweeps give one empty point.
func Grid(sweeps []Sweep) [][]Setting {
	grid := [][]Setting{nil}
	for _, s := range sweeps {
		var next [][]Setting
		for _, point := range grid {
			for _, v := range s.Values {
				next = append(next, append(slices.Clone(point), Setting{Sweep: s, Value: v}))
			}
		}
		grid = next
	}
	return grid
}

// ApplySettings returns the configuration (YAML or JSON) with every setting applied to
// every profile, as the user would have written it by hand: a weight goes on the
// plugin's entry in plugins.score.enabled or plugins.multiPoint.enabled (added to
// multiPoint when the plugin is only enabled by upstream's defaults); an argument goes
// into the profile's pluginConfig entry for the plugin (added if missing). It refuses
// a setting that would not take effect: a plugin that no profile enables. Decoding the
// result (LoadConfig, then the plugin's own strict decoding) refuses unknown arguments
// and invalid values with the same message berth-scheduler gives.
func ApplySettings(config []byte, settings []Setting) ([]byte, error) {
	if len(settings) == 0 {
		return config, nil
	}
	defaulted, err := LoadConfig(config)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(config, &doc); err != nil {
		return nil, err
	}
	profiles, _ := doc["profiles"].([]any)
	if len(profiles) == 0 {
		// Upstream's default profile, written out so that it can be changed.
		profiles = []any{map[string]any{"schedulerName": defaulted.Profiles[0].SchedulerName}}
		doc["profiles"] = profiles
	}
	for _, s := range settings {
		applied := false
		for i, p := range profiles {
			profile, ok := p.(map[string]any)
			if !ok || i >= len(defaulted.Profiles) {
				continue
			}
			enabled := enabledPlugins(&defaulted.Profiles[i].Plugins.MultiPoint.Enabled, &defaulted.Profiles[i].Plugins.Score.Enabled)
			if s.Sweep.Path == "weight" {
				if !enabled[s.Sweep.Plugin] {
					continue
				}
				if err := setWeight(profile, s.Sweep.Plugin, s.Value); err != nil {
					return nil, fmt.Errorf("--sweep %s: %w", s.Sweep, err)
				}
			} else {
				if !enabledAnywhere(defaulted, i, s.Sweep.Plugin) {
					continue
				}
				if err := setArg(profile, s.Sweep.Plugin, s.Sweep.Path, s.Value); err != nil {
					return nil, fmt.Errorf("--sweep %s: %w", s.Sweep, err)
				}
			}
			applied = true
		}
		if !applied {
			where := "any extension point"
			if s.Sweep.Path == "weight" {
				where = "score (or multiPoint)"
			}
			return nil, fmt.Errorf("--sweep %s: plugin %s is not enabled at %s in any profile of this configuration, so the sweep would change nothing", s.Sweep, s.Sweep.Plugin, where)
		}
	}
	return yaml.Marshal(doc)
}

type schedPlugin = schedconfig.Plugin

// enabledAnywhere reports whether profile i enables plugin at some extension point.
func enabledAnywhere(cfg *schedconfig.KubeSchedulerConfiguration, i int, plugin string) bool {
	plugins := reflect.ValueOf(cfg.Profiles[i].Plugins).Elem()
	for f := 0; f < plugins.NumField(); f++ {
		if set, ok := plugins.Field(f).Interface().(schedconfig.PluginSet); ok {
			for _, p := range set.Enabled {
				if p.Name == plugin {
					return true
				}
			}
		}
	}
	return false
}

func enabledPlugins(sets ...*[]schedPlugin) map[string]bool {
	m := map[string]bool{}
	for _, set := range sets {
		for _, p := range *set {
			m[p.Name] = true
		}
	}
	return m
}

func setWeight(profile map[string]any, plugin, value string) error {
	var w any
	if err := yaml.Unmarshal([]byte(value), &w); err != nil {
		return err
	}
	plugins := child(profile, "plugins")
	for _, point := range []string{"score", "multiPoint"} {
		set := child(plugins, point)
		list, _ := set["enabled"].([]any)
		for _, e := range list {
			if entry, ok := e.(map[string]any); ok && entry["name"] == plugin {
				entry["weight"] = w
				return nil
			}
		}
	}
	multi := child(plugins, "multiPoint")
	list, _ := multi["enabled"].([]any)
	multi["enabled"] = append(list, map[string]any{"name": plugin, "weight": w})
	return nil
}

func setArg(profile map[string]any, plugin, path, value string) error {
	var v any
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		return err
	}
	configs, _ := profile["pluginConfig"].([]any)
	var entry map[string]any
	for _, c := range configs {
		if e, ok := c.(map[string]any); ok && e["name"] == plugin {
			entry = e
		}
	}
	if entry == nil {
		entry = map[string]any{"name": plugin}
		profile["pluginConfig"] = append(configs, entry)
	}
	args := child(entry, "args")
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		args = child(args, k)
	}
	args[keys[len(keys)-1]] = v
	return nil
}

// child returns m[key] as a map, creating it if absent.
func child(m map[string]any, key string) map[string]any {
	if c, ok := m[key].(map[string]any); ok {
		return c
	}
	c := map[string]any{}
	m[key] = c
	return c
}
