package harness

import (
	"context"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-sched/berth/internal/localcluster"
)

// CreatePod creates p, waiting out the lag before a just-created PriorityClass is
// admitted, and returns the pod as stored.
func CreatePod(ctx context.Context, client kubernetes.Interface, p *v1.Pod) (*v1.Pod, error) {
	var out *v1.Pod
	err := localcluster.RetryPriorityClassLag(ctx, func(ctx context.Context) error {
		var err error
		out, err = client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	return out, err
}
