// Package priorityplacement is the PriorityPlacement score plugin: it places pods
// differently by priority band. Critical pods are spread so that one node (or failure
// domain) going down takes out as little critical work as possible; low-priority pods
// are packed onto the fullest nodes so whole nodes stay free for important work and
// preemption has to touch fewer nodes; pods in between are left to the other score
// plugins.
package priorityplacement

import (
	"context"
	"fmt"
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/internal/cyclestate"
)

// Name is the plugin's name in the registry and in scheduler profiles.
const Name = "PriorityPlacement"

const (
	// preScoreStateKey is where PreScore leaves its per-pod data for Score.
	preScoreStateKey fwk.StateKey = "PreScore" + Name

	// rawScale turns shares and utilisations (fractions) into fixed-point raw scores:
	// parts per million, so that min-max normalisation still tells apart nodes whose
	// shares differ by far less than one percent.
	rawScale = 1_000_000
	// maxFraction caps a share before it is scaled, so that absurd requests (or a node
	// reporting almost no allocatable) cannot overflow int64. Real shares stay <= 1.
	maxFraction = 1000.0
	// noDomain is the raw score of a node that lacks spreadTopologyKey. NormalizeScore
	// gives it the lowest score: nothing is known about what fails together with it.
	noDomain int64 = math.MinInt64

	// bandSignerName and requestsSignerName are the keys of PriorityPlacement's sign
	// fragments (named after the pod state they derive from, as upstream asks).
	bandSignerName     = "v1.Pod.Spec.Priority.PriorityPlacementBand()"
	requestsSignerName = "v1.Pod.Spec.ContainerRequestsAndOverheads().NonZeroCPUMemory()"
)

// band is the placement policy a pod's priority selects.
type band uint8

const (
	// neutral pods get no score from this plugin (PreScore returns Skip).
	neutral band = iota
	// pack pods prefer the most-allocated node.
	pack
	// spread pods prefer the node or domain where critical pods hold the smallest share.
	spread
)

func (b band) String() string {
	switch b {
	case pack:
		return "pack"
	case spread:
		return "spread"
	}
	return "neutral"
}

// PriorityPlacement scores nodes by the incoming pod's priority band.
type PriorityPlacement struct {
	criticalPriority  int32
	packBelowPriority int32
	topologyKey       string
	// lister is the scheduling cycle's snapshot; spreading over domains needs every
	// node of a domain, not only the ones that passed filtering.
	lister fwk.SharedLister
}

var (
	_ fwk.PreScorePlugin  = &PriorityPlacement{}
	_ fwk.ScorePlugin     = &PriorityPlacement{}
	_ fwk.ScoreExtensions = &PriorityPlacement{}
	_ fwk.SignPlugin      = &PriorityPlacement{}
)

// New builds the plugin from its args (see config.PriorityPlacementArgs). It does not
// implement EnqueueExtensions: it never rejects a pod, and the framework ignores
// queueing hints of plugins that only score (as it does for upstream's
// NodeResourcesBalancedAllocation and ImageLocality, which register none).
func New(_ context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	var args config.PriorityPlacementArgs
	if err := config.Decode(Name, obj, &args); err != nil {
		return nil, err
	}
	pl := &PriorityPlacement{
		criticalPriority:  *args.CriticalPriority,
		packBelowPriority: *args.PackBelowPriority,
		topologyKey:       args.SpreadTopologyKey,
		lister:            h.SnapshotSharedLister(),
	}
	if pl.topologyKey != "" && pl.lister == nil {
		return nil, fmt.Errorf("%s: spreadTopologyKey %q needs the scheduler's node snapshot, and the framework handle has none", Name, pl.topologyKey)
	}
	return pl, nil
}

// Name returns the plugin's name.
func (pl *PriorityPlacement) Name() string { return Name }

// bandOf selects the policy for a pod. Spread is checked first: with
// packBelowPriority == criticalPriority there is no neutral band and a pod at that
// priority is critical.
func (pl *PriorityPlacement) bandOf(pod *v1.Pod) band {
	p := corev1helpers.PodPriority(pod)
	switch {
	case p >= pl.criticalPriority:
		return spread
	case p < pl.packBelowPriority:
		return pack
	}
	return neutral
}

// preScoreState is what Score needs for one pod. It is not modified after PreScore, so
// Clone shares it.
type preScoreState struct {
	band band
	// podCPU (millicores) and podMem (bytes) are the pod's requests as NodeInfo counts
	// them for scoring: with upstream's non-zero defaults for unset cpu and memory.
	podCPU, podMem int64
	// raw is the spread band's raw score per node name (spreadTopologyKey "") or per
	// domain (the node label's value).
	raw map[string]int64
}

