package qosrank

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

func TestOfOrdersClassesByKubeletProtection(t *testing.T) {
	if !(Of(v1.PodQOSBestEffort) < Of(v1.PodQOSBurstable) && Of(v1.PodQOSBurstable) < Of(v1.PodQOSGuaranteed)) {
		t.Errorf("ranks BestEffort %d, Burstable %d, Guaranteed %d: want increasing",
			Of(v1.PodQOSBestEffort), Of(v1.PodQOSBurstable), Of(v1.PodQOSGuaranteed))
	}
	if got := Of("Platinum"); got != BestEffort {
		t.Errorf("an undefined class ranks %d, want BestEffort (%d)", got, BestEffort)
	}
	for _, c := range []v1.PodQOSClass{v1.PodQOSBestEffort, v1.PodQOSBurstable, v1.PodQOSGuaranteed} {
		if r := Of(c); r < 0 || int(r) >= Count {
			t.Errorf("rank of %s is %d, outside [0, Count=%d)", c, r, Count)
		}
	}
}

func TestOfPodPrefersTheStatusClassAndComputesTheRest(t *testing.T) {
	guaranteed := st.MakePod().Res(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).Obj()
	burstable := st.MakePod().Req(map[v1.ResourceName]string{v1.ResourceCPU: "1"}).Obj()
	bestEffort := st.MakePod().Container("app").Obj()
	recorded := st.MakePod().Container("app").Obj()
	recorded.Status.QOSClass = v1.PodQOSGuaranteed
	for name, tt := range map[string]struct {
		pod  *v1.Pod
		want Rank
	}{
		"Guaranteed, computed":                 {guaranteed, Guaranteed},
		"Burstable, computed":                  {burstable, Burstable},
		"BestEffort, computed":                 {bestEffort, BestEffort},
		"the apiserver's status class is used": {recorded, Guaranteed},
	} {
		if got := OfPod(tt.pod); got != tt.want {
			t.Errorf("%s: OfPod = %d, want %d", name, got, tt.want)
		}
	}
}
