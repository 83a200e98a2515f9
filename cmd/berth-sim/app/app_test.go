package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/pkg/plugins"
)

// TestMain lets the test binary serve as berth-sim's worker process, as berth-sim's own
// executable does.
func TestMain(m *testing.M) {
	if os.Getenv(sim.WorkerEnv) == "1" {
		os.Exit(sim.WorkerMain(plugins.Registry()))
	}
	os.Exit(m.Run())
}

// berthSim runs the command as a user would type it, from the repository root so that
// example paths read as in the docs; it returns stdout, stderr and the error.
func berthSim(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(&Options{Out: &out, Err: &errOut, CommandLine: append([]string{"berth-sim"}, args...)})
	cmd.SetArgs(args)
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join("..", "..", "..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestRunComparesConfigurationsInOneTable(t *testing.T) {
	out, _, err := berthSim(t, "run", "--scenario", "examples/sim/mixed-qos-memory-pressure.yaml", "--config", "default", "--config", "berth")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if !strings.Contains(lines[0], "default") || !strings.Contains(lines[0], "berth") {
		t.Errorf("header %q does not name both runs as columns", lines[0])
	}
	for _, row := range []string{"scheduled", "victims", "Guaranteed", "pending time p99", "placement hash", "wall time"} {
		if !strings.Contains(out, row) {
			t.Errorf("table has no %q row:\n%s", row, out)
		}
	}
}

// resultsOf reads results.json the way a researcher's script would.
func resultsOf(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]any{}
	for _, r := range doc.Runs {
		byName[r["name"].(string)] = r
	}
	return byName
}

// TestReplaysArePlacementForPlacementIdentical replays a preemption-heavy scenario three
// times under berth's profile and upstream's and requires the same placement hash each
// time (the hash covers every pod's node, outcome, bind and end time and preemptor).
func TestReplaysArePlacementForPlacementIdentical(t *testing.T) {
	var hashes []map[string]string
	for i := 0; i < 3; i++ {
		dir := filepath.Join(t.TempDir(), "out")
		if _, _, err := berthSim(t, "run", "--scenario", "examples/sim/preemption-storm.yaml", "--config", "default", "--config", "berth", "--out", dir); err != nil {
			t.Fatal(err)
		}
		runs := resultsOf(t, dir)
		h := map[string]string{}
		for name, r := range runs {
			if p, _ := r["preemptions"].(float64); p == 0 {
				t.Fatalf("run %s preempted nothing: the scenario no longer tests preemption", name)
			}
			h[name] = r["placementHash"].(string)
		}
		hashes = append(hashes, h)
	}
	for _, name := range []string{"default", "berth"} {
		if hashes[0][name] == "" || hashes[0][name] != hashes[1][name] || hashes[1][name] != hashes[2][name] {
			t.Errorf("%s: placement hashes of three replays differ: %s %s %s", name, hashes[0][name], hashes[1][name], hashes[2][name])
		}
	}
	if hashes[0]["default"] == hashes[0]["berth"] {
		t.Errorf("berth's and upstream's profile placed every pod alike; the hash would not tell runs apart")
	}
}

