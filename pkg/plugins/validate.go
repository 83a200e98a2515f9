package plugins

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	frameworkplugins "k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultpreemption"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/priorityheadroom"
	"github.com/berth-sched/berth/pkg/plugins/priorityplacement"
	"github.com/berth-sched/berth/pkg/plugins/priorityqossort"
	"github.com/berth-sched/berth/pkg/plugins/prioritytaints"
	"github.com/berth-sched/berth/pkg/plugins/qosawarepreemption"
	"github.com/berth-sched/berth/pkg/plugins/qosplacement"
)

// argsOf are berth's plugins' argument types, to check a configuration's plugin
// arguments without building the plugins.
var argsOf = map[string]func() config.Args{
	priorityqossort.Name:    func() config.Args { return &config.NoArgs{} },
	priorityheadroom.Name:   func() config.Args { return &config.PriorityHeadroomArgs{} },
	prioritytaints.Name:     func() config.Args { return &config.PriorityTaintsArgs{} },
	priorityplacement.Name:  func() config.Args { return &config.PriorityPlacementArgs{} },
	qosplacement.Name:       func() config.Args { return &config.QoSPlacementArgs{} },
	qosawarepreemption.Name: func() config.Args { return &config.QoSAwarePreemptionArgs{} },
}

// instances are a nil value of each berth plugin's type, to learn the extension points
// it implements from the interfaces it satisfies, without building it.
var instances = map[string]fwk.Plugin{
	priorityqossort.Name:    (*priorityqossort.PriorityQoSSort)(nil),
	priorityheadroom.Name:   (*priorityheadroom.PriorityHeadroom)(nil),
	prioritytaints.Name:     (*prioritytaints.PriorityTaints)(nil),
	priorityplacement.Name:  (*priorityplacement.PriorityPlacement)(nil),
	qosplacement.Name:       (*qosplacement.QoSPlacement)(nil),
	qosawarepreemption.Name: (*qosawarepreemption.QoSAwarePreemption)(nil),
}

// CheckConfigFile checks a KubeSchedulerConfiguration file as berth-scheduler does
// before it starts (CheckConfig).
func CheckConfigFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return CheckConfig(path, data)
}

