// Package pluginbench times a plugin's per-node extension point the way a scheduling
// cycle calls it, for the per-plugin benchmarks that put each berth plugin beside an
// upstream one: the per-pod step (PreFilter, PreScore) once, then one per-node call
// (Filter, Score) per op, cycling through the nodes, so that ns/op and allocs/op are per
// node. Test code: only _test.go files import it.
package pluginbench

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources"
)

// FilterPlugin is a plugin with PreFilter and Filter, berth's or upstream's.
type FilterPlugin interface {
	fwk.PreFilterPlugin
	fwk.FilterPlugin
}

// ScorePlugin is a plugin with PreScore and Score, berth's or upstream's.
type ScorePlugin interface {
	fwk.PreScorePlugin
	fwk.ScorePlugin
}

// Filter runs PreFilter for pod once, then Filter once on every node, as the first
// scheduling cycle would (this warms whatever cache the plugin keeps, and the benchmark
// fails unless exactly wantRejected nodes are rejected), then times one Filter call per
// op on nodes[i%len(nodes)].
func Filter(b *testing.B, pl FilterPlugin, pod *v1.Pod, nodes []fwk.NodeInfo, wantRejected int) {
	b.Helper()
	run(b, nodes, wantRejected,
		func(ctx context.Context, cs fwk.CycleState) *fwk.Status {
			_, s := pl.PreFilter(ctx, cs, pod, nodes)
			return s
		},
		func(ctx context.Context, cs fwk.CycleState, ni fwk.NodeInfo) *fwk.Status {
			return pl.Filter(ctx, cs, pod, ni)
		})
}

// Score runs PreScore for pod once, then Score once on every node (each must
// succeed), then times one Score call per op on nodes[i%len(nodes)].
func Score(b *testing.B, pl ScorePlugin, pod *v1.Pod, nodes []fwk.NodeInfo) {
	b.Helper()
	run(b, nodes, 0,
		func(ctx context.Context, cs fwk.CycleState) *fwk.Status {
			return pl.PreScore(ctx, cs, pod, nodes)
		},
		func(ctx context.Context, cs fwk.CycleState, ni fwk.NodeInfo) *fwk.Status {
			_, s := pl.Score(ctx, cs, pod, ni)
			return s
		})
}

func run(b *testing.B, nodes []fwk.NodeInfo, wantRejected int,
	perPod func(context.Context, fwk.CycleState) *fwk.Status,
	perNode func(context.Context, fwk.CycleState, fwk.NodeInfo) *fwk.Status) {
	b.Helper()
	_, ctx := ktesting.NewTestContext(b)
	cs := framework.NewCycleState()
	if s := perPod(ctx, cs); !s.IsSuccess() {
		b.Fatalf("per-pod step: %v", s)
	}
	rejected := 0
	for _, ni := range nodes {
		switch s := perNode(ctx, cs, ni); {
		case s.IsRejected():
			rejected++
		case !s.IsSuccess():
			b.Fatalf("node %s: %v", ni.Node().Name, s)
		}
	}
	if rejected != wantRejected {
		b.Fatalf("%d of %d nodes rejected the pod, want %d", rejected, len(nodes), wantRejected)
	}
	// The timed calls are the next cycle's: the scheduler runs the per-pod step every
	// cycle, and a plugin may finish there what the previous cycle's calls started.
	cs = framework.NewCycleState()
	if s := perPod(ctx, cs); !s.IsSuccess() {
		b.Fatalf("per-pod step: %v", s)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		perNode(ctx, cs, nodes[i%len(nodes)])
	}
}

// Clone makes, from a node's NodeInfo, the copy the framework hands Filter while
// preemption is under way (WithNominated, WithoutVictims).
type Clone func(testing.TB, fwk.NodeInfo) fwk.NodeInfo

