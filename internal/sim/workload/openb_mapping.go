package workload

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	v1helper "k8s.io/kubernetes/pkg/apis/core/v1/helper"
)

// OpenBMapping says how Alibaba's openb GPU trace becomes a workload: what priority
// and QoS shape each value of the pods' qos column gets, how GPUs become resources,
// and what becomes of pods that never ran. DefaultOpenBMapping is the default;
// ParseOpenBMapping changes parts of it from text a command line can carry, and
// String writes a mapping in that text, so a run can record the mapping it used.
//
// The text is comma-separated KEY=VALUE overrides of the default:
//
//	LS|Guaranteed|Burstable|BE=CLASS:VALUE:SHAPE[:POLICY]
//	    the PriorityClass (name and value; POLICY PreemptLowerPriority, the default,
//	    or Never) and the shape (below) of the pods of that qos value
//	gpu=whole|milli             GPU requests in whole GPUs, or in thousandths (below)
//	neverRan=skip|keep          pods the trace never ran (below)
//	limitFactor=F               limits = F × requests in the burstable shape, F >= 1
//	maxPods=N                   each node's pod capacity
//	namespace=NAME              the pods' namespace
//	gpuResource=NAME            the extended resource of whole GPUs
//	gpuMilliResource=NAME       the extended resource of thousandths of a GPU
//	modelLabel=KEY              the node label holding the GPU model
//
// e.g. "BE=berth-batch:100:besteffort:Never,gpu=milli".
//
// Shapes, for cpu and memory (GPUs always have limits = requests, as Kubernetes
// requires of extended resources):
//
//	guaranteed     limits = requests                          → Guaranteed
//	burstable      limits = limitFactor × requests            → Burstable
//	requests-only  requests, no limits                        → Burstable
//	besteffort     no cpu or memory requests or limits        → BestEffort
//
// GPUs: a node's gpu column gives its capacity of gpuResource, and its model column the
// value of modelLabel. A pod's num_gpu becomes requests of gpuResource; its gpu_milli,
// the share of one GPU a GPU-sharing pod uses, is then rounded up to a whole GPU, as
// the standard device plugin allocates whole devices (the default, "whole": it
// overstates the GPU demand of sharing pods). "milli" requests num_gpu × gpu_milli of
// gpuMilliResource instead (num_gpu × 1000 if gpu_milli is 0), of which a node has
// 1000 per GPU: sharing is kept, but not that a share must fit on one card. A pod's
// gpu_spec, the GPU models it accepts (separated by "|", e.g. "V100M16|V100M32"),
// becomes required node affinity: modelLabel In (those models).
//
// Pods that never ran (pod_phase Pending, no scheduled_time; 897 of openb's 8152)
// are skipped by default: the trace records only when they were given up, not how long
// they would have run. "keep" replays them too, running deletion_time −
// creation_time once bound.
type OpenBMapping struct {
	// QoS maps each value of the qos column to its class.
	QoS map[string]OpenBClass
	// LimitFactor is limits / requests in the burstable shape.
	LimitFactor float64
	// GPU is how GPU requests become resources.
	GPU GPUMode
	// NeverRan is what becomes of pods the trace never ran.
	NeverRan NeverRanMode
	// MaxPods is each node's pod capacity.
	MaxPods int
	// Namespace is the pods' namespace.
	Namespace string
	// GPUResource is the extended resource of whole GPUs.
	GPUResource v1.ResourceName
	// GPUMilliResource is the extended resource of thousandths of a GPU ("milli").
	GPUMilliResource v1.ResourceName
	// ModelLabel is the node label holding the GPU model.
	ModelLabel string
}

// OpenBClass is the PriorityClass and QoS shape of the pods of one qos value.
type OpenBClass struct {
	PriorityClass    string
	Value            int32
	PreemptionPolicy v1.PreemptionPolicy
	Shape            Shape
}

// Shape is how a pod's cpu and memory requests become requests and limits.
type Shape string

// The shapes (see OpenBMapping).
const (
	ShapeGuaranteed   Shape = "guaranteed"
	ShapeBurstable    Shape = "burstable"
	ShapeRequestsOnly Shape = "requests-only"
	ShapeBestEffort   Shape = "besteffort"
)

// GPUMode is how GPU requests become resources (see OpenBMapping).
type GPUMode string

// The GPU modes.
const (
	GPUWhole GPUMode = "whole"
	GPUMilli GPUMode = "milli"
)

// NeverRanMode is what becomes of pods the trace never ran (see OpenBMapping).
type NeverRanMode string

// The modes for pods that never ran.
const (
	NeverRanSkip NeverRanMode = "skip"
	NeverRanKeep NeverRanMode = "keep"
)

// openBQoS are the values of openb's qos column, in the order String writes them.
var openBQoS = []string{"LS", "Guaranteed", "Burstable", "BE"}

