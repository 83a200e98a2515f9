package qosawarepreemption

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"
)

// benchNode is one 24-core node holding 30 pods (20 cores requested): priorities 0/10/20, the three QoS
// classes in turn, 1 core each (BestEffort none), started one second apart, with the
// QoS class recorded in the status as the API server records it. The preemptor
// (priority 1000) needs 8 cores, so several victims are chosen and many reprieved.
func benchNode(b *testing.B) (*testEnv, *v1.Pod) {
	var pods []*v1.Pod
	for i := range 30 {
		name := fmt.Sprintf("p%02d", i)
		prio := int32(10 * (i % 3))
		var p *v1.Pod
		switch i % 3 {
		case 0:
			p = guaranteed(name, "n1", prio, "1", i)
		case 1:
			p = burstable(name, "n1", prio, "1", i)
		default:
			p = bestEffort(name, "n1", prio, i)
		}
		p.Status.QOSClass = qos.ComputePodQOS(p)
		pods = append(pods, p)
	}
	pod := preemptor(high, "8").Obj()
	return newTestEnv(b, []*v1.Node{node("n1", "24", "110")}, pods, nil, pod), pod
}

// benchmarkSelectVictims times one Interface's SelectVictimsOnNode as the dry run
// calls it: on a copy of the NodeInfo and a clone of the cycle state (both included).
func benchmarkSelectVictims(b *testing.B, e *testEnv, ev *preemption.Evaluator, pod *v1.Pod) {
	state := e.preFilter(b, pod)
	ni, err := e.snap.NodeInfos().Get("n1")
	if err != nil {
		b.Fatal(err)
	}
	victims, err := ev.GetVictimsOnNode(e.ctx, ni)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pods, _, status := ev.Interface.SelectVictimsOnNode(e.ctx, state.Clone(), pod, ni.Snapshot(), victims, nil)
		if !status.IsSuccess() || len(pods) == 0 {
			b.Fatalf("no victims: %v", status)
		}
	}
}

// BenchmarkSelectVictimsOnNode compares berth's victim search on a 30-pod node with
// upstream DefaultPreemption's on the same node, framework and preemptor.
func BenchmarkSelectVictimsOnNode(b *testing.B) {
	b.Run("berth", func(b *testing.B) {
		e, pod := benchNode(b)
		benchmarkSelectVictims(b, e, e.berth(b, nil).evaluator, pod)
	})
	b.Run("upstream-DefaultPreemption", func(b *testing.B) {
		e, pod := benchNode(b)
		benchmarkSelectVictims(b, e, e.upstream(b).Evaluator, pod)
	})
}

// BenchmarkNodeScoreFuncs times berth's OrderedScoreFuncs over 100 candidate nodes
// with 3 victims each, the work pickOneNodeForPreemption does with them (each function
// over every node).
func BenchmarkNodeScoreFuncs(b *testing.B) {
	e, _ := benchNode(b)
	pl := e.berth(b, nil)
	nodesToVictims := victimsMap(100)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range pl.OrderedScoreFuncs(e.ctx, nodesToVictims) {
			for n := range nodesToVictims {
				_ = f(n)
			}
		}
	}
}

func victimsMap(nodes int) map[string]*extenderv1.Victims {
	m := make(map[string]*extenderv1.Victims, nodes)
	for i := range nodes {
		n := fmt.Sprintf("n%d", i)
		m[n] = &extenderv1.Victims{Pods: []*v1.Pod{
			guaranteed(n+"-g", n, 10, "1", i),
			burstable(n+"-b", n, 0, "1", i+1),
			bestEffort(n+"-be", n, 0, i+2),
		}}
		for _, p := range m[n].Pods {
			p.Status.QOSClass = qos.ComputePodQOS(p)
		}
	}
	return m
}
