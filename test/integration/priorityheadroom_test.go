package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/priorityheadroom"
	"github.com/berth-sched/berth/test/harness"
)

// phrArgs keeps 25% of cpu for pods with priority >= 1000.
var phrArgs = config.PriorityHeadroomArgs{Reservations: []config.HeadroomReservation{
	{BelowPriority: ptr.To[int32](1000), ReservePercent: map[v1.ResourceName]int32{v1.ResourceCPU: 25}},
}}

const phrRule = "node keeps 25 percent of cpu for pods with priority >= 1000"

// phrPod is a 1-cpu Burstable pod of the priority class, pinned to node, that a
// preemption deletes at once.
func phrPod(ns, name, class, node string) *v1.Pod {
	p := harness.BurstablePod(ns, name, harness.Resources{v1.ResourceCPU: "1"}, nil).
		NodeSelector(map[string]string{v1.LabelHostname: node}).Obj()
	p.Spec.PriorityClassName = class
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](0)
	return p
}

// TestPriorityHeadroomKeepsReserveForHighPriority fills a 4-cpu node with 1-cpu
// low-priority pods: three fit under the 75% limit, the fourth stays Pending with the
// rule in its PodScheduled message and FailedScheduling event, and a pod at the bound's
// priority then lands in the reserve.
func TestPriorityHeadroomKeepsReserveForHighPriority(t *testing.T) {
	ns := newNamespace(t)
	const node = "priorityheadroom-reserve"
	createNodes(t, harness.Node(node, "4", "8Gi", 20, "").Obj())
	low := priorityClass(t, "priorityheadroom-reserve-low", 100)
	high := priorityClass(t, "priorityheadroom-reserve-high", 1000)
	startBerth(t, withPlugin(priorityheadroom.Name, phrArgs, PreFilter, Filter))

	for i := 1; i <= 3; i++ {
		p := createPod(t, phrPod(ns, fmt.Sprintf("low-%d", i), low, node))
		if got := waitBound(t, ns, p.Name); got != node {
			t.Fatalf("%s bound to %s, want %s", p.Name, got, node)
		}
	}
	fourth := createPod(t, phrPod(ns, "low-4", low, node))
	msg := waitUnschedulable(t, ns, fourth.Name)
	if !strings.Contains(msg, phrRule) {
		t.Errorf("PodScheduled message %q lacks %q", msg, phrRule)
	}
	waitEvent(t, ns, fourth.Name, "FailedScheduling", phrRule)

	reserved := createPod(t, phrPod(ns, "high", high, node))
	if got := waitBound(t, ns, reserved.Name); got != node {
		t.Errorf("high-priority pod bound to %s, want %s", got, node)
	}
	p, err := cp.Client.CoreV1().Pods(ns).Get(context.Background(), fourth.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" {
		t.Errorf("the held-back low-priority pod was bound to %s", p.Spec.NodeName)
	}
}

// TestPriorityHeadroomPreemptionFreesHeadroom: a 4-cpu node runs three 1-cpu pods of
// priority 100, which reach the 75% limit for pods below 1000 while 1 cpu is still
// free. A 1-cpu pod of priority 500 fits NodeResourcesFit but not the headroom rule;
// upstream DefaultPreemption's dry run, which runs this Filter on the node without its
// victims, evicts one priority-100 pod to make headroom, and the pod binds there.
func TestPriorityHeadroomPreemptionFreesHeadroom(t *testing.T) {
	ns := newNamespace(t)
	const node = "priorityheadroom-preempt"
	createNodes(t, harness.Node(node, "4", "8Gi", 20, "").Obj())
	low := priorityClass(t, "priorityheadroom-preempt-low", 100)
	mid := priorityClass(t, "priorityheadroom-preempt-mid", 500)
	startBerth(t, withPlugin(priorityheadroom.Name, phrArgs, PreFilter, Filter))

	lows := []string{"low-1", "low-2", "low-3"}
	for _, name := range lows {
		if got := waitBound(t, ns, createPod(t, phrPod(ns, name, low, node)).Name); got != node {
			t.Fatalf("%s bound to %s, want %s", name, got, node)
		}
	}

	preemptor := createPod(t, phrPod(ns, "mid", mid, node))
	if got := waitBound(t, ns, preemptor.Name); got != node {
		t.Fatalf("preemptor bound to %s, want %s", got, node)
	}
	// The first attempt failed on the headroom rule, not on capacity.
	ev, err := harness.WaitForEvent(context.Background(), cp.Client, ns, preemptor.Name, "FailedScheduling", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Message, phrRule) {
		t.Errorf("FailedScheduling event %q lacks %q", ev.Message, phrRule)
	}
	// Exactly one victim was preempted; the other two still run on the node.
	var survivors, victims []string
	err = wait.PollUntilContextTimeout(context.Background(), harness.Poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		survivors, victims = nil, nil
		for _, name := range lows {
			p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil):
				victims = append(victims, name)
			case err == nil && p.Spec.NodeName == node:
				survivors = append(survivors, name)
			}
		}
		return len(victims) >= 1, nil
	})
	if err != nil || len(victims) != 1 || len(survivors) != 2 {
		t.Fatalf("want 1 of %v preempted and 2 running: victims %v, survivors %v (%v)", lows, victims, survivors, err)
	}
	preempted, err := harness.WaitForEvent(context.Background(), cp.Client, ns, victims[0], "Preempted", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(preempted.Message, node) {
		t.Errorf("Preempted event %q does not name node %s", preempted.Message, node)
	}
}