// CheckConfig refuses a KubeSchedulerConfiguration whose berth settings would not do
// what they say, with one line naming the file, line, profile, plugin and field (names
// unquoted: klog, which prints the error berth-scheduler exits with, escapes quotes):
//   - a berth plugin's arguments that its strict decoding refuses (a wrong-case,
//     unknown or repeated field, a value out of range; config.Decode);
//   - a pluginConfig entry for no plugin of the scheduler (a misspelt name), or for a
//     berth plugin the profile does not enable: upstream ignores both, and the plugin
//     would run on its defaults;
//   - a plugins list entry that names no plugin of the scheduler (unknownPluginNames);
//   - QoSAwarePreemption beside DefaultPreemption at postFilter: upstream's runs first
//     and berth's rules never apply;
//   - a berth plugin enabled at an extension point without the one it needs (Filter
//     without PreFilter, Score without PreScore): every pod would fail with a missing
//     cycle state, retried forever.
//
// Everything else is upstream's to say: CheckConfig decodes and validates the file with
// upstream's loader first, and returns its error (on one line) if it fails.
func CheckConfig(name string, data []byte) error {
	doc, err := parseYAML(data)
	if err != nil {
		return fmt.Errorf("%s: %s", name, oneLine(err.Error()))
	}
	// berth's arguments first, from the file itself: upstream's loader refuses a key
	// given twice without saying in which plugin's arguments, and decodes nothing of
	// them.
	var errs []string
	for i, profile := range items(mapValue(doc, "profiles")) {
		for _, e := range checkArgs(doc, i) {
			errs = append(errs, fmt.Sprintf("%s:%d: profile %s: %s", name, e.line, profileName(profile, i), e.msg))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	obj, gvk, err := scheme.Codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %s", name, oneLine(err.Error()))
	}
	cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
	if !ok {
		return fmt.Errorf("%s: not a KubeSchedulerConfiguration but %s", name, gvk)
	}
	if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		return fmt.Errorf("%s: %s", name, oneLine(err.Error()))
	}
	for i := range cfg.Profiles {
		p := &cfg.Profiles[i]
		where := fmt.Sprintf("%s: profile %s", name, p.SchedulerName)
		for _, e := range ValidateProfile(p) {
			errs = append(errs, where+": "+e)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// profileName names profile i of the file as the other messages do, by its
// schedulerName, or by its place in the list when the file leaves the name to
// upstream's defaulting.
func profileName(profile *yaml.Node, i int) string {
	if n := scalar(mapValue(profile, "schedulerName")); n != "" {
		return n
	}
	return fmt.Sprintf("profiles[%d]", i)
}

// CheckConfigBeforeRun makes the kube-scheduler command check its --config with
// CheckConfigFile before it starts anything.
func CheckConfigBeforeRun(cmd *cobra.Command) {
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if f := c.Flags().Lookup("config"); f != nil && f.Value.String() != "" {
			if err := CheckConfigFile(f.Value.String()); err != nil {
				return err
			}
		}
		return run(c, args)
	}
}

// ValidateProfile checks a decoded, defaulted profile (see CheckConfig) and returns one
// message per problem.
func ValidateProfile(p *schedconfig.KubeSchedulerProfile) []string {
	var errs []string
	known := frameworkplugins.NewInTreeRegistry()
	for name := range Registry() {
		known[name] = nil
	}
	for _, pc := range p.PluginConfig {
		_, isBerth := argsOf[pc.Name]
		switch {
		case isBerth && !enabledAnywhere(p, pc.Name):
			errs = append(errs, fmt.Sprintf("pluginConfig has arguments for %s, which the profile does not enable at any extension point; enable it (plugins.multiPoint.enabled) or remove its arguments", pc.Name))
		case !isBerth:
			if _, ok := known[pc.Name]; !ok {
				msg := fmt.Sprintf("pluginConfig names %s, which is no plugin of berth-scheduler", pc.Name)
				if s := closestBerthPlugin(pc.Name); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				errs = append(errs, msg)
			}
		}
	}
	errs = append(errs, unknownPluginNames(p, known)...)
	if enabledAt(p, postFilter, qosawarepreemption.Name) && enabledAt(p, postFilter, defaultpreemption.Name) {
		errs = append(errs, fmt.Sprintf("%s and %s are both enabled at postFilter: upstream's runs first and berth's rules would never apply; disable %s at postFilter (plugins.postFilter.disabled: [{name: %s}]), as the recommended profile does",
			qosawarepreemption.Name, defaultpreemption.Name, defaultpreemption.Name, defaultpreemption.Name))
	}
	for _, name := range sortedBerthPlugins() {
		for _, need := range needs {
			if implements(name, need.point) && enabledAt(p, need.point, name) && !enabledAt(p, need.needs, name) {
				errs = append(errs, fmt.Sprintf("%s is enabled at %s but not at %s, whose state its %s reads; enable it at both, or with plugins.multiPoint",
					name, need.point, need.needs, need.point))
			}
		}
	}
	return errs
}

// extensionPoint names an extension point as in KubeSchedulerConfiguration.
type extensionPoint string

const (
	preFilter  extensionPoint = "preFilter"
	filter     extensionPoint = "filter"
	postFilter extensionPoint = "postFilter"
	preScore   extensionPoint = "preScore"
	score      extensionPoint = "score"
)

// needs are the extension points that only work beside another: berth's Filter reads
// what its PreFilter wrote, its Score what its PreScore wrote.
var needs = []struct{ point, needs extensionPoint }{
	{filter, preFilter},
	{score, preScore},
}

// pluginSet is the profile's list for the point (the Plugins field of that name).
func pluginSet(p *schedconfig.KubeSchedulerProfile, point extensionPoint) schedconfig.PluginSet {
	field := strings.ToUpper(string(point[:1])) + string(point[1:])
	return reflect.ValueOf(p.Plugins).Elem().FieldByName(field).Interface().(schedconfig.PluginSet)
}

// pointInterfaces tells, per extension point a berth plugin may implement, whether a
// plugin does (multiPoint enables a plugin at exactly these).
var pointInterfaces = []struct {
	point      extensionPoint
	implements func(fwk.Plugin) bool
}{
	{"queueSort", func(pl fwk.Plugin) bool { _, ok := pl.(fwk.QueueSortPlugin); return ok }},
	{"preEnqueue", func(pl fwk.Plugin) bool { _, ok := pl.(fwk.PreEnqueuePlugin); return ok }},
	{preFilter, func(pl fwk.Plugin) bool { _, ok := pl.(fwk.PreFilterPlugin); return ok }},
	{filter, func(pl fwk.Plugin) bool { _, ok := pl.(fwk.FilterPlugin); return ok }},
	{postFilter, func(pl fwk.Plugin) bool { _, ok := pl.(fwk.PostFilterPlugin); return ok }},
	{preScore, func(pl fwk.Plugin) bool { _, ok := pl.(fwk.PreScorePlugin); return ok }},
	{score, func(pl fwk.Plugin) bool { _, ok := pl.(fwk.ScorePlugin); return ok }},
	{"reserve", func(pl fwk.Plugin) bool { _, ok := pl.(fwk.ReservePlugin); return ok }},
	{"permit", func(pl fwk.Plugin) bool { _, ok := pl.(fwk.PermitPlugin); return ok }},
	{"preBind", func(pl fwk.Plugin) bool { _, ok := pl.(fwk.PreBindPlugin); return ok }},
	{"bind", func(pl fwk.Plugin) bool { _, ok := pl.(fwk.BindPlugin); return ok }},
	{"postBind", func(pl fwk.Plugin) bool { _, ok := pl.(fwk.PostBindPlugin); return ok }},
}

// implements tells whether a plugin implements an extension point: berth's from their
// types; upstream's DefaultPreemption is a PostFilter plugin.
func implements(name string, point extensionPoint) bool {
	pl, ok := instances[name]
	if !ok {
		return name == defaultpreemption.Name && point == postFilter
	}
	for _, pi := range pointInterfaces {
		if pi.point == point {
			return pi.implements(pl)
		}
	}
	return false
}

// enabledAt tells whether the framework would run the plugin at the point, expanding
// multiPoint as upstream's framework does: enabled there explicitly, or enabled in
// multiPoint, implementing the point, and not disabled at it (by name or "*").
func enabledAt(p *schedconfig.KubeSchedulerProfile, point extensionPoint, name string) bool {
	set := pluginSet(p, point)
	if hasPlugin(set.Enabled, name) {
		return true
	}
	if !hasPlugin(p.Plugins.MultiPoint.Enabled, name) || !implements(name, point) {
		return false
	}
	return !hasPlugin(set.Disabled, name) && !hasPlugin(set.Disabled, "*")
}

// enabledAnywhere tells whether the framework would run a berth plugin at any extension
// point: enabled under multiPoint but disabled at every point it implements, it runs
// nowhere and its arguments apply to nothing.
func enabledAnywhere(p *schedconfig.KubeSchedulerProfile, name string) bool {
	for _, pi := range pointInterfaces {
		if enabledAt(p, pi.point, name) {
			return true
		}
	}
	return false
}

// unknownPluginNames refuses an entry of the plugins lists that names no plugin of the
// scheduler. Upstream ignores such a name under disabled (a misspelt disable leaves the
// plugin running), and under enabled fails only when it builds the framework, naming
// neither the list nor a likely spelling.
func unknownPluginNames(p *schedconfig.KubeSchedulerProfile, known frameworkruntime.Registry) []string {
	if p.Plugins == nil {
		return nil
	}
	var names []string
	for name := range known {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []string
	plugins := reflect.ValueOf(p.Plugins).Elem()
	for f := 0; f < plugins.NumField(); f++ {
		set, ok := plugins.Field(f).Interface().(schedconfig.PluginSet)
		if !ok {
			continue
		}
		field := plugins.Type().Field(f).Name
		point := strings.ToLower(field[:1]) + field[1:]
		for _, list := range []struct {
			name    string
			entries []schedconfig.Plugin
		}{{"enabled", set.Enabled}, {"disabled", set.Disabled}} {
			for _, pl := range list.entries {
				if _, ok := known[pl.Name]; ok || (list.name == "disabled" && pl.Name == "*") {
					continue
				}
				msg := fmt.Sprintf("plugins.%s.%s names %s, which is no plugin of berth-scheduler", point, list.name, pl.Name)
				if s := config.Closest(pl.Name, names, 3); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				errs = append(errs, msg)
			}
		}
	}
	return errs
}

func hasPlugin(list []schedconfig.Plugin, name string) bool {
	return slices.ContainsFunc(list, func(p schedconfig.Plugin) bool { return p.Name == name })
}

func sortedBerthPlugins() []string {
	var names []string
	for name := range argsOf {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// closestBerthPlugin is the berth plugin a name most likely misspells: the same name
// in another case, or one at most three edits away.
func closestBerthPlugin(name string) string {
	return config.Closest(name, sortedBerthPlugins(), 3)
}

// oneLine keeps an error on the one line that a log's last line shows (upstream's YAML
// errors span several).
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " ")
}

// argsError is one problem in a berth plugin's arguments, at a line of the file.
type argsError struct {
	line int
	msg  string
}

// checkArgs decodes the arguments of berth's plugins in profile i of the file, strictly,
// as the plugins will (config.Decode), so that a mistake is reported with its line
// before anything starts.
func checkArgs(doc *yaml.Node, i int) []argsError {
	profile := index(mapValue(doc, "profiles"), i)
	var errs []argsError
	for j, pc := range items(mapValue(profile, "pluginConfig")) {
		name := scalar(mapValue(pc, "name"))
		newArgs, ok := argsOf[name]
		if !ok {
			continue
		}
		argsNode := mapValue(pc, "args")
		line := pc.Line
		if argsNode != nil {
			line = argsNode.Line
		}
		where := fmt.Sprintf("pluginConfig[%d]: ", j)
		if dup := duplicateKey(argsNode, "args"); dup != nil {
			errs = append(errs, argsError{dup.line, where + name + ": " + dup.msg})
			continue
		}
		raw, err := nodeJSON(argsNode)
		if err != nil {
			errs = append(errs, argsError{line, where + name + ": args: " + err.Error()})
			continue
		}
		var obj runtime.Object
		if raw != nil {
			obj = &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}
		}
		if err := config.Decode(name, obj, newArgs()); err != nil {
			errs = append(errs, argsError{lineOf(argsNode, err.Error(), line), where + oneLine(err.Error())})
		}
	}
	return errs
}

func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{}, nil
	}
	return doc.Content[0], nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func index(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func scalar(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// duplicateKey finds a key given twice in a mapping under n (the YAML decoder upstream
// uses refuses the whole file without saying where in which plugin's arguments).
func duplicateKey(n *yaml.Node, path string) *argsError {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if seen[k.Value] {
				return &argsError{k.Line, fmt.Sprintf("%s.%s: duplicate key %s", path, k.Value, k.Value)}
			}
			seen[k.Value] = true
			if e := duplicateKey(n.Content[i+1], path+"."+k.Value); e != nil {
				return e
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if e := duplicateKey(c, fmt.Sprintf("%s[%d]", path, i)); e != nil {
				return e
			}
		}
	}
	return nil
}

// nodeJSON is the YAML node as JSON, the form the framework hands plugins their args
// in; nil for no args. The node is read as upstream's loader reads the file
// (sigs.k8s.io/yaml, YAML 1.1), not as yaml.v3 parsed it (YAML 1.2): an unquoted yes,
// no, on or off is a boolean to the plugin, and must be one to the check. A subtree
// that cannot stand alone (an alias to an anchor outside the args) is read from the
// parsed node instead.
func nodeJSON(n *yaml.Node) ([]byte, error) {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, nil
	}
	if text, err := yaml.Marshal(n); err == nil {
		if data, err := sigsyaml.YAMLToJSON(text); err == nil {
			return data, nil
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// argsPathRE finds the first field path an error message names, up to its colon:
// args.reservations[0].reservePercent[cpu], args.rules[0].minPrority.
var argsPathRE = regexp.MustCompile(`\bargs((?:\.[^.\[\]:\s]+|\[[^\]]*\])*):`)

// pathStepRE is one step of such a path: .field, or [index] or [key].
var pathStepRE = regexp.MustCompile(`\.([^.\[\]]+)|\[([^\]]*)\]`)

// lineOf finds the line of the field an error message names by following its path
// from the args node n: the line of the deepest key or list item the path reaches (a
// missing field's parent, say), def if it reaches none.
func lineOf(n *yaml.Node, msg string, def int) int {
	m := argsPathRE.FindStringSubmatch(msg)
	if m == nil {
		return def
	}
	line := def
	for _, step := range pathStepRE.FindAllStringSubmatch(m[1], -1) {
		if n == nil {
			break
		}
		name, key := step[1], step[2]
		if name == "" && n.Kind == yaml.SequenceNode {
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(n.Content) {
				break
			}
			n = n.Content[i]
			line = n.Line
			continue
		}
		if name == "" {
			name = key
		}
		var next *yaml.Node
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == name {
					line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}
