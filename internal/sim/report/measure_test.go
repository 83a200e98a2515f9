package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
)

func ts(mean, p50, p99 float64) *TimeSummary {
	return &TimeSummary{MeanSeconds: mean, P50Seconds: p50, P99Seconds: p99}
}

func TestMeasureCountsPodsPerTierHighestPriorityFirst(t *testing.T) {
	w := makeWorkload([]*v1.Node{node("n1", "8", "16Gi", "")},
		[]*schedulingv1.PriorityClass{class("zeta", 100), class("critical", 1000000), class("batch", 100)},
		podSpec{name: "none", cpu: "1"},
		podSpec{name: "pre", class: "batch", priority: 100, preExisting: "n1"},
		podSpec{name: "a", class: "critical", priority: 1000000},
		podSpec{name: "c", class: "batch", priority: 100},
		podSpec{name: "d", class: "zeta", priority: 100},
		// A class the workload does not define: the pod's priority orders it.
		podSpec{name: "e", class: "ghost", priority: 50},
	)
	s := newStory(w).bind("pre", "n1", 0).bind("a", "n1", 1).bind("d", "n1", 2).bind("none", "n1", 3).end("d", 5)
	m, err := s.measure("r", MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := []int{m.Pods, m.PreExisting, m.Scheduled, m.Pending, m.NeverScheduled}
	if want := []int{6, 1, 4, 2, 2}; !cmp.Equal(got, want) {
		t.Errorf("pods, preExisting, scheduled, pending, neverScheduled = %v, want %v", got, want)
	}
	// Waits: a 1s, d 2s, none 3s; pre is pre-existing, c and e never bound.
	if want := ts(2, 2, 3); !cmp.Equal(m.PendingTime, want) {
		t.Errorf("pendingTime = %+v, want %+v", m.PendingTime, want)
	}
	want := []TierMetrics{
		{Tier: "critical", Priority: 1000000, Pods: 1, Scheduled: 1, PendingTime: ts(1, 1, 1)},
		{Tier: "batch", Priority: 100, Pods: 2, Scheduled: 1, Pending: 1, NeverScheduled: 1},
		{Tier: "zeta", Priority: 100, Pods: 1, Scheduled: 1, PendingTime: ts(2, 2, 2)},
		{Tier: "ghost", Priority: 50, Pods: 1, Pending: 1, NeverScheduled: 1},
		{Tier: "", Priority: 0, Pods: 1, Scheduled: 1, PendingTime: ts(3, 3, 3)},
	}
	if d := cmp.Diff(want, m.Tiers); d != "" {
		t.Errorf("tiers (-want +got):\n%s", d)
	}
	if TierName(m.Tiers[4].Tier) != "(none)" {
		t.Errorf("TierName(%q) = %q, want (none)", m.Tiers[4].Tier, TierName(m.Tiers[4].Tier))
	}
}

func TestMeasurePendingTimeQuantilesAreEmpirical(t *testing.T) {
	seq := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i + 1)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		waits []float64
		want  *TimeSummary
	}{
		{"one pod: every quantile is its wait", []float64{7}, ts(7, 7, 7)},
		{"even count: p50 is the lower middle", []float64{4, 1, 3, 2}, ts(2.5, 2, 4)},
		{"ten pods: p99 is the largest", seq(10), ts(5.5, 5, 10)},
		{"two hundred pods: p99 is the 198th", seq(200), ts(100.5, 100, 198)},
		{"sub-second waits keep their fractions", []float64{0.25, 0.5}, ts(0.375, 0.25, 0.5)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var pods []podSpec
			for i := range c.waits {
				pods = append(pods, podSpec{name: fmt.Sprintf("p%03d", i), arrival: float64(i)})
			}
			s := newStory(makeWorkload([]*v1.Node{node("n1", "1", "1Gi", "")}, nil, pods...))
			// Bind in time order, as the engine records changes.
			type bind struct {
				pod string
				at  float64
			}
			var binds []bind
			for i, wait := range c.waits {
				binds = append(binds, bind{fmt.Sprintf("p%03d", i), float64(i) + wait})
			}
			for i := range binds {
				for j := i + 1; j < len(binds); j++ {
					if binds[j].at < binds[i].at {
						binds[i], binds[j] = binds[j], binds[i]
					}
				}
			}
			for _, b := range binds {
				s.bind(b.pod, "n1", b.at)
			}
			m, err := s.measure("r", MeasureOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(m.PendingTime, c.want) {
				t.Errorf("pendingTime = %+v, want %+v", m.PendingTime, c.want)
			}
		})
	}
}

