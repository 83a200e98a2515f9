package qosawarepreemption

import (
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	policy "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/apis/scheduling"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultpreemption"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

// outcome is a victim set, or the status when the node is not a candidate.
type outcome struct {
	victims []string
	code    fwk.Code
	msg     string
}

func victims(names ...string) outcome { return outcome{victims: names} }

var (
	// affinityFails: with every possible victim gone the preemptor's affinity fails.
	affinityFails = outcome{code: fwk.UnschedulableAndUnresolvable, msg: "didn't match pod affinity rules"}
	// noVictims: no pod on the node may be preempted by this preemptor.
	noVictims = outcome{code: fwk.UnschedulableAndUnresolvable, msg: "No preemption victims found"}
)

// compareVictims runs berth's and upstream's SelectVictimsOnNode on the node as the
// dry run does and checks each against its expected outcome.
func compareVictims(t *testing.T, e *testEnv, pl *QoSAwarePreemption, up *defaultpreemption.DefaultPreemption, state fwk.CycleState,
	pod *v1.Pod, nodeName string, pdbs []*policy.PodDisruptionBudget, berth, upstream outcome) {
	t.Helper()
	for _, side := range []struct {
		name string
		ev   *preemption.Evaluator
		want outcome
	}{{"berth", pl.evaluator, berth}, {"upstream", up.Evaluator, upstream}} {
		pods, _, status := selectVictims(t, e, side.ev, state, pod, nodeName, pdbs)
		if status.Code() != side.want.code || !strings.Contains(status.Message(), side.want.msg) {
			t.Errorf("%s: status %v, want code %v with message %q", side.name, status, side.want.code, side.want.msg)
			continue
		}
		got := names(pods)
		slices.Sort(got)
		want := slices.Clone(side.want.victims)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: victims %v, want %v", side.name, got, want)
		}
	}
}

