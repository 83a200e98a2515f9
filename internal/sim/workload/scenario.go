package workload

import (
	"math/big"
	"reflect"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Scenario is a berth-sim scenario file: a cluster and the pods that arrive in it.
// Field names are matched exactly, case included; an unknown field is an error. The
// schema is documented in docs/simulator.md ("Scenario files"); every example in
// examples/sim is one.
type Scenario struct {
	// NodeGroups are the cluster's nodes, in groups of identical nodes. At least one.
	NodeGroups []NodeGroup `json:"nodeGroups"`
	// PriorityClasses are the classes pods may name, besides the API server's own
	// system-node-critical and system-cluster-critical.
	PriorityClasses []PriorityClass `json:"priorityClasses,omitempty"`
	// PodGroups are the pods, in groups of identical pods.
	PodGroups []PodGroup `json:"podGroups,omitempty"`
	// PodDisruptionBudgets limit which pods preemption may evict.
	PodDisruptionBudgets []PodDisruptionBudget `json:"podDisruptionBudgets,omitempty"`
	// ArrivalOrder orders pods that arrive at the same instant (the scheduling queue
	// takes pods of equal priority in creation order): "groups" (the default) creates
	// them group after group, in file order; "interleaved" round-robin across groups:
	// the first pod of each group arriving then, then the second of each, and so on.
	ArrivalOrder string `json:"arrivalOrder,omitempty"`
}

// The arrival orders.
const (
	ArrivalOrderGroups      = "groups"
	ArrivalOrderInterleaved = "interleaved"
)

// NodeGroup is count identical nodes, named <name>-<index> (the index zero-padded so
// names sort), each labelled kubernetes.io/hostname=<node name>. Allocatable equals
// capacity: model system reservations by giving less.
type NodeGroup struct {
	// Name is the group's name, a DNS label; node names start with it.
	Name string `json:"name"`
	// Count is the number of nodes, 0 or more.
	Count int `json:"count"`
	// CPU is each node's cpu, e.g. 16 or 15500m. Required.
	CPU resource.Quantity `json:"cpu"`
	// Memory is each node's memory, e.g. 64Gi. Required.
	Memory resource.Quantity `json:"memory"`
	// Pods is how many pods a node takes; default 110, the kubelet's default.
	Pods *int `json:"pods,omitempty"`
	// ExtendedResources are other resources a node offers, e.g. nvidia.com/gpu: 8.
	ExtendedResources v1.ResourceList `json:"extendedResources,omitempty"`
	// Labels are added to each node. kubernetes.io/hostname is set by berth-sim, and
	// topology.kubernetes.io/zone too when zones is given.
	Labels map[string]string `json:"labels,omitempty"`
	// Taints are put on each node (v1.Taint: key, value, effect).
	Taints []v1.Taint `json:"taints,omitempty"`
	// Zones spread the nodes round-robin: node i gets topology.kubernetes.io/zone =
	// zones[i mod len(zones)].
	Zones []string `json:"zones,omitempty"`
}

// PriorityClass is a scheduling.k8s.io/v1 PriorityClass.
type PriorityClass struct {
	// Name is the class's name, a DNS subdomain.
	Name string `json:"name"`
	// Value is the priority of the class's pods, at most 1000000000.
	Value int32 `json:"value"`
	// PreemptionPolicy is PreemptLowerPriority (the default) or Never.
	PreemptionPolicy *v1.PreemptionPolicy `json:"preemptionPolicy,omitempty"`
	// GlobalDefault makes this the class of pods that name none. At most one class.
	GlobalDefault bool `json:"globalDefault,omitempty"`
	// Description is free text.
	Description string `json:"description,omitempty"`
}

// PodGroup is count identical pods, named <name>-<index> (the index zero-padded so
// names sort), each with one container holding the requests and limits. A pod's
// priority comes from its PriorityClass as the API server's Priority admission plugin
// gives it, and its QoS class from its requests and limits as Kubernetes computes it.
type PodGroup struct {
	// Name is the group's name; pod names start with it.
	Name string `json:"name"`
	// Count is the number of pods, 0 or more.
	Count int `json:"count"`
	// Namespace is the pods' namespace; default "default". Namespaces are created.
	Namespace string `json:"namespace,omitempty"`
	// PriorityClassName names a class of priorityClasses (or a system class). Empty:
	// the globalDefault class, or priority 0 if there is none.
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// Requests are the container's resource requests, e.g. {cpu: 500m, memory: 1Gi}.
	Requests v1.ResourceList `json:"requests,omitempty"`
	// Limits are the container's limits. As in Kubernetes, a resource with a limit and
	// no request requests its limit, and extended resources need limits.
	Limits v1.ResourceList `json:"limits,omitempty"`
	// Labels are the pods' labels (for selectors, affinity, spread, PDBs).
	Labels map[string]string `json:"labels,omitempty"`
	// NodeSelector is the pods' spec.nodeSelector.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Tolerations are the pods' spec.tolerations (v1.Toleration).
	Tolerations []v1.Toleration `json:"tolerations,omitempty"`
	// Affinity is the pods' spec.affinity (v1.Affinity: nodeAffinity, podAffinity,
	// podAntiAffinity).
	Affinity *v1.Affinity `json:"affinity,omitempty"`
	// TopologySpreadConstraints are the pods' spec.topologySpreadConstraints.
	TopologySpreadConstraints []v1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	// TerminationGracePeriodSeconds is how long a preempted pod keeps its node while it
	// terminates; default 30, as in Kubernetes.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
	// Arrival is when the pods are created; default: all at the start. Not allowed with
	// boundTo.
	Arrival *Arrival `json:"arrival,omitempty"`
	// Duration is how long each pod runs once bound; absent or 0: until the end.
	Duration *DurationSpec `json:"duration,omitempty"`
	// BoundTo makes the pods exist already when the run starts, bound to nodes, as if
	// scheduled before it.
	BoundTo *BoundTo `json:"boundTo,omitempty"`
}

// Arrival is when a group's pods are created: all at one time (at), or one after the
// other from start (rate or every). At most one of at, rate and every.
type Arrival struct {
	// At creates every pod of the group at this time, e.g. 30s.
	At *Duration `json:"at,omitempty"`
	// Rate creates pods at a steady rate, e.g. 5/s, 0.5/s, 30/m, 100/h: pod i at
	// start + i/rate (rounded down to the nanosecond).
	Rate *Rate `json:"rate,omitempty"`
	// Every creates one pod per interval, e.g. 200ms: pod i at start + i×every.
	Every *Duration `json:"every,omitempty"`
	// Start is when the first pod of a rate or every arrival is created; default 0.
	Start *Duration `json:"start,omitempty"`
}

// BoundTo places the pods of a group on nodes before the run starts, round-robin over
// the nodes given: pod i on nodes[i mod len(nodes)]. Exactly one of its fields.
type BoundTo struct {
	// Node is one node's name.
	Node string `json:"node,omitempty"`
	// Nodes are node names.
	Nodes []string `json:"nodes,omitempty"`
	// NodeGroup is a node group's name: all its nodes, in order.
	NodeGroup string `json:"nodeGroup,omitempty"`
}

// PodDisruptionBudget is a policy/v1 PodDisruptionBudget.
type PodDisruptionBudget struct {
	Name string `json:"name"`
	// Namespace is the budget's namespace; default "default".
	Namespace string `json:"namespace,omitempty"`
	// Selector selects the pods it covers (metav1.LabelSelector). Required.
	Selector *metav1.LabelSelector `json:"selector"`
	// MinAvailable or MaxUnavailable (exactly one): a number of pods, or a percentage
	// such as "50%".
	MinAvailable   *intstr.IntOrString `json:"minAvailable,omitempty"`
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// Duration is a length of virtual time written as Go writes durations: 30s, 5m, 1h30m,
// 200ms. A bare number other than 0 is refused: its unit would be a guess.
type Duration time.Duration

func (v *Duration) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	if !d.want(n, yaml.ScalarNode, path) {
		return
	}
	t, err := time.ParseDuration(n.Value)
	if err != nil || (n.ShortTag() != "!!str" && t != 0) {
		d.errorf(n.Line, path, "invalid duration %s: must be a duration such as 30s, 5m, 1h30m or 200ms", describeNode(n))
		return
	}
	if t < 0 {
		d.errorf(n.Line, path, "invalid duration %s: must not be negative", describeNode(n))
		return
	}
	*v = Duration(t)
}

// Rate is a number of pods per second, minute or hour: 5/s, 0.5/s, 30/m, 100/h.
type Rate struct {
	// Count pods per Per.
	Count *big.Rat
	Per   time.Duration
}

var ratePattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)/(s|m|h)$`)

var rateUnits = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

func (r *Rate) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	if !d.want(n, yaml.ScalarNode, path) {
		return
	}
	m := ratePattern.FindStringSubmatch(n.Value)
	var count *big.Rat
	if m != nil {
		count, _ = new(big.Rat).SetString(m[1])
	}
	if count == nil || count.Sign() <= 0 {
		d.errorf(n.Line, path, "invalid rate %s: must be a positive number of pods per s, m or h, such as 5/s, 0.5/s or 30/m", describeNode(n))
		return
	}
	*r = Rate{Count: count, Per: rateUnits[m[2]]}
}

// DurationSpec is how long each pod of a group runs: a fixed duration (10m) or a
// range ({min: 5m, max: 15m}) from which each pod draws its own, uniformly over whole
// milliseconds, from the scenario's seed.
type DurationSpec struct {
	Fixed Duration
	// Range is set for the {min, max} form.
	Range *DurationRange
}

// DurationRange is the {min, max} form of a duration; 0 < min <= max.
type DurationRange struct {
	Min Duration `json:"min"`
	Max Duration `json:"max"`
}

func (s *DurationSpec) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	if n.Kind == yaml.MappingNode {
		s.Range = &DurationRange{}
		d.decodeStruct(n, path, reflect.ValueOf(s.Range).Elem())
		return
	}
	s.Fixed.decodeNode(d, n, path)
}
