//go:debug randseednop=0

// Package simexamples holds berth-sim's example scenarios; this test replays each
// through the engine and checks the outcome its comment promises.
package simexamples

import (
	"context"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/pkg/plugins"
)

// outcome is what the examples' comments talk about.
type outcome struct {
	preemptors       int
	victims          int
	victimsByQoS     map[v1.PodQOSClass]int
	pending          int
	maxCriticalNode  int // most critical pods running on one node at the end
	nodesWithBatch   int // nodes running batch pods at the end
	guaranteedVictim int
}

func replay(t *testing.T, file, config string) outcome {
	t.Helper()
	w, err := workload.LoadScenario(file, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := sim.LoadConfig([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), w, cfg, sim.Options{Registry: plugins.Registry(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := outcome{victimsByQoS: map[v1.PodQOSClass]int{}}
	critical, batch := map[string]int{}, map[string]bool{}
	for i, r := range res.Pods {
		p := w.Pods[i].Pod
		if len(r.Victims) > 0 {
			o.preemptors++
		}
		switch r.Outcome {
		case sim.Preempted:
			o.victims++
			o.victimsByQoS[p.Status.QOSClass]++
		case sim.Pending:
			o.pending++
		case sim.Running:
			if *p.Spec.Priority >= 1000000 {
				critical[r.Node]++
				o.maxCriticalNode = max(o.maxCriticalNode, critical[r.Node])
			}
			if *p.Spec.Priority < 1000 {
				batch[r.Node] = true
			}
		}
	}
	o.nodesWithBatch = len(batch)
	o.guaranteedVictim = o.victimsByQoS[v1.PodQOSGuaranteed]
	return o
}

func TestMixedQoSMemoryPressureFewerGuaranteedVictims(t *testing.T) {
	berth := replay(t, "mixed-qos-memory-pressure.yaml", string(manifests.SchedulerConfig))
	upstream := replay(t, "mixed-qos-memory-pressure.yaml", sim.DefaultConfig)
	t.Logf("berth %+v\nupstream %+v", berth, upstream)
	if berth.preemptors == 0 || berth.preemptors != upstream.preemptors || berth.pending != 0 || upstream.pending != 0 {
		t.Errorf("every high-priority pod should preempt once, under both: berth %+v, upstream %+v", berth, upstream)
	}
	if berth.guaranteedVictim*3 > upstream.guaranteedVictim {
		t.Errorf("Guaranteed victims: berth %d, upstream %d: want berth's at most a third of upstream's", berth.guaranteedVictim, upstream.guaranteedVictim)
	}
}

func TestReservedPoolKeptForCriticalPods(t *testing.T) {
	berth := replay(t, "reserved-pool.yaml", string(manifests.SchedulerConfig))
	upstream := replay(t, "reserved-pool.yaml", sim.DefaultConfig)
	t.Logf("berth %+v\nupstream %+v", berth, upstream)
	if berth.preemptors != 0 || berth.pending != 0 {
		t.Errorf("berth: %+v, want every pod running and no preemption", berth)
	}
	if upstream.victims == 0 {
		t.Errorf("upstream: %+v, want critical pods preempting the default-tier pods that took the pool", upstream)
	}
}

func TestPreemptionStormBerthEvictsLess(t *testing.T) {
	berth := replay(t, "preemption-storm.yaml", string(manifests.SchedulerConfig))
	upstream := replay(t, "preemption-storm.yaml", sim.DefaultConfig)
	t.Logf("berth %+v\nupstream %+v", berth, upstream)
	if upstream.preemptors < 32 {
		t.Errorf("upstream: %+v, want a storm: most critical pods preempting", upstream)
	}
	if berth.preemptors >= upstream.preemptors || berth.victims >= upstream.victims || berth.guaranteedVictim >= upstream.guaranteedVictim {
		t.Errorf("berth %+v, upstream %+v: want fewer preemptions, victims and Guaranteed victims under berth", berth, upstream)
	}
}

func TestPlacementSweepTradesPreferencesForPlacement(t *testing.T) {
	weights := []string{"1", "2", "4", "8"}
	var got []outcome
	for _, w := range weights {
		cfg := strings.Replace(string(manifests.SchedulerConfig), "weight: 2 ", "weight: "+w+" ", 1)
		if !strings.Contains(cfg, "weight: "+w+" ") {
			t.Fatal("the recommended profile has no PriorityPlacement weight 2 to sweep")
		}
		got = append(got, replay(t, "placement-sweep.yaml", cfg))
	}
	upstream := replay(t, "placement-sweep.yaml", sim.DefaultConfig)
	t.Logf("weights %v: %+v\nupstream %+v", weights, got, upstream)
	for i := 1; i < len(got); i++ {
		if got[i].maxCriticalNode > got[i-1].maxCriticalNode || got[i].nodesWithBatch > got[i-1].nodesWithBatch {
			t.Errorf("weight %s: %+v, weight %s: %+v: a higher weight should not stack critical pods or spread batch pods more",
				weights[i], got[i], weights[i-1], got[i-1])
		}
	}
	first, last := got[0], got[len(got)-1]
	if last.maxCriticalNode != 1 || first.maxCriticalNode <= 1 || last.nodesWithBatch >= first.nodesWithBatch {
		t.Errorf("weight 1 %+v, weight 8 %+v: want critical pods spread one per node and batch pods on fewer nodes at 8, not at 1", first, last)
	}
	if upstream.maxCriticalNode != first.maxCriticalNode || upstream.nodesWithBatch != first.nodesWithBatch {
		t.Errorf("upstream %+v, weight 1 %+v: want the pods' own preferences to decide both", upstream, first)
	}
}