// WithNominated is what the framework's addGENominatedPods (RunFilterPluginsWithNominatedPods)
// filters once pods are nominated to the node: a copy of its NodeInfo (NodeInfo.Snapshot)
// with the nominated pods added. Each pod is a fresh deep copy, as the scheduling queue's
// NominatedPodsForNode hands them out on every call.
func WithNominated(pods ...*v1.Pod) Clone {
	return func(tb testing.TB, ni fwk.NodeInfo) fwk.NodeInfo {
		tb.Helper()
		out := ni.Snapshot()
		for _, p := range pods {
			pi, err := framework.NewPodInfo(p.DeepCopy())
			if err != nil {
				tb.Fatal(err)
			}
			out.AddPodInfo(pi)
		}
		return out
	}
}

// WithoutVictims is what preemption's dry run (SelectVictimsOnNode) filters first: a
// copy of the node's NodeInfo with its first n pods, the possible victims, removed.
func WithoutVictims(n int) Clone {
	return func(tb testing.TB, ni fwk.NodeInfo) fwk.NodeInfo {
		tb.Helper()
		out := ni.Snapshot()
		for _, pi := range ni.GetPods()[:n] {
			if err := out.RemovePod(klog.Background(), pi.GetPod()); err != nil {
				tb.Fatal(err)
			}
		}
		return out
	}
}

// FilterWithClones times the Filter calls a node gets while preemption is under way. It
// runs PreFilter once and Filter once on every node (as Filter does), then per op, on
// one node: Filter on the NodeInfo, on a fresh clone made by clone, and on the NodeInfo
// again (the next cycle, or the second pass of RunFilterPluginsWithNominatedPods), so
// ns/op and allocs/op are per node and include three Filter calls. The clones are made
// outside the timer, one per op, since the framework makes them afresh every cycle. No
// call may fail; wantRejected is checked on the first pass as in Filter.
func FilterWithClones(b *testing.B, pl FilterPlugin, pod *v1.Pod, nodes []fwk.NodeInfo, wantRejected int, clone Clone) {
	b.Helper()
	_, ctx := ktesting.NewTestContext(b)
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nodes); !s.IsSuccess() {
		b.Fatalf("PreFilter: %v", s)
	}
	rejected := 0
	for _, ni := range nodes {
		switch s := pl.Filter(ctx, cs, pod, ni); {
		case s.IsRejected():
			rejected++
		case !s.IsSuccess():
			b.Fatalf("node %s: %v", ni.Node().Name, s)
		}
	}
	if rejected != wantRejected {
		b.Fatalf("%d of %d nodes rejected the pod, want %d", rejected, len(nodes), wantRejected)
	}
	clones := make([]fwk.NodeInfo, len(nodes))
	makeClones := func() {
		for i, ni := range nodes {
			clones[i] = clone(b, ni)
		}
	}
	// The clones must be judged, not fail: checked on a set of their own, so that the
	// timed ones are all new to the plugin.
	makeClones()
	for _, ni := range clones {
		if s := pl.Filter(ctx, cs, pod, ni); !s.IsSuccess() && !s.IsRejected() {
			b.Fatalf("clone of node %s: %v", ni.Node().Name, s)
		}
	}
	makeClones()
	// The timed calls are the next cycle's, as in run.
	cs = framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nodes); !s.IsSuccess() {
		b.Fatalf("PreFilter: %v", s)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		n := i % len(nodes)
		if n == 0 && i > 0 {
			b.StopTimer()
			makeClones()
			b.StartTimer()
		}
		pl.Filter(ctx, cs, pod, nodes[n])
		pl.Filter(ctx, cs, pod, clones[n])
		pl.Filter(ctx, cs, pod, nodes[n])
	}
}

// NewFit is upstream's NodeResourcesFit with LeastAllocated scoring over cpu and memory,
// the baseline the resource-filtering plugins' benchmarks run beside.
func NewFit(b *testing.B) *noderesources.Fit {
	b.Helper()
	_, ctx := ktesting.NewTestContext(b)
	p, err := noderesources.NewFit(ctx, &schedconfig.NodeResourcesFitArgs{ScoringStrategy: &schedconfig.ScoringStrategy{
		Type:      schedconfig.LeastAllocated,
		Resources: []schedconfig.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}},
	}}, nil, plfeature.Features{})
	if err != nil {
		b.Fatal(err)
	}
	return p.(*noderesources.Fit)
}
