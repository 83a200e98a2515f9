package report

import (
	"sort"

	"github.com/berth-sched/berth/internal/sim"
)

// fragmentation counts the pods pending at the end of the run whose cpu and memory
// requests fit in the cluster's total free cpu and memory (allocatable minus the
// requests of the pods bound at the end, summed over nodes, a node's negative free
// counted as 0) but on no single node. Only cpu and memory are looked at: pod count,
// extended resources, taints, affinity and every other filter are ignored, so this is
// capacity lost to how the pods are spread, not a verdict on why each pod waits.
//
// A pod fits on some node when a node has at least its cpu free and, among the nodes
// that do, one has at least its memory free: nodes sorted by free cpu with a running
// maximum of free memory answer that by binary search, in O((nodes + pending) log
// nodes).
func (f *facts) fragmentation(res *sim.Result, usedCPU, usedMemory []int64) int {
	type free struct{ cpu, memory int64 }
	nodes := make([]free, len(f.nodes))
	var totalCPU, totalMemory int64
	for n, nf := range f.nodes {
		nodes[n] = free{max(nf.cpu-usedCPU[n], 0), max(nf.memory-usedMemory[n], 0)}
		totalCPU += nodes[n].cpu
		totalMemory += nodes[n].memory
	}
	sort.Slice(nodes, func(a, b int) bool { return nodes[a].cpu > nodes[b].cpu })
	// maxMemory[k]: the most free memory among the k+1 nodes with the most free cpu.
	maxMemory := make([]int64, len(nodes))
	for k, n := range nodes {
		maxMemory[k] = n.memory
		if k > 0 {
			maxMemory[k] = max(maxMemory[k], maxMemory[k-1])
		}
	}
	count := 0
	for i := range res.Pods {
		if res.Pods[i].Outcome != sim.Pending {
			continue
		}
		pf := &f.pods[i]
		if pf.cpu > totalCPU || pf.memory > totalMemory {
			continue
		}
		// k nodes have at least the pod's cpu free.
		k := sort.Search(len(nodes), func(j int) bool { return nodes[j].cpu < pf.cpu })
		if k == 0 || maxMemory[k-1] < pf.memory {
			count++
		}
	}
	return count
}
