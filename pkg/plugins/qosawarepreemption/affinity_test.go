package qosawarepreemption

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

// TestSelectVictimsOnNodeWithAffinity shows, beside upstream DefaultPreemption, when
// berth keeps a pod the preemptor requires affinity to: exactly when evicting it would
// leave one of the preemptor's terms without a matching pod in the term's topology
// domain. Victims are looked for on n1.
func TestSelectVictimsOnNodeWithAffinity(t *testing.T) {
	inZone := func(n *v1.Node, zone string) *v1.Node {
		n.Labels[v1.LabelTopologyZone] = zone
		return n
	}
	pod := func(name, node string, prio int32, cpu string, started int, labels map[string]string) *v1.Pod {
		return st.MakePod().Namespace("default").Name(name).UID(name).Node(node).Priority(prio).Labels(labels).
			Req(map[v1.ResourceName]string{v1.ResourceCPU: cpu}).StartTime(at(started)).Obj()
	}
	db := map[string]string{"app": "db"}
	term := func(key string, labels map[string]string) v1.PodAffinityTerm {
		return v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, TopologyKey: key}
	}
	wants := func(p *v1.Pod, terms ...v1.PodAffinityTerm) *v1.Pod {
		p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
		return p
	}
	tests := []struct {
		name      string
		nodes     []*v1.Node
		pods      []*v1.Pod
		preemptor *v1.Pod
		berth     outcome
		upstream  outcome
	}{
		{
			name:  "zone affinity: the target goes when another target runs in its zone (not a possible victim)",
			nodes: []*v1.Node{inZone(node("n1", "2", "10"), "a"), inZone(node("n2", "2", "10"), "a")},
			pods: []*v1.Pod{
				pod("db-low", "n1", low, "2", 1, db),
				pod("db-high", "n2", high, "2", 1, db),
			},
			preemptor: wants(preemptor(high, "2").Obj(), term(v1.LabelTopologyZone, db)),
			berth:     victims("db-low"),
			upstream:  victims("db-low"),
		},
		{
			name:  "zone affinity: the only target in the zone stays, another pod goes",
			nodes: []*v1.Node{inZone(node("n1", "4", "10"), "a"), inZone(node("n2", "2", "10"), "b")},
			pods: []*v1.Pod{
				pod("db", "n1", low, "2", 1, db),
				pod("other", "n1", low, "2", 2, nil),
				pod("db-elsewhere", "n2", high, "2", 1, db),
			},
			preemptor: wants(preemptor(high, "2").Obj(), term(v1.LabelTopologyZone, db)),
			berth:     victims("other"),
			upstream:  affinityFails,
		},
		{
			name:  "two targets on the node: one stays for the hostname term, the later-started one goes",
			nodes: []*v1.Node{inZone(node("n1", "4", "10"), "a")},
			pods: []*v1.Pod{
				pod("db-1", "n1", low, "2", 1, db),
				pod("db-2", "n1", low, "2", 2, db),
			},
			preemptor: wants(preemptor(high, "2").Obj(), term(v1.LabelHostname, db), term(v1.LabelTopologyZone, db)),
			berth:     victims("db-2"),
			upstream:  affinityFails,
		},
		{
			name:  "two targets, only keeping the smaller one makes room: the more important one goes",
			nodes: []*v1.Node{node("n1", "4", "10")},
			pods: []*v1.Pod{
				pod("db-big", "n1", low, "3", 1, db),
				pod("db-small", "n1", low, "1", 2, db),
			},
			preemptor: wants(preemptor(high, "2").Obj(), term(v1.LabelHostname, db)),
			berth:     victims("db-big"),
			upstream:  affinityFails,
		},
		{
			name:  "a pod matching one of two terms is no target: it may go, the pod matching both stays",
			nodes: []*v1.Node{node("n1", "4", "10")},
			pods: []*v1.Pod{
				pod("db-cache", "n1", low, "1", 1, map[string]string{"app": "db", "tier": "cache"}),
				pod("db-only", "n1", low, "2", 2, db),
			},
			preemptor: wants(preemptor(high, "2").Obj(), term(v1.LabelHostname, db), term(v1.LabelHostname, map[string]string{"tier": "cache"})),
			berth:     victims("db-only"),
			upstream:  affinityFails,
		},
		{
			name:  "the preemptor matches its own terms and the only targets are victims: they may go (upstream's first-pod rule)",
			nodes: []*v1.Node{node("n1", "4", "10")},
			pods: []*v1.Pod{
				pod("db", "n1", low, "4", 1, db),
			},
			preemptor: wants(preemptor(high, "2").Labels(db).Obj(), term(v1.LabelHostname, db)),
			berth:     victims("db"),
			upstream:  victims("db"),
		},
		{
			name:  "the node lacks the term's topology label: nothing can help",
			nodes: []*v1.Node{node("n1", "4", "10"), inZone(node("n2", "2", "10"), "a")},
			pods: []*v1.Pod{
				pod("other", "n1", low, "4", 1, nil),
				pod("db-elsewhere", "n2", high, "2", 1, db),
			},
			preemptor: wants(preemptor(high, "2").Obj(), term(v1.LabelTopologyZone, db)),
			berth:     affinityFails,
			upstream:  affinityFails,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, tt.nodes, tt.pods, nil, tt.preemptor)
			pl := e.berth(t, nil)
			up := e.upstream(t)
			state := e.preFilter(t, tt.preemptor)
			compareVictims(t, e, pl, up, state, tt.preemptor, "n1", nil, tt.berth, tt.upstream)
		})
	}
}