func TestSweepExpandsIntoOneRunPerValue(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, _, err := berthSim(t, "run", "--scenario", "examples/sim/placement-sweep.yaml", "--sweep", "PriorityPlacement.weight=1,4", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	runs := resultsOf(t, dir)
	for _, name := range []string{"berth PriorityPlacement.weight=1", "berth PriorityPlacement.weight=4"} {
		r, ok := runs[name]
		if !ok {
			t.Fatalf("no run %q in results.json; table:\n%s", name, out)
		}
		if sweep := r["sweep"].(map[string]any); sweep["PriorityPlacement.weight"] == nil {
			t.Errorf("run %s: sweep %v", name, sweep)
		}
	}
	if runs["berth PriorityPlacement.weight=1"]["placementHash"] == runs["berth PriorityPlacement.weight=4"]["placementHash"] {
		t.Error("the weight changed no placement: the sweep did not reach the plugin")
	}
}

func TestExplainShowsPluginsScoresAndThePreemptionRule(t *testing.T) {
	out, _, err := berthSim(t, "explain", "--scenario", "examples/sim/mixed-qos-memory-pressure.yaml", "--pod", "default/api-00")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"berth: pod default/api-00 (priority 10000, QoS Guaranteed, profile berth-scheduler)",
		"Attempt 1 at ", "nominated to ",
		"Preemption (QoSAwarePreemption): ", "decided by ",
		"PriorityHeadroom: node keeps 10 percent of memory for pods with priority >= 1000000",
		"Attempt 2 at ", "bound to ", "raw→normalized×weight=weighted", "TOTAL",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
	js, _, err := berthSim(t, "explain", "--scenario", "examples/sim/mixed-qos-memory-pressure.yaml", "--pod", "api-00", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct {
		Run      string        `json:"run"`
		Attempts []sim.Attempt `json:"attempts"`
	}
	if err := json.Unmarshal([]byte(js), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || len(runs[0].Attempts) == 0 || len(runs[0].Attempts[0].Nodes) != 24 {
		t.Fatalf("--json: want one run whose attempts list all 24 nodes, got %+v", runs)
	}
	for _, n := range runs[0].Attempts[0].Nodes {
		if len(n.Filters) == 0 {
			t.Errorf("node %s has no per-plugin filter verdicts", n.Node)
		}
	}
}

// TestExplainShowsNoPreemptionTheSchedulerDidNotMake: in preemption-storm, surge-29's
// first attempt preempts etl-37 on node-13; its second finds etl-37 still terminating
// there, and the scheduler's PostFilter refuses to preempt again ("not eligible due to a
// terminating pod on the nominated node"). explain must say so, not show the victim a
// dry run would pick (etl-36, which surge-58 evicts later) as if it had been preempted.
func TestExplainShowsNoPreemptionTheSchedulerDidNotMake(t *testing.T) {
	const reason = "not eligible due to a terminating pod on the nominated node"
	args := []string{"explain", "--scenario", "examples/sim/preemption-storm.yaml", "--config", "berth", "--pod", "surge-29"}
	out, _, err := berthSim(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	attempts := strings.Split(out, "\nAttempt ")
	if len(attempts) < 3 {
		t.Fatalf("want at least 2 attempts:\n%s", out)
	}
	first, second := attempts[1], attempts[2]
	for _, want := range []string{"nominated to node-13, preempting default/etl-37", "chosen node-13"} {
		if !strings.Contains(first, want) {
			t.Errorf("attempt 1 lacks %q:\n%s", want, first)
		}
	}
	for _, want := range []string{
		"unschedulable: ", reason,
		"stays nominated to node-13 by an earlier attempt's preemption; this attempt preempted nothing",
		"Preemption (QoSAwarePreemption): none in this attempt; the pod may not preempt now: " + reason,
	} {
		if !strings.Contains(second, want) {
			t.Errorf("attempt 2 lacks %q:\n%s", want, second)
		}
	}
	for _, bad := range []string{"preempting \n", "chosen", "etl-36", "decided by"} {
		if strings.Contains(second, bad) {
			t.Errorf("attempt 2 shows %q, a preemption the scheduler did not make:\n%s", bad, second)
		}
	}

	js, _, err := berthSim(t, append(args, "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct {
		Attempts []sim.Attempt `json:"attempts"`
	}
	if err := json.Unmarshal([]byte(js), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || len(runs[0].Attempts) < 2 {
		t.Fatalf("--json: want one run with at least 2 attempts, got %+v", runs)
	}
	a := runs[0].Attempts[1]
	if a.Outcome.Result != "unschedulable" || a.Outcome.KeepsNomination != "node-13" || len(a.Outcome.Victims) != 0 {
		t.Errorf("--json attempt 2 outcome = %+v, want unschedulable, still nominated to node-13, no victims", a.Outcome)
	}
	// The dry run itself asks upstream's PodEligibleToPreemptOthers about the pod as the
	// informer has it (nominated to node-13), so it finds the pod ineligible too.
	if p := a.Preemption; p == nil || p.Eligible || p.Chosen != "" || len(p.Candidates) != 0 || !strings.Contains(p.Reason, reason) {
		t.Errorf("--json attempt 2 preemption = %+v, want not eligible (%q), no candidate, none chosen", p, reason)
	}
}

func TestDiffListsThePodsPlacedDifferently(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if _, _, err := berthSim(t, "run", "--scenario", "examples/sim/mixed-qos-memory-pressure.yaml", "--config", "default", "--config", "berth", "--out", dir); err != nil {
		t.Fatal(err)
	}
	out, _, err := berthSim(t, "diff", dir, "--run-a", "default", "--run-b", "berth")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "placed differently") {
		t.Errorf("diff output lacks the pods placed differently:\n%s", out)
	}
}

// TestBadInputFailsWithOneMessageAndWritesNothing: every bad input exits with an error
// naming what is wrong, and --out is not created.
func TestBadInputFailsWithOneMessageAndWritesNothing(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scenario := "priorityClasses:\n- {name: low, value: 10}\nnodeGroups:\n- {name: n, count: 2, cpu: 4, memory: 8Gi}\npodGroups:\n- {name: p, count: 3, priorityClassName: low, requests: {cpu: 100m}}\n"
	good := write("good.yaml", scenario)
	nodesCSV := write("nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\nn1,32000,65536,0,\n")
	podsHeader := "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown scenario field", []string{"--scenario", write("unknown.yaml", scenario+"extra: 1\n")}, []string{"unknown.yaml:7", `unknown field "extra"`}},
		{"wrong-case scenario field", []string{"--scenario", write("case.yaml", strings.Replace(scenario, "count: 3", "Count: 3", 1))}, []string{"case.yaml:6", `"Count"`}},
		{"negative count", []string{"--scenario", write("neg.yaml", strings.Replace(scenario, "count: 3", "count: -3", 1))}, []string{"neg.yaml:6", "count"}},
		{"trace missing a column", []string{"--trace", "openb:" + nodesCSV + "," + write("p1.csv", strings.Replace(podsHeader, ",qos", "", 1))}, []string{"p1.csv", "qos"}},
		{"trace non-number", []string{"--trace", "openb:" + nodesCSV + "," + write("p2.csv", podsHeader+"p,abc,1024,0,0,,LS,Running,0,10,1\n")}, []string{"p2.csv:2", "cpu_milli"}},
		{"config berth-scheduler refuses", []string{"--scenario", good, "--config", write("bad.yaml",
			"apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: s\n  plugins:\n    multiPoint:\n      enabled:\n      - name: QoSPlacement\n  pluginConfig:\n  - name: QoSPlacement\n    args: {maxMemoryLimitOvercommitPercent: 50}\n")},
			[]string{"QoSPlacement", "args.maxMemoryLimitOvercommitPercent", "must be 0 (guard off) or between 100 and 1000"}},
		{"unknown sweep plugin", []string{"--scenario", good, "--sweep", "PriorityPlacment.weight=1"}, []string{`unknown plugin "PriorityPlacment"`}},
		{"unknown sweep argument", []string{"--scenario", good, "--sweep", "QoSAwarePreemption.guaranteedGap=1"}, []string{"QoSAwarePreemption", "guaranteedGap"}},
		{"no workload", []string{"--config", "default"}, []string{"no workload"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, _, err := berthSim(t, append(append([]string{"run"}, tc.args...), "--out", out)...)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			t.Logf("error: %v", err)
			if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
				t.Errorf("--out %s exists after a failed run", out)
			}
		})
	}
	t.Run("a refused configuration reads as berth-scheduler's refusal", func(t *testing.T) {
		bad := write("refused.yaml", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: s\n  plugins:\n    multiPoint:\n      enabled:\n      - name: QoSAwarePreemption\n")
		_, _, err := berthSim(t, "run", "--scenario", good, "--config", bad)
		data, _ := os.ReadFile(bad)
		want := plugins.CheckConfig(bad, data)
		if err == nil || want == nil || err.Error() != want.Error() {
			t.Errorf("berth-sim: %v\nberth-scheduler's check: %v", err, want)
		}
	})
	t.Run("unknown --pod", func(t *testing.T) {
		_, _, err := berthSim(t, "explain", "--scenario", good, "--pod", "nope")
		if err == nil || !strings.Contains(err.Error(), "--pod nope: no such pod in the workload (pods are named like default/p-0") {
			t.Errorf("got %v", err)
		}
	})
}

// TestManifestRecordsTheFeatureGatesTheRunsUsed: the runs happen in worker processes,
// which set gates this process never sets; manifest.json records the workers' values.
func TestManifestRecordsTheFeatureGatesTheRunsUsed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if _, _, err := berthSim(t, "run", "--scenario", "examples/sim/mixed-qos-memory-pressure.yaml", "--config", "default", "--out", dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		FeatureGates map[string]bool `json:"featureGates"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	want, err := sim.RunFeatureGates()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, m.FeatureGates); d != "" {
		t.Errorf("manifest.json featureGates differ from the runs' (-runs +manifest):\n%s", d)
	}
	if enabled, ok := m.FeatureGates["SchedulerAsyncPreemption"]; !ok || enabled {
		t.Errorf("manifest.json featureGates.SchedulerAsyncPreemption = %v (present %v), want false", enabled, ok)
	}
}
