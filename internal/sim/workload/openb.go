package workload

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Alibaba's GPU cluster trace "openb" (cluster-trace-gpu-v2023 in
// github.com/alibaba/clusterdata): a node list and a pod list, as CSV. Its repository
// carries no licence, so berth ships none of it; see docs/simulator.md for where to
// download it.

// The columns berth-sim reads; others are ignored.
var (
	openBNodeColumns = []string{"sn", "cpu_milli", "memory_mib", "gpu", "model"}
	openBPodColumns  = []string{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos",
		"pod_phase", "creation_time", "deletion_time", "scheduled_time"}
)

// openBPhases are the values of pod_phase.
var openBPhases = []string{"Running", "Succeeded", "Failed", "Pending"}

// LoadOpenB reads openb's node and pod lists (e.g. openb_node_list_all_node.csv and
// openb_pod_list_default.csv) into a workload, mapped by m:
//
//   - each node row is a node named sn with cpu_milli, memory_mib and m.MaxPods pods,
//     gpu GPUs and its model as a label (see OpenBMapping);
//   - each pod row is a pod named name in m.Namespace, with the PriorityClass and
//     shape of its qos, its GPUs, and its gpu_spec as node affinity;
//   - a pod arrives at its creation_time less the earliest creation_time of the pods
//     replayed, so the first arrives at 0;
//   - it runs deletion_time − scheduled_time once bound (how long it ran in the
//     trace), or deletion_time − creation_time if it never ran and is kept; at least
//     1 s (the trace's resolution: 0 would mean "until the end"); with no
//     deletion_time, until the end;
//   - pods are in creation order, rows of equal creation_time in file order.
//
// Times are seconds, whole or decimal. Problems are reported as file:line:column:
// column name: what is wrong (an ErrorList), all of a file at once.
func LoadOpenB(nodesCSV, podsCSV string, m OpenBMapping) (*Workload, error) {
	nodes, err := os.Open(nodesCSV)
	if err != nil {
		return nil, err
	}
	defer nodes.Close()
	pods, err := os.Open(podsCSV)
	if err != nil {
		return nil, err
	}
	defer pods.Close()
	return ReadOpenB(nodesCSV, nodes, podsCSV, pods, m)
}

// ReadOpenB is LoadOpenB on readers; the names are the files' names in messages.
func ReadOpenB(nodesName string, nodes io.Reader, podsName string, pods io.Reader, m OpenBMapping) (*Workload, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	classes := m.priorityClasses()
	api, err := newAPIServer(classes)
	if err != nil {
		return nil, err
	}
	w := &Workload{
		PriorityClasses: classes,
		Namespaces:      []*v1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: m.Namespace}}},
	}
	var errs ErrorList
	w.Nodes, errs = readOpenBNodes(nodesName, nodes, m)
	podList, podErrs := readOpenBPods(podsName, pods, m, api)
	errs = append(errs, podErrs...)
	if err := errs.asError(); err != nil {
		return nil, err
	}
	w.Pods = podList
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", podsName, err)
	}
	return w, nil
}

