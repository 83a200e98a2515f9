package workload

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"go.yaml.in/yaml/v3"
)

func loadFull(t *testing.T, seed int64) *Workload {
	t.Helper()
	w, err := LoadScenario(filepath.Join("testdata", "full.yaml"), seed)
	if err != nil {
		t.Fatalf("LoadScenario: %v", err)
	}
	return w
}

func podByName(t *testing.T, w *Workload, name string) Pod {
	t.Helper()
	for _, p := range w.Pods {
		if p.Name() == name {
			return p
		}
	}
	t.Fatalf("no pod %s", name)
	return Pod{}
}

func TestScenarioFullExampleNodes(t *testing.T) {
	w := loadFull(t, 1)
	want := []struct {
		name, zone, pool string
		cpu, memory      string
		pods             int64
		gpus             int64
		taints           int
	}{
		{"general-0", "zone-a", "general", "8", "32Gi", 110, 0, 0},
		{"general-1", "zone-b", "general", "8", "32Gi", 110, 0, 0},
		{"general-2", "zone-a", "general", "8", "32Gi", 110, 0, 0},
		{"general-3", "zone-b", "general", "8", "32Gi", 110, 0, 0},
		{"gpu-0", "", "gpu", "15500m", "64Gi", 20, 4, 1},
		{"gpu-1", "", "gpu", "15500m", "64Gi", 20, 4, 1},
	}
	if len(w.Nodes) != len(want) {
		t.Fatalf("%d nodes, want %d", len(w.Nodes), len(want))
	}
	for i, wn := range want {
		n := w.Nodes[i]
		if n.Name != wn.name || n.Labels[v1.LabelHostname] != wn.name || n.Labels[v1.LabelTopologyZone] != wn.zone || n.Labels["pool"] != wn.pool {
			t.Errorf("node %d: name %s labels %v, want %s in zone %q pool %s", i, n.Name, n.Labels, wn.name, wn.zone, wn.pool)
		}
		alloc := n.Status.Allocatable
		if alloc.Cpu().Cmp(resource.MustParse(wn.cpu)) != 0 || alloc.Memory().Cmp(resource.MustParse(wn.memory)) != 0 ||
			alloc.Pods().Value() != wn.pods || alloc.Name("nvidia.com/gpu", resource.DecimalSI).Value() != wn.gpus {
			t.Errorf("node %s: allocatable %v, want cpu %s memory %s pods %d gpus %d", n.Name, alloc, wn.cpu, wn.memory, wn.pods, wn.gpus)
		}
		if !reflect.DeepEqual(n.Status.Capacity, n.Status.Allocatable) {
			t.Errorf("node %s: capacity %v differs from allocatable %v", n.Name, n.Status.Capacity, alloc)
		}
		if len(n.Spec.Taints) != wn.taints {
			t.Errorf("node %s: taints %v, want %d", n.Name, n.Spec.Taints, wn.taints)
		}
	}
	wantTaint := v1.Taint{Key: "berth.io/reserved", Value: "gpu", Effect: v1.TaintEffectNoSchedule}
	if got := w.Nodes[4].Spec.Taints[0]; got != wantTaint {
		t.Errorf("gpu-0 taint %v, want %v", got, wantTaint)
	}
}

