package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sched/berth/pkg/apis/config"
)

// badConfigs are invalid scheduler configurations and a fragment the binary's last
// line of output must contain: the field at fault.
// withArgs is a berth-scheduler profile that enables plugin with the given args (YAML,
// indented for the args key).
func withArgs(plugin, args string) string {
	return "- schedulerName: berth-scheduler\n" +
		"  plugins:\n    multiPoint:\n      enabled:\n      - name: " + plugin + "\n" +
		"    queueSort:\n      disabled:\n      - name: PrioritySort\n" +
		"    postFilter:\n      disabled:\n      - name: DefaultPreemption\n" +
		"  pluginConfig:\n  - name: " + plugin + "\n    args:\n" + args
}

// badConfigs are invalid scheduler configurations and fragments the binary's last line
// of output must contain: the field at fault and what is allowed.
var badConfigs = []struct {
	name     string
	profile  string // YAML of the profiles list
	wantLast []string
}{
	{"unknown plugin", "- schedulerName: berth-scheduler\n  plugins:\n    filter:\n      enabled:\n      - name: NoSuchPlugin\n",
		[]string{"profile berth-scheduler: plugins.filter.enabled names NoSuchPlugin, which is no plugin of berth-scheduler"}},
	{"a misspelt plugin disabled", "- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: PriorityPlacement\n    score:\n      disabled:\n      - name: PriorityPlacment\n",
		[]string{"profile berth-scheduler: plugins.score.disabled names PriorityPlacment, which is no plugin of berth-scheduler (did you mean PriorityPlacement?)"}},
	{"missing scheduler name", "- schedulerName: \"\"\n",
		[]string{"profiles[0].schedulerName", "Required value"}},

	{"PriorityQoSSort takes no args", withArgs("PriorityQoSSort", "      order: reversed\n"),
		[]string{"PriorityQoSSort", "unknown field", "order"}},

	{"PriorityHeadroom percent above 100", withArgs("PriorityHeadroom", "      reservations:\n      - belowPriority: 1000\n        reservePercent: {cpu: 120}\n"),
		[]string{"PriorityHeadroom", "args.reservations[0].reservePercent[cpu]", "between 0 and 100"}},
	{"PriorityHeadroom without belowPriority", withArgs("PriorityHeadroom", "      reservations:\n      - reservePercent: {cpu: 10}\n"),
		[]string{"args.reservations[0].belowPriority", "Required value"}},
	{"PriorityHeadroom duplicate bound", withArgs("PriorityHeadroom", "      reservations:\n      - belowPriority: 1000\n        reservePercent: {cpu: 10}\n      - belowPriority: 1000\n        reservePercent: {memory: 10}\n"),
		[]string{"args.reservations[1].belowPriority", "Duplicate value"}},
	{"PriorityHeadroom without percents", withArgs("PriorityHeadroom", "      reservations:\n      - belowPriority: 1000\n"),
		[]string{"args.reservations[0].reservePercent", "Required value"}},
	{"PriorityHeadroom invalid resource name", withArgs("PriorityHeadroom", "      reservations:\n      - belowPriority: 1000\n        reservePercent: {gpu: 10}\n"),
		[]string{"args.reservations[0].reservePercent[gpu]", "extended resource"}},
	{"PriorityHeadroom misspelt field", withArgs("PriorityHeadroom", "      reservation: []\n"),
		[]string{"PriorityHeadroom", "unknown field", "reservation"}},

	{"PriorityTaints without key", withArgs("PriorityTaints", "      rules:\n      - minPriority: 10\n"),
		[]string{"PriorityTaints", "args.rules[0].key", "Required value"}},
	{"PriorityTaints invalid key", withArgs("PriorityTaints", "      rules:\n      - key: -bad-\n        minPriority: 10\n"),
		[]string{"args.rules[0].key", "Invalid value"}},
	{"PriorityTaints invalid value", withArgs("PriorityTaints", "      rules:\n      - key: berth.io/reserved\n        value: not a value!\n        minPriority: 10\n"),
		[]string{"args.rules[0].value", "Invalid value"}},
	{"PriorityTaints without minPriority", withArgs("PriorityTaints", "      rules:\n      - key: berth.io/reserved\n"),
		[]string{"args.rules[0].minPriority", "Required value"}},
	{"PriorityTaints duplicate rule", withArgs("PriorityTaints", "      rules:\n      - key: berth.io/reserved\n        minPriority: 10\n      - key: berth.io/reserved\n        minPriority: 20\n"),
		[]string{"args.rules[1]", "Duplicate value"}},

	{"PriorityPlacement overlapping bands", withArgs("PriorityPlacement", "      criticalPriority: 100\n      packBelowPriority: 1000\n"),
		[]string{"PriorityPlacement", "args.packBelowPriority", "criticalPriority"}},
	{"PriorityPlacement invalid topology key", withArgs("PriorityPlacement", "      spreadTopologyKey: not a key!\n"),
		[]string{"args.spreadTopologyKey", "Invalid value"}},

	{"QoSPlacement percent below 100", withArgs("QoSPlacement", "      maxMemoryLimitOvercommitPercent: 50\n"),
		[]string{"QoSPlacement", "args.maxMemoryLimitOvercommitPercent", "Invalid value: 50"}},
	{"QoSPlacement percent above 1000", withArgs("QoSPlacement", "      maxMemoryLimitOvercommitPercent: 5000\n"),
		[]string{"args.maxMemoryLimitOvercommitPercent", "Invalid value: 5000"}},

	{"QoSAwarePreemption negative gap", withArgs("QoSAwarePreemption", "      guaranteedPriorityGap: -1\n"),
		[]string{"QoSAwarePreemption", "args.guaranteedPriorityGap", "Invalid value: -1"}},
	{"QoSAwarePreemption gap beyond system-cluster-critical", withArgs("QoSAwarePreemption", "      guaranteedPriorityGap: 3000000000\n"),
		[]string{"args.guaranteedPriorityGap", "must be <= 2000000000"}},
	{"QoSAwarePreemption zero cost", withArgs("QoSAwarePreemption", "      qosCost: {bestEffort: 1, burstable: 0, guaranteed: 4}\n"),
		[]string{"args.qosCost.burstable", "must be >= 1"}},
	{"QoSAwarePreemption costs out of QoS order", withArgs("QoSAwarePreemption", "      qosCost: {bestEffort: 5, burstable: 2, guaranteed: 4}\n"),
		[]string{"args.qosCost"}},
	{"QoSAwarePreemption percentage above 100", withArgs("QoSAwarePreemption", "      minCandidateNodesPercentage: 150\n"),
		[]string{"args.minCandidateNodesPercentage", "150"}},

	// Configuration that upstream would silently misread.
	{"wrong-case required field names the field, not a missing value", withArgs("PriorityTaints", "      rules:\n      - key: berth.io/reserved\n        minpriority: 10\n"),
		[]string{"profile berth-scheduler", "PriorityTaints: args.rules[0].minpriority", "unknown field minpriority (did you mean minPriority?)"}},
	{"a key given twice names the plugin and the key", withArgs("PriorityHeadroom", "      reservations:\n      - belowPriority: 1000\n        reservePercent: {cpu: 10, cpu: 20}\n"),
		[]string{`config.yaml:`, "profile berth-scheduler", "PriorityHeadroom", "reservePercent.cpu: duplicate key cpu"}},
	{"hugepages without a page size", withArgs("PriorityHeadroom", "      reservations:\n      - belowPriority: 1000\n        reservePercent: {hugepages-foo: 10}\n"),
		[]string{"args.reservations[0].reservePercent[hugepages-foo]", "hugepages must name a page size"}},
	{"a kubernetes.io name no node advertises", withArgs("PriorityHeadroom", "      reservations:\n      - belowPriority: 1000\n        reservePercent: {kubernetes.io/batteries: 10}\n"),
		[]string{"args.reservations[0].reservePercent[kubernetes.io/batteries]", "extended resource"}},
	{"pluginConfig for a misspelt plugin", withArgs("PriorityHeadroom", "      reservations: []\n") + "  - name: PriorityHeadRoom\n    args: {}\n",
		[]string{"profile berth-scheduler", "pluginConfig names PriorityHeadRoom", "did you mean PriorityHeadroom?"}},
	{"arguments for a berth plugin the profile does not enable", withArgs("PriorityHeadroom", "      reservations: []\n") + "  - name: PriorityTaints\n    args: {rules: []}\n",
		[]string{"profile berth-scheduler", "arguments for PriorityTaints, which the profile does not enable"}},
	{"QoSAwarePreemption beside DefaultPreemption", "- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: QoSAwarePreemption\n",
		[]string{"profile berth-scheduler", "QoSAwarePreemption and DefaultPreemption are both enabled at postFilter", "plugins.postFilter.disabled"}},
	{"PriorityHeadroom's Filter without its PreFilter", "- schedulerName: berth-scheduler\n  plugins:\n    filter:\n      enabled:\n      - name: PriorityHeadroom\n",
		[]string{"profile berth-scheduler", "PriorityHeadroom is enabled at filter but not at preFilter"}},
	{"QoSPlacement's Filter without its PreFilter", "- schedulerName: berth-scheduler\n  plugins:\n    filter:\n      enabled:\n      - name: QoSPlacement\n",
		[]string{"QoSPlacement is enabled at filter but not at preFilter"}},
	{"PriorityTaints' Filter without its PreFilter", "- schedulerName: berth-scheduler\n  plugins:\n    filter:\n      enabled:\n      - name: PriorityTaints\n",
		[]string{"PriorityTaints is enabled at filter but not at preFilter"}},
	{"PriorityPlacement's Score without its PreScore", "- schedulerName: berth-scheduler\n  plugins:\n    score:\n      enabled:\n      - name: PriorityPlacement\n",
		[]string{"PriorityPlacement is enabled at score but not at preScore"}},
	{"a berth plugin's PreScore disabled under multiPoint", "- schedulerName: berth-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: QoSPlacement\n    preScore:\n      disabled:\n      - name: QoSPlacement\n",
		[]string{"QoSPlacement is enabled at score but not at preScore"}},
}

