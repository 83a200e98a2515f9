package plugins

import (
	"os"
	"strings"
	"testing"
)

func configWith(profiles string) []byte {
	return []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n" + profiles)
}

// expectRefused requires CheckConfig to refuse the profiles with an error containing want.
func expectRefused(t *testing.T, profiles, want string) {
	t.Helper()
	if err := CheckConfig("config.yaml", configWith(profiles)); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}

// The framework is built only after the check, so the check is what names a plugins
// list's mistakes; a misspelt disable would otherwise leave the plugin running.
func TestCheckConfigNamesAPluginsListEntryThatIsNoPlugin(t *testing.T) {
	for _, tc := range []struct {
		name, profiles string
		want           string // "" accepts
	}{
		{"a misspelt berth plugin disabled at score",
			"- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: PriorityPlacement\n    score:\n      disabled:\n      - name: PriorityPlacment\n",
			"config.yaml: profile berth-scheduler: plugins.score.disabled names PriorityPlacment, which is no plugin of berth-scheduler (did you mean PriorityPlacement?)"},
		{"a wrong-case berth plugin enabled under multiPoint",
			"- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: QosPlacement\n",
			"plugins.multiPoint.enabled names QosPlacement, which is no plugin of berth-scheduler (did you mean QoSPlacement?)"},
		{"a misspelt upstream plugin enabled at filter",
			"- schedulerName: berth-scheduler\n  plugins:\n    filter:\n      enabled:\n      - name: NodeResourceFit\n",
			"plugins.filter.enabled names NodeResourceFit, which is no plugin of berth-scheduler (did you mean NodeResourcesFit?)"},
		{"a name like no plugin at all",
			"- schedulerName: berth-scheduler\n  plugins:\n    preEnqueue:\n      enabled:\n      - name: Zzzzzzzzzzzz\n",
			"plugins.preEnqueue.enabled names Zzzzzzzzzzzz, which is no plugin of berth-scheduler;"},
		{"every plugin disabled with *",
			"- schedulerName: berth-scheduler\n  plugins:\n    score:\n      disabled:\n      - name: \"*\"\n      enabled:\n      - name: NodeResourcesFit\n",
			""},
		{"* is no plugin to enable",
			"- schedulerName: berth-scheduler\n  plugins:\n    score:\n      enabled:\n      - name: \"*\"\n",
			"plugins.score.enabled names *, which is no plugin of berth-scheduler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckConfig("config.yaml", configWith(tc.profiles))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error()+";", tc.want):
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestCheckConfigNamesAProfileWithoutSchedulerNameByItsPlace(t *testing.T) {
	err := CheckConfig("config.yaml", configWith("- pluginConfig:\n  - name: QoSPlacement\n    args:\n      maxMemoryLimitOvercommitPercent: -1\n"))
	if err == nil || !strings.Contains(err.Error(), "config.yaml:7: profile profiles[0]: pluginConfig[0]: QoSPlacement") {
		t.Fatalf("error %v does not name the profile by its place", err)
	}
}

func TestCheckConfigAcceptsTheShippedConfiguration(t *testing.T) {
	data, err := os.ReadFile("../../manifests/base/scheduler-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckConfig("scheduler-config.yaml", data); err != nil {
		t.Fatal(err)
	}
}

// Enabled under multiPoint but disabled at every extension point it implements, a
// plugin runs nowhere, and arguments given for it would apply to nothing.
func TestCheckConfigRefusesArgumentsForAPluginDisabledAtEveryPoint(t *testing.T) {
	const qap = "- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: QoSAwarePreemption\n" +
		"    postFilter:\n      disabled:\n      - name: DefaultPreemption\n"
	const qapArgs = "  pluginConfig:\n  - name: QoSAwarePreemption\n    args:\n      guaranteedPriorityGap: 1000\n"
	for _, tc := range []struct {
		name, profiles string
		refused        bool
	}{
		{"QoSAwarePreemption disabled at postFilter and preEnqueue",
			qap + "      - name: QoSAwarePreemption\n    preEnqueue:\n      disabled:\n      - name: QoSAwarePreemption\n" + qapArgs, true},
		{"QoSAwarePreemption disabled at preEnqueue only",
			qap + "    preEnqueue:\n      disabled:\n      - name: QoSAwarePreemption\n" + qapArgs, false},
		{"PriorityHeadroom disabled at preFilter and filter",
			"- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: PriorityHeadroom\n" +
				"    preFilter:\n      disabled:\n      - name: PriorityHeadroom\n    filter:\n      disabled:\n      - name: PriorityHeadroom\n" +
				"  pluginConfig:\n  - name: PriorityHeadroom\n    args:\n      reservations: []\n", true},
		{"PriorityHeadroom enabled at preFilter and filter by name",
			"- schedulerName: berth-scheduler\n  plugins:\n    preFilter:\n      enabled:\n      - name: PriorityHeadroom\n    filter:\n      enabled:\n      - name: PriorityHeadroom\n" +
				"  pluginConfig:\n  - name: PriorityHeadroom\n    args:\n      reservations: []\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckConfig("config.yaml", configWith(tc.profiles))
			if !tc.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "pluginConfig has arguments for ") || !strings.Contains(err.Error(), "which the profile does not enable at any extension point") {
				t.Fatalf("error %v, want one about arguments for a plugin enabled nowhere", err)
			}
		})
	}
}

// Arguments of the wrong shape are named by field and shape, not by Go type.
func TestCheckConfigSaysWhatShapeArgumentsTake(t *testing.T) {
	for _, tc := range []struct{ name, profiles, want string }{
		{"a list for the args",
			"- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: QoSPlacement\n  pluginConfig:\n  - name: QoSPlacement\n    args: [150]\n",
			"config.yaml:11: profile berth-scheduler: pluginConfig[0]: QoSPlacement: args: must be an object (a map of fields); allowed: maxMemoryLimitOvercommitPercent"},
		{"a number for a map of resources",
			"- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: PriorityHeadroom\n  pluginConfig:\n  - name: PriorityHeadroom\n    args:\n      reservations:\n      - belowPriority: 1000\n        reservePercent: 10\n",
			"PriorityHeadroom: args.reservations[0].reservePercent: number is not allowed here, want an object (a map of names to values, each an integer from -2147483648 to 2147483647)"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectRefused(t, tc.profiles, tc.want) })
	}
}

