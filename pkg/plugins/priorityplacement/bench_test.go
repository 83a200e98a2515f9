package priorityplacement

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/podtopologyspread"
	plugintesting "k8s.io/kubernetes/pkg/scheduler/framework/plugins/testing"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/test/pluginbench"
)

const (
	benchNodes       = 5000
	benchPodsPerNode = 10
	benchZones       = 10
)

// benchCluster is 5000 nodes in 10 zones with 10 pods each: one critical, the rest
// split between the neutral and the pack band, all labelled app=bench so upstream's
// PodTopologySpread counts every one of them.
func benchCluster() ([]*v1.Node, []*v1.Pod) {
	nodes := make([]*v1.Node, benchNodes)
	pods := make([]*v1.Pod, 0, benchNodes*benchPodsPerNode)
	for i := range nodes {
		name := fmt.Sprintf("node-%d", i)
		nodes[i] = st.MakeNode().Name(name).Label(v1.LabelHostname, name).
			Label(v1.LabelTopologyZone, fmt.Sprintf("zone-%d", i%benchZones)).
			Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "32", v1.ResourceMemory: "128Gi"}).Obj()
		for j := range benchPodsPerNode {
			prio := int32(0)
			switch {
			case j == 0:
				prio = critical
			case j%2 == 0:
				prio = 5000
			}
			pn := fmt.Sprintf("pod-%d-%d", i, j)
			pods = append(pods, st.MakePod().Name(pn).UID(pn).Node(name).Label("app", "bench").Priority(prio).
				Req(map[v1.ResourceName]string{
					v1.ResourceCPU:    fmt.Sprintf("%dm", 100*(1+(i+j)%20)),
					v1.ResourceMemory: fmt.Sprintf("%dMi", 256*(1+(i*j)%16)),
				}).Obj())
		}
	}
	return nodes, pods
}

func benchPod(prio int32) *v1.Pod {
	return st.MakePod().Name("incoming").UID("incoming").Label("app", "bench").Priority(prio).
		Req(map[v1.ResourceName]string{v1.ResourceCPU: "500m", v1.ResourceMemory: "1Gi"}).Obj()
}

// benchCase is one plugin set up for one incoming pod.
type benchCase struct {
	name string
	pod  *v1.Pod
	pl   pluginbench.ScorePlugin
}

func benchCases(b *testing.B, snap *cache.Snapshot) []benchCase {
	metrics.Register() // upstream's parallelizer (PodTopologySpread) records metrics
	_, ctx := ktesting.NewTestContext(b)
	berth := func(args string) *PriorityPlacement {
		var obj runtime.Object
		if args != "" {
			obj = &runtime.Unknown{Raw: []byte(args)}
		}
		return plugintesting.SetupPlugin(ctx, b, New, obj, snap).(*PriorityPlacement)
	}
	resources := []config.ResourceSpec{{Name: string(v1.ResourceCPU), Weight: 1}, {Name: string(v1.ResourceMemory), Weight: 1}}
	fit := plugintesting.SetupPlugin(ctx, b, frameworkruntime.FactoryAdapter(feature.Features{}, noderesources.NewFit),
		&config.NodeResourcesFitArgs{ScoringStrategy: &config.ScoringStrategy{Type: config.MostAllocated, Resources: resources}}, snap)
	balanced := plugintesting.SetupPlugin(ctx, b, frameworkruntime.FactoryAdapter(feature.Features{}, noderesources.NewBalancedAllocation),
		&config.NodeResourcesBalancedAllocationArgs{Resources: resources}, snap)
	spread := plugintesting.SetupPluginWithInformers(ctx, b, frameworkruntime.FactoryAdapter(feature.Features{}, podtopologyspread.New),
		&config.PodTopologySpreadArgs{DefaultingType: config.ListDefaulting}, snap, nil)
	zoneSpreadPod := benchPod(0)
	zoneSpreadPod.Spec.TopologySpreadConstraints = st.MakePod().SpreadConstraint(1, v1.LabelTopologyZone, v1.ScheduleAnyway,
		&metav1.LabelSelector{MatchLabels: map[string]string{"app": "bench"}}, nil, nil, nil, nil).Obj().Spec.TopologySpreadConstraints

	return []benchCase{
		{name: "berth/PriorityPlacement/pack", pod: benchPod(0), pl: berth("")},
		{name: "berth/PriorityPlacement/spread-per-node", pod: benchPod(critical), pl: berth("")},
		{name: "berth/PriorityPlacement/spread-per-zone", pod: benchPod(critical), pl: berth(zoneArgs)},
		{name: "upstream/NodeResourcesFit-MostAllocated", pod: benchPod(0), pl: fit.(pluginbench.ScorePlugin)},
		{name: "upstream/NodeResourcesBalancedAllocation", pod: benchPod(0), pl: balanced.(pluginbench.ScorePlugin)},
		{name: "upstream/PodTopologySpread-zone-ScheduleAnyway", pod: zoneSpreadPod, pl: spread.(pluginbench.ScorePlugin)},
	}
}

// BenchmarkPreScore is one PreScore per op (once per pod) with all 5000 nodes as
// candidates; ns/node divides by the node count for comparison with Score.
func BenchmarkPreScore(b *testing.B) {
	nodes, pods := benchCluster()
	snap := cache.NewSnapshot(pods, nodes)
	all, _ := snap.NodeInfos().List()
	_, ctx := ktesting.NewTestContext(b)
	for _, bc := range benchCases(b, snap) {
		if bc.name == "upstream/NodeResourcesBalancedAllocation" {
			continue // same per-pod PreScore as NodeResourcesFit
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if s := bc.pl.PreScore(ctx, framework.NewCycleState(), bc.pod, all); !s.IsSuccess() {
					b.Fatal(s)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(all)), "ns/node")
		})
	}
}

// BenchmarkScore is one Score call on one node per op, cycling through the 5000
// nodes after one PreScore, as the framework calls it.
func BenchmarkScore(b *testing.B) {
	nodes, pods := benchCluster()
	snap := cache.NewSnapshot(pods, nodes)
	all, _ := snap.NodeInfos().List()
	for _, bc := range benchCases(b, snap) {
		b.Run(bc.name, func(b *testing.B) { pluginbench.Score(b, bc.pl, bc.pod, all) })
	}
}
