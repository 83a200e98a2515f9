package harness

import (
	"context"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// priorityClassLag is how long a new PriorityClass may take to reach the Priority
// admission plugin, which reads classes from an informer: a pod created right after its
// class can be refused with "no PriorityClass with name ... was found".
const priorityClassLag = 15 * time.Second

// isPriorityClassNotYetSeen tells the admission lag above from a real refusal.
func isPriorityClassNotYetSeen(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "no PriorityClass with name")
}

// retryPriorityClassLag runs create until it succeeds, fails for another reason, or
// the admission lag is over.
func retryPriorityClassLag(ctx context.Context, create func(context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, Poll, priorityClassLag, true, func(ctx context.Context) (bool, error) {
		last = create(ctx)
		if isPriorityClassNotYetSeen(last) {
			return false, nil
		}
		return true, last
	})
	if last != nil {
		return last
	}
	return err
}

// CreatePod creates p, waiting out the lag before a just-created PriorityClass is
// admitted, and returns the pod as stored.
func CreatePod(ctx context.Context, client kubernetes.Interface, p *v1.Pod) (*v1.Pod, error) {
	var out *v1.Pod
	err := retryPriorityClassLag(ctx, func(ctx context.Context) error {
		var err error
		out, err = client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	return out, err
}