func TestBadConfigurationStopsTheBinaryNamingTheField(t *testing.T) {
	for _, tc := range badConfigs {
		t.Run(tc.name, func(t *testing.T) { expectRefused(t, tc.profile, tc.wantLast...) })
	}
}

// TestWrongCaseArgumentStopsTheBinary: every field of every berth plugin, written with
// its first letter raised, all lower and all upper, stops the binary with a last line
// naming the profile, the plugin, the field and its right spelling. (The framework
// decodes names case-sensitively: such a field would otherwise be dropped in silence.)
func TestWrongCaseArgumentStopsTheBinary(t *testing.T) {
	for _, plugin := range []struct {
		name string
		args config.Args
	}{
		{"PriorityHeadroom", &config.PriorityHeadroomArgs{}},
		{"PriorityTaints", &config.PriorityTaintsArgs{}},
		{"PriorityPlacement", &config.PriorityPlacementArgs{}},
		{"QoSPlacement", &config.QoSPlacementArgs{}},
		{"QoSAwarePreemption", &config.QoSAwarePreemptionArgs{}},
	} {
		for _, path := range config.FieldPaths(plugin.args) {
			name := path[len(path)-1]
			for _, variant := range caseVariants(name) {
				raw := config.RawWithField(plugin.args, path, variant, "1")
				t.Run(plugin.name+"/"+variant, func(t *testing.T) {
					expectRefused(t, withArgs(plugin.name, "      "+raw+"\n"),
						"profile berth-scheduler", plugin.name+": args.",
						"unknown field "+variant+" (did you mean "+name+"?)")
				})
			}
		}
	}
}

// caseVariants are the wrong-case spellings users type: the first letter raised, all
// lower, all upper (those that differ from name).
func caseVariants(name string) []string {
	var out []string
	for _, v := range []string{strings.ToUpper(name[:1]) + name[1:], strings.ToLower(name), strings.ToUpper(name)} {
		if v != name && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// expectRefused runs the binary with the profiles and requires it to exit non-zero
// with a last line containing every fragment.
func expectRefused(t *testing.T, profiles string, wantLast ...string) {
	t.Helper()
	config := "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n" +
		"leaderElection:\n  leaderElect: false\n" +
		"clientConnection:\n  kubeconfig: " + cp.Kubeconfig() + "\n" +
		"profiles:\n" + profiles
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// A configuration the binary wrongly accepts would run forever: bound it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--config="+path, "--secure-port=0").CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("binary still running 30s after start: it accepted the configuration; output:\n%s", out)
	}
	exitErr, ok := err.(*exec.ExitError)
	if !ok || exitErr.ExitCode() == 0 {
		t.Fatalf("binary did not fail on a bad configuration (err %v); output:\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	for _, want := range wantLast {
		if !strings.Contains(last, want) {
			t.Errorf("last line %q does not contain %q", last, want)
		}
	}
}
