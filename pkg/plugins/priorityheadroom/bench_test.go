package priorityheadroom

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/test/pluginbench"
)

const benchNodes = 5000

// benchNodeInfos are 5000 16-cpu, 64Gi, 110-pod nodes each running four pods whose load
// varies by node, all with room for the benchmark pod.
func benchNodeInfos() []fwk.NodeInfo {
	nodes := make([]fwk.NodeInfo, benchNodes)
	for i := range nodes {
		name := fmt.Sprintf("node-%d", i)
		var pods []*v1.Pod
		for j := 0; j < 4; j++ {
			pod := fmt.Sprintf("%s-%d", name, j)
			// A UID, as every pod from an API server has: preemption's dry run removes
			// pods from a NodeInfo by UID.
			pods = append(pods, st.MakePod().Namespace("ns").Name(pod).UID(pod).Node(name).Priority(int32(j*500)).
				Req(map[v1.ResourceName]string{"cpu": fmt.Sprintf("%dm", 500+i%1000), "memory": fmt.Sprintf("%dMi", 1024+i%2048)}).Obj())
		}
		ni := framework.NewNodeInfo(pods...)
		ni.SetNode(st.MakeNode().Name(name).Capacity(map[v1.ResourceName]string{"cpu": "16", "memory": "64Gi", "pods": "110"}).Obj())
		nodes[i] = ni
	}
	return nodes
}

// BenchmarkFilter runs berth's PriorityHeadroom Filter and, as the baseline from the
// same run, upstream NodeResourcesFit's Filter, over 5000 nodes for a pod both bind
// (cpu and memory requests, priority below the reservations); one op is one node.
func BenchmarkFilter(b *testing.B) {
	nodes := benchNodeInfos()
	pod := st.MakePod().Namespace("ns").Name("p").Priority(0).
		Req(map[v1.ResourceName]string{"cpu": "1", "memory": "1Gi"}).Obj()

	headroom := newPlugin(b, exampleArgs())
	fit := pluginbench.NewFit(b)
	b.Run("berth=PriorityHeadroom", func(b *testing.B) { pluginbench.Filter(b, headroom, pod, nodes, 0) })
	b.Run("upstream=NodeResourcesFit", func(b *testing.B) { pluginbench.Filter(b, fit, pod, nodes, 0) })
}

// BenchmarkFilterDuringPreemption reports ns and allocations per node for the Filter calls
// a node gets while preemption is under way (pluginbench.FilterWithClones: the node, a
// fresh clone, the node again), for PriorityHeadroom and, from the same run, upstream
// NodeResourcesFit: nominated, the clone holds a nominated pod as the framework's
// addGENominatedPods adds it; dry-run, the clone lacks two possible victims as in
// SelectVictimsOnNode.
func BenchmarkFilterDuringPreemption(b *testing.B) {
	nodes := benchNodeInfos()
	pod := st.MakePod().Namespace("ns").Name("p").Priority(0).
		Req(map[v1.ResourceName]string{"cpu": "1", "memory": "1Gi"}).Obj()
	nominated := st.MakePod().Namespace("ns").Name("nominated").UID("nominated").Priority(0).
		Req(map[v1.ResourceName]string{"cpu": "1", "memory": "1Gi"}).Obj()
	headroom := newPlugin(b, exampleArgs())
	fit := pluginbench.NewFit(b)
	for _, c := range []struct {
		name  string
		clone pluginbench.Clone
	}{{"nominated", pluginbench.WithNominated(nominated)}, {"dry-run", pluginbench.WithoutVictims(2)}} {
		b.Run(c.name+"/berth=PriorityHeadroom", func(b *testing.B) { pluginbench.FilterWithClones(b, headroom, pod, nodes, 0, c.clone) })
		b.Run(c.name+"/upstream=NodeResourcesFit", func(b *testing.B) {
			pluginbench.FilterWithClones(b, fit, pod, nodes, 0, c.clone)
		})
	}
}