// TestSelectVictimsOnNode shows berth's victim choice on one node beside upstream
// DefaultPreemption's for the same node and preemptor.
func TestSelectVictimsOnNode(t *testing.T) {
	affinityToDB := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	tests := []struct {
		name      string
		node      *v1.Node
		pods      []*v1.Pod
		pdbs      []*policy.PodDisruptionBudget
		preemptor *v1.Pod
		args      any
		berth     outcome
		upstream  outcome
	}{
		{
			name: "a Burstable pod goes before a Guaranteed pod of equal priority that started later",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				burstable("burstable", "n1", low, "2", 1),
				guaranteed("guaranteed", "n1", low, "2", 2),
			},
			preemptor: preemptor(high, "2").Obj(),
			berth:     victims("burstable"),
			upstream:  victims("guaranteed"),
		},
		{
			name: "priority comes before QoS: a lower-priority Guaranteed pod goes before a Burstable one",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				burstable("burstable", "n1", mid, "2", 2),
				guaranteed("guaranteed", "n1", low, "2", 1),
			},
			preemptor: preemptor(high, "2").Obj(),
			berth:     victims("guaranteed"),
			upstream:  victims("guaranteed"),
		},
		{
			name: "a BestEffort pod frees the pod slot a preemptor needs, whatever the start times",
			node: node("n1", "4", "2"),
			pods: []*v1.Pod{
				bestEffort("besteffort", "n1", low, 1),
				guaranteed("guaranteed", "n1", low, "1", 2),
			},
			preemptor: preemptor(high, "1").Obj(),
			berth:     victims("besteffort"),
			upstream:  victims("guaranteed"),
		},
		{
			name: "a BestEffort pod that frees nothing the preemptor lacks stays",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				bestEffort("besteffort", "n1", low, 2),
				burstable("burstable", "n1", low, "3", 1),
			},
			preemptor: preemptor(high, "2").Obj(),
			berth:     victims("burstable"),
			upstream:  victims("burstable"),
		},
		{
			name: "a BestEffort pod holding the host port the preemptor needs is evicted",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				st.MakePod().Namespace("default").Name("besteffort-port").UID("besteffort-port").Node("n1").Priority(low).
					HostPort(8080).StartTime(at(1)).Obj(),
				guaranteed("guaranteed", "n1", low, "1", 2),
			},
			preemptor: preemptor(high, "1").HostPort(8080).Obj(),
			berth:     victims("besteffort-port"),
			upstream:  victims("besteffort-port"),
		},
		{
			name: "equal priority and QoS: the pod that started later goes (upstream's rule)",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				burstable("older", "n1", low, "2", 1),
				burstable("newer", "n1", low, "2", 2),
			},
			preemptor: preemptor(high, "2").Obj(),
			berth:     victims("newer"),
			upstream:  victims("newer"),
		},
		{
			name: "several victims: berth reprieves the Guaranteed pod first, upstream the oldest pod",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				guaranteed("g", "n1", low, "1", 3),
				burstable("b1", "n1", low, "1", 1),
				burstable("b2", "n1", low, "1", 2),
				bestEffort("be", "n1", low, 4),
			},
			preemptor: preemptor(high, "3").Obj(),
			berth:     victims("b1", "b2"),
			upstream:  victims("b2", "g"),
		},
		{
			name: "a PDB-protected Burstable pod is reprieved before an unprotected Guaranteed pod",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				st.MakePod().Namespace("default").Name("burstable-pdb").UID("burstable-pdb").Node("n1").Priority(low).
					Label("app", "web").Req(map[v1.ResourceName]string{v1.ResourceCPU: "2"}).StartTime(at(2)).Obj(),
				guaranteed("guaranteed", "n1", low, "2", 1),
			},
			pdbs:      []*policy.PodDisruptionBudget{blockingPDB("app", "web")},
			preemptor: preemptor(high, "2").Obj(),
			berth:     victims("guaranteed"),
			upstream:  victims("guaranteed"),
		},
		{
			name: "guaranteedPriorityGap spares a Guaranteed pod within the gap; a higher-priority Burstable pod goes instead",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				guaranteed("guaranteed", "n1", low, "2", 1),
				burstable("burstable", "n1", 50, "2", 2),
			},
			preemptor: preemptor(mid, "2").Obj(),
			args:      map[string]any{"guaranteedPriorityGap": 101},
			berth:     victims("burstable"),
			upstream:  victims("guaranteed"),
		},
		{
			name: "guaranteedPriorityGap: a preemptor exactly gap above may preempt the Guaranteed pod",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				guaranteed("guaranteed", "n1", low, "2", 1),
				burstable("burstable", "n1", 50, "2", 2),
			},
			preemptor: preemptor(mid, "2").Obj(),
			args:      map[string]any{"guaranteedPriorityGap": 100},
			berth:     victims("guaranteed"),
			upstream:  victims("guaranteed"),
		},
		{
			name: "guaranteedPriorityGap leaves no victim: the node is not a candidate",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				guaranteed("guaranteed", "n1", low, "4", 1),
			},
			preemptor: preemptor(mid, "2").Obj(),
			args:      map[string]any{"guaranteedPriorityGap": 1000},
			berth:     noVictims,
			upstream:  victims("guaranteed"),
		},
		{
			name: "pods of equal or higher priority are never victims",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				bestEffort("equal", "n1", high, 1),
				burstable("higher", "n1", high+1, "4", 2),
			},
			preemptor: preemptor(high, "2").Obj(),
			berth:     noVictims,
			upstream:  noVictims,
		},
		{
			name: "the pod the preemptor requires affinity to is kept and another evicted; upstream gives the node up",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				st.MakePod().Namespace("default").Name("db").UID("db").Node("n1").Priority(low).Label("app", "db").
					Req(map[v1.ResourceName]string{v1.ResourceCPU: "2"}).StartTime(at(2)).Obj(),
				burstable("other", "n1", low, "2", 1),
			},
			preemptor: preemptor(high, "2").PodAffinity(v1.LabelHostname, affinityToDB, st.PodAffinityWithRequiredReq).Obj(),
			berth:     victims("other"),
			upstream:  affinityFails,
		},
		{
			name: "an affinity target found through a namespaceSelector is kept too",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				st.MakePod().Namespace("default").Name("db").UID("db").Node("n1").Priority(low).Label("app", "db").
					Req(map[v1.ResourceName]string{v1.ResourceCPU: "2"}).StartTime(at(2)).Obj(),
				burstable("other", "n1", low, "2", 1),
			},
			preemptor: withAffinity(preemptor(high, "2").Namespace("elsewhere").Obj(), v1.PodAffinityTerm{
				LabelSelector:     affinityToDB,
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
				TopologyKey:       v1.LabelHostname,
			}),
			berth:    victims("other"),
			upstream: affinityFails,
		},
		{
			name: "the affinity target is kept even when only its eviction would make room",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				st.MakePod().Namespace("default").Name("db").UID("db").Node("n1").Priority(low).Label("app", "db").
					Req(map[v1.ResourceName]string{v1.ResourceCPU: "4"}).StartTime(at(2)).Obj(),
			},
			preemptor: preemptor(high, "2").PodAffinity(v1.LabelHostname, affinityToDB, st.PodAffinityWithRequiredReq).Obj(),
			berth:     noVictims,
			upstream:  affinityFails,
		},
		{
			name: "the preemptor's anti-affinity to a low-priority pod: that pod is the victim",
			node: node("n1", "4", "10"),
			pods: []*v1.Pod{
				st.MakePod().Namespace("default").Name("noisy").UID("noisy").Node("n1").Priority(low).Label("app", "noisy").
					Res(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).StartTime(at(2)).Obj(),
				burstable("quiet", "n1", low, "1", 1),
			},
			preemptor: preemptor(high, "1").PodAntiAffinity(v1.LabelHostname,
				&metav1.LabelSelector{MatchLabels: map[string]string{"app": "noisy"}}, st.PodAntiAffinityWithRequiredReq).Obj(),
			berth:    victims("noisy"),
			upstream: victims("noisy"),
		},
		{
			name: "a pod without containers or resources is handled as BestEffort",
			node: node("n1", "4", "1"),
			pods: []*v1.Pod{
				st.MakePod().Namespace("default").Name("empty").UID("empty").Node("n1").Priority(low).Obj(),
			},
			preemptor: preemptor(high, "").Obj(),
			berth:     victims("empty"),
			upstream:  victims("empty"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, []*v1.Node{tt.node}, tt.pods, tt.pdbs, tt.preemptor)
			pl := e.berth(t, tt.args)
			up := e.upstream(t)
			state := e.preFilter(t, tt.preemptor)
			compareVictims(t, e, pl, up, state, tt.preemptor, tt.node.Name, tt.pdbs, tt.berth, tt.upstream)
		})
	}
}

