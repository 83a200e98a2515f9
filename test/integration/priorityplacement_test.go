package integration

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/pkg/plugins/priorityplacement"
	"github.com/berth-sched/berth/test/harness"
)

// ppWeight is PriorityPlacement's Score weight in these tests: the weight the docs
// recommend for production. With min-max normalisation the plugin moves a node's
// total by up to 100 x weight; NodeResourcesFit (LeastAllocated, weight 1) and
// NodeResourcesBalancedAllocation (weight 1) together by at most 100 + 50. Weight 2
// (200) therefore decides between the nodes these tests create, whatever the resource
// scorers say, and the tests check the weight users are told to run.
const ppWeight = 2

// withPriorityPlacement enables the plugin at PreScore and Score with args and sets
// its Score weight (withPlugin leaves weights unset).
func withPriorityPlacement(args any) func(*localcluster.SchedulerConfig) {
	return all(
		withPlugin(priorityplacement.Name, args, PreScore, Score),
		func(c *localcluster.SchedulerConfig) {
			enabled := c.Profiles[0].Plugins.Score.Enabled
			for i := range enabled {
				if enabled[i].Name == priorityplacement.Name {
					enabled[i].Weight = ptr.To[int32](ppWeight)
				}
			}
		},
	)
}

// ppPod is a pod of the given class requesting cpu and memory, limited to the nodes
// labelled group (so nodes of other tests are never candidates), bound to node if
// node is not "" (then the scheduler does not place it).
func ppPod(ns, name, class, group, cpu, mem, node string) *v1.Pod {
	w := harness.BurstablePod(ns, name, harness.Resources{v1.ResourceCPU: cpu, v1.ResourceMemory: mem}, nil).
		NodeSelector(map[string]string{ppGroupLabel: group})
	if node != "" {
		w.Node(node)
	}
	p := w.Obj()
	p.Spec.PriorityClassName = class
	return p
}

const ppGroupLabel = "berth.test/priorityplacement"

// ppPodsOn lists the pods of ns bound to node.
func ppPodsOn(t *testing.T, ns, node string) []string {
	t.Helper()
	list, err := cp.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	return names
}

// TestPriorityPlacementSpreadsCriticalPods: node a already runs a critical pod and is
// otherwise nearly empty; node b runs no critical pod but is 62% full of low-priority
// work. Upstream's LeastAllocated prefers a (75 vs 25 after placement) and
// BalancedAllocation has no preference (every request has the nodes' cpu:memory
// ratio), so only PriorityPlacement sends the next critical pod to b.
func TestPriorityPlacementSpreadsCriticalPods(t *testing.T) {
	ns := newNamespace(t)
	const group = "spread"
	a, b := "priorityplacement-spread-a", "priorityplacement-spread-b"
	createNodes(t,
		harness.Node(a, "8", "16Gi", 20, "").Label(ppGroupLabel, group).Obj(),
		harness.Node(b, "8", "16Gi", 20, "").Label(ppGroupLabel, group).Obj(),
	)
	critical := priorityClass(t, "priorityplacement-critical", 1000000)
	low := priorityClass(t, "priorityplacement-spread-low", 100)
	// Bound before the scheduler starts, so its first snapshot holds them.
	createPod(t, ppPod(ns, "critical-existing", critical, group, "1", "2Gi", a))
	createPod(t, ppPod(ns, "low-filler", low, group, "5", "10Gi", b))
	startBerth(t, withPriorityPlacement(nil))

	createPod(t, ppPod(ns, "critical-new", critical, group, "1", "2Gi", ""))
	if node := waitBound(t, ns, "critical-new"); node != b {
		t.Errorf("critical-new bound to %s, want %s, the node without critical pods (pods on %s: %v)", node, b, a, ppPodsOn(t, ns, a))
	}
}

// TestPriorityPlacementPacksLowPriorityPods: three low-priority pods created at once
// all land on one node and the other node stays empty. The first pick is a tie; after
// it, LeastAllocated prefers the empty node (by 12.5 and 25 points) and
// PriorityPlacement the used one (by 100 x weight).
func TestPriorityPlacementPacksLowPriorityPods(t *testing.T) {
	ns := newNamespace(t)
	const group = "pack"
	a, b := "priorityplacement-pack-a", "priorityplacement-pack-b"
	createNodes(t,
		harness.Node(a, "8", "16Gi", 20, "").Label(ppGroupLabel, group).Obj(),
		harness.Node(b, "8", "16Gi", 20, "").Label(ppGroupLabel, group).Obj(),
	)
	low := priorityClass(t, "priorityplacement-pack-low", 100)
	startBerth(t, withPriorityPlacement(nil))

	names := []string{"low-1", "low-2", "low-3"}
	for _, name := range names {
		createPod(t, ppPod(ns, name, low, group, "1", "2Gi", ""))
	}
	bound := map[string]string{}
	for _, name := range names {
		bound[name] = waitBound(t, ns, name)
	}
	used := bound["low-1"]
	for _, name := range names {
		if bound[name] != used {
			t.Errorf("pods spread over nodes: %v, want all three on one node", bound)
			break
		}
	}
	empty := a
	if used == a {
		empty = b
	}
	if pods := ppPodsOn(t, ns, empty); len(pods) != 0 {
		t.Errorf("node %s should stay empty, has %v", empty, pods)
	}
}
