package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		[]string{"NoSuchPlugin", "does not exist"}},
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
	{"QoSAwarePreemption zero cost", withArgs("QoSAwarePreemption", "      qosCost: {bestEffort: 1, burstable: 0, guaranteed: 4}\n"),
		[]string{"args.qosCost.burstable", "must be >= 1"}},
	{"QoSAwarePreemption costs out of QoS order", withArgs("QoSAwarePreemption", "      qosCost: {bestEffort: 5, burstable: 2, guaranteed: 4}\n"),
		[]string{"args.qosCost"}},
	{"QoSAwarePreemption percentage above 100", withArgs("QoSAwarePreemption", "      minCandidateNodesPercentage: 150\n"),
		[]string{"args.minCandidateNodesPercentage", "150"}},
}

func TestBadConfigurationStopsTheBinaryNamingTheField(t *testing.T) {
	for _, tc := range badConfigs {
		t.Run(tc.name, func(t *testing.T) {
			config := "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n" +
				"leaderElection:\n  leaderElect: false\n" +
				"clientConnection:\n  kubeconfig: " + cp.Kubeconfig() + "\n" +
				"profiles:\n" + tc.profile
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
			for _, want := range tc.wantLast {
				if !strings.Contains(last, want) {
					t.Errorf("last line %q does not contain %q", last, want)
				}
			}
		})
	}
}
