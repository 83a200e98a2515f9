package qosawarepreemption

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	policy "k8s.io/api/policy/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

// pickNode dry-runs preemption on every node and lets the Evaluator choose, as
// Evaluator.Preempt does before actuating.
func pickNode(t testing.TB, e *testEnv, ev *preemption.Evaluator, state fwk.CycleState, pod *v1.Pod, pdbs []*policy.PodDisruptionBudget) (string, []string) {
	t.Helper()
	infos, err := e.snap.NodeInfos().List()
	if err != nil {
		t.Fatal(err)
	}
	offset, n := ev.GetOffsetAndNumCandidates(int32(len(infos)))
	candidates, _, err := ev.DryRunPreemption(e.ctx, state, pod, infos, pdbs, offset, n)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	c := ev.SelectCandidate(e.ctx, candidates)
	if c == nil {
		return "", nil
	}
	got := names(c.Victims().Pods)
	slices.Sort(got)
	return c.Name(), got
}

// TestNodeChoice shows which node berth picks among preemption candidates, beside
// upstream's pick: fewest PDB violations, lowest highest-victim priority, lowest QoS
// cost, fewest victims, latest start time.
func TestNodeChoice(t *testing.T) {
	web := func(name, nodeName string, prio int32, cpu string, started int) *v1.Pod {
		return st.MakePod().Namespace("default").Name(name).UID(name).Node(nodeName).Priority(prio).Label("app", "web").
			Req(map[v1.ResourceName]string{v1.ResourceCPU: cpu}).StartTime(at(started)).Obj()
	}
	tests := []struct {
		name      string
		nodes     []*v1.Node
		pods      []*v1.Pod
		pdbs      []*policy.PodDisruptionBudget
		preemptor *v1.Pod
		args      any
		berth     string
		upstream  string
	}{
		{
			name:  "a lower QoS cost wins over a later start time",
			nodes: []*v1.Node{node("n1", "4", "10"), node("n2", "4", "10")},
			pods: []*v1.Pod{
				guaranteed("g", "n1", low, "4", 2),
				burstable("b", "n2", low, "4", 1),
			},
			preemptor: preemptor(high, "2").Obj(),
			berth:     "n2",
			upstream:  "n1",
		},
		{
			name:  "BestEffort victims are the cheapest",
			nodes: []*v1.Node{node("n1", "4", "1"), node("n2", "4", "1")},
			pods: []*v1.Pod{
				bestEffort("be", "n1", low, 1),
				burstable("b", "n2", low, "100m", 2),
			},
			preemptor: preemptor(high, "1").Obj(),
			berth:     "n1",
			upstream:  "n2",
		},
		{
			name:  "fewer PDB violations come first, even at a higher QoS cost",
			nodes: []*v1.Node{node("n1", "4", "10"), node("n2", "4", "10")},
			pods: []*v1.Pod{
				web("b-pdb", "n1", low, "4", 1),
				guaranteed("g", "n2", low, "4", 1),
			},
			pdbs:      []*policy.PodDisruptionBudget{blockingPDB("app", "web")},
			preemptor: preemptor(high, "2").Obj(),
			berth:     "n2",
			upstream:  "n2",
		},
		{
			name:  "a lower highest-victim priority comes before the QoS cost",
			nodes: []*v1.Node{node("n1", "4", "10"), node("n2", "4", "10")},
			pods: []*v1.Pod{
				burstable("b", "n1", mid, "4", 1),
				guaranteed("g", "n2", low, "4", 1),
			},
			preemptor: preemptor(high, "2").Obj(),
			berth:     "n2",
			upstream:  "n2",
		},
		{
			name:  "equal QoS cost (two Burstable = one Guaranteed by default): fewer victims",
			nodes: []*v1.Node{node("n1", "4", "10"), node("n2", "4", "10")},
			pods: []*v1.Pod{
				burstable("b1", "n1", low, "2", 3),
				burstable("b2", "n1", low, "2", 3),
				guaranteed("g", "n2", low, "4", 1),
			},
			preemptor: preemptor(high, "4").Obj(),
			berth:     "n2",
			upstream:  "n2",
		},
		{
			name:  "qosCost decides: with guaranteed 5, two Burstable victims are cheaper than one Guaranteed",
			nodes: []*v1.Node{node("n1", "4", "10"), node("n2", "4", "10")},
			pods: []*v1.Pod{
				burstable("b1", "n1", low, "2", 3),
				burstable("b2", "n1", low, "2", 3),
				guaranteed("g", "n2", low, "4", 1),
			},
			preemptor: preemptor(high, "4").Obj(),
			args:      map[string]any{"qosCost": map[string]int{"bestEffort": 1, "burstable": 2, "guaranteed": 5}},
			berth:     "n1",
			upstream:  "n2",
		},
		{
			name:  "equal cost and count: the node whose victims started latest",
			nodes: []*v1.Node{node("n1", "4", "10"), node("n2", "4", "10")},
			pods: []*v1.Pod{
				burstable("older", "n1", low, "4", 1),
				burstable("newer", "n2", low, "4", 2),
			},
			preemptor: preemptor(high, "2").Obj(),
			berth:     "n2",
			upstream:  "n2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, tt.nodes, tt.pods, tt.pdbs, tt.preemptor)
			pl := e.berth(t, tt.args)
			up := e.upstream(t)
			state := e.preFilter(t, tt.preemptor)
			if got, v := pickNode(t, e, pl.evaluator, state, tt.preemptor, tt.pdbs); got != tt.berth {
				t.Errorf("berth picked %s (victims %v), want %s", got, v, tt.berth)
			}
			if got, v := pickNode(t, e, up.Evaluator, state, tt.preemptor, tt.pdbs); got != tt.upstream {
				t.Errorf("upstream picked %s (victims %v), want %s", got, v, tt.upstream)
			}
		})
	}
}

// TestNodeChoiceBreaksCompleteTiesByNodeName: candidates alike in every rule, victims
// started in the same second (as kubelets record them), go to the node whose name sorts
// first, every time; upstream leaves such a tie to a map's order.
func TestNodeChoiceBreaksCompleteTiesByNodeName(t *testing.T) {
	var nodes []*v1.Node
	var pods []*v1.Pod
	for _, n := range []string{"n3", "n1", "n4", "n2"} {
		nodes = append(nodes, node(n, "4", "10"))
		pods = append(pods, burstable("victim-"+n, n, low, "4", 1))
	}
	pre := preemptor(high, "2").Obj()
	e := newTestEnv(t, nodes, pods, nil, pre)
	pl := e.berth(t, nil)
	state := e.preFilter(t, pre)
	for i := 0; i < 20; i++ {
		if got, v := pickNode(t, e, pl.evaluator, state, pre, nil); got != "n1" {
			t.Fatalf("try %d: picked %s (victims %v), want n1", i, got, v)
		}
	}
}

func TestNodeOrderRulesNameEveryRule(t *testing.T) {
	e := newTestEnv(t, nil, nil, nil, preemptor(high, "1").Obj())
	pl := e.berth(t, nil)
	if r, f := len(pl.NodeOrderRules()), len(pl.OrderedScoreFuncs(e.ctx, nil)); r != f {
		t.Errorf("%d rule names for %d rules", r, f)
	}
}
