package localcluster

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// WaitForPod polls the pod until cond holds and returns it. A pod that cannot be read
// (not yet created, deleted) does not satisfy cond; what names cond in the error.
func (c *Cluster) WaitForPod(ctx context.Context, ns, name string, timeout time.Duration, what string, cond func(*v1.Pod) bool) (*v1.Pod, error) {
	var last *v1.Pod
	err := wait.PollUntilContextTimeout(ctx, poll, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
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