func TestScenarioFullExamplePods(t *testing.T) {
	w := loadFull(t, 1)
	type want struct {
		name     string
		class    string
		priority int32
		policy   v1.PreemptionPolicy
		qos      v1.PodQOSClass
		node     string
		arrival  time.Duration
		duration time.Duration // -1: drawn from a range, checked below
	}
	never, lower := v1.PreemptNever, v1.PreemptLowerPriority
	// Pods bound from the start come first; at each instant the groups are
	// interleaved (arrivalOrder: interleaved).
	wants := []want{
		{"kube-system/system-0", "system-cluster-critical", 2000000000, lower, v1.PodQOSBurstable, "general-0", 0, 0},
		{"default/pinned-0", "default", 1000, lower, v1.PodQOSBurstable, "general-1", 0, 0},
		{"default/solo-0", "batch", 100, never, v1.PodQOSBestEffort, "gpu-0", 0, 0},
		{"kube-system/system-1", "system-cluster-critical", 2000000000, lower, v1.PodQOSBurstable, "general-1", 0, 0},
		{"default/pinned-1", "default", 1000, lower, v1.PodQOSBurstable, "general-2", 0, 0},
		{"kube-system/system-2", "system-cluster-critical", 2000000000, lower, v1.PodQOSBurstable, "general-2", 0, 0},
		{"kube-system/system-3", "system-cluster-critical", 2000000000, lower, v1.PodQOSBurstable, "general-3", 0, 0},
		{"shop/api-0", "critical", 1000000, lower, v1.PodQOSGuaranteed, "", 30 * time.Second, 10 * time.Minute},
		{"shop/web-0", "default", 1000, lower, v1.PodQOSBurstable, "", 30 * time.Second, 0},
		{"shop/api-1", "critical", 1000000, lower, v1.PodQOSGuaranteed, "", 30 * time.Second, 10 * time.Minute},
		{"shop/web-1", "default", 1000, lower, v1.PodQOSBurstable, "", 30 * time.Second, 0},
		{"shop/api-2", "critical", 1000000, lower, v1.PodQOSGuaranteed, "", 30 * time.Second, 10 * time.Minute},
		{"shop/web-2", "default", 1000, lower, v1.PodQOSBurstable, "", 30 * time.Second, 0},
		{"default/train-0", "batch", 100, never, v1.PodQOSBestEffort, "", time.Minute, -1},
		{"default/ticker-0", "batch", 100, never, v1.PodQOSBestEffort, "", time.Minute, time.Second},
		{"default/ticker-1", "batch", 100, never, v1.PodQOSBestEffort, "", time.Minute + 200*time.Millisecond, time.Second},
		{"default/ticker-2", "batch", 100, never, v1.PodQOSBestEffort, "", time.Minute + 400*time.Millisecond, time.Second},
		{"default/train-1", "batch", 100, never, v1.PodQOSBestEffort, "", time.Minute + 500*time.Millisecond, -1},
		{"default/train-2", "batch", 100, never, v1.PodQOSBestEffort, "", time.Minute + time.Second, -1},
		{"default/train-3", "batch", 100, never, v1.PodQOSBestEffort, "", time.Minute + 1500*time.Millisecond, -1},
	}
	if len(w.Pods) != len(wants) {
		t.Fatalf("%d pods, want %d", len(w.Pods), len(wants))
	}
	for i, wp := range wants {
		p := w.Pods[i]
		s := p.Pod.Spec
		if p.Name() != wp.name || s.PriorityClassName != wp.class || s.Priority == nil || *s.Priority != wp.priority ||
			s.PreemptionPolicy == nil || *s.PreemptionPolicy != wp.policy || p.Pod.Status.QOSClass != wp.qos ||
			s.NodeName != wp.node || p.Arrival != wp.arrival || p.Pod.UID != "" || s.SchedulerName != "" {
			t.Errorf("pod %d: %s class %s priority %v policy %v qos %s node %q arrival %v uid %q scheduler %q,\nwant %+v",
				i, p.Name(), s.PriorityClassName, deref(s.Priority), s.PreemptionPolicy, p.Pod.Status.QOSClass, s.NodeName,
				p.Arrival, p.Pod.UID, s.SchedulerName, wp)
		}
		if wp.duration >= 0 && p.Duration != wp.duration {
			t.Errorf("pod %s: duration %v, want %v", p.Name(), p.Duration, wp.duration)
		}
		if wp.duration < 0 && (p.Duration < 5*time.Minute || p.Duration > 15*time.Minute || p.Duration%time.Millisecond != 0) {
			t.Errorf("pod %s: duration %v, want whole milliseconds in [5m, 15m]", p.Name(), p.Duration)
		}
		if g, _, _ := strings.Cut(p.Pod.Name, "-"); p.Group != g {
			t.Errorf("pod %s: group %q", p.Name(), p.Group)
		}
	}

	api := podByName(t, w, "shop/api-1").Pod
	wantRes := v1.ResourceRequirements{
		Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("2Gi")},
		Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("2Gi")},
	}
	if c := api.Spec.Containers; len(c) != 1 || c[0].Image != PauseImage || !equalResources(c[0].Resources, wantRes) {
		t.Errorf("api containers %+v, want one %s with %v", c, PauseImage, wantRes)
	}
	if api.Labels["app"] != "api" || api.Spec.NodeSelector["pool"] != "general" || *api.Spec.TerminationGracePeriodSeconds != 5 {
		t.Errorf("api labels %v nodeSelector %v grace %d", api.Labels, api.Spec.NodeSelector, *api.Spec.TerminationGracePeriodSeconds)
	}
	wantAnti := &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, TopologyKey: v1.LabelHostname}}}
	if api.Spec.Affinity == nil || !reflect.DeepEqual(api.Spec.Affinity.PodAntiAffinity, wantAnti) {
		t.Errorf("api anti-affinity %+v, want %+v", api.Spec.Affinity, wantAnti)
	}
	wantSpread := []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.DoNotSchedule,
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"api"}}}}}}
	if !reflect.DeepEqual(api.Spec.TopologySpreadConstraints, wantSpread) {
		t.Errorf("api spread %+v, want %+v", api.Spec.TopologySpreadConstraints, wantSpread)
	}

	web := podByName(t, w, "shop/web-0").Pod
	if r := web.Spec.Containers[0].Resources; r.Requests.Cpu().String() != "500m" || r.Limits.Cpu().String() != "2" || *web.Spec.TerminationGracePeriodSeconds != 30 {
		t.Errorf("web resources %v, grace %d: want requests 500m, limits 2, the default grace 30", r, *web.Spec.TerminationGracePeriodSeconds)
	}

	train := podByName(t, w, "default/train-0").Pod
	wantGPU := v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	if r := train.Spec.Containers[0].Resources; !equalList(r.Requests, wantGPU) || !equalList(r.Limits, wantGPU) {
		t.Errorf("train resources %v: a limit and no request requests the limit, as the API server defaults it", r)
	}
	wantTol := []v1.Toleration{{Key: "berth.io/reserved", Operator: v1.TolerationOpEqual, Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
	if !reflect.DeepEqual(train.Spec.Tolerations, wantTol) {
		t.Errorf("train tolerations %+v, want %+v", train.Spec.Tolerations, wantTol)
	}
	wantNodeAff := &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
		MatchExpressions: []v1.NodeSelectorRequirement{{Key: "pool", Operator: v1.NodeSelectorOpIn, Values: []string{"gpu"}}}}}}}
	if train.Spec.Affinity == nil || !reflect.DeepEqual(train.Spec.Affinity.NodeAffinity, wantNodeAff) {
		t.Errorf("train node affinity %+v, want %+v", train.Spec.Affinity, wantNodeAff)
	}
}

