package workload

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Hand-written rows in openb's format (the trace itself has no licence to copy).
const (
	openBNodes = `sn,cpu_milli,memory_mib,gpu,model
openb-node-0000,32000,262144,0,
openb-node-0001,96000,393216,8,G2
openb-node-0002,104000,524288,2,T4
`
	openBPods = `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
openb-pod-0000,12000,16384,1,1000,,LS,Running,100,500,100
openb-pod-0001,4000,15258,1,220,,BE,Running,150,450,160
openb-pod-0002,88000,327680,8,1000,,Burstable,Succeeded,160,1000,170
openb-pod-0003,16000,32768,1,1000,V100M16|V100M32,Guaranteed,Failed,200,260,201
openb-pod-0004,11908,47104,1,1000,,BE,Pending,210,300,
openb-pod-0005,20000,65536,0,0,,LS,Running,220,,221
openb-pod-0006,2000,0,0,0,T4|T4,LS,Running,230,230,230
`
)

func readOpenB(t *testing.T, nodes, pods string, m OpenBMapping) (*Workload, error) {
	t.Helper()
	return ReadOpenB("nodes.csv", strings.NewReader(nodes), "pods.csv", strings.NewReader(pods), m)
}

func mustMapping(t *testing.T, spec string) OpenBMapping {
	t.Helper()
	m, err := ParseOpenBMapping(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func list(kv ...string) v1.ResourceList {
	l := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func TestOpenBNodes(t *testing.T) {
	for _, c := range []struct {
		mapping string
		gpus    []v1.ResourceList
	}{
		{"", []v1.ResourceList{{}, list("nvidia.com/gpu", "8"), list("nvidia.com/gpu", "2")}},
		{"gpu=milli", []v1.ResourceList{{}, list("alibabacloud.com/gpu-milli", "8000"), list("alibabacloud.com/gpu-milli", "2000")}},
	} {
		t.Run(c.mapping, func(t *testing.T) {
			w, err := readOpenB(t, openBNodes, openBPods, mustMapping(t, c.mapping))
			if err != nil {
				t.Fatal(err)
			}
			want := []struct{ name, cpu, memory, model string }{
				{"openb-node-0000", "32", "256Gi", ""},
				{"openb-node-0001", "96", "384Gi", "G2"},
				{"openb-node-0002", "104", "512Gi", "T4"},
			}
			if len(w.Nodes) != len(want) {
				t.Fatalf("%d nodes", len(w.Nodes))
			}
			for i, wn := range want {
				n := w.Nodes[i]
				model, hasModel := n.Labels["nvidia.com/gpu.product"]
				if n.Name != wn.name || n.Labels[v1.LabelHostname] != wn.name || model != wn.model || hasModel != (wn.model != "") {
					t.Errorf("node %d: %s labels %v, want %s model %q", i, n.Name, n.Labels, wn.name, wn.model)
				}
				wantAlloc := list("cpu", wn.cpu, "memory", wn.memory, "pods", "110")
				for k, q := range c.gpus[i] {
					wantAlloc[k] = q
				}
				if !equalList(n.Status.Allocatable, wantAlloc) {
					t.Errorf("node %s: allocatable %v, want %v", n.Name, n.Status.Allocatable, wantAlloc)
				}
			}
		})
	}
}

func TestOpenBPods(t *testing.T) {
	type want struct {
		name      string
		class     string
		priority  int32
		qos       v1.PodQOSClass
		req, lim  v1.ResourceList
		models    []string
		arrival   time.Duration
		duration  time.Duration
		neverRuns bool
	}
	gpu1 := []string{"nvidia.com/gpu", "1"}
	rows := []want{
		{"openb-pod-0000", "berth-high", 10000, v1.PodQOSGuaranteed,
			list(append([]string{"cpu", "12", "memory", "16Gi"}, gpu1...)...), list(append([]string{"cpu", "12", "memory", "16Gi"}, gpu1...)...),
			nil, 0, 400 * time.Second, false},
		// BE keeps its requests and gets no limits: Burstable; a 220/1000 share of a GPU
		// is a whole GPU.
		{"openb-pod-0001", "berth-batch", 100, v1.PodQOSBurstable,
			list(append([]string{"cpu", "4", "memory", "15258Mi"}, gpu1...)...), list(gpu1...),
			nil, 50 * time.Second, 290 * time.Second, false},
		// Burstable: limits twice the requests.
		{"openb-pod-0002", "berth-default", 1000, v1.PodQOSBurstable,
			list("cpu", "88", "memory", "320Gi", "nvidia.com/gpu", "8"), list("cpu", "176", "memory", "640Gi", "nvidia.com/gpu", "8"),
			nil, 60 * time.Second, 830 * time.Second, false},
		{"openb-pod-0003", "berth-default", 1000, v1.PodQOSGuaranteed,
			list(append([]string{"cpu", "16", "memory", "32Gi"}, gpu1...)...), list(append([]string{"cpu", "16", "memory", "32Gi"}, gpu1...)...),
			[]string{"V100M16", "V100M32"}, 100 * time.Second, 59 * time.Second, false},
		// Never ran: skipped unless neverRan=keep, then it runs deletion − creation.
		{"openb-pod-0004", "berth-batch", 100, v1.PodQOSBurstable,
			list(append([]string{"cpu", "11908m", "memory", "47104Mi"}, gpu1...)...), list(gpu1...),
			nil, 110 * time.Second, 90 * time.Second, true},
		// No deletion time: runs until the end.
		{"openb-pod-0005", "berth-high", 10000, v1.PodQOSGuaranteed,
			list("cpu", "20", "memory", "64Gi"), list("cpu", "20", "memory", "64Gi"), nil, 120 * time.Second, 0, false},
		// No memory: not Guaranteed. Deleted when scheduled: runs 1 s, not "until the end".
		{"openb-pod-0006", "berth-high", 10000, v1.PodQOSBurstable,
			list("cpu", "2"), list("cpu", "2"), []string{"T4"}, 130 * time.Second, time.Second, false},
	}
	for _, keep := range []bool{false, true} {
		spec := ""
		if keep {
			spec = "neverRan=keep"
		}
		t.Run(spec, func(t *testing.T) {
			w, err := readOpenB(t, openBNodes, openBPods, mustMapping(t, spec))
			if err != nil {
				t.Fatal(err)
			}
			var wants []want
			for _, r := range rows {
				if keep || !r.neverRuns {
					wants = append(wants, r)
				}
			}
			if len(w.Pods) != len(wants) {
				t.Fatalf("%d pods, want %d", len(w.Pods), len(wants))
			}
			for i, wp := range wants {
				p := w.Pods[i]
				s := p.Pod.Spec
				if p.Pod.Name != wp.name || p.Pod.Namespace != "default" || s.PriorityClassName != wp.class || *s.Priority != wp.priority ||
					p.Pod.Status.QOSClass != wp.qos || p.Arrival != wp.arrival || p.Duration != wp.duration || p.Group != "openb" {
					t.Errorf("pod %d: %s class %s priority %d qos %s arrival %v duration %v group %s,\nwant %+v", i, p.Name(),
						s.PriorityClassName, *s.Priority, p.Pod.Status.QOSClass, p.Arrival, p.Duration, p.Group, wp)
				}
				if r := s.Containers[0].Resources; !equalList(r.Requests, wp.req) || !equalList(r.Limits, wp.lim) {
					t.Errorf("pod %s: requests %v limits %v, want %v %v", p.Pod.Name, r.Requests, r.Limits, wp.req, wp.lim)
				}
				var models []string
				if a := s.Affinity; a != nil {
					terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
					if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 || terms[0].MatchExpressions[0].Key != "nvidia.com/gpu.product" ||
						terms[0].MatchExpressions[0].Operator != v1.NodeSelectorOpIn {
						t.Errorf("pod %s: affinity %+v", p.Pod.Name, a)
					}
					models = terms[0].MatchExpressions[0].Values
				}
				if !reflect.DeepEqual(models, wp.models) {
					t.Errorf("pod %s: GPU models %v, want %v", p.Pod.Name, models, wp.models)
				}
			}
		})
	}
}

func TestOpenBMappingOverridesShapeAndGPUs(t *testing.T) {
	w, err := readOpenB(t, openBNodes, openBPods, mustMapping(t, "BE=spot:50:besteffort:Never,gpu=milli,Burstable=berth-default:1000:burstable,limitFactor=1.5,namespace=trace"))
	if err != nil {
		t.Fatal(err)
	}
	be := w.Pods[1].Pod
	if *be.Spec.Priority != 50 || be.Spec.PriorityClassName != "spot" || be.Status.QOSClass != v1.PodQOSBestEffort || be.Namespace != "trace" ||
		!equalList(be.Spec.Containers[0].Resources.Requests, list("alibabacloud.com/gpu-milli", "220")) {
		t.Errorf("BE pod: %s/%s class %s priority %d qos %s requests %v", be.Namespace, be.Name, be.Spec.PriorityClassName, *be.Spec.Priority,
			be.Status.QOSClass, be.Spec.Containers[0].Resources.Requests)
	}
	burst := w.Pods[2].Pod.Spec.Containers[0].Resources
	if !equalList(burst.Limits, list("cpu", "132", "memory", "480Gi", "alibabacloud.com/gpu-milli", "8000")) {
		t.Errorf("Burstable limits %v, want 1.5 × requests and 8 whole GPUs in thousandths", burst.Limits)
	}
	var classes []string
	for _, pc := range w.PriorityClasses {
		classes = append(classes, pc.Name+"="+pc.Description)
	}
	if want := []string{"berth-high=openb qos LS", "berth-default=openb qos Guaranteed, Burstable", "spot=openb qos BE"}; !reflect.DeepEqual(classes, want) {
		t.Errorf("PriorityClasses %v, want %v", classes, want)
	}
	if len(w.Namespaces) != 1 || w.Namespaces[0].Name != "trace" {
		t.Errorf("namespaces %v", w.Namespaces)
	}
}

func TestOpenBArrivalsFromTheFirstPodReplayed(t *testing.T) {
	pods := strings.Replace(openBPods, "openb-pod-0000,12000,16384,1,1000,,LS,Running,100,500,100",
		"openb-pod-0000,12000,16384,1,1000,,LS,Pending,100,500,", 1)
	w, err := readOpenB(t, openBNodes, pods, DefaultOpenBMapping())
	if err != nil {
		t.Fatal(err)
	}
	if w.Pods[0].Pod.Name != "openb-pod-0001" || w.Pods[0].Arrival != 0 || w.Pods[1].Arrival != 10*time.Second {
		t.Errorf("first pods %s at %v, %s at %v: want the first pod replayed at 0", w.Pods[0].Pod.Name, w.Pods[0].Arrival, w.Pods[1].Pod.Name, w.Pods[1].Arrival)
	}
}

func TestOpenBPodsInCreationOrder(t *testing.T) {
	header, rest, _ := strings.Cut(openBPods, "\n")
	lines := strings.Split(strings.TrimSpace(rest), "\n")
	lines[0], lines[3] = lines[3], lines[0]
	w, err := readOpenB(t, openBNodes, header+"\n"+strings.Join(lines, "\n")+"\n", DefaultOpenBMapping())
	if err != nil {
		t.Fatal(err)
	}
	if w.Pods[0].Pod.Name != "openb-pod-0000" || w.Pods[3].Pod.Name != "openb-pod-0003" {
		t.Errorf("order %s ... %s, want by creation_time", w.Pods[0].Pod.Name, w.Pods[3].Pod.Name)
	}
}

func TestLoadOpenBReadsFiles(t *testing.T) {
	dir := t.TempDir()
	nodes, pods := filepath.Join(dir, "nodes.csv"), filepath.Join(dir, "pods.csv")
	if err := os.WriteFile(nodes, []byte(strings.ReplaceAll(openBNodes, "\n", "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pods, []byte(openBPods), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := LoadOpenB(nodes, pods, DefaultOpenBMapping())
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Nodes) != 3 || len(w.Pods) != 6 {
		t.Errorf("%d nodes, %d pods", len(w.Nodes), len(w.Pods))
	}
	if _, err := LoadOpenB(nodes, filepath.Join(dir, "missing.csv"), DefaultOpenBMapping()); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("a missing file: %v", err)
	}
}

func TestOpenBErrors(t *testing.T) {
	const podHeader = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
	const nodeHeader = "sn,cpu_milli,memory_mib,gpu,model\n"
	const node = nodeHeader + "n0,1000,1024,0,\n"
	for _, c := range []struct{ name, nodes, pods, want string }{
		{"missing pod column", node, "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,pod_phase,creation_time,deletion_time,scheduled_time\n",
			`pods.csv:1: missing column "qos"; the header must name name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time (in any order)`},
		{"missing node column", "sn,cpu_milli,memory_mib,model\n", podHeader,
			`nodes.csv:1: missing column "gpu"; the header must name sn,cpu_milli,memory_mib,gpu,model (in any order)`},
		{"node cpu not a number", nodeHeader + "n0,lots,1024,0,\n", podHeader, `nodes.csv:2:4: cpu_milli: "lots": must be a whole number`},
		{"negative node memory", nodeHeader + "n0,1000,-1024,0,\n", podHeader, `nodes.csv:2:9: memory_mib: "-1024": must not be negative`},
		{"duplicate node", node + "n0,1000,1024,0,\n", podHeader, `nodes.csv:3:1: sn: node "n0" appears twice (first on line 2)`},
		{"bad node name", nodeHeader + "Node_0,1000,1024,0,\n", podHeader,
			`nodes.csv:2:1: sn: invalid node name "Node_0": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"bad GPU model", nodeHeader + "n0,1000,1024,1,V100 32G\n", podHeader,
			`nodes.csv:2:16: model: invalid GPU model "V100 32G": must be a label value (a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'))`},
		{"pod cpu not a number", node, podHeader + "p0,1.5,1,0,0,,LS,Running,0,1,0\n", `pods.csv:2:4: cpu_milli: "1.5": must be a whole number`},
		{"negative creation time", node, podHeader + "p0,1,1,0,0,,LS,Running,-5,1,0\n", `pods.csv:2:24: creation_time: "-5": must not be negative`},
		{"empty creation time", node, podHeader + "p0,1,1,0,0,,LS,Running,,1,0\n", `pods.csv:2:24: creation_time: empty: a value is required`},
		{"unknown qos", node, podHeader + "p0,1,1,0,0,,Critical,Running,0,1,0\n", `pods.csv:2:13: qos: "Critical": must be one of LS, Guaranteed, Burstable, BE`},
		{"unknown phase", node, podHeader + "p0,1,1,0,0,,LS,Done,0,1,0\n", `pods.csv:2:16: pod_phase: "Done": must be one of Running, Succeeded, Failed, Pending`},
		{"GPU share above one GPU", node, podHeader + "p0,1,1,1,1500,,LS,Running,0,1,0\n", `pods.csv:2:10: gpu_milli: 1500: must be at most 1000 (it is the share of one GPU, in thousandths)`},
		{"scheduled before created", node, podHeader + "p0,1,1,0,0,,LS,Running,10,20,5\n", `pods.csv:2:30: scheduled_time: 5s is before creation_time (10s)`},
		{"deleted before scheduled", node, podHeader + "p0,1,1,0,0,,LS,Running,10,11,12\n", `pods.csv:2:27: deletion_time: 11s is before scheduled_time (12s)`},
		{"deleted before created", node, podHeader + "p0,1,1,0,0,,BE,Pending,10,9,\n", `pods.csv:2:27: deletion_time: 9s is before creation_time (10s)`},
		{"duplicate pod", node, podHeader + "p0,1,1,0,0,,LS,Running,0,1,0\np0,1,1,0,0,,LS,Running,0,1,0\n", `pods.csv:3:1: name: pod "p0" appears twice (first on line 2)`},
		{"bad GPU spec", node, podHeader + "p0,1,1,1,1000,V100|a b,LS,Running,0,1,0\n",
			`pods.csv:2:15: gpu_spec: invalid GPU model "a b": must be a label value (a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'))`},
		{"errors of both files", nodeHeader + "n0,x,1024,0,\n", podHeader + "p0,1,1,0,0,,LS,Running,0,1,y\n",
			"nodes.csv:2:4: cpu_milli: \"x\": must be a whole number\npods.csv:2:28: scheduled_time: \"y\": must be a number of seconds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readOpenB(t, c.nodes, c.pods, DefaultOpenBMapping())
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v\nwant %s", err, c.want)
			}
		})
	}
}