func (s *preScoreState) Clone() fwk.StateData { return s }

// PreScore picks the pod's band and, for critical pods, sums the critical requests per
// node or per domain once, so that Score is a lookup. Pods in the neutral band return
// Skip: the framework then does not call Score for them and this plugin adds nothing
// to any node's total.
func (pl *PriorityPlacement) PreScore(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	b := pl.bandOf(pod)
	if b == neutral {
		return fwk.NewStatus(fwk.Skip)
	}
	cpu, mem := podRequests(pod)
	s := &preScoreState{band: b, podCPU: cpu, podMem: mem}
	if b == spread {
		if pl.topologyKey == "" {
			s.raw = pl.nodeShares(nodes, cpu, mem)
		} else {
			all, err := pl.lister.NodeInfos().List()
			if err != nil {
				return fwk.AsStatus(fmt.Errorf("listing nodes for spreadTopologyKey %q: %w", pl.topologyKey, err))
			}
			s.raw = pl.domainShares(all, cpu, mem)
		}
		if l := klog.FromContext(ctx).V(5); l.Enabled() {
			l.Info("PriorityPlacement spreads critical pod", "pod", klog.KObj(pod), "topologyKey", pl.topologyKey, "candidates", len(s.raw))
		}
	}
	cs.Write(preScoreStateKey, s)
	return nil
}

// nodeShares is the spread raw score of each candidate node, keyed by node name.
func (pl *PriorityPlacement) nodeShares(nodes []fwk.NodeInfo, podCPU, podMem int64) map[string]int64 {
	raw := make(map[string]int64, len(nodes))
	for _, ni := range nodes {
		n := ni.Node()
		if n == nil {
			continue
		}
		raw[n.Name] = pl.nodeRaw(ni, podCPU, podMem)
	}
	return raw
}

// domainShares is the spread raw score of every domain, keyed by the label value:
// critical requests and allocatable are summed over all nodes carrying the label,
// whether or not they passed filtering (a domain fails as a whole).
func (pl *PriorityPlacement) domainShares(all []fwk.NodeInfo, podCPU, podMem int64) map[string]int64 {
	type totals struct{ critCPU, critMem, allocCPU, allocMem int64 }
	domains := make(map[string]totals)
	for _, ni := range all {
		n := ni.Node()
		if n == nil {
			continue
		}
		d, ok := n.Labels[pl.topologyKey]
		if !ok {
			continue
		}
		cpu, mem := pl.criticalRequests(ni)
		alloc := ni.GetAllocatable()
		t := domains[d]
		t.critCPU += cpu
		t.critMem += mem
		t.allocCPU += alloc.GetMilliCPU()
		t.allocMem += alloc.GetMemory()
		domains[d] = t
	}
	raw := make(map[string]int64, len(domains))
	for d, t := range domains {
		raw[d] = spreadRaw(t.critCPU+podCPU, t.critMem+podMem, t.allocCPU, t.allocMem)
	}
	return raw
}

// nodeRaw is the spread raw score of one node on its own.
func (pl *PriorityPlacement) nodeRaw(ni fwk.NodeInfo, podCPU, podMem int64) int64 {
	cpu, mem := pl.criticalRequests(ni)
	alloc := ni.GetAllocatable()
	return spreadRaw(cpu+podCPU, mem+podMem, alloc.GetMilliCPU(), alloc.GetMemory())
}

// criticalRequests sums the cpu and memory requests of the node's pods at or above
// criticalPriority. It reads each PodInfo's cached resource figures (the ones NodeInfo
// itself sums into NonZeroRequested), so it neither allocates nor recomputes requests;
// a best-effort critical pod counts with upstream's non-zero defaults, since losing it
// loses critical work too.
func (pl *PriorityPlacement) criticalRequests(ni fwk.NodeInfo) (cpu, mem int64) {
	for _, pi := range ni.GetPods() {
		p := pi.GetPod()
		if p == nil || corev1helpers.PodPriority(p) < pl.criticalPriority {
			continue
		}
		r := pi.CalculateResource()
		cpu += r.Non0CPU
		mem += r.Non0Mem
	}
	return cpu, mem
}

// podRequests returns the incoming pod's cpu and memory requests exactly as NodeInfo
// will count them once the pod is assumed (upstream's PodInfo does the arithmetic:
// init containers, sidecars, overhead, pod-level resources, non-zero defaults).
func podRequests(pod *v1.Pod) (cpu, mem int64) {
	r := (&framework.PodInfo{Pod: pod}).CalculateResource()
	return r.Non0CPU, r.Non0Mem
}