func equalList(a, b v1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, q := range a {
		if q.Cmp(b[k]) != 0 {
			return false
		}
	}
	return true
}

func equalResources(a, b v1.ResourceRequirements) bool {
	return equalList(a.Requests, b.Requests) && equalList(a.Limits, b.Limits)
}

func TestScenarioFullExampleClusterObjects(t *testing.T) {
	w := loadFull(t, 1)
	var classes []string
	for _, pc := range w.PriorityClasses {
		classes = append(classes, pc.Name)
	}
	if want := []string{"critical", "default", "batch", "system-cluster-critical"}; !reflect.DeepEqual(classes, want) {
		t.Errorf("PriorityClasses %v, want %v (declared ones, then the system classes pods name)", classes, want)
	}
	if pc := w.PriorityClasses[0]; pc.Description != "outage if lost" || pc.GlobalDefault || *pc.PreemptionPolicy != v1.PreemptLowerPriority {
		t.Errorf("critical: %+v", pc)
	}
	if !w.PriorityClasses[1].GlobalDefault || *w.PriorityClasses[2].PreemptionPolicy != v1.PreemptNever {
		t.Errorf("default is globalDefault, batch is Never: %+v %+v", w.PriorityClasses[1], w.PriorityClasses[2])
	}
	var namespaces []string
	for _, ns := range w.Namespaces {
		namespaces = append(namespaces, ns.Name)
	}
	if want := []string{"default", "kube-system", "shop"}; !reflect.DeepEqual(namespaces, want) {
		t.Errorf("namespaces %v, want %v", namespaces, want)
	}
	if len(w.PDBs) != 2 {
		t.Fatalf("%d PDBs, want 2", len(w.PDBs))
	}
	two, half := intstr.FromInt32(2), intstr.FromString("50%")
	if p := w.PDBs[0]; p.Namespace != "shop" || p.Name != "api" || !reflect.DeepEqual(p.Spec.MinAvailable, &two) || p.Spec.MaxUnavailable != nil ||
		!reflect.DeepEqual(p.Spec.Selector, &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}) {
		t.Errorf("PDB api: %+v", p)
	}
	if p := w.PDBs[1]; p.Name != "web" || !reflect.DeepEqual(p.Spec.MaxUnavailable, &half) || p.Spec.MinAvailable != nil {
		t.Errorf("PDB web: %+v", p)
	}
}

func TestScenarioSameSeedSameWorkload(t *testing.T) {
	a, b := loadFull(t, 42), loadFull(t, 42)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two loads with seed 42 differ")
	}
}

func TestScenarioOtherSeedOtherRangedDurations(t *testing.T) {
	a, b := loadFull(t, 1), loadFull(t, 2)
	differ := 0
	for i := range a.Pods {
		pa, pb := a.Pods[i], b.Pods[i]
		if pa.Group != "train" {
			if pa.Duration != pb.Duration {
				t.Errorf("%s: duration %v with seed 1, %v with seed 2: only ranged durations depend on the seed", pa.Name(), pa.Duration, pb.Duration)
			}
			continue
		}
		if pa.Duration != pb.Duration {
			differ++
		}
	}
	if differ == 0 {
		t.Error("seeds 1 and 2 drew the same durations for every train pod")
	}
}

// The draws of one group do not depend on the other groups: adding a group leaves the
// durations of the others as they were.
func TestScenarioRangedDurationsIndependentOfOtherGroups(t *testing.T) {
	const base = `
nodeGroups: [{name: n, count: 1, cpu: 1, memory: 1Gi}]
podGroups:
- {name: a, count: 5, duration: {min: 1m, max: 1h}}
`
	one, err := ParseScenario("one.yaml", []byte(base), 7)
	if err != nil {
		t.Fatal(err)
	}
	two, err := ParseScenario("two.yaml", []byte(base+"- {name: b, count: 5, duration: {min: 1m, max: 1h}}\n"), 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range one.Pods {
		if one.Pods[i].Duration != two.Pods[i].Duration {
			t.Errorf("%s: %v alone, %v beside group b", one.Pods[i].Name(), one.Pods[i].Duration, two.Pods[i].Duration)
		}
	}
}

func TestScenarioArrivals(t *testing.T) {
	for _, c := range []struct {
		name, arrival string
		want          []time.Duration
	}{
		{"absent: all at the start", "", []time.Duration{0, 0, 0, 0}},
		{"at", "arrival: {at: 1h30m}", []time.Duration{90 * time.Minute, 90 * time.Minute, 90 * time.Minute, 90 * time.Minute}},
		{"at 0 as a bare number", "arrival: {at: 0}", []time.Duration{0, 0, 0, 0}},
		{"rate per second", "arrival: {rate: 4/s}", []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond}},
		{"fractional rate, with start", "arrival: {rate: 0.5/s, start: 10s}", []time.Duration{10 * time.Second, 12 * time.Second, 14 * time.Second, 16 * time.Second}},
		{"rate per minute rounds down to the nanosecond", "arrival: {rate: 3/m}", []time.Duration{0, 20 * time.Second, 40 * time.Second, 60 * time.Second}},
		{"rate per hour", "arrival: {rate: 7/h}", []time.Duration{0, 514285714285, 1028571428571, 1542857142857}},
		{"every", "arrival: {every: 200ms, start: 1s}", []time.Duration{time.Second, 1200 * time.Millisecond, 1400 * time.Millisecond, 1600 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := ParseScenario("s.yaml", []byte("nodeGroups: [{name: n, count: 1, cpu: 1, memory: 1Gi}]\npodGroups:\n- name: p\n  count: 4\n  "+c.arrival+"\n"), 1)
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Duration
			for _, p := range w.Pods {
				got = append(got, p.Arrival)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("arrivals %v, want %v", got, c.want)
			}
		})
	}
}