// readOpenBNodes reads the node list.
func readOpenBNodes(file string, rd io.Reader, m OpenBMapping) ([]*v1.Node, ErrorList) {
	t, err := openCSV(file, rd, openBNodeColumns)
	if err != nil {
		return nil, ErrorList{err.(*Error)}
	}
	var nodes []*v1.Node
	seen := map[string]int{}
	for r := t.next(); r != nil; r = t.next() {
		name, okName := r.required("sn")
		if okName {
			if first, dup := seen[name]; dup {
				r.errorf("sn", "node %q appears twice (first on line %d)", name, first)
				okName = false
			} else if msgs := append(validation.IsDNS1123Subdomain(name), validation.IsValidLabelValue(name)...); len(msgs) > 0 {
				r.errorf("sn", "invalid node name %q: %s", name, strings.Join(msgs, "; "))
				okName = false
			}
			seen[name] = r.line
		}
		cpu, okCPU := r.whole("cpu_milli")
		mem, okMem := r.whole("memory_mib")
		gpus, okGPU := r.whole("gpu")
		model, hasModel := r.optional("model")
		if hasModel {
			if msgs := validation.IsValidLabelValue(model); len(msgs) > 0 {
				r.errorf("model", "invalid GPU model %q: must be a label value (%s)", model, strings.Join(msgs, "; "))
				hasModel = false
			}
		}
		if !okName || !okCPU || !okMem || !okGPU {
			continue
		}
		n := &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelHostname: name}},
			Status: v1.NodeStatus{Capacity: v1.ResourceList{
				v1.ResourceCPU:    *resource.NewMilliQuantity(cpu, resource.DecimalSI),
				v1.ResourceMemory: *mebibytes(mem),
				v1.ResourcePods:   *resourceQuantity(int64(m.MaxPods)),
			}},
		}
		if hasModel {
			n.Labels[m.ModelLabel] = model
		}
		if gpus > 0 {
			if m.GPU == GPUMilli {
				n.Status.Capacity[m.GPUMilliResource] = *resourceQuantity(gpus * 1000)
			} else {
				n.Status.Capacity[m.GPUResource] = *resourceQuantity(gpus)
			}
		}
		if errs := createNode(n); len(errs) > 0 {
			r.errorf("sn", "node %s: %v", name, errs.ToAggregate())
			continue
		}
		nodes = append(nodes, n)
	}
	return nodes, t.errs
}

// mebibytes is n MiB.
func mebibytes(n int64) *resource.Quantity {
	return resource.NewQuantity(n<<20, resource.BinarySI)
}

// openBPod is a pod row read, before arrivals are known.
type openBPod struct {
	pod      *v1.Pod
	created  time.Duration
	duration time.Duration
}

// readOpenBPods reads the pod list.
func readOpenBPods(file string, rd io.Reader, m OpenBMapping, api *apiServer) ([]Pod, ErrorList) {
	t, err := openCSV(file, rd, openBPodColumns)
	if err != nil {
		return nil, ErrorList{err.(*Error)}
	}
	var rows []openBPod
	seen := map[string]int{}
	for r := t.next(); r != nil; r = t.next() {
		p, ok := readOpenBPod(r, m, api, seen)
		if ok && p.pod != nil {
			rows = append(rows, p)
		}
	}
	if len(t.errs) > 0 {
		return nil, t.errs
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].created < rows[j].created })
	pods := make([]Pod, len(rows))
	for i, p := range rows {
		pods[i] = Pod{Pod: p.pod, Arrival: p.created - rows[0].created, Duration: p.duration, Group: "openb"}
	}
	return pods, nil
}

