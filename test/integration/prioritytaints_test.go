package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/prioritytaints"
	"github.com/berth-sched/berth/test/harness"
)

// ptGroupLabel keeps these tests' pods on these tests' nodes.
const ptGroupLabel = "prioritytaints.berth.io/group"

// ptReservedTaint is the reserved pool's taint; ptRule reserves it for priority >= 1000000.
var ptReservedTaint = v1.Taint{Key: "berth.io/reserved", Value: "critical", Effect: v1.TaintEffectNoSchedule}

// withPriorityTaints enables PriorityTaints at all its extension points with one rule:
// berth.io/reserved=critical is reserved for pods with priority >= 1000000.
func withPriorityTaints() func(*localcluster.SchedulerConfig) {
	return withPlugin(prioritytaints.Name, config.PriorityTaintsArgs{Rules: []config.PriorityTaintRule{
		{Key: "berth.io/reserved", Value: "critical", MinPriority: ptr.To[int32](1000000)},
	}}, PreFilter, Filter, PreScore, Score)
}

// ptPriorityClasses creates the test's "low" (1000) and "critical" (1000000)
// PriorityClasses, named after prefix, and returns their names.
func ptPriorityClasses(t *testing.T, prefix string) (low, critical string) {
	t.Helper()
	ctx := context.Background()
	for name, value := range map[string]int32{prefix + "-low": 1000, prefix + "-critical": 1000000} {
		_, err := cp.Client.SchedulingV1().PriorityClasses().Create(ctx, harness.PriorityClass(name, value, ""), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cp.Client.SchedulingV1().PriorityClasses().Delete(ctx, name, metav1.DeleteOptions{}) })
	}
	return prefix + "-low", prefix + "-critical"
}

// ptPod is a pod of PriorityClass class requesting cpu, kept to the nodes of group,
// tolerating the reserved taint; bound to node directly (bypassing the scheduler) if
// node is not "".
func ptPod(ns, name, class, group, cpu, node string) *v1.Pod {
	w := harness.BurstablePod(ns, name, harness.Resources{v1.ResourceCPU: cpu, v1.ResourceMemory: "64Mi"}, nil).
		NodeSelector(map[string]string{ptGroupLabel: group}).
		Tolerations([]v1.Toleration{{Key: ptReservedTaint.Key, Operator: v1.TolerationOpEqual, Value: ptReservedTaint.Value, Effect: v1.TaintEffectNoSchedule}})
	if node != "" {
		w.Node(node)
	}
	p := w.Obj()
	p.Spec.PriorityClassName = class
	return p
}

const ptReason = "node taint berth.io/reserved=critical:NoSchedule is reserved for pods with priority >= 1000000"

// TestPriorityTaintsReservedPool: a low-priority pod that carries the reserved pool's
// toleration stays Pending with the plugin's reason; a critical pod with the same
// toleration lands in the pool.
func TestPriorityTaintsReservedPool(t *testing.T) {
	ns := newNamespace(t)
	const group = "reserved-pool"
	createNodes(t,
		harness.Node("prioritytaints-reserved", "4", "8Gi", 10, "").Label(ptGroupLabel, group).
			Taints([]v1.Taint{ptReservedTaint}).Obj(),
		harness.Node("prioritytaints-small", "1", "8Gi", 10, "").Label(ptGroupLabel, group).Obj(),
	)
	low, critical := ptPriorityClasses(t, "prioritytaints-pool")
	startBerth(t, withPriorityTaints())

	createPod(t, ptPod(ns, "low", low, group, "2", ""))
	msg := waitUnschedulable(t, ns, "low")
	t.Logf("low-priority pod: %s", msg)
	for _, want := range []string{ptReason, "Insufficient cpu"} {
		if !strings.Contains(msg, want) {
			t.Errorf("unschedulable message %q lacks %q", msg, want)
		}
		waitEvent(t, ns, "low", "FailedScheduling", want)
	}

	createPod(t, ptPod(ns, "critical", critical, group, "2", ""))
	if node := waitBound(t, ns, "critical"); node != "prioritytaints-reserved" {
		t.Errorf("critical pod bound to %s, want prioritytaints-reserved", node)
	}
	p, err := cp.Client.CoreV1().Pods(ns).Get(context.Background(), "low", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" {
		t.Errorf("low-priority pod was bound to %s", p.Spec.NodeName)
	}
}

