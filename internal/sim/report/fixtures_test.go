package report

import (
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
)

// Hand-made workloads and results: the package is pure logic, so its tests need no
// engine run, and every figure can be worked out by hand.

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// node is a node with cpu and memory allocatable, in a zone ("" for none).
func node(name, cpu, memory, zone string) *v1.Node {
	w := st.MakeNode().Name(name).Capacity(map[v1.ResourceName]string{v1.ResourceCPU: cpu, v1.ResourceMemory: memory})
	if zone != "" {
		w = w.Label(v1.LabelTopologyZone, zone)
	}
	return w.Obj()
}

func class(name string, value int32) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
}

// podSpec describes a workload pod: its class and priority, its QoS shape and when it
// arrives.
type podSpec struct {
	name     string
	class    string
	priority int32
	// cpu and memory requests; limits equal to them make the pod Guaranteed, no
	// requests BestEffort, requests alone Burstable.
	cpu, memory string
	guaranteed  bool
	arrival     float64 // seconds
	preExisting string  // node the pod is bound to before the run starts
}

func makeWorkload(nodes []*v1.Node, classes []*schedulingv1.PriorityClass, pods ...podSpec) *workload.Workload {
	w := &workload.Workload{Nodes: nodes, PriorityClasses: classes}
	for _, s := range pods {
		pw := st.MakePod().Namespace("default").Name(s.name).Priority(s.priority)
		req := map[v1.ResourceName]string{}
		if s.cpu != "" {
			req[v1.ResourceCPU] = s.cpu
		}
		if s.memory != "" {
			req[v1.ResourceMemory] = s.memory
		}
		if len(req) > 0 {
			pw = pw.Req(req)
		}
		p := pw.Obj()
		p.Spec.PriorityClassName = s.class
		if s.guaranteed {
			p.Spec.Containers[0].Resources.Limits = v1.ResourceList{}
			for r, q := range p.Spec.Containers[0].Resources.Requests {
				p.Spec.Containers[0].Resources.Limits[r] = q.DeepCopy()
			}
		}
		p.Spec.NodeName = s.preExisting
		w.Pods = append(w.Pods, workload.Pod{Pod: p, Arrival: sec(s.arrival), Group: "g"})
	}
	return w
}

// story writes a run's result the way the engine does: changes in time order, pods'
// outcomes following them.
type story struct {
	w   *workload.Workload
	res *sim.Result
	idx map[string]int
}

func newStory(w *workload.Workload) *story {
	s := &story{w: w, res: &sim.Result{Pods: make([]sim.PodResult, len(w.Pods))}, idx: map[string]int{}}
	for i := range w.Pods {
		s.res.Pods[i] = sim.PodResult{Outcome: sim.Pending, BoundAt: -1, EndedAt: -1}
		s.idx[w.Pods[i].Pod.Name] = i
	}
	return s
}

func (s *story) bind(pod, node string, at float64) *story {
	i := s.idx[pod]
	p := &s.res.Pods[i]
	p.Outcome, p.Node, p.BoundAt = sim.Running, node, sec(at)
	p.Attempts++
	s.res.Attempts++
	s.res.Changes = append(s.res.Changes, sim.Change{At: sec(at), Pod: i, Kind: sim.Bound})
	return s.till(at)
}

// end releases a bound pod: it completed, unless preempt marked it a victim.
func (s *story) end(pod string, at float64) *story {
	i := s.idx[pod]
	p := &s.res.Pods[i]
	p.EndedAt = sec(at)
	if p.Outcome == sim.Running {
		p.Outcome = sim.Completed
	}
	s.res.Changes = append(s.res.Changes, sim.Change{At: sec(at), Pod: i, Kind: sim.Released})
	return s.till(at)
}

// preempt marks victim as evicted by preemptor (its release comes with end).
func (s *story) preempt(victim, preemptor string) *story {
	v, p := &s.res.Pods[s.idx[victim]], &s.res.Pods[s.idx[preemptor]]
	v.Outcome, v.PreemptedBy = sim.Preempted, "default/"+preemptor
	p.Victims = append(p.Victims, "default/"+victim)
	return s
}

// fail records an unsuccessful attempt.
func (s *story) fail(pod, message string) *story {
	p := &s.res.Pods[s.idx[pod]]
	p.Attempts++
	p.Message = message
	s.res.Attempts++
	return s
}

func (s *story) till(at float64) *story {
	s.res.End = max(s.res.End, sec(at))
	return s
}

func (s *story) wall(d time.Duration) *story {
	s.res.Wall = d
	return s
}

func (s *story) measure(name string, opts MeasureOptions) (Metrics, error) {
	return Measure(s.w, Run{Name: name, Result: s.res}, opts)
}

// comparison is two runs of one small workload, for the outputs' tests: berth
// preempts a BestEffort pod where default preempts a Guaranteed one, and default
// leaves b3 pending with 2 cpu free on each node (fragmentation).
//
//	nodes: n1, n2 (4 cpu, 8Gi, zone a and b)
//	critical (1000000): c1, c2 Guaranteed 2 cpu/2Gi
//	batch (100): b1 Guaranteed 2 cpu/4Gi, b2 BestEffort, b3 Burstable 3 cpu/1Gi
func comparison() (*workload.Workload, []Run) {
	w := makeWorkload(
		[]*v1.Node{node("n1", "4", "8Gi", "a"), node("n2", "4", "8Gi", "b")},
		[]*schedulingv1.PriorityClass{class("critical", 1000000), class("batch", 100)},
		podSpec{name: "b1", class: "batch", priority: 100, cpu: "2", memory: "4Gi", guaranteed: true},
		podSpec{name: "b2", class: "batch", priority: 100},
		podSpec{name: "c1", class: "critical", priority: 1000000, cpu: "2", memory: "2Gi", guaranteed: true, arrival: 1},
		podSpec{name: "b3", class: "batch", priority: 100, cpu: "3", memory: "1Gi", arrival: 2},
		podSpec{name: "c2", class: "critical", priority: 1000000, cpu: "2", memory: "2Gi", guaranteed: true, arrival: 5},
	)
	berth := newStory(w).
		bind("b1", "n1", 0).bind("b2", "n2", 0).bind("c1", "n2", 1).
		fail("b3", "0/2 nodes are available: 2 Insufficient cpu.").
		preempt("b2", "c2").end("b2", 6).bind("c2", "n2", 6).
		end("b1", 60).bind("b3", "n1", 60).till(120).wall(1500 * time.Millisecond)
	def := newStory(w).
		bind("b1", "n1", 0).bind("b2", "n1", 0).bind("c1", "n2", 1).
		fail("b3", "0/2 nodes are available: 2 Insufficient cpu.").
		preempt("b1", "c2").end("b1", 6).bind("c2", "n1", 6).
		fail("b3", "0/2 nodes are available: 2 Insufficient cpu.").till(120).wall(time.Second)
	return w, []Run{
		{Name: "berth", Config: "manifests/base/scheduler-config.yaml", Sweep: map[string]string{"PriorityPlacement.weight": "2"}, Seed: 1, Result: berth.res},
		{Name: "default", Config: "default", Seed: 1, Result: def.res},
	}
}
