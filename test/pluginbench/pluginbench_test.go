package pluginbench

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

// counter is a plugin that counts its calls and rejects the nodes named in reject.
type counter struct {
	reject          map[string]bool
	perPod, perNode int
	perPodNodes     int
}

func (c *counter) Name() string { return "counter" }

func (c *counter) PreFilter(_ context.Context, _ fwk.CycleState, _ *v1.Pod, nodes []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	c.perPod++
	c.perPodNodes = len(nodes)
	return nil, nil
}

func (c *counter) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

func (c *counter) Filter(_ context.Context, _ fwk.CycleState, _ *v1.Pod, ni fwk.NodeInfo) *fwk.Status {
	c.perNode++
	if c.reject[ni.Node().Name] {
		return fwk.NewStatus(fwk.Unschedulable, "rejected")
	}
	return nil
}

func (c *counter) PreScore(_ context.Context, _ fwk.CycleState, _ *v1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	c.perPod++
	c.perPodNodes = len(nodes)
	return nil
}

func (c *counter) Score(context.Context, fwk.CycleState, *v1.Pod, fwk.NodeInfo) (int64, *fwk.Status) {
	c.perNode++
	return 0, nil
}

func (c *counter) ScoreExtensions() fwk.ScoreExtensions { return nil }

func nodes(n int) []fwk.NodeInfo {
	out := make([]fwk.NodeInfo, n)
	for i := range out {
		ni := framework.NewNodeInfo()
		ni.SetNode(st.MakeNode().Name(fmt.Sprintf("n%d", i)).Obj())
		out[i] = ni
	}
	return out
}

func TestFilterAndScoreCallThePerPodStepPerCycleAndTheNodeStepPerOp(t *testing.T) {
	ns := nodes(3)
	for name, bench := range map[string]func(*testing.B, *counter){
		"Filter": func(b *testing.B, c *counter) { Filter(b, c, st.MakePod().Obj(), ns, 1) },
		"Score":  func(b *testing.B, c *counter) { Score(b, c, st.MakePod().Obj(), ns) },
	} {
		c := &counter{reject: map[string]bool{"n1": true}}
		r := testing.Benchmark(func(b *testing.B) { bench(b, c) })
		if r.N == 0 {
			t.Fatalf("%s: the benchmark failed", name)
		}
		if c.perPod != 2 || c.perPodNodes != len(ns) {
			t.Errorf("%s: per-pod step ran %d times with %d nodes, want twice (the warm-up cycle and the timed one) with %d", name, c.perPod, c.perPodNodes, len(ns))
		}
		if want := len(ns) + r.N; c.perNode != want {
			t.Errorf("%s: per-node step ran %d times, want %d (one warm-up pass over %d nodes, then %d ops)", name, c.perNode, want, len(ns), r.N)
		}
	}
}

func TestFilterFailsWhenTheRejectionsAreNotTheExpectedOnes(t *testing.T) {
	c := &counter{reject: map[string]bool{"n0": true, "n2": true}}
	r := testing.Benchmark(func(b *testing.B) { Filter(b, c, st.MakePod().Obj(), nodes(3), 1) })
	if r.N != 0 {
		t.Errorf("with 2 rejections where 1 was expected the benchmark ran %d ops, want it to fail", r.N)
	}
}
