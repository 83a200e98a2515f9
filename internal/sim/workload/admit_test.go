package workload

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func class(name string, value int32, policy v1.PreemptionPolicy, globalDefault bool) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, PreemptionPolicy: &policy, GlobalDefault: globalDefault}
}

func newPod(className string, req, lim v1.ResourceList) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: v1.PodSpec{PriorityClassName: className, Containers: []v1.Container{{Name: "main", Image: PauseImage,
			Resources: v1.ResourceRequirements{Requests: req, Limits: lim}}}},
	}
}

func TestCreatePodResolvesPriorityAsTheAdmissionPlugin(t *testing.T) {
	batch := class("batch", 100, v1.PreemptNever, false)
	def := class("normal", 1000, v1.PreemptLowerPriority, true)
	for _, c := range []struct {
		name      string
		classes   []*schedulingv1.PriorityClass
		className string
		wantClass string
		want      int32
		policy    v1.PreemptionPolicy
		wantErr   string
	}{
		{"named class", []*schedulingv1.PriorityClass{batch}, "batch", "batch", 100, v1.PreemptNever, ""},
		{"no class, no default: 0", []*schedulingv1.PriorityClass{batch}, "", "", 0, v1.PreemptLowerPriority, ""},
		{"no class: the globalDefault class, named", []*schedulingv1.PriorityClass{batch, def}, "", "normal", 1000, v1.PreemptLowerPriority, ""},
		{"system class", systemPriorityClasses(), "system-node-critical", "system-node-critical", 2000001000, v1.PreemptLowerPriority, ""},
		{"unknown class", []*schedulingv1.PriorityClass{batch}, "btach", "", 0, "", "spec.priorityClassName: Forbidden: no PriorityClass with name btach was found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api, err := newAPIServer(c.classes)
			if err != nil {
				t.Fatal(err)
			}
			p := newPod(c.className, nil, nil)
			errs := api.createPod(p)
			if c.wantErr != "" {
				if errs.ToAggregate() == nil || errs.ToAggregate().Error() != c.wantErr {
					t.Fatalf("errors %v, want %s", errs, c.wantErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if p.Spec.PriorityClassName != c.wantClass || *p.Spec.Priority != c.want || *p.Spec.PreemptionPolicy != c.policy {
				t.Errorf("class %q priority %d policy %s, want %q %d %s", p.Spec.PriorityClassName, *p.Spec.Priority, *p.Spec.PreemptionPolicy, c.wantClass, c.want, c.policy)
			}
		})
	}
}

func TestCreatePodDefaultsAndQoSClass(t *testing.T) {
	q := resource.MustParse
	for _, c := range []struct {
		name     string
		req, lim v1.ResourceList
		want     v1.PodQOSClass
	}{
		{"nothing", nil, nil, v1.PodQOSBestEffort},
		{"requests only", v1.ResourceList{v1.ResourceCPU: q("1")}, nil, v1.PodQOSBurstable},
		{"limits only: requests default to them", nil, v1.ResourceList{v1.ResourceCPU: q("1"), v1.ResourceMemory: q("1Gi")}, v1.PodQOSGuaranteed},
		{"limits above requests", v1.ResourceList{v1.ResourceCPU: q("1"), v1.ResourceMemory: q("1Gi")},
			v1.ResourceList{v1.ResourceCPU: q("2"), v1.ResourceMemory: q("1Gi")}, v1.PodQOSBurstable},
		{"extended resources only", nil, v1.ResourceList{"nvidia.com/gpu": q("1")}, v1.PodQOSBestEffort},
	} {
		t.Run(c.name, func(t *testing.T) {
			api, _ := newAPIServer(nil)
			p := newPod("", c.req, c.lim)
			if errs := api.createPod(p); len(errs) > 0 {
				t.Fatal(errs)
			}
			if p.Status.QOSClass != c.want || p.Status.Phase != v1.PodPending {
				t.Errorf("qos %s phase %s, want %s Pending", p.Status.QOSClass, p.Status.Phase, c.want)
			}
			if p.Spec.RestartPolicy != v1.RestartPolicyAlways || *p.Spec.TerminationGracePeriodSeconds != 30 || p.Spec.SchedulerName != "" {
				t.Errorf("restartPolicy %s grace %d scheduler %q: want the API server's defaults, scheduler name left empty",
					p.Spec.RestartPolicy, *p.Spec.TerminationGracePeriodSeconds, p.Spec.SchedulerName)
			}
			for name, l := range c.lim {
				if r := p.Spec.Containers[0].Resources.Requests[name]; r.Cmp(l) != 0 && c.req == nil {
					t.Errorf("request %s %v, want its limit %v", name, r, l)
				}
			}
		})
	}
}

func TestCreatePodKeepsAGivenSchedulerName(t *testing.T) {
	api, _ := newAPIServer(nil)
	p := newPod("", nil, nil)
	p.Spec.SchedulerName = "other"
	if errs := api.createPod(p); len(errs) > 0 || p.Spec.SchedulerName != "other" {
		t.Errorf("errors %v, scheduler %q", errs, p.Spec.SchedulerName)
	}
}

func TestCreatePodValidates(t *testing.T) {
	api, _ := newAPIServer(nil)
	p := newPod("", v1.ResourceList{"gpu": resource.MustParse("1")}, nil)
	errs := api.createPod(p)
	if errs.ToAggregate() == nil || !strings.Contains(errs.ToAggregate().Error(), `spec.containers[0].resources.requests[gpu]: Invalid value: "gpu"`) {
		t.Errorf("errors %v, want the resource name refused", errs)
	}
}

func TestCheckPodFindsWhatAdmissionWouldNotGive(t *testing.T) {
	api, _ := newAPIServer([]*schedulingv1.PriorityClass{class("batch", 100, v1.PreemptNever, false)})
	admitted := newPod("batch", v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}, nil)
	if errs := api.createPod(admitted); len(errs) > 0 {
		t.Fatal(errs)
	}
	if errs := api.checkPod(admitted); len(errs) > 0 {
		t.Fatalf("an admitted pod: %v", errs)
	}
	for _, c := range []struct {
		name   string
		change func(p *v1.Pod)
		want   string
	}{
		{"priority", func(p *v1.Pod) { *p.Spec.Priority = 5 }, `spec.priority: Invalid value: 5: must be 100, what PriorityClass "batch" gives`},
		{"policy", func(p *v1.Pod) { *p.Spec.PreemptionPolicy = v1.PreemptLowerPriority }, `spec.preemptionPolicy: Invalid value: "PreemptLowerPriority": must be Never, what PriorityClass "batch" gives`},
		{"QoS class", func(p *v1.Pod) { p.Status.QOSClass = v1.PodQOSGuaranteed }, `status.qosClass: Invalid value: "Guaranteed": must be Burstable, the QoS class of the pod's requests and limits`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := admitted.DeepCopy()
			c.change(p)
			if errs := api.checkPod(p); errs.ToAggregate() == nil || errs.ToAggregate().Error() != c.want {
				t.Errorf("errors %v, want %s", errs, c.want)
			}
		})
	}
}