// TestPriorityTaintsLowPriorityPodDoesNotPreemptIntoReservedPool: preemption's dry run
// runs the filters, so a low-priority pod with the toleration does not evict a
// lower-priority pod from the reserved pool; a critical pod in the same position does.
func TestPriorityTaintsLowPriorityPodDoesNotPreemptIntoReservedPool(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	const group = "preemption"
	createNodes(t,
		harness.Node("prioritytaints-preempt", "2", "8Gi", 10, "").Label(ptGroupLabel, group).
			Taints([]v1.Taint{ptReservedTaint}).Obj(),
	)
	low, critical := ptPriorityClasses(t, "prioritytaints-preempt")
	startBerth(t, withPriorityTaints())

	// The victim has priority 0 and fills the node; it is bound directly (nodeName),
	// which PriorityTaints, like every scheduler policy, does not see.
	victim := harness.BurstablePod(ns, "victim", harness.Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "64Mi"}, nil).
		NodeSelector(map[string]string{ptGroupLabel: group}).
		Tolerations([]v1.Toleration{{Key: ptReservedTaint.Key, Operator: v1.TolerationOpExists}}).
		Node("prioritytaints-preempt").Obj()
	victim.Spec.TerminationGracePeriodSeconds = ptr.To[int64](0) // preempted at once
	createPod(t, victim)
	if _, err := cp.WaitForPod(ctx, ns, "victim", 30*time.Second, "running", localcluster.IsRunning); err != nil {
		t.Fatal(err)
	}

	createPod(t, ptPod(ns, "low", low, group, "1", ""))
	msg := waitUnschedulable(t, ns, "low")
	t.Logf("low-priority pod: %s", msg)
	// The scheduling pass stops at NodeResourcesFit (the node is full); the dry run,
	// with the victim removed, reaches PriorityTaints.
	for _, want := range []string{"Insufficient cpu", "preemption: 0/1 nodes are available: 1 " + ptReason} {
		if !strings.Contains(msg, want) {
			t.Errorf("unschedulable message %q lacks %q", msg, want)
		}
		waitEvent(t, ns, "low", "FailedScheduling", want)
	}
	p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "low", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.NominatedNodeName != "" {
		t.Errorf("low-priority pod was nominated to %s", p.Status.NominatedNodeName)
	}
	v, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "victim", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("victim: %v", err)
	}
	if v.DeletionTimestamp != nil {
		t.Errorf("the low-priority pod preempted the victim")
	}

	// Control: the same setup lets a critical pod preempt, so the test above would have
	// seen a preemption had the plugin not stopped it.
	createPod(t, ptPod(ns, "critical", critical, group, "1", ""))
	err = wait.PollUntilContextTimeout(ctx, harness.Poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		v, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "victim", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && v.DeletionTimestamp != nil), nil
	})
	if err != nil {
		t.Fatalf("the critical pod did not preempt the victim: %v", err)
	}
	if node := waitBound(t, ns, "critical"); node != "prioritytaints-preempt" {
		t.Errorf("critical pod bound to %s, want prioritytaints-preempt", node)
	}
}

// TestPriorityTaintsPreferNoSchedulePool: a low-priority pod prefers the untainted node
// to one with a reserved PreferNoSchedule taint, even though it tolerates the taint
// (upstream TaintToleration is then indifferent); a critical pod is indifferent, so the
// resource scores send it to the emptier, tainted node.
func TestPriorityTaintsPreferNoSchedulePool(t *testing.T) {
	ns := newNamespace(t)
	const group = "prefer"
	soft := ptReservedTaint
	soft.Effect = v1.TaintEffectPreferNoSchedule
	createNodes(t,
		harness.Node("prioritytaints-soft", "4", "8Gi", 10, "").Label(ptGroupLabel, group).
			Taints([]v1.Taint{soft}).Obj(),
		harness.Node("prioritytaints-plain", "4", "8Gi", 10, "").Label(ptGroupLabel, group).Obj(),
	)
	low, critical := ptPriorityClasses(t, "prioritytaints-prefer")
	startBerth(t, withPriorityTaints())

	// Three pods in turn: without the plugin the resource scores would send the second
	// to the emptier node.
	for _, name := range []string{"low-1", "low-2", "low-3"} {
		p := ptPod(ns, name, low, group, "500m", "")
		p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Key: soft.Key, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectPreferNoSchedule})
		createPod(t, p)
		if node := waitBound(t, ns, name); node != "prioritytaints-plain" {
			t.Errorf("low-priority pod %s bound to %s, want prioritytaints-plain", name, node)
		}
	}
	p := ptPod(ns, "critical", critical, group, "500m", "")
	p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Key: soft.Key, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectPreferNoSchedule})
	createPod(t, p)
	if node := waitBound(t, ns, "critical"); node != "prioritytaints-soft" {
		t.Errorf("critical pod bound to %s, want prioritytaints-soft (the emptier node: PriorityTaints must not score it)", node)
	}
}
