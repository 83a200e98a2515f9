package integration

import (
	"context"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/qosplacement"
	"github.com/berth-sched/berth/test/harness"
)

// qpGroupLabel keeps these tests' pods on these tests' nodes.
const qpGroupLabel = "qosplacement.berth.io/group"

// withQoSPlacement enables QoSPlacement at all its extension points with the given
// overcommit percent.
func withQoSPlacement(percent int32) func(*localcluster.SchedulerConfig) {
	return withPlugin(qosplacement.Name,
		config.QoSPlacementArgs{MaxMemoryLimitOvercommitPercent: ptr.To(percent)},
		PreFilter, Filter, PreScore, Score)
}

// qpBurstable is a Burstable pod requesting 100m CPU and 256Mi, limited at memLimit,
// kept to the nodes of group; bound to node directly if node is not "".
func qpBurstable(ns, name, group, memLimit, node string) *v1.Pod {
	// The harness builder's requests are kept, the limit set on top of them.
	w := harness.BurstablePod(ns, name, harness.Resources{v1.ResourceCPU: "100m", v1.ResourceMemory: "256Mi"}, nil).
		NodeSelector(map[string]string{qpGroupLabel: group})
	if node != "" {
		w.Node(node)
	}
	p := w.Obj()
	p.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse(memLimit)}
	return p
}

// TestQoSPlacementMemoryOvercommitGuard: on a node with 8Gi allocatable and a 150%
// guard, three Burstable pods limited at 4Gi fit (12Gi), the fourth stays Pending with
// the guard's reason (condition and event); a Guaranteed pod whose requests fit still schedules; deleting one
// Burstable pod lets the fourth in.
func TestQoSPlacementMemoryOvercommitGuard(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	const group = "guard"
	createNodes(t, harness.Node("qosplacement-guard", "8", "8Gi", 20, "").Label(qpGroupLabel, group).Obj())
	startBerth(t, withQoSPlacement(150))

	for _, name := range []string{"burst-1", "burst-2", "burst-3"} {
		createPod(t, qpBurstable(ns, name, group, "4Gi", ""))
		if node := waitBound(t, ns, name); node != "qosplacement-guard" {
			t.Fatalf("%s bound to %s", name, node)
		}
	}
	createPod(t, qpBurstable(ns, "burst-4", group, "4Gi", ""))
	msg := waitUnschedulable(t, ns, "burst-4")
	t.Logf("burst-4: %s", msg)
	const want = "memory limits on node would reach 16Gi of 12Gi allowed (150 percent of allocatable 8Gi)"
	if !strings.Contains(msg, want) {
		t.Errorf("unschedulable message %q lacks %q", msg, want)
	}
	// The event as well: the scheduler uses the reason as a format string there.
	waitEvent(t, ns, "burst-4", "FailedScheduling", want)

	g := harness.GuaranteedPod(ns, "guaranteed", harness.Resources{v1.ResourceCPU: "100m", v1.ResourceMemory: "2Gi"}).
		NodeSelector(map[string]string{qpGroupLabel: group}).Obj()
	createPod(t, g)
	if node := waitBound(t, ns, "guaranteed"); node != "qosplacement-guard" {
		t.Errorf("Guaranteed pod bound to %s, want qosplacement-guard", node)
	}

	// The Guaranteed pod's 2Gi count too: with burst-1 gone the node holds 4+4+2 = 10Gi
	// of limits, and burst-4 brings it to 14Gi. Deleting burst-2 as well makes room.
	for _, name := range []string{"burst-1", "burst-2"} {
		if err := cp.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
	}
	if node := waitBound(t, ns, "burst-4"); node != "qosplacement-guard" {
		t.Errorf("burst-4 bound to %s after pods were deleted, want qosplacement-guard", node)
	}
}

// TestQoSPlacementBestEffortPrefersMemorySlack: two equal nodes; "tight" holds a
// Burstable pod with tiny requests and a 12Gi limit, "roomy" a Guaranteed pod of 2Gi.
// By requests "tight" is the emptier node (upstream's resource scores prefer it); by
// memory slack (allocatable minus limits) "roomy" is, and a BestEffort pod goes there.
func TestQoSPlacementBestEffortPrefersMemorySlack(t *testing.T) {
	ns := newNamespace(t)
	const group = "slack"
	createNodes(t,
		harness.Node("qosplacement-tight", "4", "16Gi", 20, "").Label(qpGroupLabel, group).Obj(),
		harness.Node("qosplacement-roomy", "4", "16Gi", 20, "").Label(qpGroupLabel, group).Obj(),
	)
	// Placed directly, before berth starts: the neighbours that make the difference.
	createPod(t, qpBurstable(ns, "bursty-neighbour", group, "12Gi", "qosplacement-tight"))
	createPod(t, harness.GuaranteedPod(ns, "steady-neighbour", harness.Resources{v1.ResourceCPU: "100m", v1.ResourceMemory: "2Gi"}).
		NodeSelector(map[string]string{qpGroupLabel: group}).Node("qosplacement-roomy").Obj())
	startBerth(t, withQoSPlacement(150))

	for _, name := range []string{"besteffort-1", "besteffort-2"} {
		createPod(t, harness.BestEffortPod(ns, name).NodeSelector(map[string]string{qpGroupLabel: group}).Obj())
		if node := waitBound(t, ns, name); node != "qosplacement-roomy" {
			t.Errorf("BestEffort pod %s bound to %s, want qosplacement-roomy (14Gi slack against 4Gi)", name, node)
		}
	}
}

// TestQoSPlacementPodAboveTheCapOfEveryNodeIsUnresolvable: a Burstable pod whose own
// memory limit (16Gi) exceeds what the guard allows on an empty node (12Gi: 150% of
// 8Gi) can never fit, whatever is evicted. The guard says so (UnschedulableAndUnresolvable)
// and preemption does not dry-run evicting the low-priority pod that sits on the node.
func TestQoSPlacementPodAboveTheCapOfEveryNodeIsUnresolvable(t *testing.T) {
	ns := newNamespace(t)
	const group = "above-cap"
	createNodes(t, harness.Node("qosplacement-above-cap", "8", "8Gi", 20, "").Label(qpGroupLabel, group).Obj())
	low := priorityClass(t, "qosplacement-above-cap-low", 100)
	high := priorityClass(t, "qosplacement-above-cap-high", 1000)
	startBerth(t, withQoSPlacement(150))

	small := qpBurstable(ns, "small", group, "1Gi", "")
	small.Spec.PriorityClassName = low
	createPod(t, small)
	waitBound(t, ns, "small")

	huge := qpBurstable(ns, "huge", group, "16Gi", "")
	huge.Spec.PriorityClassName = high
	createPod(t, huge)
	msg := waitUnschedulable(t, ns, "huge")
	t.Logf("huge: %s", msg)
	for _, want := range []string{
		"pod's memory limit 16Gi exceeds the 12Gi allowed on the node even when empty (150 percent of allocatable 8Gi)",
		"preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("unschedulable message %q lacks %q", msg, want)
		}
		waitEvent(t, ns, "huge", "FailedScheduling", want)
	}
	p, err := cp.Client.CoreV1().Pods(ns).Get(context.Background(), "small", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp != nil {
		t.Errorf("the low-priority pod was preempted for a pod that cannot fit (get: %v)", err)
	}
}
