package workload

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestValidateAcceptsBuiltWorkloads(t *testing.T) {
	if err := loadFull(t, 1).Validate(); err != nil {
		t.Error(err)
	}
}

func TestValidateFindsInconsistencies(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(w *Workload)
		want   string
	}{
		{"duplicate node", func(w *Workload) { w.Nodes[1] = w.Nodes[0] }, `nodes[1].name: Duplicate value: "general-0"`},
		{"nil node", func(w *Workload) { w.Nodes[0] = nil }, "nodes[0]: Required value: an object"},
		{"invalid node", func(w *Workload) { w.Nodes[0].Status.Allocatable[v1.ResourceCPU] = resource.MustParse("-1") },
			`nodes[0] (general-0): status.allocatable.cpu: Invalid value: "-1": must be greater than or equal to 0`},
		{"two globalDefault classes", func(w *Workload) { w.PriorityClasses[0].GlobalDefault = true },
			`priorityClasses[1].globalDefault: Forbidden: "critical" is globalDefault already`},
		{"duplicate namespace", func(w *Workload) { w.Namespaces[1] = w.Namespaces[0] }, `namespaces[1].name: Duplicate value: "default"`},
		{"PDB in a missing namespace", func(w *Workload) { w.PDBs[0].Namespace = "gone" }, `pdbs[0].namespace: Not found: "gone"`},
		{"duplicate pod", func(w *Workload) { w.Pods[1].Pod = w.Pods[0].Pod }, `pods[1].pod.metadata.name: Duplicate value: "kube-system/system-0"`},
		{"pod in a missing namespace", func(w *Workload) { w.Pods[7].Pod.Namespace = "gone" }, `pods[7].pod.metadata.namespace: Not found: "gone"`},
		{"pods out of arrival order", func(w *Workload) { w.Pods[7].Arrival = time.Hour },
			"pods[8].arrival: Invalid value: 30000000000: pods must be in arrival order; the pod before arrives at 1h0m0s"},
		{"negative arrival", func(w *Workload) { w.Pods[0].Arrival = -1 }, "pods[0].arrival: Invalid value: -1: must not be negative"},
		{"negative duration", func(w *Workload) { w.Pods[7].Duration = -time.Second }, "pods[7].duration: Invalid value: -1000000000: must not be negative"},
		{"bound to a missing node", func(w *Workload) { w.Pods[0].Pod.Spec.NodeName = "gone" }, `pods[0].pod.spec.nodeName: Not found: "gone"`},
		{"bound later than the start", func(w *Workload) { w.Pods[7].Pod.Spec.NodeName = "general-0" },
			"pods[7].arrival: Invalid value: 30000000000: a pod bound from the start (spec.nodeName) arrives at 0"},
		{"priority its class does not give", func(w *Workload) { *w.Pods[7].Pod.Spec.Priority = 1 },
			`pods[7] (shop/api-0): spec.priority: Invalid value: 1: must be 1000000, what PriorityClass "critical" gives`},
		{"class missing", func(w *Workload) { w.PriorityClasses = w.PriorityClasses[1:] },
			`pods[7] (shop/api-0): spec.priorityClassName: Forbidden: no PriorityClass with name critical was found`},
		{"invalid pod", func(w *Workload) { w.Pods[7].Pod.Spec.Containers = nil },
			"pods[7] (shop/api-0): spec.containers: Required value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := loadFull(t, 1)
			c.change(w)
			err := w.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v\nwant it to contain %s", err, c.want)
			}
		})
	}
}
