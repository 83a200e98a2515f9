package harness

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
)

func TestPodBuildersMakeTheirQoSClass(t *testing.T) {
	for _, tc := range []struct {
		pod  *v1.Pod
		want v1.PodQOSClass
	}{
		{BestEffortPod("ns", "be").Obj(), v1.PodQOSBestEffort},
		{BurstablePod("ns", "bu", Resources{v1.ResourceCPU: "1"}, nil).Obj(), v1.PodQOSBurstable},
		{BurstablePod("ns", "bu2", Resources{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}, Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "2Gi"}).Obj(), v1.PodQOSBurstable},
		{GuaranteedPod("ns", "g", Resources{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).Obj(), v1.PodQOSGuaranteed},
	} {
		if got := qos.ComputePodQOS(tc.pod); got != tc.want {
			t.Errorf("%s: QoS %s, want %s", tc.pod.Name, got, tc.want)
		}
	}
	bu := BurstablePod("ns", "bu", Resources{v1.ResourceCPU: "1"}, Resources{v1.ResourceCPU: "2"}).Obj()
	res := bu.Spec.Containers[0].Resources
	if res.Requests.Cpu().String() != "1" || res.Limits.Cpu().String() != "2" {
		t.Errorf("BurstablePod kept requests %v and limits %v, want both", res.Requests, res.Limits)
	}
}