func TestScenarioArrivalOrder(t *testing.T) {
	const groups = `
nodeGroups: [{name: n, count: 1, cpu: 1, memory: 1Gi}]
podGroups:
- {name: a, count: 3}
- {name: b, count: 2}
- {name: c, count: 2, arrival: {rate: 1/s}}
`
	for _, c := range []struct {
		order string
		want  []string
	}{
		{"", []string{"a-0", "a-1", "a-2", "b-0", "b-1", "c-0", "c-1"}},
		{"arrivalOrder: groups", []string{"a-0", "a-1", "a-2", "b-0", "b-1", "c-0", "c-1"}},
		{"arrivalOrder: interleaved", []string{"a-0", "b-0", "c-0", "a-1", "b-1", "a-2", "c-1"}},
	} {
		t.Run(c.order, func(t *testing.T) {
			w, err := ParseScenario("s.yaml", []byte(c.order+groups), 1)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range w.Pods {
				got = append(got, p.Pod.Name)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("order %v, want %v", got, c.want)
			}
		})
	}
}

func TestScenarioNamesZeroPaddedToSort(t *testing.T) {
	w, err := ParseScenario("s.yaml", []byte("nodeGroups: [{name: n, count: 11, cpu: 1, memory: 1Gi}]\npodGroups: [{name: p, count: 100}, {name: q, count: 1}]\n"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if w.Nodes[0].Name != "n-00" || w.Nodes[10].Name != "n-10" || w.Pods[0].Pod.Name != "p-00" || w.Pods[99].Pod.Name != "p-99" || w.Pods[100].Pod.Name != "q-0" {
		t.Errorf("names %s %s %s %s %s", w.Nodes[0].Name, w.Nodes[10].Name, w.Pods[0].Pod.Name, w.Pods[99].Pod.Name, w.Pods[100].Pod.Name)
	}
}

func TestScenarioPriorityWithoutGlobalDefaultIsZero(t *testing.T) {
	w, err := ParseScenario("s.yaml", []byte("nodeGroups: [{name: n, count: 1, cpu: 1, memory: 1Gi}]\npodGroups: [{name: p, count: 1}]\n"), 1)
	if err != nil {
		t.Fatal(err)
	}
	s := w.Pods[0].Pod.Spec
	if s.Priority == nil || *s.Priority != 0 || s.PriorityClassName != "" || *s.PreemptionPolicy != v1.PreemptLowerPriority {
		t.Errorf("priority %v class %q policy %v, want 0, none, PreemptLowerPriority as the Priority admission plugin gives", deref(s.Priority), s.PriorityClassName, *s.PreemptionPolicy)
	}
	if len(w.PriorityClasses) != 0 {
		t.Errorf("PriorityClasses %v, want none", w.PriorityClasses)
	}
}

// Each problem is reported at its line, under its field path, saying what is allowed.
func TestScenarioErrors(t *testing.T) {
	const nodes = "nodeGroups: [{name: n, count: 2, cpu: 1, memory: 1Gi}]\n"
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"empty file", "", []string{"s.yaml: the file is empty"}},
		{"only a comment", "# nothing\n", []string{"s.yaml: the file is empty"}},
		{"YAML syntax", "nodeGroups:\n- name: a: b\n", []string{"s.yaml:2: invalid YAML: mapping values are not allowed in this context"}},
		{"two documents", nodes + "---\n" + nodes, []string{"s.yaml:2: a second YAML document: the file must hold exactly one"}},
		{"not a mapping", "- a\n", []string{"s.yaml:1: must be a mapping (field: value), not a list"}},
		{"no node groups", "podGroups: []\n", []string{"s.yaml:1: nodeGroups: required: at least one node group, e.g. [{name: node, count: 10, cpu: 16, memory: 64Gi}]"}},
		{"unknown top-level field", nodes + "pods: []\n", []string{`s.yaml:2: unknown field "pods"; allowed fields: arrivalOrder, nodeGroups, podDisruptionBudgets, podGroups, priorityClasses`}},
		{"wrong-case field", nodes + "podGroups:\n- name: a\n  count: 1\n  Requests: {cpu: 1}\n", []string{
			`s.yaml:5: podGroups[0]: unknown field "Requests" (did you mean "requests"?); allowed fields: affinity, arrival, boundTo, count, duration, labels, limits, name, namespace, nodeSelector, priorityClassName, requests, terminationGracePeriodSeconds, tolerations, topologySpreadConstraints`}},
		{"wrong-case field in a Kubernetes type", nodes + "podGroups:\n- name: a\n  count: 1\n  tolerations:\n  - key: k\n    Operator: Exists\n", []string{
			`s.yaml:7: podGroups[0].tolerations[0]: unknown field "Operator" (did you mean "operator"?); allowed fields: effect, key, operator, tolerationSeconds, value`}},
		{"unknown field deep in affinity", nodes + "podGroups:\n- name: a\n  count: 1\n  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n        - matchExpressions:\n          - {key: k, operator: In, values: [v], value: v}\n", []string{
			`s.yaml:10: podGroups[0].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]: unknown field "value"; allowed fields: key, operator, values`}},
		{"repeated field", nodes + "podGroups:\n- name: a\n  count: 1\n  count: 2\n", []string{`s.yaml:5: podGroups[0]: field "count" appears twice (first on line 4)`}},
		{"repeated field in a Kubernetes type", nodes + "podGroups:\n- name: a\n  count: 1\n  tolerations: [{key: k, key: j}]\n", []string{`s.yaml:5: podGroups[0].tolerations[0]: field "key" appears twice (first on line 5)`}},
		{"merge key", nodes + "podGroups:\n- name: a\n  <<: {count: 1}\n", []string{"s.yaml:4: podGroups[0]: YAML merge keys (<<) are not supported: repeat the fields, or alias the whole value"}},
		{"list where a mapping goes", nodes + "podGroups:\n- name: a\n  count: 1\n  labels: [a]\n", []string{"s.yaml:5: podGroups[0].labels: must be a mapping (field: value), not a list"}},
		{"number where a string goes", nodes + "podGroups:\n- name: a\n  count: 1\n  labels: {version: 1}\n", []string{`s.yaml:5: podGroups[0].labels[version]: must be a string, not the number 1: quote it ("1")`}},
		{"string where a number goes", nodes + "podGroups:\n- name: a\n  count: three\n", []string{`s.yaml:4: podGroups[0].count: must be a whole number, not "three"`}},
		{"fraction where a whole number goes", nodes + "podGroups:\n- name: a\n  count: 1.5\n", []string{`s.yaml:4: podGroups[0].count: must be a whole number, not the number 1.5`}},
		{"number out of range", nodes + "priorityClasses: [{name: a, value: 3000000000}]\n", []string{`s.yaml:2: priorityClasses[0].value: 3000000000 is out of range`}},
		{"wrong type in a Kubernetes type", nodes + "podGroups:\n- name: a\n  count: 1\n  tolerations:\n  - key: k\n    tolerationSeconds: soon\n", []string{
			`s.yaml:7: podGroups[0].tolerations[0].tolerationSeconds: must be a whole number, not a string`}},
		{"not true or false", nodes + "priorityClasses: [{name: a, value: 1, globalDefault: yes}]\n", []string{`s.yaml:2: priorityClasses[0].globalDefault: must be true or false, not "yes"`}},
		{"negative node count", "nodeGroups: [{name: n, count: -1, cpu: 1, memory: 1Gi}]\n", []string{"s.yaml:1: nodeGroups[0].count: invalid value -1: must be 0 or more"}},
		{"negative pod count", nodes + "podGroups:\n- name: a\n  count: -3\n", []string{"s.yaml:4: podGroups[0].count: invalid value -3: must be 0 or more"}},
		{"absurd count", nodes + "podGroups:\n- name: a\n  count: 2000000\n", []string{"s.yaml:4: podGroups[0].count: invalid value 2000000: a scenario may have at most 1000000 in all"}},
		{"bad quantity", "nodeGroups:\n- name: n\n  count: 1\n  cpu: 2 cores\n  memory: 1Gi\n", []string{`s.yaml:4: nodeGroups[0].cpu: invalid value "2 cores": must be a quantity such as 500m, 2 or 1.5Gi`}},
		{"bad quantity in requests", nodes + "podGroups:\n- name: a\n  count: 1\n  requests: {memory: 1GB}\n", []string{`s.yaml:5: podGroups[0].requests[memory]: invalid value "1GB": must be a quantity such as 500m, 2 or 1.5Gi`}},
		{"negative quantity", "nodeGroups:\n- name: n\n  count: 1\n  cpu: -2\n  memory: 1Gi\n", []string{`s.yaml:4: nodeGroups[0].cpu: Invalid value: "-2": must be greater than or equal to 0`}},
		{"missing cpu and memory", "nodeGroups:\n- name: n\n  count: 1\n", []string{
			"s.yaml:2: nodeGroups[0].cpu: required: each node's cpu, e.g. 16 or 15500m",
			"s.yaml:2: nodeGroups[0].memory: required: each node's memory, e.g. 64Gi"}},
		{"zero pods per node", "nodeGroups: [{name: n, count: 1, cpu: 1, memory: 1Gi, pods: 0}]\n", []string{"s.yaml:1: nodeGroups[0].pods: invalid value 0: must be at least 1"}},
		{"negative extended resource", "nodeGroups:\n- name: n\n  count: 1\n  cpu: 1\n  memory: 1Gi\n  extendedResources: {nvidia.com/gpu: -1}\n", []string{
			`s.yaml:6: nodeGroups[0].extendedResources[nvidia.com/gpu]: Invalid value: "-1": must be greater than or equal to 0`}},
		{"bad extended resource name", "nodeGroups:\n- name: n\n  count: 1\n  cpu: 1\n  memory: 1Gi\n  extendedResources: {gpu: 1}\n", []string{
			`s.yaml:6: nodeGroups[0].extendedResources[gpu]: invalid resource name "gpu": must be a domain-qualified name outside kubernetes.io, e.g. nvidia.com/gpu (or ephemeral-storage, hugepages-<size>)`}},
		{"cpu as an extended resource", "nodeGroups:\n- name: n\n  count: 1\n  cpu: 1\n  memory: 1Gi\n  extendedResources: {cpu: 1}\n", []string{
			"s.yaml:6: nodeGroups[0].extendedResources[cpu]: cpu has a field of its own: cpu"}},
		{"hostname label", "nodeGroups:\n- name: n\n  count: 1\n  cpu: 1\n  memory: 1Gi\n  labels: {kubernetes.io/hostname: x}\n", []string{
			"s.yaml:6: nodeGroups[0].labels[kubernetes.io/hostname]: berth-sim sets kubernetes.io/hostname itself (from the node name, or from zones)"}},
		{"bad label key", "nodeGroups:\n- name: n\n  count: 1\n  cpu: 1\n  memory: 1Gi\n  labels: {a b: x}\n", []string{
			`s.yaml:6: nodeGroups[0].labels: Invalid value: "a b": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{"bad zone", "nodeGroups:\n- name: n\n  count: 1\n  cpu: 1\n  memory: 1Gi\n  zones:\n  - a\n  - b c\n", []string{
			`s.yaml:8: nodeGroups[0].zones[1]: invalid zone "b c": must be a label value (a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'))`}},
		{"bad taint effect", "nodeGroups:\n- name: n\n  count: 1\n  cpu: 1\n  memory: 1Gi\n  taints:\n  - {key: k, effect: NoScheduling}\n", []string{
			`s.yaml:7: nodeGroups[0].taints[0].effect: Unsupported value: "NoScheduling": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`}},
		{"duplicate node group", "nodeGroups:\n- {name: n, count: 1, cpu: 1, memory: 1Gi}\n- {name: n, count: 1, cpu: 1, memory: 1Gi}\n", []string{
			`s.yaml:3: nodeGroups[1].name: duplicate name "n"`}},
		{"bad group name", "nodeGroups:\n- {name: Big, count: 1, cpu: 1, memory: 1Gi}\n", []string{
			`s.yaml:2: nodeGroups[0].name: invalid name "Big": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{"missing group name", nodes + "podGroups:\n- count: 1\n", []string{"s.yaml:3: podGroups[0].name: required"}},
		{"duplicate pod group", nodes + "podGroups:\n- {name: a, count: 1}\n- {name: a, count: 1}\n", []string{`s.yaml:4: podGroups[1].name: duplicate name "a"`}},
		{"missing PriorityClass", nodes + "priorityClasses: [{name: high, value: 10}]\npodGroups:\n- name: a\n  count: 1\n  priorityClassName: hihg\n", []string{
			`s.yaml:6: podGroups[0].priorityClassName: no PriorityClass "hihg": declare it under priorityClasses (declared: high)`}},
		{"duplicate PriorityClass", nodes + "priorityClasses:\n- {name: a, value: 1}\n- {name: a, value: 2}\n", []string{`s.yaml:4: priorityClasses[1].name: duplicate PriorityClass "a"`}},
		{"two global defaults", nodes + "priorityClasses:\n- {name: a, value: 1, globalDefault: true}\n- {name: b, value: 2, globalDefault: true}\n", []string{
			`s.yaml:4: priorityClasses[1].globalDefault: only one PriorityClass may be globalDefault, and "a" already is`}},
		{"PriorityClass value too high", nodes + "priorityClasses:\n- {name: a, value: 1000000001}\n", []string{
			"s.yaml:3: priorityClasses[0].value: Forbidden: maximum allowed value of a user defined priority is 1000000000"}},
		{"bad preemptionPolicy", nodes + "priorityClasses:\n- {name: a, value: 1, preemptionPolicy: never}\n", []string{
			`s.yaml:3: priorityClasses[0].preemptionPolicy: Unsupported value: "never": supported values: "PreemptLowerPriority", "Never"`}},
		{"system PriorityClass name", nodes + "priorityClasses:\n- {name: system-mine, value: 1}\n", []string{
			"s.yaml:3: priorityClasses[0].name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"}},
		{"requests above limits", nodes + "podGroups:\n- name: a\n  count: 1\n  requests: {cpu: 2}\n  limits: {cpu: 1}\n", []string{
			`s.yaml:5: podGroups[0].requests: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		{"extended resource without a limit", nodes + "podGroups:\n- name: a\n  count: 1\n  requests: {nvidia.com/gpu: 1}\n", []string{
			"s.yaml:3: podGroups[0].limits: Required value: Limit must be set for non overcommitable resources"}},
		{"bad toleration operator", nodes + "podGroups:\n- name: a\n  count: 1\n  tolerations: [{key: k, operator: Exist}]\n", []string{
			`s.yaml:5: podGroups[0].tolerations[0].operator: Unsupported value: "Exist": supported values: "Equal", "Exists"`}},
		{"bad spread", nodes + "podGroups:\n- name: a\n  count: 1\n  topologySpreadConstraints:\n  - {maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}\n", []string{
			"s.yaml:6: podGroups[0].topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero"}},
		{"bad namespace", nodes + "podGroups:\n- name: a\n  count: 1\n  namespace: Shop\n", []string{
			`s.yaml:5: podGroups[0].namespace: Invalid value: "Shop": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{"negative grace period", nodes + "podGroups:\n- name: a\n  count: 1\n  terminationGracePeriodSeconds: -1\n", []string{
			"s.yaml:5: podGroups[0].terminationGracePeriodSeconds: invalid value -1: must be 0 or more"}},
		{"bad duration", nodes + "podGroups:\n- name: a\n  count: 1\n  duration: 10 minutes\n", []string{
			`s.yaml:5: podGroups[0].duration: invalid duration "10 minutes": must be a duration such as 30s, 5m, 1h30m or 200ms`}},
		{"duration without unit", nodes + "podGroups:\n- name: a\n  count: 1\n  duration: 600\n", []string{
			`s.yaml:5: podGroups[0].duration: invalid duration the number 600: must be a duration such as 30s, 5m, 1h30m or 200ms`}},
		{"negative duration", nodes + "podGroups:\n- name: a\n  count: 1\n  duration: -5m\n", []string{
			`s.yaml:5: podGroups[0].duration: invalid duration "-5m": must not be negative`}},
		{"range unknown field", nodes + "podGroups:\n- name: a\n  count: 1\n  duration: {min: 1m, Max: 2m}\n", []string{
			`s.yaml:5: podGroups[0].duration: unknown field "Max" (did you mean "max"?); allowed fields: max, min`}},
		{"range max below min", nodes + "podGroups:\n- name: a\n  count: 1\n  duration: {min: 2m, max: 1m}\n", []string{
			"s.yaml:5: podGroups[0].duration.max: invalid duration 1m0s: must not be less than min (2m0s)"}},
		{"range without min", nodes + "podGroups:\n- name: a\n  count: 1\n  duration:\n    max: 1m\n", []string{
			"s.yaml:5: podGroups[0].duration.min: required, more than 0 (a pod that draws 0 would run until the end)"}},
		{"bad rate", nodes + "podGroups:\n- name: a\n  count: 1\n  arrival: {rate: 5 per second}\n", []string{
			`s.yaml:5: podGroups[0].arrival.rate: invalid rate "5 per second": must be a positive number of pods per s, m or h, such as 5/s, 0.5/s or 30/m`}},
		{"zero rate", nodes + "podGroups:\n- name: a\n  count: 1\n  arrival: {rate: 0/s}\n", []string{
			`s.yaml:5: podGroups[0].arrival.rate: invalid rate "0/s": must be a positive number of pods per s, m or h, such as 5/s, 0.5/s or 30/m`}},
		{"two arrival kinds", nodes + "podGroups:\n- name: a\n  count: 1\n  arrival: {at: 1s, every: 1s}\n", []string{
			"s.yaml:5: podGroups[0].arrival: set only one of at, rate and every, not at and every"}},
		{"no arrival kind", nodes + "podGroups:\n- name: a\n  count: 1\n  arrival: {start: 1s}\n", []string{
			"s.yaml:5: podGroups[0].arrival: set one of at (all pods at once), rate or every (one after the other)"}},
		{"start with at", nodes + "podGroups:\n- name: a\n  count: 1\n  arrival: {at: 1s, start: 1s}\n", []string{
			"s.yaml:5: podGroups[0].arrival.start: start goes with rate or every; with at, at is the start"}},
		{"every 0", nodes + "podGroups:\n- name: a\n  count: 1\n  arrival: {every: 0s}\n", []string{
			"s.yaml:5: podGroups[0].arrival.every: invalid duration 0s: must be more than 0"}},
		{"arrival after 100 years", nodes + "podGroups:\n- name: a\n  count: 3\n  arrival: {rate: 1/h, start: 876000h}\n", []string{
			"s.yaml:5: podGroups[0].arrival: pod 1 would arrive after 876000h0m0s: fewer pods, or a faster rate"}},
		{"unknown arrivalOrder", nodes + "arrivalOrder: random\n", []string{
			`s.yaml:2: arrivalOrder: unsupported value "random": must be "groups" (the default) or "interleaved"`}},
		{"boundTo an unknown node", nodes + "podGroups:\n- name: a\n  count: 1\n  boundTo: {nodes: [n-0, n-7]}\n", []string{
			`s.yaml:5: podGroups[0].boundTo.nodes[1]: no node "n-7" (nodes are named <node group>-<index>, e.g. n-0)`}},
		{"boundTo an unknown node group", nodes + "podGroups:\n- name: a\n  count: 1\n  boundTo: {nodeGroup: m}\n", []string{
			`s.yaml:5: podGroups[0].boundTo.nodeGroup: no node group "m" with nodes`}},
		{"boundTo two ways", nodes + "podGroups:\n- name: a\n  count: 1\n  boundTo: {node: n-0, nodeGroup: n}\n", []string{
			"s.yaml:5: podGroups[0].boundTo: set exactly one of node, nodes and nodeGroup"}},
		{"boundTo with arrival", nodes + "podGroups:\n- name: a\n  count: 1\n  boundTo: {node: n-0}\n  arrival: {at: 1s}\n", []string{
			"s.yaml:6: podGroups[0].arrival: pods with boundTo exist when the run starts: remove arrival"}},
		{"boundTo more than a node holds", nodes + "podGroups:\n- name: a\n  count: 3\n  requests: {cpu: 600m}\n  boundTo: {node: n-1}\n", []string{
			"s.yaml:6: podGroups[0].boundTo: the pods bound to node n-1 need 1200m cpu in all, more than its 1"}},
		{"PDB without selector", nodes + "podDisruptionBudgets:\n- {name: p, minAvailable: 1}\n", []string{
			"s.yaml:3: podDisruptionBudgets[0].selector: required: the pods the budget covers, e.g. {matchLabels: {app: web}}"}},
		{"PDB with both bounds", nodes + "podDisruptionBudgets:\n- {name: p, selector: {}, minAvailable: 1, maxUnavailable: 1}\n", []string{
			"s.yaml:3: podDisruptionBudgets[0]: set exactly one of minAvailable and maxUnavailable"}},
		{"PDB bad percentage", nodes + "podDisruptionBudgets:\n- {name: p, selector: {}, minAvailable: 150%}\n", []string{
			`s.yaml:3: podDisruptionBudgets[0].minAvailable: Invalid value: "150%": must not be greater than 100%`}},
		{"PDB fraction", nodes + "podDisruptionBudgets:\n- {name: p, selector: {}, minAvailable: 1.5}\n", []string{
			`s.yaml:3: podDisruptionBudgets[0].minAvailable: invalid value the number 1.5: must be a whole number or a percentage such as "50%"`}},
		{"PDB bad selector operator", nodes + "podDisruptionBudgets:\n- name: p\n  selector:\n    matchExpressions: [{key: a, operator: in, values: [b]}]\n  minAvailable: 1\n", []string{
			`s.yaml:5: podDisruptionBudgets[0].selector.matchExpressions[0].operator: Invalid value: "in": not a valid selector operator`}},
		{"duplicate PDB", nodes + "podDisruptionBudgets:\n- {name: p, selector: {}, minAvailable: 1}\n- {name: p, selector: {}, minAvailable: 1}\n", []string{
			"s.yaml:4: podDisruptionBudgets[1].name: duplicate PodDisruptionBudget default/p"}},
		{"every problem of a file at once", "nodeGroups:\n- {name: n, count: -1, cpu: 1, memory: 1Gi}\npodGroups:\n- {name: a, count: -2}\n", []string{
			"s.yaml:2: nodeGroups[0].count: invalid value -1: must be 0 or more",
			"s.yaml:4: podGroups[0].count: invalid value -2: must be 0 or more"}},
		// The passes of docs/simulator.md's "Strict checking": a pass runs only once
		// the passes before it found nothing.
		{"a field that cannot be read hides what the others mean", nodes + "podGroups:\n- {name: a, count: -3}\n- {name: b, count: 1, Requests: {cpu: 1}}\n", []string{
			`s.yaml:4: podGroups[1]: unknown field "Requests" (did you mean "requests"?); allowed fields: affinity, arrival, boundTo, count, duration, labels, limits, name, namespace, nodeSelector, priorityClassName, requests, terminationGracePeriodSeconds, tolerations, topologySpreadConstraints`}},
		{"what the fields mean and upstream's validation are one pass", nodes + "podGroups:\n- {name: a, count: -3}\n- {name: b, count: 1, requests: {cpu: 500m}, limits: {cpu: 100m}}\n", []string{
			"s.yaml:3: podGroups[0].count: invalid value -3: must be 0 or more",
			`s.yaml:4: podGroups[1].requests: Invalid value: "500m": must be less than or equal to cpu limit of 100m`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := ParseScenario("s.yaml", []byte(c.yaml), 1)
			if err == nil {
				t.Fatalf("no error; workload %d pods", len(w.Pods))
			}
			if got, want := err.Error(), strings.Join(c.want, "\n"); got != want {
				t.Errorf("error\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// Every field name of the full example is refused in other cases, at its line, with
// the right name suggested.
func TestScenarioFieldCaseVariants(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fields := fieldKeys(t, data)
	if len(fields) < 60 {
		t.Fatalf("found %d field names in full.yaml; the walk is broken", len(fields))
	}
	lines := strings.Split(string(data), "\n")
	for _, f := range fields {
		for _, variant := range []string{strings.ToUpper(f.name[:1]) + f.name[1:], strings.ToUpper(f.name)} {
			if variant == f.name {
				continue
			}
			changed := append([]string(nil), lines...)
			l := changed[f.line-1]
			changed[f.line-1] = l[:f.column-1] + variant + l[f.column-1+len(f.name):]
			_, err := ParseScenario("full.yaml", []byte(strings.Join(changed, "\n")), 1)
			want := `unknown field "` + variant + `" (did you mean "` + f.name + `"?)`
			if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "full.yaml:"+itoa(f.line)+": ") {
				t.Errorf("%s at line %d written %s: error %v, want full.yaml:%d: ... %s", f.name, f.line, variant, err, f.line, want)
			}
		}
	}
}

// fieldKey is a field name in a YAML file and where it is.
type fieldKey struct {
	name         string
	line, column int
}

// freeFormMaps are the fields whose keys are data (label keys, resource names), not
// field names.
var freeFormMaps = map[string]bool{"labels": true, "nodeSelector": true, "requests": true, "limits": true,
	"extendedResources": true, "matchLabels": true}

// fieldKeys lists the field names of a YAML document, skipping the keys of free-form
// maps.
func fieldKeys(t *testing.T, data []byte) []fieldKey {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var out []fieldKey
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				out = append(out, fieldKey{k.Value, k.Line, k.Column})
				if !freeFormMaps[k.Value] {
					walk(v)
				}
			}
		}
	}
	walk(&doc)
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// The example scenarios berth-sim ships parse, stay small enough to replay in seconds,
// and use berth's PriorityClass tiers as manifests/examples/priorityclasses.yaml
// defines them.
func TestExampleScenariosParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "sim", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, want := range []string{"mixed-qos-memory-pressure.yaml", "placement-sweep.yaml", "preemption-storm.yaml", "reserved-pool.yaml"} {
		if !slices.Contains(names, want) {
			t.Errorf("examples/sim has no %s (it has %v)", want, names)
		}
	}
	tiers := shippedTiers(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			w, err := LoadScenario(f, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(w.Nodes) > 200 || len(w.Pods) > 3000 || len(w.Pods) == 0 {
				t.Errorf("%d nodes, %d pods: want at most 200 and 3000", len(w.Nodes), len(w.Pods))
			}
			for _, pc := range w.PriorityClasses {
				if s, ok := tiers[pc.Name]; !ok || s.Value != pc.Value || *s.PreemptionPolicy != *pc.PreemptionPolicy {
					t.Errorf("PriorityClass %s %d %s: not as berth ships it", pc.Name, pc.Value, *pc.PreemptionPolicy)
				}
			}
		})
	}
}
