package prioritytaints

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/tainttoleration"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/test/pluginbench"
)

const benchNodes = 5000

// benchNodeInfos are 5000 nodes with three taints each: every tenth node is in the
// reserved pool (berth.io/reserved=critical:NoSchedule, rejected for the benchmark's
// pod when reject is true), every tenth+1 in the soft pool (PreferNoSchedule), the rest
// carry taints the pod tolerates and no rule matches.
func benchNodeInfos(reject bool) []fwk.NodeInfo {
	nodes := make([]fwk.NodeInfo, 0, benchNodes)
	for i := 0; i < benchNodes; i++ {
		taints := []v1.Taint{
			{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule},
			{Key: "example.com/maintenance", Effect: v1.TaintEffectPreferNoSchedule},
		}
		switch {
		case i%10 == 0 && reject:
			taints = append(taints, reservedNoSchedule)
		case i%10 == 1:
			taints = append(taints, reservedPrefer)
		default:
			taints = append(taints, v1.Taint{Key: "example.com/team", Value: "a", Effect: v1.TaintEffectNoExecute})
		}
		nodes = append(nodes, nodeInfo(fmt.Sprintf("node-%d", i), taints...))
	}
	return nodes
}

// benchPod is a low-priority pod with four tolerations, the reserved one among them.
func benchPod() *v1.Pod {
	return pod(ptr.To[int32](1000),
		v1.Toleration{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "gpu", Effect: v1.TaintEffectNoSchedule},
		v1.Toleration{Key: "example.com/team", Operator: v1.TolerationOpExists},
		v1.Toleration{Key: "node.kubernetes.io/not-ready", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute},
		tolerateReserved,
	)
}

func plugins(b *testing.B) map[string]fwk.Plugin {
	_, ctx := ktesting.NewTestContext(b)
	upstream, err := tainttoleration.New(ctx, nil, nil, feature.Features{})
	if err != nil {
		b.Fatal(err)
	}
	return map[string]fwk.Plugin{
		"berth=PriorityTaints":     newPlugin(b, cfgRule("berth.io/reserved", "critical", critical)),
		"upstream=TaintToleration": upstream,
	}
}

// BenchmarkFilter reports ns and allocations per Filter call (one node per op), for
// PriorityTaints and, from the same run, upstream TaintToleration, on nodes that all
// pass (pass) and on nodes of which 10% are a reserved pool PriorityTaints rejects
// (mixed: the allocations are the rejection statuses).
func BenchmarkFilter(b *testing.B) {
	pod := benchPod()
	for _, set := range []struct {
		name   string
		reject bool
		// berthRejects is how many nodes PriorityTaints rejects; TaintToleration
		// rejects none, as the pod tolerates every taint.
		berthRejects int
	}{{"pass", false, 0}, {"mixed", true, benchNodes / 10}} {
		nodes := benchNodeInfos(set.reject)
		b.Run(set.name+"/berth=PriorityTaints", func(b *testing.B) {
			pluginbench.Filter(b, plugins(b)["berth=PriorityTaints"].(pluginbench.FilterPlugin), pod, nodes, set.berthRejects)
		})
		b.Run(set.name+"/upstream=TaintToleration", func(b *testing.B) {
			pluginbench.Filter(b, plugins(b)["upstream=TaintToleration"].(pluginbench.FilterPlugin), pod, nodes, 0)
		})
	}
}

// BenchmarkScore reports ns and allocations per Score call (one node per op), for
// PriorityTaints and, from the same run, upstream TaintToleration.
func BenchmarkScore(b *testing.B) {
	pod := benchPod()
	nodes := benchNodeInfos(false)
	for _, name := range []string{"berth=PriorityTaints", "upstream=TaintToleration"} {
		b.Run(name, func(b *testing.B) {
			pluginbench.Score(b, plugins(b)[name].(pluginbench.ScorePlugin), pod, nodes)
		})
	}
}

// BenchmarkFilterDuringPreemption reports ns and allocations per node for the Filter calls
// a node gets while preemption is under way (pluginbench.FilterWithClones: the node, a
// fresh clone with a nominated pod added as the framework's addGENominatedPods adds it,
// the node again), for PriorityTaints and, from the same run, upstream TaintToleration,
// on nodes that all pass.
func BenchmarkFilterDuringPreemption(b *testing.B) {
	pod := benchPod()
	nodes := benchNodeInfos(false)
	clone := pluginbench.WithNominated(benchPod())
	for _, name := range []string{"berth=PriorityTaints", "upstream=TaintToleration"} {
		b.Run("nominated/"+name, func(b *testing.B) {
			pluginbench.FilterWithClones(b, plugins(b)[name].(pluginbench.FilterPlugin), pod, nodes, 0, clone)
		})
	}
}
