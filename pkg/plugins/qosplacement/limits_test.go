package qosplacement

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name string
		pod  *v1.Pod
		want int64
	}{
		{name: "a BestEffort pod has none", pod: bestEffort(), want: 0},
		{name: "a container's limit", pod: burstable("3Gi"), want: 3 * gi},
		{name: "a container without memory limit counts at its request",
			pod: podOf(container("a", res{"memory": "2Gi"}, res{"cpu": "1"})).Obj(), want: 2 * gi},
		{name: "containers add up",
			pod: podOf(container("a", res{"memory": "2Gi"}, nil), container("b", nil, res{"memory": "1Gi"})).Obj(), want: 3 * gi},
		{name: "a container with neither counts 0",
			pod: podOf(container("a", res{"cpu": "1"}, nil), container("b", nil, res{"memory": "1Gi"})).Obj(), want: gi},
		{name: "an init container above the containers sets the peak",
			pod: podOf(container("a", nil, res{"memory": "1Gi"})).InitReq(res{"memory": "5Gi"}).Obj(), want: 5 * gi},
		{name: "an init container without limit counts at its request",
			pod: func() *v1.Pod {
				p := podOf(container("a", nil, res{"memory": "1Gi"})).Obj()
				p.Spec.InitContainers = []v1.Container{container("init", res{"memory": "6Gi"}, nil)}
				return p
			}(), want: 6 * gi},
		{name: "a sidecar adds to the containers",
			pod: podOf(container("a", nil, res{"memory": "1Gi"})).SidecarReq(res{"memory": "2Gi"}).Obj(), want: 3 * gi},
		{name: "overhead adds",
			pod:  podOf(container("a", nil, res{"memory": "1Gi"})).Overhead(v1.ResourceList{v1.ResourceMemory: resource.MustParse("512Mi")}).Obj(),
			want: gi + gi/2},
		{name: "a pod without containers has none", pod: &v1.Pod{}, want: 0},
		{name: "a limit beyond int64 saturates",
			pod: podOf(container("a", nil, res{"memory": "100Ei"})).Obj(), want: math.MaxInt64},
		{name: "huge limits saturate when added",
			pod: podOf(container("a", nil, res{"memory": "8Ei"}), container("b", nil, res{"memory": "8Ei"})).Obj(), want: math.MaxInt64},
		{name: "a fractional byte rounds up",
			pod: podOf(container("a", nil, res{"memory": "1500m"})).Obj(), want: 2},
	}
	pl := newPlugin(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.pod.DeepCopy()
			if got := memoryLimit(tt.pod, pl.podOpts); got != tt.want {
				t.Errorf("memoryLimit = %d, want %d", got, tt.want)
			}
			if diff := cmp.Diff(orig, tt.pod); diff != "" {
				t.Errorf("memoryLimit modified the pod:\n%s", diff)
			}
		})
	}
}
