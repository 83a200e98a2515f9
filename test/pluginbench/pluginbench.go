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
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
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
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		perNode(ctx, cs, nodes[i%len(nodes)])
	}
}