func TestMeasurePendingTimeIsUndefinedWithoutABoundPod(t *testing.T) {
	w := makeWorkload([]*v1.Node{node("n1", "1", "1Gi", "")}, nil,
		podSpec{name: "pre", preExisting: "n1"}, podSpec{name: "waits"})
	m, err := newStory(w).bind("pre", "n1", 0).measure("r", MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.PendingTime != nil || m.Tiers[0].PendingTime != nil {
		t.Errorf("pendingTime = %+v, tier's = %+v; want both nil (no pod was scheduled by the run)", m.PendingTime, m.Tiers[0].PendingTime)
	}
}

func TestMeasurePreemptionsCountPreemptorsAndVictimsByQoSAndTier(t *testing.T) {
	w := makeWorkload([]*v1.Node{node("n1", "64", "64Gi", "")},
		[]*schedulingv1.PriorityClass{class("high", 1000), class("batch", 10), class("critical", 1000000)},
		podSpec{name: "v1", class: "batch", priority: 10},
		podSpec{name: "v2", class: "batch", priority: 10, cpu: "1"},
		podSpec{name: "v3", class: "critical", priority: 1000000, cpu: "1", memory: "1Gi", guaranteed: true},
		podSpec{name: "p1", class: "high", priority: 1000, arrival: 5},
		podSpec{name: "p2", class: "high", priority: 1000, arrival: 5},
		podSpec{name: "p3", class: "high", priority: 1000, arrival: 5},
	)
	s := newStory(w).bind("v1", "n1", 0).bind("v3", "n1", 0).bind("v2", "n1", 2).
		preempt("v1", "p1").preempt("v2", "p1").end("v1", 10).end("v2", 10).bind("p1", "n1", 10).
		// p2 evicts v3 and stays pending; v3 is still terminating when the run ends.
		preempt("v3", "p2").bind("p3", "n1", 20).till(30)
	m, err := s.measure("r", MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Preemptions != 2 || m.Victims != 3 {
		t.Errorf("preemptions, victims = %d, %d; want 2, 3 (p3 evicted nobody)", m.Preemptions, m.Victims)
	}
	if want := (VictimsByQoS{BestEffort: 1, Burstable: 1, Guaranteed: 1}); m.VictimsByQoS != want {
		t.Errorf("victimsByQoS = %+v, want %+v", m.VictimsByQoS, want)
	}
	// v1 ran 0-10, v2 2-10, v3 0 to the end of the run (30).
	if m.VictimsLostRuntimeSeconds != 48 {
		t.Errorf("victimsLostRuntimeSeconds = %v, want 48", m.VictimsLostRuntimeSeconds)
	}
	byTier := map[string]int{}
	for _, tier := range m.Tiers {
		byTier[tier.Tier] = tier.Victims
	}
	if want := map[string]int{"critical": 1, "high": 0, "batch": 2}; !cmp.Equal(byTier, want) {
		t.Errorf("victims per tier = %v, want %v", byTier, want)
	}
}

func TestMeasureAllocationIsTimeWeightedOverActiveTime(t *testing.T) {
	two := []*v1.Node{node("n1", "4", "8Gi", ""), node("n2", "4", "8Gi", "")}
	for _, c := range []struct {
		name        string
		s           *story
		active      float64
		cpu, memory *Allocation
		empty       *float64
	}{{
		// n1: 50% cpu, 25% memory for 40s. n2: empty but for 5s full. Active 0-40s.
		// cpu: 0 for 35s, 0.5 for 40s, 1 for 5s: mean 25/80, p90 at 72 of 80 weight.
		name: "a short full interval moves the mean but not the p90",
		s: newStory(makeWorkload(two, nil,
			podSpec{name: "long", cpu: "2", memory: "2Gi"},
			podSpec{name: "burst", cpu: "4", memory: "8Gi", arrival: 10})).
			bind("long", "n1", 0).bind("burst", "n2", 10).end("burst", 15).till(40),
		active: 40,
		cpu:    &Allocation{Mean: 0.3125, P90: 0.5},
		memory: &Allocation{Mean: 0.1875, P90: 0.25},
		empty:  ptr(35.0 / 40),
	}, {
		// Nothing is pending or bound from 10s to 20s: that time is not weighed.
		name: "time with no workload pod is not active",
		s: newStory(makeWorkload(two, nil,
			podSpec{name: "first", cpu: "2", memory: "4Gi"},
			podSpec{name: "second", cpu: "2", memory: "4Gi", arrival: 20})).
			bind("first", "n1", 0).end("first", 10).bind("second", "n1", 20).end("second", 30),
		active: 20,
		cpu:    &Allocation{Mean: 0.25, P90: 0.5},
		memory: &Allocation{Mean: 0.25, P90: 0.5},
		empty:  ptr(1.0),
	}, {
		// A pending pod keeps the cluster active: 0-10s with n1 empty.
		name: "a pending pod keeps the cluster active",
		s: newStory(makeWorkload(two[:1], nil, podSpec{name: "big", cpu: "8"})).
			fail("big", "Insufficient cpu").till(10),
		active: 10,
		cpu:    &Allocation{Mean: 0, P90: 0},
		memory: &Allocation{Mean: 0, P90: 0},
		empty:  ptr(1.0),
	}, {
		name: "p90 is binned down to 0.1 point, the mean is exact",
		s: newStory(makeWorkload([]*v1.Node{node("n1", "3", "3Gi", "")}, nil, podSpec{name: "third", cpu: "1", memory: "1Gi"})).
			bind("third", "n1", 0).till(10),
		active: 10,
		cpu:    &Allocation{Mean: 1.0 / 3, P90: 0.333},
		memory: &Allocation{Mean: 1.0 / 3, P90: 0.333},
		empty:  ptr(0.0),
	}, {
		name: "an overcommitted node counts as full in the p90",
		s: newStory(makeWorkload(two[:1], nil,
			podSpec{name: "a", cpu: "3", memory: "1Gi", preExisting: "n1"},
			podSpec{name: "b", cpu: "2", memory: "1Gi", preExisting: "n1"})).
			bind("a", "n1", 0).bind("b", "n1", 0).till(10),
		active: 10,
		cpu:    &Allocation{Mean: 1.25, P90: 1},
		memory: &Allocation{Mean: 0.25, P90: 0.25},
		empty:  ptr(0.0),
	}, {
		name: "a node without allocatable memory is left out of the memory figures",
		s: newStory(makeWorkload([]*v1.Node{node("cpuonly", "4", "0", ""), node("n2", "4", "8Gi", "")}, nil,
			podSpec{name: "a", cpu: "2", memory: "2Gi"})).
			bind("a", "n2", 0).till(10),
		active: 10,
		cpu:    &Allocation{Mean: 0.25, P90: 0.5},
		memory: &Allocation{Mean: 0.25, P90: 0.25},
		empty:  ptr(1.0),
	}, {
		name:   "no workload pod: undefined",
		s:      newStory(makeWorkload(two, nil)).till(10),
		active: 0,
	}} {
		t.Run(c.name, func(t *testing.T) {
			m, err := c.s.measure("r", MeasureOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.ActiveSeconds != c.active {
				t.Errorf("activeSeconds = %v, want %v", m.ActiveSeconds, c.active)
			}
			approx := cmp.Comparer(func(a, b float64) bool { return a == b || (a-b < 1e-12 && b-a < 1e-12) })
			if !cmp.Equal(m.CPUAllocation, c.cpu, approx) {
				t.Errorf("cpuAllocation = %+v, want %+v", m.CPUAllocation, c.cpu)
			}
			if !cmp.Equal(m.MemoryAllocation, c.memory, approx) {
				t.Errorf("memoryAllocation = %+v, want %+v", m.MemoryAllocation, c.memory)
			}
			if !cmp.Equal(m.EmptyNodesMean, c.empty, approx) {
				t.Errorf("emptyNodesMean = %v, want %v", deref(m.EmptyNodesMean), deref(c.empty))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestMeasureFragmentationCountsPendingPodsThatFitTheClusterButNoNode(t *testing.T) {
	// At the end: n1 has 3 cpu and 1Gi free, n2 0.5 cpu and 6Gi: 3.5 cpu, 7Gi in all.
	nodes := []*v1.Node{node("n1", "4", "4Gi", ""), node("n2", "4", "8Gi", "")}
	for _, c := range []struct {
		name    string
		pending podSpec
		want    int
	}{
		{"fits one node: not fragmentation", podSpec{cpu: "3", memory: "1Gi"}, 0},
		{"enough cpu in all, not on one node", podSpec{cpu: "3500m", memory: "1Gi"}, 1},
		{"each resource on a different node", podSpec{cpu: "1", memory: "5Gi"}, 1},
		{"more than the cluster's free cpu: shortage, not fragmentation", podSpec{cpu: "4", memory: "1Gi"}, 0},
		{"more than the cluster's free memory: shortage", podSpec{cpu: "100m", memory: "8Gi"}, 0},
		{"no requests fit anywhere", podSpec{}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.pending.name = "pending"
			w := makeWorkload(nodes, nil,
				podSpec{name: "on1", cpu: "1", memory: "3Gi"},
				podSpec{name: "on2", cpu: "3500m", memory: "2Gi"},
				podSpec{name: "gone", cpu: "4", memory: "4Gi"},
				c.pending)
			// gone ran on n1 and completed: its requests are free again.
			s := newStory(w).bind("gone", "n1", 0).end("gone", 1).bind("on1", "n1", 1).bind("on2", "n2", 1).till(5)
			m, err := s.measure("r", MeasureOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Fragmentation != c.want {
				t.Errorf("fragmentation = %d, want %d", m.Fragmentation, c.want)
			}
		})
	}
}

func TestMeasureCriticalPodsPeakPerNodeAndZone(t *testing.T) {
	nodes := []*v1.Node{node("a1", "8", "8Gi", "a"), node("a2", "8", "8Gi", "a"), node("b1", "8", "8Gi", "b"), node("nozone", "8", "8Gi", "")}
	crit := func(name string) podSpec { return podSpec{name: name, priority: 1000000} }
	w := makeWorkload(nodes, nil, crit("c1"), crit("c2"), crit("c3"), crit("c4"), crit("c5"),
		podSpec{name: "low1", priority: 999999}, podSpec{name: "low2", priority: 999999})
	s := newStory(w).
		bind("c1", "a1", 0).bind("c2", "a1", 1).bind("c3", "a2", 2). // a1: 2, zone a: 3
		end("c1", 3).bind("c4", "a2", 4).                            // a2: 2, zone a: 3 again
		bind("low1", "a2", 5).bind("low2", "a2", 5).                 // not critical
		bind("c5", "nozone", 6)
	for _, c := range []struct {
		name       string
		opts       MeasureOptions
		pods, node int
		zone       *int
	}{
		{name: "default threshold 1000000", pods: 5, node: 2, zone: ptr(3)},
		{name: "a lower threshold counts more pods", opts: MeasureOptions{CriticalPriority: ptr(int32(999999))}, pods: 7, node: 4, zone: ptr(5)},
		{name: "another zone label", opts: MeasureOptions{ZoneLabel: "rack"}, pods: 5, node: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Measure(w, Run{Name: "r", Result: s.res}, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.CriticalPods != c.pods || m.CriticalMaxPerNode != c.node || !cmp.Equal(m.CriticalMaxPerZone, c.zone) {
				t.Errorf("criticalPods, maxPerNode, maxPerZone = %d, %d, %v; want %d, %d, %v",
					m.CriticalPods, m.CriticalMaxPerNode, deref(m.CriticalMaxPerZone), c.pods, c.node, deref(c.zone))
			}
		})
	}
}

func TestMeasureThroughputFigures(t *testing.T) {
	w := makeWorkload([]*v1.Node{node("n1", "4", "4Gi", "")}, nil, podSpec{name: "a"}, podSpec{name: "b"}, podSpec{name: "c"}, podSpec{name: "d"})
	s := newStory(w).fail("a", "x").bind("a", "n1", 1).bind("b", "n1", 1).bind("c", "n1", 2).bind("d", "n1", 2).till(90)
	for _, c := range []struct {
		name string
		wall time.Duration
		pps  float64
	}{
		{"pods per wall second", 2 * time.Second, 2},
		{"no wall time: 0, not infinity", 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.wall(c.wall)
			m, err := s.measure("r", MeasureOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Attempts != 5 || m.EndSeconds != 90 || m.WallSeconds != c.wall.Seconds() || m.PodsPerSecond != c.pps {
				t.Errorf("attempts, endSeconds, wallSeconds, podsPerSecond = %d, %v, %v, %v; want 5, 90, %v, %v",
					m.Attempts, m.EndSeconds, m.WallSeconds, m.PodsPerSecond, c.wall.Seconds(), c.pps)
			}
		})
	}
}

func TestMeasureRejectsResultsThatDoNotMatchTheWorkload(t *testing.T) {
	w := makeWorkload([]*v1.Node{node("n1", "4", "4Gi", "")}, nil, podSpec{name: "a"}, podSpec{name: "b"})
	for _, c := range []struct {
		name string
		edit func(*sim.Result)
		want string
	}{
		{"no result", nil, `run "r" has no result`},
		{"fewer pods", func(r *sim.Result) { r.Pods = r.Pods[:1] }, `run "r" has results for 1 pods, the workload has 2`},
		{"unknown node", func(r *sim.Result) { r.Pods[0].Node = "ghost" }, `pod default/a was bound to node "ghost", which is not in the workload`},
		{"changes out of order", func(r *sim.Result) { r.Changes[0], r.Changes[1] = r.Changes[1], r.Changes[0] }, "changes must be in time order"},
		{"change for a pod out of range", func(r *sim.Result) { r.Changes[0].Pod = 7 }, "change 0 names pod 7; the workload has 2 pods"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStory(w).bind("a", "n1", 1).bind("b", "n1", 2)
			run := Run{Name: "r", Result: s.res}
			if c.edit == nil {
				run.Result = nil
			} else {
				c.edit(s.res)
			}
			_, err := Measure(w, run, MeasureOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestMeasureAllPreparesTheWorkloadOnceForEveryRun(t *testing.T) {
	w, runs := comparison()
	all, err := MeasureAll(w, runs, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		one, err := Measure(w, r, MeasureOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(one, all[i]); d != "" {
			t.Errorf("run %s: MeasureAll differs from Measure (-Measure +MeasureAll):\n%s", r.Name, d)
		}
	}
}

// benchWorkload is the scale: 1000 nodes, 10,000 pods, each bound then
// released, with a preemption every 100 pods.
func benchWorkload() (*workload.Workload, []Run) {
	var nodes []*v1.Node
	for i := 0; i < 1000; i++ {
		nodes = append(nodes, node(fmt.Sprintf("n%04d", i), "32", "128Gi", fmt.Sprintf("z%d", i%3)))
	}
	classes := []*schedulingv1.PriorityClass{class("critical", 1000000), class("batch", 100)}
	var pods []podSpec
	for i := 0; i < 10000; i++ {
		p := podSpec{name: fmt.Sprintf("p%05d", i), class: "batch", priority: 100, cpu: "500m", memory: "1Gi", arrival: float64(i) / 10}
		if i%10 == 0 {
			p.class, p.priority, p.guaranteed = "critical", 1000000, true
		}
		pods = append(pods, p)
	}
	w := makeWorkload(nodes, classes, pods...)
	var runs []Run
	for r := 0; r < 4; r++ {
		s := newStory(w)
		for i := 0; i < 10000; i++ {
			name := fmt.Sprintf("p%05d", i)
			s.bind(name, fmt.Sprintf("n%04d", (i*7+r)%1000), float64(i)/10+1)
			if i >= 50 {
				prev := fmt.Sprintf("p%05d", i-50)
				if (i-50)%100 == 1 {
					s.preempt(prev, name)
				}
				s.end(prev, float64(i)/10+1)
			}
		}
		s.till(2000).wall(10 * time.Second)
		runs = append(runs, Run{Name: fmt.Sprintf("r%d", r), Result: s.res})
	}
	return w, runs
}

func BenchmarkMeasureAll1000Nodes10kPods4Runs(b *testing.B) {
	w, runs := benchWorkload()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := MeasureAll(w, runs, MeasureOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
