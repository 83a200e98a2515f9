package localcluster

import (
	"context"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
)

// poll is how often the cluster's own waits look.
const poll = 100 * time.Millisecond

// priorityClassLag is how long a new PriorityClass may take to reach the Priority
// admission plugin, which reads classes from an informer: a pod created right after its
// class can be refused with "no PriorityClass with name ... was found".
const priorityClassLag = 15 * time.Second

// isPriorityClassNotYetSeen tells the admission lag above from a real refusal.
func isPriorityClassNotYetSeen(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "no PriorityClass with name")
}

// RetryPriorityClassLag runs create until it succeeds, fails for another reason, or the
// PriorityClass admission lag is over, and returns create's last error.
func RetryPriorityClassLag(ctx context.Context, create func(context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, poll, priorityClassLag, true, func(ctx context.Context) (bool, error) {
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
