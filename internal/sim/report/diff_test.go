package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
)

// writeDirOf writes the named runs of the comparison fixture (all when none) into dir,
// with a manifest recording workloadHash.
func writeDirOf(t *testing.T, dir, workloadHash string, w *workload.Workload, runs []Run) {
	t.Helper()
	metrics, err := MeasureAll(w, runs, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := Manifest{Workload: WorkloadSource{Source: "test", SHA256: workloadHash}}
	if err := WriteDir(dir, w, runs, metrics, m, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

const sameWorkload = "1111111111111111111111111111111111111111111111111111111111111111"

// The figures are the table's (table_test.go); the pods: b1 completes under berth but
// is default's victim, b2 the reverse, b3 waits under default, c2 lands on n1.
const wantDiffText = `A: run berth in out, config manifests/base/scheduler-config.yaml, sweep PriorityPlacement.weight=2
B: run default in out, config default
workload: the same (111111111111)
placements: different (b0ba07099169, 9fa9194a20eb)

figure                                        A       B       B-A    B/A
pods                                          5       5         0  1.000
preExisting                                   0       0         0      -
scheduled                                     5       4        -1  0.800
pending                                       0       1        +1      -
neverScheduled                                0       1        +1      -
pendingTime.meanSeconds                    11.8    0.25    -11.55  0.021
pendingTime.p50Seconds                        0       0         0      -
pendingTime.p99Seconds                       58       1       -57  0.017
preemptions                                   1       1         0  1.000
victims                                       1       1         0  1.000
victimsByQoS.BestEffort                       1       0        -1  0.000
victimsByQoS.Burstable                        0       0         0      -
victimsByQoS.Guaranteed                       0       1        +1      -
victimsLostRuntimeSeconds                     6       6         0  1.000
cpuAllocation.mean                       0.7979  0.4979      -0.3  0.624
cpuAllocation.p90                             1     0.5      -0.5  0.500
memoryAllocation.mean                     0.399  0.2552   -0.1438  0.640
memoryAllocation.p90                        0.5    0.25     -0.25  0.500
emptyNodesMean                                0  0.0083   +0.0083      -
fragmentation                                 0       1        +1      -
criticalPods                                  2       2         0  1.000
criticalMaxPerNode                            2       1        -1  0.500
criticalMaxPerZone                            2       1        -1  0.500
attempts                                      6       6         0  1.000
endSeconds                                  120     120         0  1.000
activeSeconds                               120     120         0  1.000
wallSeconds                                 1.5       1      -0.5  0.667
podsPerSecond                            3.3333       5   +1.6667  1.500
tiers.critical.pods                           2       2         0  1.000
tiers.critical.scheduled                      2       2         0  1.000
tiers.critical.pending                        0       0         0      -
tiers.critical.neverScheduled                 0       0         0      -
tiers.critical.pendingTime.meanSeconds      0.5     0.5         0  1.000
tiers.critical.pendingTime.p50Seconds         0       0         0      -
tiers.critical.pendingTime.p99Seconds         1       1         0  1.000
tiers.critical.victims                        0       0         0      -
tiers.batch.pods                              3       3         0  1.000
tiers.batch.scheduled                         3       2        -1  0.667
tiers.batch.pending                           0       1        +1      -
tiers.batch.neverScheduled                    0       1        +1      -
tiers.batch.pendingTime.meanSeconds     19.3333       0  -19.3333  0.000
tiers.batch.pendingTime.p50Seconds            0       0         0      -
tiers.batch.pendingTime.p99Seconds           58       0       -58  0.000
tiers.batch.victims                           1       1         0  1.000

pods placed differently: 4 of 5
pod         node A  node B  outcome A  outcome B
default/b1  n1      n1      completed  preempted
default/b2  n2      n1      preempted  running
default/b3  n1      -       running    pending
default/c2  n2      n1      running    running
`

// diffComparison compares the comparison fixture's runs, written to "out" in a new
// working directory.
func diffComparison(t *testing.T) *Comparison {
	t.Helper()
	t.Chdir(t.TempDir())
	w, runs := comparison()
	writeDirOf(t, "out", sameWorkload, w, runs)
	c, err := Diff(Side{Dir: "out", Run: "berth"}, Side{Dir: "out", Run: "default"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDiffTextBetweenTwoRunsOfOneDirectory(t *testing.T) {
	c := diffComparison(t)
	var b strings.Builder
	if err := c.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if b.String() != wantDiffText {
		t.Errorf("diff:\n%s\nwant:\n%s", b.String(), wantDiffText)
	}
}

// diffKeys are the keys of diff's JSON form.
var diffKeys = []string{
	"a", "a.dir", "a.run", "a.config", "a.sweep", "a.placementHash", "a.workloadSHA256",
	"b", "b.dir", "b.run", "b.config", "b.sweep", "b.placementHash", "b.workloadSHA256",
	"sameWorkload", "samePlacements", "pods",
	"figures", "figures[].figure", "figures[].a", "figures[].b", "figures[].delta", "figures[].ratio",
	"placedDifferently", "placedDifferently[].pod", "placedDifferently[].nodeA", "placedDifferently[].nodeB",
	"placedDifferently[].outcomeA", "placedDifferently[].outcomeB",
}

func TestDiffJSONHoldsTheSameComparison(t *testing.T) {
	c := diffComparison(t)
	var b bytes.Buffer
	if err := c.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	want := append([]string{}, diffKeys...)
	sort.Strings(want)
	if d := cmp.Diff(want, keyPaths(t, b.Bytes(), "a.sweep", "b.sweep")); d != "" {
		t.Errorf("keys (-want +got):\n%s", d)
	}
	var back Comparison
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c, &back); d != "" {
		t.Errorf("JSON does not round-trip (-written +read):\n%s", d)
	}
	byFigure := map[string]FigureDelta{}
	for _, f := range back.Figures {
		byFigure[f.Figure] = f
	}
	if f := byFigure["scheduled"]; *f.A != 5 || *f.B != 4 || *f.Delta != -1 || *f.Ratio != 0.8 {
		t.Errorf("scheduled = %v, %v, %v, %v", *f.A, *f.B, *f.Delta, *f.Ratio)
	}
	if f := byFigure["pending"]; f.Ratio != nil {
		t.Errorf("pending's ratio = %v, want null (A is 0)", *f.Ratio)
	}
	if len(back.PlacedDifferently) != 4 || back.PlacedDifferently[2] != (PodDelta{Pod: "default/b3", NodeA: "n1", NodeB: "", OutcomeA: "running", OutcomeB: "pending"}) {
		t.Errorf("placedDifferently = %+v", back.PlacedDifferently)
	}
}

func TestDiffBetweenDirectoriesOfDifferentWorkloads(t *testing.T) {
	t.Chdir(t.TempDir())
	w, runs := comparison()
	writeDirOf(t, "a", sameWorkload, w, runs[:1])
	// B replays the same pods and one more, which waits.
	wb := makeWorkload(w.Nodes, []*schedulingv1.PriorityClass{class("critical", 1000000), class("batch", 100)})
	wb.Pods = append(append(wb.Pods, w.Pods...), makeWorkload([]*v1.Node{}, nil, podSpec{name: "extra", arrival: 7}).Pods...)
	rb := *runs[0].Result
	rb.Pods = append(append([]sim.PodResult{}, rb.Pods...), pendingResult())
	writeDirOf(t, "b", strings.Repeat("2", 64), wb, []Run{{Name: "berth", Config: "x", Result: &rb}})

	c, err := Diff(Side{Dir: "a"}, Side{Dir: "b"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"workload: DIFFERENT (111111111111, 222222222222): pods are compared by name\n",
		"pods placed differently: 1 of 6\n",
		"default/extra  -       -       absent     pending\n",
		"placements: different",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, b.String())
		}
	}
}

func TestDiffWithoutManifestDoesNotClaimTheWorkloadIsTheSame(t *testing.T) {
	t.Chdir(t.TempDir())
	w, runs := comparison()
	writeDirOf(t, "out", sameWorkload, w, runs)
	if err := os.Remove(filepath.Join("out", ManifestFile)); err != nil {
		t.Fatal(err)
	}
	c, err := Diff(Side{Dir: "out", Run: "berth"}, Side{Dir: "out", Run: "berth"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"workload: unknown (a directory has no manifest.json)\n", "placements: the same (b0ba07099169)\n", "pods placed differently: 0 of 5\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, b.String())
		}
	}
	if c.SameWorkload != nil {
		t.Errorf("sameWorkload = %v, want null", *c.SameWorkload)
	}
}

func TestDiffNamesTheRunItCannotFind(t *testing.T) {
	t.Chdir(t.TempDir())
	w, runs := comparison()
	writeDirOf(t, "out", sameWorkload, w, runs)
	if err := os.Mkdir("empty", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("future", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("future", ResultsJSON), []byte(`{"schemaVersion": 2, "runs": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		a    Side
		want string
	}{
		{"several runs, none named", Side{Dir: "out"}, "out holds 2 runs (berth, default): name the one to compare"},
		{"unknown run", Side{Dir: "out", Run: "upstream"}, `out has no run named "upstream"; its runs: berth, default`},
		{"not a results directory", Side{Dir: "empty"}, "empty is not a berth-sim results directory"},
		{"newer schema", Side{Dir: "future"}, "schemaVersion 2 is newer than this berth-sim reads (1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Diff(c.a, Side{Dir: "out", Run: "berth"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want %q", err, c.want)
			}
		})
	}
}

func pendingResult() sim.PodResult {
	return sim.PodResult{Outcome: sim.Pending, BoundAt: -1, EndedAt: -1}
}
