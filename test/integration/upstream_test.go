package integration

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-sched/berth/test/harness"
)

// TestRecommendedProfileKeepsUpstreamFiltersOn guards the promise that berth's shipped
// profile adds to the upstream scheduler and removes nothing: a pod that does not
// tolerate a node's taint is not placed there, and a pod that fits nowhere says why.
func TestRecommendedProfileKeepsUpstreamFiltersOn(t *testing.T) {
	ns := newNamespace(t)
	createNodes(t,
		harness.Node("it-upstream-tainted", "4", "8Gi", 10, "").
			Taints([]v1.Taint{{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}}).Obj(),
		harness.Node("it-upstream-plain", "2", "4Gi", 10, "").Obj(),
	)
	startBerth(t, recommendedProfile)

	small := createPod(t, harness.BurstablePod(ns, "small", harness.Resources{v1.ResourceCPU: "1"}, nil).Obj())
	if node := waitBound(t, ns, small.Name); node != "it-upstream-plain" {
		t.Errorf("pod without the toleration bound to %s, want it-upstream-plain", node)
	}
	big := createPod(t, harness.BurstablePod(ns, "big", harness.Resources{v1.ResourceCPU: "3"}, nil).Obj())
	msg := waitUnschedulable(t, ns, big.Name)
	for _, want := range []string{"untolerated taint", "Insufficient cpu"} {
		if !strings.Contains(msg, want) {
			t.Errorf("unschedulable message %q lacks %q", msg, want)
		}
	}
}