// spreadRaw is the negated critical share (higher is better): the larger of the cpu
// and memory fractions of allocatable that critical pods would hold with the incoming
// pod added. A resource the node (domain) does not offer is ignored, as upstream's
// resource scorers do.
func spreadRaw(cpu, mem, allocCPU, allocMem int64) int64 {
	share := max(fraction(cpu, allocCPU), fraction(mem, allocMem))
	return -int64(share * rawScale)
}

// fraction is used/capacity, 0 for no capacity, capped at maxFraction.
func fraction(used, capacity int64) float64 {
	if capacity <= 0 || used <= 0 {
		return 0
	}
	return min(float64(used)/float64(capacity), maxFraction)
}

// packRaw is upstream's MostAllocated figure at finer resolution: the mean over cpu and
// memory of min(requested incl. the pod, allocatable) / allocatable, from the node's
// NonZeroRequested as NodeResourcesFit uses it. Upstream's scorer is unexported, so
// this is the same arithmetic on the same NodeInfo figures.
func packRaw(ni fwk.NodeInfo, podCPU, podMem int64) int64 {
	alloc, req := ni.GetAllocatable(), ni.GetNonZeroRequested()
	var sum float64
	var n int
	if c := alloc.GetMilliCPU(); c > 0 {
		sum += min(fraction(req.GetMilliCPU()+podCPU, c), 1)
		n++
	}
	if c := alloc.GetMemory(); c > 0 {
		sum += min(fraction(req.GetMemory()+podMem, c), 1)
		n++
	}
	if n == 0 {
		return 0
	}
	return int64(sum / float64(n) * rawScale)
}

// Score returns the node's raw score, higher is better: utilisation for the pack band,
// the negated critical share of the node or its domain for the spread band. It is a
// lookup or a few arithmetic operations, allocation-free.
func (pl *PriorityPlacement) Score(_ context.Context, cs fwk.CycleState, _ *v1.Pod, ni fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := getPreScoreState(cs)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	n := ni.Node()
	if n == nil {
		return 0, fwk.NewStatus(fwk.Error, "node not found")
	}
	if s.band == pack {
		return packRaw(ni, s.podCPU, s.podMem), nil
	}
	key := n.Name
	if pl.topologyKey != "" {
		d, ok := n.Labels[pl.topologyKey]
		if !ok {
			return noDomain, nil
		}
		key = d
	}
	if v, ok := s.raw[key]; ok {
		return v, nil
	}
	// Not seen by PreScore (a node that was not among its candidates): judge the node
	// on its own rather than fail the pod.
	return pl.nodeRaw(ni, s.podCPU, s.podMem), nil
}

func getPreScoreState(cs fwk.CycleState) (*preScoreState, error) {
	return cyclestate.Read[*preScoreState](cs, preScoreStateKey, "preScore")
}

// ScoreExtensions returns the plugin itself: raw scores need NormalizeScore.
func (pl *PriorityPlacement) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore maps raw scores min-max onto 0..MaxNodeScore: the best candidate
// (lowest critical share, or most allocated) gets MaxNodeScore, the worst 0, the rest
// in proportion. Min-max, not an absolute scale, because the policy is meant to decide
// between nodes however small the difference in share or utilisation; the plugin's
// weight decides how much that counts against the other score plugins. Equal raw
// scores all get MaxNodeScore (no preference); nodes without the topology label get 0.
func (pl *PriorityPlacement) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range scores {
		if s.Score == noDomain {
			continue
		}
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		switch s := scores[i].Score; {
		case s == noDomain:
			scores[i].Score = fwk.MinScore
		case hi == lo:
			scores[i].Score = fwk.MaxScore
		default:
			scores[i].Score = (s - lo) * fwk.MaxScore / (hi - lo)
		}
	}
	return nil
}

// SignPod lets pods with equal scores share a signature, so opportunistic batching
// stays on: the scores depend only on the pod's band and its cpu/memory requests. A
// critical pod with spreadTopologyKey set is not signable: placing it raises the share
// of its whole domain, so the cached scores of the other nodes in that domain would be
// stale (the batch re-scores only the node it chose), the same reason upstream
// PodTopologySpread does not sign pods with spread constraints.
func (pl *PriorityPlacement) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	b := pl.bandOf(pod)
	if b == neutral {
		return []fwk.SignFragment{{Key: bandSignerName, Value: b.String()}}, nil
	}
	if b == spread && pl.topologyKey != "" {
		return nil, fwk.NewStatus(fwk.Unschedulable, "critical pods spread over spreadTopologyKey are not signable: placing one changes the score of every node in its domain")
	}
	cpu, mem := podRequests(pod)
	return []fwk.SignFragment{
		{Key: bandSignerName, Value: b.String()},
		{Key: requestsSignerName, Value: [2]int64{cpu, mem}},
	}, nil
}
