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

// Poll is how often the wait helpers look.
const Poll = 100 * time.Millisecond

// WaitForPod polls the pod until cond holds and returns it. A pod that cannot be read
// (not yet created, deleted) does not satisfy cond.
func WaitForPod(ctx context.Context, client kubernetes.Interface, ns, name string, timeout time.Duration, what string, cond func(*v1.Pod) bool) (*v1.Pod, error) {
	var last *v1.Pod
	err := wait.PollUntilContextTimeout(ctx, Poll, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return cond(p), nil
	})
	if err != nil {
		return last, fmt.Errorf("pod %s/%s: not %s within %v: %w", ns, name, what, timeout, err)
	}
	return last, nil
}

// IsBound holds once the pod has a node.
func IsBound(p *v1.Pod) bool { return p.Spec.NodeName != "" }

// IsRunning holds once the simulated kubelet reports the pod Running.
func IsRunning(p *v1.Pod) bool { return p.Spec.NodeName != "" && p.Status.Phase == v1.PodRunning }

// IsUnschedulable holds once the scheduler has set PodScheduled=False/Unschedulable.
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
