package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/pkg/plugins/priorityqossort"
	"github.com/berth-sched/berth/test/harness"
)

// TestPriorityQoSSortSchedulesByPriorityThenQoS queues four pods while no berth
// scheduler runs, for a node with room for one pod, then starts a scheduler: the pod it
// binds is the head of its queue. Each round removes the bound pod and starts a fresh
// scheduler, whose queue holds the rest from the start, so every round reads the queue
// order without depending on timing or backoff. Names sort (and so are listed and
// enqueued) in the reverse of the expected order, so upstream's PrioritySort, which
// falls back to enqueue time, would bind the BestEffort pod second.
func TestPriorityQoSSortSchedulesByPriorityThenQoS(t *testing.T) {
	ns := newNamespace(t)
	const nodeName = "priorityqossort-one-slot"
	createNodes(t, harness.Node(nodeName, "4", "8Gi", 1, "").Obj())
	high := priorityClass(t, "priorityqossort-high", 1000)
	low := priorityClass(t, "priorityqossort-low", 10)

	pin := map[string]string{v1.LabelHostname: nodeName}
	small := harness.Resources{v1.ResourceCPU: "100m", v1.ResourceMemory: "64Mi"}
	pods := []*v1.Pod{
		harness.BestEffortPod(ns, "a-low-besteffort").NodeSelector(pin).Obj(),
		harness.BurstablePod(ns, "b-low-burstable", harness.Resources{v1.ResourceCPU: "100m"}, nil).NodeSelector(pin).Obj(),
		harness.GuaranteedPod(ns, "c-low-guaranteed", small).NodeSelector(pin).Obj(),
		harness.BestEffortPod(ns, "d-high-besteffort").NodeSelector(pin).Obj(),
	}
	for _, p := range pods {
		p.Spec.PriorityClassName = low
		if strings.Contains(p.Name, "high") {
			p.Spec.PriorityClassName = high
		}
		p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](0)
		createPod(t, p)
	}

	pending := []string{"a-low-besteffort", "b-low-burstable", "c-low-guaranteed", "d-high-besteffort"}
	for _, want := range []string{"d-high-besteffort", "c-low-guaranteed", "b-low-burstable"} {
		ok := t.Run("then "+want, func(t *testing.T) {
			startBerth(t, withPlugin(priorityqossort.Name, nil, QueueSort))
			got := pqsWaitOneBound(t, ns, pending)
			if got != want {
				t.Fatalf("bound %s first of %v, want %s", got, pending, want)
			}
		})
		if !ok {
			return
		}
		pqsDeleteAndWait(t, ns, want)
		pending = pqsWithout(pending, want)
	}
}

// pqsWaitOneBound waits until one of the named pods is bound and every other one has
// been found unschedulable, and returns the bound one.
func pqsWaitOneBound(t *testing.T, ns string, names []string) string {
	t.Helper()
	var bound, state []string
	err := wait.PollUntilContextTimeout(context.Background(), harness.Poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		bound, state = nil, nil
		unschedulable := 0
		for _, n := range names {
			p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			switch {
			case localcluster.IsBound(p):
				bound = append(bound, n)
				state = append(state, n+"=bound")
			case harness.IsUnschedulable(p):
				unschedulable++
				state = append(state, n+"=unschedulable")
			default:
				state = append(state, n+"=pending")
			}
		}
		return len(bound) == 1 && unschedulable == len(names)-1, nil
	})
	if err != nil {
		sort.Strings(state)
		t.Fatalf("want one of %v bound and the rest unschedulable: %v (last seen %v)", names, err, state)
	}
	return bound[0]
}

// pqsDeleteAndWait deletes a pod at once and waits until the API server has removed it,
// so its node slot is free for the next round.
func pqsDeleteAndWait(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	if err := cp.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, harness.Poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatal(fmt.Errorf("pod %s/%s not gone: %w", ns, name, err))
	}
}

func pqsWithout(names []string, drop string) []string {
	var out []string
	for _, n := range names {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}
