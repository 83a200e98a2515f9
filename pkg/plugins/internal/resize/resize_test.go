package resize

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

func deferredOn(node string) *v1.Pod {
	return st.MakePod().Name("p").UID("p").Node(node).
		Condition(v1.PodResizePending, v1.ConditionTrue, v1.PodReasonDeferred).Obj()
}

func TestDeferred(t *testing.T) {
	infeasible := st.MakePod().Name("p").Node("n1").
		Condition(v1.PodResizePending, v1.ConditionTrue, v1.PodReasonInfeasible).Obj()
	pending := deferredOn("")
	tests := []struct {
		name    string
		enabled bool
		pod     *v1.Pod
		want    bool
	}{
		{"a bound pod whose resize is deferred, gate on", true, deferredOn("n1"), true},
		{"the same pod with the gate off is an ordinary pod", false, deferredOn("n1"), false},
		{"an infeasible resize is not rescheduled", true, infeasible, false},
		{"a pod not yet bound is being placed, not resized", true, pending, false},
		{"a pod without a resize", true, st.MakePod().Name("p").Node("n1").Obj(), false},
	}
	for _, tt := range tests {
		if got := Deferred(tt.enabled, tt.pod); got != tt.want {
			t.Errorf("%s: Deferred = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestHeldFindsThePodOnItsOwnNodeOnly(t *testing.T) {
	p := deferredOn("n1")
	held := p.DeepCopy() // the cache's copy of the same pod
	other := st.MakePod().Name("q").UID("q").Node("n1").Obj()
	n1 := framework.NewNodeInfo(other, held)
	n1.SetNode(st.MakeNode().Name("n1").Obj())
	n2 := framework.NewNodeInfo(other)
	n2.SetNode(st.MakeNode().Name("n2").Obj())

	if pi := Held(n1, p); pi == nil || pi.GetPod() != held {
		t.Errorf("Held on the pod's node = %v, want the node's entry for the pod", pi)
	}
	if pi := Held(n2, p); pi != nil {
		t.Errorf("Held on another node = %v, want nil", pi)
	}
	empty := framework.NewNodeInfo(other)
	empty.SetNode(st.MakeNode().Name("n1").Obj())
	if pi := Held(empty, p); pi != nil {
		t.Errorf("Held on a node that does not count the pod = %v, want nil", pi)
	}
}
