package sim

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/pkg/plugins"
)

func TestBudgetStatusFollowsTheDisruptionControllersArithmetic(t *testing.T) {
	cases := []struct {
		name              string
		minAvail, maxUnav *intstr.IntOrString
		expected, healthy int32
		want              int32
	}{
		{"minAvailable count", ptrIntStr(intstr.FromInt32(2)), nil, 3, 3, 1},
		{"minAvailable count not met", ptrIntStr(intstr.FromInt32(2)), nil, 3, 1, 0},
		{"minAvailable percent rounds up", ptrIntStr(intstr.FromString("50%")), nil, 3, 3, 1},
		{"maxUnavailable count", nil, ptrIntStr(intstr.FromInt32(1)), 4, 4, 1},
		{"maxUnavailable with one already down", nil, ptrIntStr(intstr.FromInt32(1)), 4, 3, 0},
		{"maxUnavailable percent rounds up", nil, ptrIntStr(intstr.FromString("30%")), 4, 4, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &budget{pdb: &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: tc.minAvail, MaxUnavailable: tc.maxUnav}},
				expected: tc.expected, healthy: tc.healthy}
			if got := b.status().DisruptionsAllowed; got != tc.want {
				t.Errorf("disruptionsAllowed %d, want %d", got, tc.want)
			}
		})
	}
}

func ptrIntStr(v intstr.IntOrString) *intstr.IntOrString { return &v }

// TestPreemptionSeesWhichBudgetsAllowAnEviction: two nodes, each with a pod a
// preemptor could evict. n0's pod is cheaper to lose by every rule but one: its budget
// allows no disruption, n1's allows one. Preemption must take n1, as with a disruption
// controller keeping the budgets' status, under upstream's profile and berth's.
func TestPreemptionSeesWhichBudgetsAllowAnEviction(t *testing.T) {
	w := &workload.Workload{Namespaces: []*v1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}}
	for _, n := range []string{"n0", "n1"} {
		w.Nodes = append(w.Nodes, st.MakeNode().Name(n).Label(v1.LabelHostname, n).Capacity(map[v1.ResourceName]string{"cpu": "4", "memory": "4Gi", "pods": "10"}).Obj())
	}
	// 4-cpu nodes; the victims take 2 cpus, the preemptor 3 (within what berth's
	// PriorityHeadroom lets each priority use).
	pod := func(name string, prio int32, node, app, cpu string) workload.Pod {
		p := st.MakePod().Namespace("default").Name(name).Priority(prio).Label("app", app).Req(map[v1.ResourceName]string{"cpu": cpu}).Obj()
		if node != "" {
			p.Spec.NodeSelector = map[string]string{v1.LabelHostname: node}
		}
		return workload.Pod{Pod: p}
	}
	w.Pods = []workload.Pod{pod("cheap", 10, "n0", "strict", "2"), pod("dear", 20, "n1", "lenient", "2"), pod("preemptor", 1000, "", "x", "3")}
	for i := range w.Pods {
		w.Pods[i].Arrival = time.Duration(i) * time.Second
	}
	w.PDBs = []*policyv1.PodDisruptionBudget{
		{ObjectMeta: metav1.ObjectMeta{Name: "strict", Namespace: "default"}, Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptrIntStr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "strict"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lenient", Namespace: "default"}, Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptrIntStr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "lenient"}}}},
	}
	for name, data := range map[string][]byte{"default": []byte(DefaultConfig), "berth": manifests.SchedulerConfig} {
		cfg, err := LoadConfig(data)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), w, cfg, Options{Registry: plugins.Registry(), Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Pods[1].Outcome; got != Preempted {
			t.Errorf("%s: the pod whose budget allows an eviction is %s, want preempted", name, got)
		}
		if got := res.Pods[0].Outcome; got == Preempted {
			t.Errorf("%s: the pod whose budget allows no eviction was preempted", name)
		}
	}
}
