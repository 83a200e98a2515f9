package report

import (
	"fmt"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/berth-sched/berth/internal/sim"
)

// allocBins is the resolution of the allocation distributions: each node-interval's
// requested/allocatable fraction is rounded down to a multiple of 1/allocBins (0.1
// percentage point) before the p90 is taken; fractions above 1 count as 1. The means
// are exact.
const allocBins = 1000

// binValues are the fractions the bins stand for, ascending, as gonum's weighted
// quantile wants them.
var binValues = func() []float64 {
	v := make([]float64, allocBins+1)
	for i := range v {
		v[i] = float64(i) / allocBins
	}
	return v
}()

// timeline is what one pass over a run's changes measures.
type timeline struct {
	// active is the virtual time during which at least one workload pod had arrived and
	// not yet been released: pending or bound.
	active             time.Duration
	cpu, memory        *Allocation
	emptyNodesMean     *float64
	criticalMaxPerNode int
	criticalMaxPerZone *int
	// usedCPU and usedMemory are each node's requests at the end.
	usedCPU, usedMemory []int64
}

// nodeState is a node as the pass has reached it.
type nodeState struct {
	pods, critical int
	cpu, memory    int64
	// since is the active time at the node's last change: the node's state has held
	// for the active time between then and now.
	since time.Duration
}

// timeline replays the run's bindings and releases with the pods' arrivals, in time
// order, once. Each node-interval (a node's state between two of its changes) is
// weighted by the active time it spans, read off a running total of active time, so
// the cost is O(pods + changes + nodes), whatever the number of nodes a change does
// not touch.
func (f *facts) timeline(res *sim.Result, nodeOf []int) (timeline, error) {
	nodes := make([]nodeState, len(f.nodes))
	zoneCritical := make([]int, f.zones)
	var cpuHist, memHist [allocBins + 1]float64
	var cpuSum, memSum, emptySum float64
	var tl timeline
	var now time.Duration
	present := 0

	advance := func(t time.Duration) {
		if present > 0 {
			tl.active += t - now
		}
		now = t
	}
	// settle adds node n's state since its last change to the distributions.
	settle := func(n int) {
		s, nf := &nodes[n], f.nodes[n]
		w := (tl.active - s.since).Seconds()
		s.since = tl.active
		if w == 0 {
			return
		}
		if nf.cpu > 0 {
			cpuHist[bin(s.cpu, nf.cpu)] += w
			cpuSum += w * float64(s.cpu) / float64(nf.cpu)
		}
		if nf.memory > 0 {
			memHist[bin(s.memory, nf.memory)] += w
			memSum += w * float64(s.memory) / float64(nf.memory)
		}
		if s.pods == 0 {
			emptySum += w
		}
	}

	next := 0 // next pod to arrive, in f.byArrival
	arrive := func(until time.Duration) {
		for ; next < len(f.byArrival); next++ {
			at := f.w.Pods[f.byArrival[next]].Arrival
			if at > until {
				return
			}
			advance(max(at, now))
			present++
		}
	}
	for k, c := range res.Changes {
		if c.At < now {
			return timeline{}, fmt.Errorf("change %d is at %v, before the change before it (%v): changes must be in time order", k, c.At, now)
		}
		if c.Pod < 0 || c.Pod >= len(f.pods) {
			return timeline{}, fmt.Errorf("change %d names pod %d; the workload has %d pods", k, c.Pod, len(f.pods))
		}
		n := nodeOf[c.Pod]
		if n < 0 {
			return timeline{}, fmt.Errorf("change %d binds or releases pod %s, which has no node in the results", k, f.pods[c.Pod].name)
		}
		arrive(c.At)
		advance(c.At)
		settle(n)
		s, pf := &nodes[n], &f.pods[c.Pod]
		d := 1
		if c.Kind == sim.Released {
			d = -1
			present--
		}
		s.pods += d
		s.cpu += int64(d) * pf.cpu
		s.memory += int64(d) * pf.memory
		if pf.critical {
			s.critical += d
			tl.criticalMaxPerNode = max(tl.criticalMaxPerNode, s.critical)
			if z := f.nodes[n].zone; z >= 0 {
				zoneCritical[z] += d
				if tl.criticalMaxPerZone == nil {
					tl.criticalMaxPerZone = new(int)
				}
				*tl.criticalMaxPerZone = max(*tl.criticalMaxPerZone, zoneCritical[z])
			}
		}
	}
	arrive(res.End)
	advance(max(res.End, now))
	for n := range nodes {
		settle(n)
	}
	if f.zones > 0 && tl.criticalMaxPerZone == nil {
		tl.criticalMaxPerZone = new(int)
	}

	tl.cpu = allocation(cpuHist[:], cpuSum)
	tl.memory = allocation(memHist[:], memSum)
	if tl.active > 0 {
		v := emptySum / tl.active.Seconds()
		tl.emptyNodesMean = &v
	}
	tl.usedCPU = make([]int64, len(nodes))
	tl.usedMemory = make([]int64, len(nodes))
	for n, s := range nodes {
		tl.usedCPU[n], tl.usedMemory[n] = s.cpu, s.memory
	}
	return tl, nil
}

// bin is the bin of used/allocatable: rounded down to 1/allocBins, at most 1.
func bin(used, allocatable int64) int {
	if used <= 0 {
		return 0
	}
	if used >= allocatable {
		return allocBins
	}
	// used < allocatable, and both fit resource quantities: no overflow below
	// allocatable*1000 ≈ 9.2e15 bytes (8 PiB) per node.
	return int(used * allocBins / allocatable)
}

// allocation is the mean and p90 of a distribution given as a histogram of weights and
// the weighted sum of the exact fractions; nil when the histogram is empty.
func allocation(hist []float64, weightedSum float64) *Allocation {
	var total float64
	for _, w := range hist {
		total += w
	}
	if total == 0 {
		return nil
	}
	return &Allocation{Mean: weightedSum / total, P90: stat.Quantile(0.9, stat.Empirical, binValues, hist)}
}