// DefaultOpenBMapping is the default mapping, on the PriorityClass tiers of
// manifests/examples/priorityclasses.yaml:
//
//	LS          berth-high 10000      guaranteed   latency-sensitive serving: the high tier
//	Guaranteed  berth-default 1000    guaranteed   the trace's Kubernetes QoS names say
//	Burstable   berth-default 1000    burstable    how a pod is shaped, not how important
//	                                               it is: the default tier, shape kept
//	BE          berth-batch 100 Never requests-only best-effort batch: the batch tier,
//	                                               never preempting; requests kept (so
//	                                               Burstable in Kubernetes terms): openb's
//	                                               BE pods did take cpu, memory and GPUs,
//	                                               and without requests any number of them
//	                                               would fit on a node
//
// limitFactor 2, gpu whole, neverRan skip, maxPods 110, namespace default,
// gpuResource nvidia.com/gpu, gpuMilliResource alibabacloud.com/gpu-milli (the name
// openb's own simulator uses), modelLabel nvidia.com/gpu.product (the label NVIDIA's
// GPU feature discovery puts on nodes).
func DefaultOpenBMapping() OpenBMapping {
	never := v1.PreemptNever
	lower := v1.PreemptLowerPriority
	return OpenBMapping{
		QoS: map[string]OpenBClass{
			"LS":         {PriorityClass: "berth-high", Value: 10000, PreemptionPolicy: lower, Shape: ShapeGuaranteed},
			"Guaranteed": {PriorityClass: "berth-default", Value: 1000, PreemptionPolicy: lower, Shape: ShapeGuaranteed},
			"Burstable":  {PriorityClass: "berth-default", Value: 1000, PreemptionPolicy: lower, Shape: ShapeBurstable},
			"BE":         {PriorityClass: "berth-batch", Value: 100, PreemptionPolicy: never, Shape: ShapeRequestsOnly},
		},
		LimitFactor:      2,
		GPU:              GPUWhole,
		NeverRan:         NeverRanSkip,
		MaxPods:          DefaultMaxPods,
		Namespace:        metav1.NamespaceDefault,
		GPUResource:      "nvidia.com/gpu",
		GPUMilliResource: "alibabacloud.com/gpu-milli",
		ModelLabel:       "nvidia.com/gpu.product",
	}
}

// ParseOpenBMapping is the default mapping with the overrides in spec (see
// OpenBMapping); an empty spec is the default.
func ParseOpenBMapping(spec string) (OpenBMapping, error) {
	m := DefaultOpenBMapping()
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if err := m.set(item); err != nil {
			return OpenBMapping{}, fmt.Errorf("openb mapping %q: %w", item, err)
		}
	}
	if err := m.Validate(); err != nil {
		return OpenBMapping{}, err
	}
	return m, nil
}

const openBKeys = "LS, Guaranteed, Burstable, BE, gpu, neverRan, limitFactor, maxPods, namespace, gpuResource, gpuMilliResource, modelLabel"

// set applies one KEY=VALUE override.
func (m *OpenBMapping) set(item string) error {
	key, value, ok := strings.Cut(item, "=")
	if !ok {
		return fmt.Errorf("want KEY=VALUE; keys: %s", openBKeys)
	}
	switch key {
	case "LS", "Guaranteed", "Burstable", "BE":
		c, err := parseOpenBClass(value)
		if err != nil {
			return err
		}
		qos := make(map[string]OpenBClass, len(m.QoS))
		for k, v := range m.QoS {
			qos[k] = v
		}
		qos[key] = c
		m.QoS = qos
	case "gpu":
		m.GPU = GPUMode(value)
	case "neverRan":
		m.NeverRan = NeverRanMode(value)
	case "limitFactor":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("limitFactor must be a number, e.g. 2 or 1.5")
		}
		m.LimitFactor = f
	case "maxPods":
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("maxPods must be a whole number, e.g. 110")
		}
		m.MaxPods = n
	case "namespace":
		m.Namespace = value
	case "gpuResource":
		m.GPUResource = v1.ResourceName(value)
	case "gpuMilliResource":
		m.GPUMilliResource = v1.ResourceName(value)
	case "modelLabel":
		m.ModelLabel = value
	default:
		return fmt.Errorf("unknown key %q; keys: %s", key, openBKeys)
	}
	return nil
}

// parseOpenBClass reads CLASS:VALUE:SHAPE[:POLICY].
func parseOpenBClass(s string) (OpenBClass, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 {
		return OpenBClass{}, fmt.Errorf("want CLASS:VALUE:SHAPE[:POLICY], e.g. berth-batch:100:besteffort:Never")
	}
	value, err := strconv.ParseInt(parts[1], 10, 32)
	if err != nil {
		return OpenBClass{}, fmt.Errorf("the PriorityClass value %q must be a whole number, e.g. 100", parts[1])
	}
	c := OpenBClass{PriorityClass: parts[0], Value: int32(value), PreemptionPolicy: v1.PreemptLowerPriority, Shape: Shape(parts[2])}
	if len(parts) == 4 {
		c.PreemptionPolicy = v1.PreemptionPolicy(parts[3])
	}
	return c, nil
}