// readOpenBPod reads one pod row; pod is nil for a pod that is skipped.
func readOpenBPod(r *csvRow, m OpenBMapping, api *apiServer, seen map[string]int) (openBPod, bool) {
	ok := true
	name, okName := r.required("name")
	if okName {
		if first, dup := seen[name]; dup {
			r.errorf("name", "pod %q appears twice (first on line %d)", name, first)
			okName = false
		} else if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
			r.errorf("name", "invalid pod name %q: %s", name, strings.Join(msgs, "; "))
			okName = false
		}
		seen[name] = r.line
	}
	ok = okName
	cpu, okV := r.whole("cpu_milli")
	ok = ok && okV
	mem, okV := r.whole("memory_mib")
	ok = ok && okV
	gpus, okV := r.whole("num_gpu")
	ok = ok && okV
	gpuMilli, okV := r.whole("gpu_milli")
	if okV && gpuMilli > 1000 {
		r.errorf("gpu_milli", "%d: must be at most 1000 (it is the share of one GPU, in thousandths)", gpuMilli)
		okV = false
	}
	ok = ok && okV
	var models []string
	if spec, has := r.optional("gpu_spec"); has {
		for _, model := range strings.Split(spec, "|") {
			model = strings.TrimSpace(model)
			if model == "" || slices.Contains(models, model) {
				continue
			}
			if msgs := validation.IsValidLabelValue(model); len(msgs) > 0 {
				r.errorf("gpu_spec", "invalid GPU model %q: must be a label value (%s)", model, strings.Join(msgs, "; "))
				ok = false
			}
			models = append(models, model)
		}
	}
	class, okV := m.QoS[r.text("qos")]
	if !okV {
		r.errorf("qos", "%q: must be one of %s", r.text("qos"), strings.Join(openBQoS, ", "))
		ok = false
	}
	phase := r.text("pod_phase")
	if !slices.Contains(openBPhases, phase) {
		r.errorf("pod_phase", "%q: must be one of %s", phase, strings.Join(openBPhases, ", "))
		ok = false
	}
	created, okV := r.seconds("creation_time", false)
	ok = ok && okV
	deleted, hasDeleted := r.seconds("deletion_time", true)
	scheduled, hasScheduled := r.seconds("scheduled_time", true)
	if !ok {
		return openBPod{}, false
	}
	switch {
	case hasScheduled && scheduled < created:
		r.errorf("scheduled_time", "%v is before creation_time (%v)", seconds(scheduled), seconds(created))
		return openBPod{}, false
	case hasDeleted && hasScheduled && deleted < scheduled:
		r.errorf("deletion_time", "%v is before scheduled_time (%v)", seconds(deleted), seconds(scheduled))
		return openBPod{}, false
	case hasDeleted && deleted < created:
		r.errorf("deletion_time", "%v is before creation_time (%v)", seconds(deleted), seconds(created))
		return openBPod{}, false
	}
	neverRan := phase == "Pending" || !hasScheduled
	if neverRan && m.NeverRan == NeverRanSkip {
		return openBPod{}, true
	}
	var duration time.Duration
	switch {
	case hasDeleted && hasScheduled:
		duration = max(deleted-scheduled, time.Second)
	case hasDeleted:
		duration = max(deleted-created, time.Second)
	}

	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.Namespace},
		Spec: v1.PodSpec{
			PriorityClassName: class.PriorityClass,
			Containers: []v1.Container{{Name: "main", Image: PauseImage,
				Resources: m.resources(class.Shape, cpu, mem, gpus, gpuMilli)}},
		},
	}
	if len(models) > 0 {
		pod.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: m.ModelLabel, Operator: v1.NodeSelectorOpIn, Values: models}},
			}}},
		}}
	}
	if errs := api.createPod(pod); len(errs) > 0 {
		r.errorf("name", "pod %s: %v", name, errs.ToAggregate())
		return openBPod{}, false
	}
	return openBPod{pod: pod, created: created, duration: duration}, true
}

// resources shapes a pod's requests and limits (see OpenBMapping).
func (m OpenBMapping) resources(shape Shape, cpuMilli, memMiB, gpus, gpuMilli int64) v1.ResourceRequirements {
	var req, lim v1.ResourceList
	set := func(l *v1.ResourceList, name v1.ResourceName, q *resource.Quantity) {
		if q.IsZero() {
			return
		}
		if *l == nil {
			*l = v1.ResourceList{}
		}
		(*l)[name] = *q
	}
	if shape != ShapeBestEffort {
		set(&req, v1.ResourceCPU, resource.NewMilliQuantity(cpuMilli, resource.DecimalSI))
		set(&req, v1.ResourceMemory, mebibytes(memMiB))
	}
	switch shape {
	case ShapeGuaranteed:
		set(&lim, v1.ResourceCPU, resource.NewMilliQuantity(cpuMilli, resource.DecimalSI))
		set(&lim, v1.ResourceMemory, mebibytes(memMiB))
	case ShapeBurstable:
		set(&lim, v1.ResourceCPU, resource.NewMilliQuantity(scale(cpuMilli, m.LimitFactor), resource.DecimalSI))
		set(&lim, v1.ResourceMemory, mebibytes(scale(memMiB, m.LimitFactor)))
	}
	if gpus > 0 {
		name, q := m.GPUResource, resourceQuantity(gpus)
		if m.GPU == GPUMilli {
			if gpuMilli == 0 {
				gpuMilli = 1000
			}
			name, q = m.GPUMilliResource, resourceQuantity(gpus*gpuMilli)
		}
		set(&req, name, q)
		set(&lim, name, q)
	}
	return v1.ResourceRequirements{Requests: req, Limits: lim}
}

// scale is n × f, rounded to the nearest whole number.
func scale(n int64, f float64) int64 { return int64(math.Round(float64(n) * f)) }

// seconds writes a trace time as the trace does, in seconds.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%gs", d.Seconds())
}
