package report

import (
	"errors"
	"fmt"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"

	"gonum.org/v1/gonum/stat"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/pkg/apis/config"
)

// MeasureOptions choose what some figures count.
type MeasureOptions struct {
	// CriticalPriority: pods whose priority is at least this are critical. nil means
	// 1000000, where PriorityPlacement's spread band starts by default.
	CriticalPriority *int32
	// ZoneLabel is the node label naming a node's zone; "" means
	// topology.kubernetes.io/zone.
	ZoneLabel string
}

// Metrics are the figures of one run; docs/simulator.md defines each. Their
// JSON form is the run's object in results.json, a public interface: keys are never
// renamed. Figures that are undefined for a run (no pod to average over) are nil.
type Metrics struct {
	// Pods is the number of workload pods; PreExisting, how many were bound before the
	// run started (spec.nodeName set in the workload).
	Pods        int `json:"pods"`
	PreExisting int `json:"preExisting"`
	// Scheduled pods were bound at some time in the run (pre-existing pods included);
	// NeverScheduled were never bound; Pending were still waiting when the run ended.
	Scheduled      int `json:"scheduled"`
	Pending        int `json:"pending"`
	NeverScheduled int `json:"neverScheduled"`
	// PendingTime is the virtual time from arrival to binding of the scheduled pods that
	// were not pre-existing; nil when there is none.
	PendingTime *TimeSummary `json:"pendingTime"`
	// Preemptions is the number of pods whose preemption evicted at least one victim;
	// Victims, the number of pods evicted.
	Preemptions  int          `json:"preemptions"`
	Victims      int          `json:"victims"`
	VictimsByQoS VictimsByQoS `json:"victimsByQoS"`
	// VictimsLostRuntimeSeconds is the virtual time the victims had run, summed.
	VictimsLostRuntimeSeconds float64 `json:"victimsLostRuntimeSeconds"`
	// CPUAllocation and MemoryAllocation are the distribution of nodes'
	// requested/allocatable fraction over the active time.
	CPUAllocation    *Allocation `json:"cpuAllocation"`
	MemoryAllocation *Allocation `json:"memoryAllocation"`
	// EmptyNodesMean is the time-weighted mean number of nodes without a pod over the
	// active time.
	EmptyNodesMean *float64 `json:"emptyNodesMean"`
	// Fragmentation is the number of pods pending at the end whose cpu and memory
	// requests fit in the cluster's total free cpu and memory but on no single node.
	Fragmentation int `json:"fragmentation"`
	// CriticalPods is the number of critical workload pods; CriticalMaxPerNode and
	// CriticalMaxPerZone, the most of them on one node and in one zone at any time
	// (CriticalMaxPerZone nil when no node has a zone).
	CriticalPods       int  `json:"criticalPods"`
	CriticalMaxPerNode int  `json:"criticalMaxPerNode"`
	CriticalMaxPerZone *int `json:"criticalMaxPerZone"`
	// Attempts is the number of scheduling attempts.
	Attempts int `json:"attempts"`
	// EndSeconds is the virtual time the run ended; ActiveSeconds, the part of
	// [0, EndSeconds] during which at least one workload pod was pending or bound.
	EndSeconds    float64 `json:"endSeconds"`
	ActiveSeconds float64 `json:"activeSeconds"`
	// WallSeconds is how long the run took; PodsPerSecond, Pods / WallSeconds (0 when
	// WallSeconds is 0).
	WallSeconds   float64 `json:"wallSeconds"`
	PodsPerSecond float64 `json:"podsPerSecond"`
	// PlacementHash is the hex sha256 of the run's placements (placementhash.go).
	PlacementHash string `json:"placementHash"`
	// Tiers are the figures per priority tier, highest priority first.
	Tiers []TierMetrics `json:"tiers"`
}

// TimeSummary summarises virtual durations, in seconds. Quantiles are gonum's
// stat.Empirical: the smallest sample x such that at least p of the samples are <= x.
type TimeSummary struct {
	MeanSeconds float64 `json:"meanSeconds"`
	P50Seconds  float64 `json:"p50Seconds"`
	P99Seconds  float64 `json:"p99Seconds"`
}

// VictimsByQoS counts victims by their QoS class.
type VictimsByQoS struct {
	BestEffort int `json:"BestEffort"`
	Burstable  int `json:"Burstable"`
	Guaranteed int `json:"Guaranteed"`
}

// Allocation is a time-weighted distribution of per-node requested/allocatable
// fractions (0 to 1).
type Allocation struct {
	Mean float64 `json:"mean"`
	P90  float64 `json:"p90"`
}

// TierMetrics are the figures of one priority tier: the pods of one PriorityClass.
type TierMetrics struct {
	// Tier is the pods' spec.priorityClassName; "" for pods without one.
	Tier string `json:"tier"`
	// Priority is the PriorityClass's value (the pods' priority when the class is not
	// in the workload; 0 for pods without a class).
	Priority       int32        `json:"priority"`
	Pods           int          `json:"pods"`
	Scheduled      int          `json:"scheduled"`
	Pending        int          `json:"pending"`
	NeverScheduled int          `json:"neverScheduled"`
	PendingTime    *TimeSummary `json:"pendingTime"`
	Victims        int          `json:"victims"`
}