// The line named is the bad field's, found by the error's field path (list indices and
// map keys included), not the line where the plugin's args start.
func TestCheckConfigNamesTheLineOfTheBadField(t *testing.T) {
	headroom := func(reservations string) string {
		return "- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: PriorityHeadroom\n" +
			"  pluginConfig:\n  - name: PriorityHeadroom\n    args:\n      reservations:\n" + reservations // line 13 is the first reservation
	}
	for _, tc := range []struct{ name, profiles, want string }{
		{"a percent out of range in a block map",
			headroom("      - belowPriority: 1000000\n        reservePercent:\n          cpu: 10\n          memory: 110\n"),
			"config.yaml:16: profile berth-scheduler: pluginConfig[0]: PriorityHeadroom: args.reservations[0].reservePercent[memory]: Invalid value: 110"},
		{"a percent out of range in a flow map of the second reservation",
			headroom("      - belowPriority: 1000000\n        reservePercent: {cpu: 10}\n      - belowPriority: 1000\n        reservePercent: {cpu: 110}\n"),
			"config.yaml:16: profile berth-scheduler: pluginConfig[0]: PriorityHeadroom: args.reservations[1].reservePercent[cpu]: Invalid value: 110"},
		{"a priority beyond int32 in the second reservation",
			headroom("      - belowPriority: 1000000\n        reservePercent: {cpu: 10}\n      - reservePercent: {cpu: 10}\n        belowPriority: 3000000000\n"),
			"config.yaml:16: profile berth-scheduler: pluginConfig[0]: PriorityHeadroom: args.reservations[1].belowPriority: number 3000000000 is not allowed here"},
		{"a missing field at its reservation",
			headroom("      - belowPriority: 1000000\n        reservePercent: {cpu: 10}\n      - belowPriority: 1000\n"),
			"config.yaml:15: profile berth-scheduler: pluginConfig[0]: PriorityHeadroom: args.reservations[1].reservePercent: Required value"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectRefused(t, tc.profiles, tc.want) })
	}
}

// Upstream's loader reads the file as YAML 1.1 (sigs.k8s.io/yaml): an unquoted yes or
// on reaches the plugin as a boolean. The check reads it the same way, so the mistake
// is named with its line before anything starts, not at plugin start without a file.
func TestCheckConfigReadsArgumentsAsUpstreamsYAMLDoes(t *testing.T) {
	for _, tc := range []struct {
		name, profiles, want string
	}{
		{"PriorityTaints value yes",
			"- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: PriorityTaints\n" +
				"  pluginConfig:\n  - name: PriorityTaints\n    args:\n      rules:\n      - key: berth.io/reserved\n        value: yes\n        minPriority: 1000000\n",
			"config.yaml:14: profile berth-scheduler: pluginConfig[0]: PriorityTaints: args.rules[0].value: bool is not allowed here, want a string"},
		{"PriorityPlacement spreadTopologyKey on",
			"- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: PriorityPlacement\n" +
				"  pluginConfig:\n  - name: PriorityPlacement\n    args:\n      spreadTopologyKey: on\n",
			"PriorityPlacement: args.spreadTopologyKey: bool is not allowed here, want a string"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectRefused(t, tc.profiles, tc.want) })
	}
	// Quoted, the same values are strings and pass.
	quoted := "- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: PriorityTaints\n" +
		"  pluginConfig:\n  - name: PriorityTaints\n    args:\n      rules:\n      - key: berth.io/reserved\n        value: \"yes\"\n        minPriority: 1000000\n"
	if err := CheckConfig("config.yaml", configWith(quoted)); err != nil {
		t.Fatalf("a quoted yes is refused: %v", err)
	}
}