// Validate checks every part of the mapping.
func (m OpenBMapping) Validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	seen := map[string]OpenBClass{}
	for _, qos := range openBQoS {
		c, ok := m.QoS[qos]
		if !ok {
			bad("%s: no class", qos)
			continue
		}
		switch c.Shape {
		case ShapeGuaranteed, ShapeBurstable, ShapeRequestsOnly, ShapeBestEffort:
		default:
			bad("%s: unsupported shape %q: must be %s, %s, %s or %s", qos, c.Shape, ShapeGuaranteed, ShapeBurstable, ShapeRequestsOnly, ShapeBestEffort)
		}
		policy := c.PreemptionPolicy
		if errs := createPriorityClass(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: c.PriorityClass},
			Value: c.Value, PreemptionPolicy: &policy}); len(errs) > 0 {
			bad("%s: PriorityClass %s", qos, errs.ToAggregate())
		}
		if prev, ok := seen[c.PriorityClass]; ok && (prev.Value != c.Value || prev.PreemptionPolicy != c.PreemptionPolicy) {
			bad("%s: PriorityClass %s has value %d and policy %s elsewhere in the mapping", qos, c.PriorityClass, prev.Value, prev.PreemptionPolicy)
		}
		seen[c.PriorityClass] = c
	}
	for qos := range m.QoS {
		if !slices.Contains(openBQoS, qos) {
			bad("%s: not a qos value of openb (%s)", qos, strings.Join(openBQoS, ", "))
		}
	}
	if m.GPU != GPUWhole && m.GPU != GPUMilli {
		bad("gpu: unsupported value %q: must be %s or %s", m.GPU, GPUWhole, GPUMilli)
	}
	if m.NeverRan != NeverRanSkip && m.NeverRan != NeverRanKeep {
		bad("neverRan: unsupported value %q: must be %s or %s", m.NeverRan, NeverRanSkip, NeverRanKeep)
	}
	if !(m.LimitFactor >= 1) || math.IsInf(m.LimitFactor, 0) {
		bad("limitFactor: %v: must be a number, 1 or more", m.LimitFactor)
	}
	if m.MaxPods < 1 {
		bad("maxPods: %d: must be at least 1", m.MaxPods)
	}
	if msgs := validation.IsDNS1123Label(m.Namespace); len(msgs) > 0 {
		bad("namespace: %q: %s", m.Namespace, strings.Join(msgs, "; "))
	}
	for key, name := range map[string]v1.ResourceName{"gpuResource": m.GPUResource, "gpuMilliResource": m.GPUMilliResource} {
		if !v1helper.IsExtendedResourceName(name) {
			bad("%s: %q is not an extended resource name (a domain-qualified name outside kubernetes.io, e.g. nvidia.com/gpu)", key, name)
		}
	}
	if msgs := validation.IsQualifiedName(m.ModelLabel); len(msgs) > 0 {
		bad("modelLabel: %q: %s", m.ModelLabel, strings.Join(msgs, "; "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("openb mapping: %s", strings.Join(problems, "; "))
	}
	return nil
}

// String writes the mapping as overrides ParseOpenBMapping reads back to the same
// mapping.
func (m OpenBMapping) String() string {
	var parts []string
	for _, qos := range openBQoS {
		if c, ok := m.QoS[qos]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s:%d:%s:%s", qos, c.PriorityClass, c.Value, c.Shape, c.PreemptionPolicy))
		}
	}
	parts = append(parts,
		"gpu="+string(m.GPU),
		"neverRan="+string(m.NeverRan),
		"limitFactor="+strconv.FormatFloat(m.LimitFactor, 'g', -1, 64),
		"maxPods="+strconv.Itoa(m.MaxPods),
		"namespace="+m.Namespace,
		"gpuResource="+string(m.GPUResource),
		"gpuMilliResource="+string(m.GPUMilliResource),
		"modelLabel="+m.ModelLabel)
	return strings.Join(parts, ",")
}

// priorityClasses are the classes the mapping names, in the order of openBQoS.
func (m OpenBMapping) priorityClasses() []*schedulingv1.PriorityClass {
	var out []*schedulingv1.PriorityClass
	byName := map[string]*schedulingv1.PriorityClass{}
	for _, qos := range openBQoS {
		c := m.QoS[qos]
		if pc := byName[c.PriorityClass]; pc != nil {
			pc.Description += ", " + qos
			continue
		}
		policy := c.PreemptionPolicy
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: c.PriorityClass},
			Value: c.Value, PreemptionPolicy: &policy, Description: "openb qos " + qos}
		byName[c.PriorityClass] = pc
		out = append(out, pc)
	}
	return out
}
