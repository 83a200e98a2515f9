package qosplacement

import (
	"context"
	"fmt"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/test/pluginbench"
)

const (
	benchNodes       = 5000
	benchPodsPerNode = 20
)

var (
	benchOnce      sync.Once
	benchNodeInfos []fwk.NodeInfo
	benchV1Nodes   []*v1.Node
	benchV1Pods    []*v1.Pod
)

// benchCluster is 5000 nodes of 64 CPUs and 128Gi, each with 20 pods of all three QoS
// classes, a quarter of them with an init container and a sidecar; limits add up to
// about 60% of allocatable, so Filter passes everywhere (the allocation-free path).
func benchCluster() ([]fwk.NodeInfo, []*v1.Node, []*v1.Pod) {
	benchOnce.Do(func() {
		for n := 0; n < benchNodes; n++ {
			name := fmt.Sprintf("node-%d", n)
			node := st.MakeNode().Name(name).Capacity(res{"cpu": "64", "memory": "128Gi", "pods": "110"}).Obj()
			var pods []*v1.Pod
			for j := 0; j < benchPodsPerNode; j++ {
				var p *st.PodWrapper
				switch j % 4 {
				case 0:
					p = podOf(container("app", res{"cpu": "500m", "memory": "1Gi"}, res{"memory": "4Gi"}))
				case 1:
					p = podOf(container("app", res{"cpu": "1", "memory": "4Gi"}, res{"cpu": "1", "memory": "4Gi"}))
				case 2:
					p = podOf(container("app", nil, nil))
				case 3:
					p = podOf(container("app", res{"cpu": "500m", "memory": "2Gi"}, nil)).
						InitReq(res{"cpu": "100m", "memory": "256Mi"}).SidecarReq(res{"cpu": "100m", "memory": "128Mi"})
				}
				pods = append(pods, p.Node(name).Obj())
			}
			ni := framework.NewNodeInfo(pods...)
			ni.SetNode(node)
			benchNodeInfos = append(benchNodeInfos, ni)
			benchV1Nodes = append(benchV1Nodes, node)
			benchV1Pods = append(benchV1Pods, pods...)
		}
	})
	return benchNodeInfos, benchV1Nodes, benchV1Pods
}

func benchPod() *v1.Pod {
	return podOf(container("app", res{"cpu": "500m", "memory": "1Gi"}, res{"cpu": "2", "memory": "2Gi"})).Obj()
}

// BenchmarkFilter reports ns and allocations per Filter call (one node per op), for
// QoSPlacement (warm: the steady state, the node's pods unchanged since its last call;
// node-changed: calls alternate between the node and a dry-run clone of it without one
// pod, every pod object seen before; cold: every pod object new to the cache, PodLimits for
// each) and, from the same run, upstream NodeResourcesFit.
func BenchmarkFilter(b *testing.B) {
	nodes, _, _ := benchCluster()
	pod := benchPod()
	b.Run("berth=QoSPlacement/warm", func(b *testing.B) {
		pluginbench.Filter(b, newPlugin(b, ""), pod, nodes, 0)
	})
	b.Run("berth=QoSPlacement/warm-parallel", func(b *testing.B) {
		_, ctx := ktesting.NewTestContext(b)
		pl := newPlugin(b, "")
		cs := framework.NewCycleState()
		pl.PreFilter(ctx, cs, pod, nodes)
		for _, ni := range nodes {
			pl.Filter(ctx, cs, pod, ni)
		}
		pl.PreFilter(ctx, cs, pod, nodes) // the next cycle's, as in pluginbench
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				pl.Filter(ctx, cs, pod, nodes[i%len(nodes)])
				i++
			}
		})
	})
	b.Run("berth=QoSPlacement/node-changed", func(b *testing.B) {
		// Every call alternates between a node and its clone without one pod (as
		// preemption's dry run makes), two sequences that both stay memoized.
		logger, ctx := ktesting.NewTestContext(b)
		pl := newPlugin(b, "")
		cs := framework.NewCycleState()
		pl.PreFilter(ctx, cs, pod, nodes)
		clones := make([]fwk.NodeInfo, len(nodes))
		for i, ni := range nodes {
			clones[i] = ni.Snapshot()
			if err := clones[i].RemovePod(logger, ni.GetPods()[0].GetPod()); err != nil {
				b.Fatal(err)
			}
			pl.Filter(ctx, cs, pod, ni)
			pl.Filter(ctx, cs, pod, clones[i])
		}
		pl.PreFilter(ctx, cs, pod, nodes) // the next cycle's, as in pluginbench
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			n := (i / 2) % len(nodes)
			if i%2 == 0 {
				pl.Filter(ctx, cs, pod, nodes[n])
			} else {
				pl.Filter(ctx, cs, pod, clones[n])
			}
		}
	})
	b.Run("berth=QoSPlacement/cold", func(b *testing.B) {
		_, ctx := ktesting.NewTestContext(b)
		pl := newPlugin(b, "")
		cs := framework.NewCycleState()
		pl.PreFilter(ctx, cs, pod, nodes)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			pl.limits = newLimitCache(pl.limits.compute)
			b.StartTimer()
			pl.Filter(ctx, cs, pod, nodes[i%len(nodes)])
		}
	})
	b.Run("upstream=NodeResourcesFit", func(b *testing.B) {
		pluginbench.Filter(b, pluginbench.NewFit(b), pod, nodes, 0)
	})
}