// TestVictimOrder checks berth's order directly, including pods whose QoS is already
// recorded in their status (as the API server sets it).
func TestVictimOrder(t *testing.T) {
	pv := func(p *v1.Pod) *victimUnderTest { return newVictimUnderTest(t, p) }
	withStatusQoS := func(p *v1.Pod, c v1.PodQOSClass) *v1.Pod { p.Status.QOSClass = c; return p }
	tests := []struct {
		name string
		a, b *victimUnderTest
		want bool // a more important than b
	}{
		{"higher priority first", pv(bestEffort("a", "n", mid, 1)), pv(guaranteed("b", "n", low, "1", 1)), true},
		{"Guaranteed over Burstable", pv(guaranteed("a", "n", low, "1", 2)), pv(burstable("b", "n", low, "1", 1)), true},
		{"Burstable over BestEffort", pv(burstable("a", "n", low, "1", 2)), pv(bestEffort("b", "n", low, 1)), true},
		{"BestEffort under Guaranteed", pv(bestEffort("a", "n", low, 1)), pv(guaranteed("b", "n", low, "1", 2)), false},
		{"same class: earlier start first", pv(burstable("a", "n", low, "1", 1)), pv(burstable("b", "n", low, "1", 2)), true},
		{"same class: later start second", pv(burstable("a", "n", low, "1", 2)), pv(burstable("b", "n", low, "1", 1)), false},
		{"the class recorded in the status is used",
			pv(withStatusQoS(bestEffort("a", "n", low, 2), v1.PodQOSGuaranteed)), pv(burstable("b", "n", low, "1", 1)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := moreImportantVictim(tt.a, tt.b); got != tt.want {
				t.Errorf("moreImportantVictim(%s, %s) = %v, want %v", tt.a.name, tt.b.name, got, tt.want)
			}
		})
	}
}

// withAffinity gives p one required pod-affinity term.
func withAffinity(p *v1.Pod, term v1.PodAffinityTerm) *v1.Pod {
	p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term},
	}}
	return p
}

// TestAllowedByGap covers the guaranteedPriorityGap rule at its edges.
func TestAllowedByGap(t *testing.T) {
	g := newVictimUnderTest(t, guaranteed("g", "n", -2147483648, "1", 1))
	b := newVictimUnderTest(t, burstable("b", "n", 0, "1", 1))
	tests := []struct {
		name   string
		gap    int64
		victim *victimUnderTest
		prio   int32
		want   bool
	}{
		{"gap 0 is off", 0, g, -2147483647, true},
		{"a Burstable victim ignores the gap", 1 << 40, b, 1, true},
		{"exactly gap above is enough", 10, g, -2147483638, true},
		{"one below the gap is not", 10, g, -2147483639, false},
		{"the widest int32 distance is within a gap of 2^32-1", 1<<32 - 1, g, 2147483647, true},
		{"a huge gap does not overflow into allowing", 1<<63 - 1, g, scheduling.SystemCriticalPriority - 1, false},
		{"system-cluster-critical is never blocked by the gap", 1<<63 - 1, g, scheduling.SystemCriticalPriority, true},
		{"system-node-critical is never blocked by the gap", 1<<63 - 1,
			newVictimUnderTest(t, guaranteed("g", "n", scheduling.SystemCriticalPriority, "1", 1)), scheduling.SystemCriticalPriority + 1000, true},
		{"just below system-cluster-critical, a gap it misses still binds", 1000,
			newVictimUnderTest(t, guaranteed("g", "n", scheduling.SystemCriticalPriority-1000, "1", 1)), scheduling.SystemCriticalPriority - 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := preemptor(tt.prio, "1").Obj()
			if got := allowedByGap(tt.gap, tt.victim, p); got != tt.want {
				t.Errorf("allowedByGap(%d, victim %d, preemptor %d) = %v, want %v", tt.gap, tt.victim.Priority(), tt.prio, got, tt.want)
			}
		})
	}
}
