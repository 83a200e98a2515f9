package harness

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	podutil "k8s.io/kubernetes/pkg/api/v1/pod"
)

// Poll is how often the tests' waits look.
const Poll = 100 * time.Millisecond

// IsUnschedulable holds once the scheduler has set PodScheduled=False/Unschedulable
// (a condition for localcluster.Cluster.WaitForPod).
func IsUnschedulable(p *v1.Pod) bool {
	_, c := podutil.GetPodCondition(&p.Status, v1.PodScheduled)
	return c != nil && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable
}

// EventsFor lists the events whose involved object is the named pod.
func EventsFor(ctx context.Context, client kubernetes.Interface, ns, pod string) ([]v1.Event, error) {
	list, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", pod).String(),
	})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// WaitForEvent polls until an event for the pod with the given reason exists and
// returns it.
func WaitForEvent(ctx context.Context, client kubernetes.Interface, ns, pod, reason string, timeout time.Duration) (*v1.Event, error) {
	var found *v1.Event
	err := wait.PollUntilContextTimeout(ctx, Poll, timeout, true, func(ctx context.Context) (bool, error) {
		events, err := EventsFor(ctx, client, ns, pod)
		if err != nil {
			return false, nil
		}
		for i := range events {
			if events[i].Reason == reason {
				found = &events[i]
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("no %s event for pod %s/%s within %v: %w", reason, ns, pod, timeout, err)
	}
	return found, nil
}