// BenchmarkScore reports ns and allocations per Score call (one node per op), for
// QoSPlacement (on nodes unchanged since their memo, and on nodes that gained pods
// since) and, from the same run, upstream NodeResourcesBalancedAllocation.
func BenchmarkScore(b *testing.B) {
	nodes, v1Nodes, v1Pods := benchCluster()
	pod := benchPod()
	b.Run("berth=QoSPlacement", func(b *testing.B) {
		pluginbench.Score(b, newPlugin(b, ""), pod, nodes)
	})
	b.Run("berth=QoSPlacement/nodes-gained-pods", func(b *testing.B) {
		// Every node got two pods bound since its memo, as nodes do between cycles;
		// the timed calls are the cycles after that (pluginbench scores each node once
		// first), when nothing changed since.
		pl := newPlugin(b, "")
		_, ctx := ktesting.NewTestContext(b)
		cs := framework.NewCycleState()
		pl.PreScore(ctx, cs, pod, nodes)
		grown := make([]fwk.NodeInfo, len(nodes))
		for i, ni := range nodes {
			pl.Score(ctx, cs, pod, ni)
			grown[i] = ni.Snapshot()
			for _, p := range []*v1.Pod{benchPod(), podOf(container("app", nil, nil)).Obj()} {
				pi, err := framework.NewPodInfo(p)
				if err != nil {
					b.Fatal(err)
				}
				grown[i].AddPodInfo(pi)
			}
		}
		pluginbench.Score(b, pl, pod, grown)
	})
	b.Run("upstream=NodeResourcesBalancedAllocation", func(b *testing.B) {
		_, ctx := ktesting.NewTestContext(b)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		fh, err := frameworkruntime.NewFramework(ctx, nil, nil,
			frameworkruntime.WithSnapshotSharedLister(cache.NewSnapshot(v1Pods, v1Nodes)))
		if err != nil {
			b.Fatal(err)
		}
		p, err := noderesources.NewBalancedAllocation(ctx, &config.NodeResourcesBalancedAllocationArgs{
			Resources: []config.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}},
		}, fh, feature.Features{})
		if err != nil {
			b.Fatal(err)
		}
		pluginbench.Score(b, p.(*noderesources.BalancedAllocation), pod, nodes)
	})
}

// BenchmarkMemoryLimit is the cache-miss cost per pod object: upstream PodLimits (and,
// for a container without a memory limit, the copy that limits it at its request).
func BenchmarkMemoryLimit(b *testing.B) {
	_, _, pods := benchCluster()
	pl := newPlugin(b, "")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		memoryLimit(pods[i%len(pods)], pl.podOpts)
	}
}

// BenchmarkFilterDuringPreemption reports ns and allocations per node for the Filter calls
// a node gets while preemption is under way (pluginbench.FilterWithClones: the node, a
// fresh clone, the node again), for QoSPlacement and, from the same run, upstream
// NodeResourcesFit: nominated, the clone holds a nominated pod as the framework's
// addGENominatedPods adds it (a fresh deep copy every cycle, with the UID and
// resourceVersion of the pod the API server stored); dry-run, the clone lacks five
// possible victims as in SelectVictimsOnNode.
func BenchmarkFilterDuringPreemption(b *testing.B) {
	nodes, _, _ := benchCluster()
	pod := benchPod()
	nominated := benchPod()
	nominated.UID, nominated.ResourceVersion = "nominated", "1"
	clones := map[string]pluginbench.Clone{
		"nominated": pluginbench.WithNominated(nominated),
		"dry-run":   pluginbench.WithoutVictims(5),
	}
	for _, name := range []string{"nominated", "dry-run"} {
		b.Run(name+"/berth=QoSPlacement", func(b *testing.B) {
			pluginbench.FilterWithClones(b, newPlugin(b, ""), pod, nodes, 0, clones[name])
		})
		b.Run(name+"/upstream=NodeResourcesFit", func(b *testing.B) {
			pluginbench.FilterWithClones(b, pluginbench.NewFit(b), pod, nodes, 0, clones[name])
		})
	}
}