// TierName is how a tier is shown: its class name, or "(none)" for pods without one.
func TierName(tier string) string {
	if tier == "" {
		return "(none)"
	}
	return tier
}

// Measure computes the figures of one run of w. It costs O(pods + changes) after
// O(pods log pods + nodes log nodes) of preparation; MeasureAll prepares once for
// several runs of the same workload.
func Measure(w *workload.Workload, run Run, opts MeasureOptions) (Metrics, error) {
	f, err := newFacts(w, opts)
	if err != nil {
		return Metrics{}, err
	}
	return f.measure(run)
}

// MeasureAll computes the figures of each run of w, in order.
func MeasureAll(w *workload.Workload, runs []Run, opts MeasureOptions) ([]Metrics, error) {
	f, err := newFacts(w, opts)
	if err != nil {
		return nil, err
	}
	out := make([]Metrics, len(runs))
	for i, r := range runs {
		if out[i], err = f.measure(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// facts are what every run of a workload shares: each pod's tier, QoS class,
// requests and criticality, the nodes' allocatable resources and zones.
type facts struct {
	w     *workload.Workload
	pods  []podFact
	tiers []TierMetrics // names and priorities only
	nodes []nodeFact
	// nodeIndex maps a node name to its index in nodes.
	nodeIndex map[string]int
	zones     int
	// byArrival are pod indices in arrival order (the workload's order when it is
	// sorted, as the workload package promises).
	byArrival []int
	// byName are pod indices sorted by namespace/name, the placement hash's order.
	byName       []int
	criticalPods int
}

type podFact struct {
	name        string
	tier        int
	qos         v1.PodQOSClass
	cpu, memory int64 // requests: millicores, bytes
	critical    bool
	preExisting bool
}

type nodeFact struct {
	cpu, memory int64 // allocatable: millicores, bytes
	zone        int   // index of the node's zone; -1 without one
}

func newFacts(w *workload.Workload, opts MeasureOptions) (*facts, error) {
	if w == nil {
		return nil, errors.New("no workload")
	}
	critical := config.DefaultCriticalPriority
	if opts.CriticalPriority != nil {
		critical = *opts.CriticalPriority
	}
	zoneLabel := opts.ZoneLabel
	if zoneLabel == "" {
		zoneLabel = v1.LabelTopologyZone
	}
	f := &facts{w: w, pods: make([]podFact, len(w.Pods)), nodes: make([]nodeFact, len(w.Nodes)),
		nodeIndex: make(map[string]int, len(w.Nodes))}

	zones := map[string]int{}
	for i, n := range w.Nodes {
		if n == nil {
			return nil, fmt.Errorf("workload node %d is nil", i)
		}
		if _, dup := f.nodeIndex[n.Name]; dup {
			return nil, fmt.Errorf("node %s appears twice in the workload", n.Name)
		}
		f.nodeIndex[n.Name] = i
		nf := nodeFact{cpu: n.Status.Allocatable.Cpu().MilliValue(), memory: n.Status.Allocatable.Memory().Value(), zone: -1}
		if z, ok := n.Labels[zoneLabel]; ok {
			if _, seen := zones[z]; !seen {
				zones[z] = len(zones)
			}
			nf.zone = zones[z]
		}
		f.nodes[i] = nf
	}
	f.zones = len(zones)

	classValue := make(map[string]int32, len(w.PriorityClasses))
	for _, pc := range w.PriorityClasses {
		classValue[pc.Name] = pc.Value
	}
	tierIndex := map[string]int{}
	for i := range w.Pods {
		p := w.Pods[i].Pod
		if p == nil {
			return nil, fmt.Errorf("workload pod %d is nil", i)
		}
		cls := p.Spec.PriorityClassName
		if _, ok := tierIndex[cls]; !ok {
			prio, known := classValue[cls]
			if !known && cls != "" {
				prio = corev1helpers.PodPriority(p)
			}
			tierIndex[cls] = len(f.tiers)
			f.tiers = append(f.tiers, TierMetrics{Tier: cls, Priority: prio})
		}
		req := resource.PodRequests(p, resource.PodResourcesOptions{})
		f.pods[i] = podFact{
			name: w.Pods[i].Name(), tier: tierIndex[cls], qos: qos.GetPodQOS(p),
			cpu: req.Cpu().MilliValue(), memory: req.Memory().Value(),
			critical: corev1helpers.PodPriority(p) >= critical, preExisting: p.Spec.NodeName != "",
		}
		if f.pods[i].critical {
			f.criticalPods++
		}
	}
	// Tiers high to low priority, then by name; pods point at their tier's new place.
	order := make([]int, len(f.tiers))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := f.tiers[order[a]], f.tiers[order[b]]
		if ta.Priority != tb.Priority {
			return ta.Priority > tb.Priority
		}
		return ta.Tier < tb.Tier
	})
	sorted := make([]TierMetrics, len(order))
	newIndex := make([]int, len(order))
	for to, from := range order {
		sorted[to] = f.tiers[from]
		newIndex[from] = to
	}
	f.tiers = sorted
	for i := range f.pods {
		f.pods[i].tier = newIndex[f.pods[i].tier]
	}

	f.byArrival = make([]int, len(w.Pods))
	f.byName = make([]int, len(w.Pods))
	for i := range w.Pods {
		f.byArrival[i], f.byName[i] = i, i
	}
	sort.SliceStable(f.byArrival, func(a, b int) bool { return w.Pods[f.byArrival[a]].Arrival < w.Pods[f.byArrival[b]].Arrival })
	sort.Slice(f.byName, func(a, b int) bool { return f.pods[f.byName[a]].name < f.pods[f.byName[b]].name })
	return f, nil
}

func (f *facts) measure(run Run) (Metrics, error) {
	res := run.Result
	if res == nil {
		return Metrics{}, fmt.Errorf("run %q has no result", run.Name)
	}
	if len(res.Pods) != len(f.pods) {
		return Metrics{}, fmt.Errorf("run %q has results for %d pods, the workload has %d", run.Name, len(res.Pods), len(f.pods))
	}
	m := Metrics{
		Pods: len(f.pods), CriticalPods: f.criticalPods, Attempts: res.Attempts,
		EndSeconds: res.End.Seconds(), WallSeconds: res.Wall.Seconds(),
		Tiers: make([]TierMetrics, len(f.tiers)),
	}
	copy(m.Tiers, f.tiers)
	if res.Wall > 0 {
		m.PodsPerSecond = float64(len(f.pods)) / res.Wall.Seconds()
	}

	nodeOf := make([]int, len(f.pods))
	waits := make([][]float64, len(f.tiers))
	var allWaits []float64
	var lost time.Duration
	for i := range res.Pods {
		pr, pf := &res.Pods[i], &f.pods[i]
		t := &m.Tiers[pf.tier]
		t.Pods++
		nodeOf[i] = -1
		if pf.preExisting {
			m.PreExisting++
		}
		if pr.BoundAt >= 0 {
			n, ok := f.nodeIndex[pr.Node]
			if !ok {
				return Metrics{}, fmt.Errorf("run %q: pod %s was bound to node %q, which is not in the workload", run.Name, pf.name, pr.Node)
			}
			nodeOf[i] = n
			m.Scheduled++
			t.Scheduled++
			if !pf.preExisting {
				wait := (pr.BoundAt - f.w.Pods[i].Arrival).Seconds()
				waits[pf.tier] = append(waits[pf.tier], wait)
				allWaits = append(allWaits, wait)
			}
		} else {
			m.NeverScheduled++
			t.NeverScheduled++
		}
		if pr.Outcome == sim.Pending {
			m.Pending++
			t.Pending++
		}
		if len(pr.Victims) > 0 {
			m.Preemptions++
		}
		if pr.Outcome == sim.Preempted {
			m.Victims++
			t.Victims++
			m.VictimsByQoS.add(pf.qos)
			if pr.BoundAt >= 0 {
				ended := pr.EndedAt
				if ended < 0 {
					ended = res.End
				}
				lost += ended - pr.BoundAt
			}
		}
	}
	m.VictimsLostRuntimeSeconds = lost.Seconds()
	m.PendingTime = summarize(allWaits)
	for i := range m.Tiers {
		m.Tiers[i].PendingTime = summarize(waits[i])
	}

	tl, err := f.timeline(res, nodeOf)
	if err != nil {
		return Metrics{}, fmt.Errorf("run %q: %w", run.Name, err)
	}
	m.ActiveSeconds = tl.active.Seconds()
	m.CPUAllocation, m.MemoryAllocation = tl.cpu, tl.memory
	m.EmptyNodesMean = tl.emptyNodesMean
	m.CriticalMaxPerNode, m.CriticalMaxPerZone = tl.criticalMaxPerNode, tl.criticalMaxPerZone
	m.Fragmentation = f.fragmentation(res, tl.usedCPU, tl.usedMemory)
	m.PlacementHash = f.placementHash(res)
	return m, nil
}

func (v *VictimsByQoS) add(c v1.PodQOSClass) {
	switch c {
	case v1.PodQOSBestEffort:
		v.BestEffort++
	case v1.PodQOSBurstable:
		v.Burstable++
	case v1.PodQOSGuaranteed:
		v.Guaranteed++
	}
}

// summarize returns the mean, p50 and p99 of xs (which it sorts); nil for no samples.
func summarize(xs []float64) *TimeSummary {
	if len(xs) == 0 {
		return nil
	}
	sort.Float64s(xs)
	return &TimeSummary{
		MeanSeconds: stat.Mean(xs, nil),
		P50Seconds:  stat.Quantile(0.5, stat.Empirical, xs, nil),
		P99Seconds:  stat.Quantile(0.99, stat.Empirical, xs, nil),
	}
}
