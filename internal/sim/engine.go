// Package sim is berth-sim's engine: it replays a workload through the real
// kube-scheduler (k8s.io/kubernetes/pkg/scheduler, the same code berth-scheduler runs,
// with berth's plugins registered out of tree) in virtual time, deterministically.
//
// A run builds the scheduler with scheduler.New over client-go's fake clientset and
// drives it itself: pods are created at their arrival times and deleted at their end
// times, and between two instants the driver calls ScheduleOne until the queue is
// empty. Nothing of scheduling is re-implemented: queue sort, filters, scores,
// preemption and binding are upstream's and berth's plugins as configured.
//
// A run is a function of its workload, configuration and seed. What would make it
// depend on timing is removed, each for a stated reason:
//   - every informer is synchronous (informers.go): pods and nodes reach the
//     scheduler's event handlers on the driver goroutine, never concurrently, and the
//     kinds it only reads are filled before the run, so no reflector runs (a reflector
//     draws from math/rand's global source, see the last point);
//   - the scheduling queue is closed, so that Pop returns at once when it is empty
//     instead of blocking; nothing else in the queue depends on it;
//   - parallelism is 1: with more, the feasible nodes are collected in completion order
//     and the search stops at a number of them, so which nodes are scored would vary;
//   - asynchronous preemption is off (the SchedulerAsyncPreemption feature gate, for
//     the whole process): victims are deleted inside the scheduling cycle;
//   - the clock (clock.go) gives distinct instants, so queue order and preemption's
//     start-time tie-break never tie; start times are instants of that clock;
//   - math/rand's global source, from which upstream draws the preemption candidate
//     offset and the queue its metric sampling, is seeded with the run's seed; a
//     process runs one simulation at a time, and nothing else in it draws from the
//     source while a run is going on.
//
// After a scheduling cycle succeeds, the driver waits for the binding (upstream binds
// on a goroutine of its own); the rest of that goroutine (metrics, the "Scheduled"
// event) decides nothing.
package sim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/pkg/scheduler"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	internalqueue "k8s.io/kubernetes/pkg/scheduler/backend/queue"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/berth-sched/berth/internal/sim/workload"
)

// Options are a run's inputs besides the workload and the configuration.
type Options struct {
	// Registry holds the out-of-tree plugins the configuration may name (berth's).
	Registry frameworkruntime.Registry
	// Seed seeds every random choice of the run.
	Seed int64
	// Explain, if set (namespace/name), makes the run explain every attempt of that
	// pod (Result.Explain).
	Explain string
	// Objects are further objects the scheduler lists (services, volumes, DRA
	// objects...), put into the simulated API server as they are; explaining a pod on a
	// live cluster's state brings them. Not sent to worker processes: a run with
	// Objects runs in the caller's process.
	Objects []runtime.Object
	// Progress, if set, is called now and then with the number of pods that have
	// arrived so far.
	Progress func(arrived int)
	// BindTimeout bounds the wait for a binding the scheduler started (default 1m); a
	// binding that never comes is an error of the run, not a hang.
	BindTimeout time.Duration
}

// Outcome is how a pod's story ends in a run.
type Outcome string

// The outcomes.
const (
	// Pending: never bound, still waiting when the run ended.
	Pending Outcome = "pending"
	// Running: bound, and still running when the run ended.
	Running Outcome = "running"
	// Completed: bound, and ran its duration.
	Completed Outcome = "completed"
	// Preempted: bound, then evicted by preemption.
	Preempted Outcome = "preempted"
)

// PodResult is what happened to one pod of the workload.
type PodResult struct {
	Outcome Outcome
	// Node is where the pod ran; "" if it never was bound.
	Node string
	// BoundAt and EndedAt are virtual times from the start of the run; -1 for "never".
	BoundAt, EndedAt time.Duration
	// Attempts is how many times the scheduler tried the pod.
	Attempts int
	// PreemptedBy is namespace/name of the pod whose preemption evicted this one.
	PreemptedBy string
	// Victims are the pods evicted for this pod (namespace/name), in eviction order.
	Victims []string
	// Message is the last FailedScheduling message (pods pending at the end).
	Message string
}

// Result is everything a run produced.
type Result struct {
	// Pods are the results of the workload's pods, in workload order.
	Pods []PodResult
	// Changes are the bindings and removals in the order they happened, for measuring
	// the cluster over time.
	Changes []Change
	// Events are the scheduler's events except "Scheduled" (recorded by the binding
	// goroutine, which decides nothing, so its place in the order is not meaningful).
	Events []Event
	// Attempts is the number of scheduling attempts.
	Attempts int
	// End is the virtual time of the last change.
	End time.Duration
	// Wall is how long the run took.
	Wall time.Duration
	// Explain holds the explained attempts of Options.Explain's pod.
	Explain []Attempt
	// PeakRSSBytes is the largest resident memory of the worker process that ran the
	// run (RunParallel; 0 for a run in the caller's process).
	PeakRSSBytes int64
	// CPU is the processor time (user and system) of that worker process: unlike Wall,
	// it does not grow when other work shares the machine.
	CPU time.Duration
}

// ChangeKind says whether a pod took or released its node's resources.
type ChangeKind uint8

// The change kinds.
const (
	Bound ChangeKind = iota
	Released
)

// Change is a pod bound to or released from a node at a virtual time.
type Change struct {
	At   time.Duration
	Pod  int // index into the workload's pods
	Kind ChangeKind
}

// runFeatureGates are the feature gates Run sets in its process (see the package
// comment); RunFeatureGates reports their effect.
var runFeatureGates = map[string]bool{
	string(features.SchedulerAsyncPreemption): false,
}

// RunFeatureGates returns every feature gate the process knows with the value a run
// sees: the process's own values with the gates Run sets applied. A caller whose runs
// go to worker processes (RunParallel) records these, not its own gates, which no run
// has set.
func RunFeatureGates() (map[string]bool, error) {
	g := utilfeature.DefaultMutableFeatureGate.DeepCopy()
	if err := g.SetFromMap(runFeatureGates); err != nil {
		return nil, fmt.Errorf("feature gates: %w", err)
	}
	gates := map[string]bool{}
	for f := range g.GetAll() {
		gates[string(f)] = g.Enabled(f)
	}
	return gates, nil
}

// runMu keeps runs of one process apart: math/rand's global source and the feature
// gates are process-wide.
var runMu sync.Mutex

// Run replays w under cfg, a defaulted and validated KubeSchedulerConfiguration.
func Run(ctx context.Context, w *workload.Workload, cfg *schedconfig.KubeSchedulerConfiguration, o Options) (*Result, error) {
	runMu.Lock()
	defer runMu.Unlock()
	start := time.Now()
	if len(cfg.Extenders) > 0 {
		return nil, errors.New("berth-sim does not simulate scheduler extenders; remove extenders from the configuration")
	}
	if len(cfg.Profiles) == 0 {
		return nil, errors.New("the configuration has no profile")
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(runFeatureGates); err != nil {
		return nil, fmt.Errorf("feature gates: %w", err)
	}
	if o.BindTimeout == 0 {
		o.BindTimeout = time.Minute
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := newRun(ctx, w, cfg, o)
	if err != nil {
		return nil, err
	}
	if err := seedGlobalRand(o.Seed); err != nil {
		return nil, err
	}
	if err := r.replay(); err != nil {
		return nil, err
	}
	r.result.Wall = time.Since(start)
	return r.result, nil
}

// seedGlobalRand seeds math/rand's global source, the one upstream's preemption draws
// its candidate offset from, and checks that seeding took: since Go 1.24 rand.Seed is
// a no-op unless GODEBUG=randseednop=0 (berth-sim's main package sets it).
func seedGlobalRand(seed int64) error {
	//nolint:staticcheck // the global source is the one upstream draws from
	rand.Seed(seed)
	want := rand.New(rand.NewSource(seed)).Int63()
	//nolint:staticcheck
	rand.Seed(seed)
	if rand.Int63() != want {
		return errors.New("math/rand's global source cannot be seeded in this process: run it with GODEBUG=randseednop=0")
	}
	//nolint:staticcheck
	rand.Seed(seed)
	return nil
}

// run is one replay in progress. Its fields are only touched by the driver goroutine
// (the API server and recorder guard what the binding goroutine reaches).
type run struct {
	ctx    context.Context
	logger klog.Logger
	w      *workload.Workload
	o      Options

	clock       *virtualClock
	api         *apiServer
	pods, nodes *syncInformer
	budgets     *budgets
	rec         *recorder
	sched       *scheduler.Scheduler
	// profile is the scheduler name pods without one are given.
	profile string

	byUID   map[types.UID]int
	result  *Result
	actions actionHeap
	seq     uint64
	// popped is the entity the last ScheduleOne took from the queue (nil: none).
	popped framework.QueuedEntityInfo
	// lastAttempt is the virtual time of each pod's last attempt.
	lastAttempt map[int]time.Duration
	// pendingWork counts queued actions other than queue flushes: while it is 0,
	// nothing can change the cluster any more and the run is over.
	pendingWork int
	flushQueued bool
	arrived     int
	explain     *explainer
	// err is the first error of a hook run inside the scheduler's cycle.
	err error
}

func newRun(ctx context.Context, w *workload.Workload, cfg *schedconfig.KubeSchedulerConfiguration, o Options) (*run, error) {
	r := &run{
		ctx: ctx, logger: klog.FromContext(ctx), w: w, o: o,
		clock:       newVirtualClock(),
		pods:        newSyncInformer(),
		nodes:       newSyncInformer(),
		profile:     cfg.Profiles[0].SchedulerName,
		byUID:       make(map[types.UID]int, len(w.Pods)),
		lastAttempt: make(map[int]time.Duration),
		result:      &Result{Pods: make([]PodResult, len(w.Pods))},
	}
	for i := range r.result.Pods {
		r.result.Pods[i] = PodResult{Outcome: Pending, BoundAt: -1, EndedAt: -1}
	}
	// Objects the scheduler only lists reach the fake clientset before its informers
	// start; pods and nodes are created through it during the replay.
	var objs []runtime.Object
	for _, ns := range w.Namespaces {
		objs = append(objs, ns)
	}
	for _, pc := range w.PriorityClasses {
		objs = append(objs, pc)
	}
	objs = append(objs, o.Objects...)
	r.api = newAPIServer(r.clock, objs...)
	r.rec = &recorder{clock: r.clock}
	pdbs := newSyncInformer()
	factory, err := newInformerFactory(r.api.client, r.pods, r.nodes, pdbs, objs)
	if err != nil {
		return nil, err
	}
	if r.budgets, err = newBudgets(pdbs, w.PDBs); err != nil {
		return nil, err
	}

	profiles := make([]schedconfig.KubeSchedulerProfile, len(cfg.Profiles))
	copy(profiles, cfg.Profiles)
	sched, err := scheduler.New(ctx, r.api.client, factory, nil, r.rec.factory(),
		scheduler.WithComponentConfigVersion(cfg.TypeMeta.APIVersion),
		scheduler.WithProfiles(profiles...),
		scheduler.WithPercentageOfNodesToScore(cfg.PercentageOfNodesToScore),
		scheduler.WithPodInitialBackoffSeconds(cfg.PodInitialBackoffSeconds),
		scheduler.WithPodMaxBackoffSeconds(cfg.PodMaxBackoffSeconds),
		scheduler.WithParallelism(1),
		scheduler.WithFrameworkOutOfTreeRegistry(o.Registry),
		scheduler.WithClock(r.clock),
	)
	if err != nil {
		return nil, err
	}
	r.sched = sched
	if err := checkSynchronous(ctx, factory); err != nil {
		return nil, err
	}
	// Pop returns nil instead of blocking once the queue is empty (see package doc).
	sched.SchedulingQueue.Close()
	if o.Explain != "" {
		if r.explain, err = newExplainer(o.Explain, cfg, o.Registry); err != nil {
			return nil, err
		}
	}
	next := sched.NextEntity
	sched.NextEntity = func(logger klog.Logger) (framework.QueuedEntityInfo, error) {
		e, err := next(logger)
		r.popped = e
		if pi, ok := e.(*framework.QueuedPodInfo); ok && pi.Pod != nil && r.explain != nil &&
			pi.Pod.Namespace+"/"+pi.Pod.Name == o.Explain && r.err == nil {
			r.err = r.explain.before(ctx, sched, sched.Cache, pi.Pod, r.clock.elapsed())
		}
		return e, err
	}
	if r.explain != nil {
		// What the scheduler's PostFilter did, for explain to tell it as it happened.
		failure := sched.FailureHandler
		sched.FailureHandler = func(ctx context.Context, f framework.Framework, pi *framework.QueuedPodInfo, status *fwk.Status, nominating *fwk.NominatingInfo, start time.Time) {
			if pi != nil && pi.Pod != nil && pi.Pod.Namespace+"/"+pi.Pod.Name == o.Explain {
				r.explain.failed(status, nominating)
			}
			failure(ctx, f, pi, status, nominating, start)
		}
	}
	return r, nil
}

// replay runs the whole workload.
func (r *run) replay() error {
	for _, n := range r.w.Nodes {
		if _, err := r.api.client.CoreV1().Nodes().Create(r.ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	for i := range r.w.Pods {
		p := &r.w.Pods[i]
		uid := types.UID("sim-" + p.Pod.Namespace + "-" + p.Pod.Name)
		if _, dup := r.byUID[uid]; dup {
			return fmt.Errorf("pod %s appears twice in the workload", p.Name())
		}
		r.byUID[uid] = i
		r.push(action{at: p.Arrival, kind: arrive, pod: i})
	}
	for {
		if err := r.settle(); err != nil {
			return err
		}
		if r.pendingWork == 0 {
			break
		}
		at := r.actions[0].at
		r.clock.advanceTo(Epoch.Add(at))
		for len(r.actions) > 0 && r.actions[0].at == at {
			a := heap.Pop(&r.actions).(action)
			if err := r.do(a); err != nil {
				return err
			}
		}
	}
	r.finish()
	return nil
}

// settle delivers the API changes so far and schedules until the queue is empty and
// no change is left to deliver.
func (r *run) settle() error {
	for {
		if err := r.deliver(); err != nil {
			return err
		}
		tried, err := r.scheduleOne()
		if err != nil {
			return err
		}
		if !tried {
			if err := r.deliver(); err != nil {
				return err
			}
			if !r.api.hasPending() {
				return nil
			}
		}
	}
}

// scheduleOne runs one scheduling cycle and waits for the binding it starts. It
// reports whether the queue had a pod to try.
func (r *run) scheduleOne() (bool, error) {
	r.popped = nil
	r.sched.ScheduleOne(r.ctx)
	if r.err != nil {
		return false, r.err
	}
	pi, ok := r.popped.(*framework.QueuedPodInfo)
	if !ok || pi == nil || pi.Pod == nil {
		return r.popped != nil, nil
	}
	if r.explain != nil && r.explain.current != nil {
		defer func() {
			cur, _ := r.api.getPod(pi.Pod.Namespace, pi.Pod.Name)
			r.explain.after(cur, r.rec.peek())
		}()
	}
	r.result.Attempts++
	i, known := r.byUID[pi.Pod.UID]
	if known {
		r.result.Pods[i].Attempts++
		r.lastAttempt[i] = r.clock.elapsed()
	}
	assumed, err := r.sched.Cache.IsAssumedPod(pi.Pod)
	if err != nil || !assumed {
		return true, nil
	}
	select {
	case uid := <-r.api.bound:
		if uid != pi.Pod.UID {
			return true, fmt.Errorf("waiting for the binding of %s, got one for %s", pi.Pod.Name, uid)
		}
	case <-time.After(r.o.BindTimeout):
		return true, fmt.Errorf("the scheduler assumed pod %s/%s but did not bind it within %v", pi.Pod.Namespace, pi.Pod.Name, r.o.BindTimeout)
	case <-r.ctx.Done():
		return true, r.ctx.Err()
	}
	return true, nil
}

// deliver hands the recorded API changes to the informers, in order, and notes what
// they mean for the replay.
func (r *run) deliver() error {
	for {
		events := r.api.takePending()
		if len(events) == 0 {
			r.takeEvents()
			return nil
		}
		for _, e := range events {
			if err := r.apply(e); err != nil {
				return err
			}
		}
	}
}

func (r *run) apply(e apiEvent) error {
	switch obj := e.obj.(type) {
	case *v1.Node:
		switch e.typ {
		case added:
			return r.nodes.add(obj)
		case updated:
			return r.nodes.update(e.old, obj)
		default:
			return r.nodes.remove(obj)
		}
	case *v1.Pod:
		var old *v1.Pod
		if e.old != nil {
			old = e.old.(*v1.Pod)
		}
		cur := obj
		if e.typ == deleted {
			cur, old = nil, obj
		}
		if err := r.budgets.podChanged(old, cur); err != nil {
			return err
		}
		switch e.typ {
		case added:
			if err := r.pods.add(obj); err != nil {
				return err
			}
			if obj.Spec.NodeName != "" {
				r.bound(obj)
			}
		case updated:
			old := e.old.(*v1.Pod)
			if err := r.pods.update(old, obj); err != nil {
				return err
			}
			if old.Spec.NodeName == "" && obj.Spec.NodeName != "" {
				r.bound(obj)
			}
			if old.DeletionTimestamp == nil && obj.DeletionTimestamp != nil {
				i := r.byUID[obj.UID]
				r.push(action{at: obj.DeletionTimestamp.Sub(Epoch), kind: expire, pod: i})
			}
		default:
			if err := r.pods.remove(obj); err != nil {
				return err
			}
			r.released(obj)
		}
	}
	return nil
}

// bound notes a pod's binding and queues its completion.
func (r *run) bound(pod *v1.Pod) {
	i, ok := r.byUID[pod.UID]
	if !ok {
		return
	}
	at := r.clock.elapsed()
	if pod.Status.StartTime != nil {
		at = pod.Status.StartTime.Sub(Epoch)
	}
	res := &r.result.Pods[i]
	res.Outcome, res.Node, res.BoundAt = Running, pod.Spec.NodeName, at
	r.result.Changes = append(r.result.Changes, Change{At: at, Pod: i, Kind: Bound})
	if d := r.w.Pods[i].Duration; d > 0 {
		r.push(action{at: at + d, kind: complete, pod: i})
	}
}

// released notes a pod object gone.
func (r *run) released(pod *v1.Pod) {
	i, ok := r.byUID[pod.UID]
	if !ok {
		return
	}
	res := &r.result.Pods[i]
	if res.BoundAt >= 0 && res.EndedAt < 0 {
		res.EndedAt = r.clock.elapsed()
		r.result.Changes = append(r.result.Changes, Change{At: res.EndedAt, Pod: i, Kind: Released})
		if res.Outcome == Running {
			res.Outcome = Completed
		}
	}
}

// takeEvents moves the recorder's events into the result and reads preemptions and
// scheduling failures out of them.
func (r *run) takeEvents() {
	for _, e := range r.rec.take() {
		switch e.Reason {
		case "Scheduled":
			continue
		case "Preempted":
			if i, ok := r.indexOf(e.Object); ok && e.Related != "" && r.result.Pods[i].PreemptedBy == "" {
				r.result.Pods[i].PreemptedBy = e.Related
				r.result.Pods[i].Outcome = Preempted
				if j, ok := r.indexOf(e.Related); ok {
					r.result.Pods[j].Victims = append(r.result.Pods[j].Victims, e.Object)
				}
			}
		case "FailedScheduling":
			if i, ok := r.indexOf(e.Object); ok {
				r.result.Pods[i].Message = e.Message
			}
		}
		r.result.Events = append(r.result.Events, e)
	}
}

func (r *run) indexOf(nsName string) (int, bool) {
	for i := 0; i < len(nsName); i++ {
		if nsName[i] == '/' {
			i, ok := r.byUID[types.UID("sim-"+nsName[:i]+"-"+nsName[i+1:])]
			return i, ok
		}
	}
	return 0, false
}

// finish closes the books: the end time, and pods still bound keep Running.
func (r *run) finish() {
	r.result.End = r.clock.elapsed()
	r.takeEvents()
	if r.explain != nil {
		r.result.Explain = r.explain.reports
	}
}

// actionKind is something the driver does at a virtual time.
type actionKind uint8

const (
	// arrive creates the pod.
	arrive actionKind = iota
	// complete ends a bound pod after its duration.
	complete
	// expire removes a terminating pod when its grace period is over.
	expire
	// flush moves pods that waited longest as unschedulable back for another try, as
	// the queue's own timer would (upstream runs it on wall-clock time).
	flush
)

type action struct {
	at   time.Duration
	seq  uint64
	kind actionKind
	pod  int
}

func (r *run) push(a action) {
	r.seq++
	a.seq = r.seq
	if a.kind != flush {
		r.pendingWork++
	}
	heap.Push(&r.actions, a)
}

// flushInterval is how often upstream's queue looks for pods that waited too long.
const flushInterval = 30 * time.Second

func (r *run) do(a action) error {
	if a.kind != flush {
		r.pendingWork--
	}
	switch a.kind {
	case arrive:
		p := r.w.Pods[a.pod].Pod.DeepCopy()
		if p.Spec.SchedulerName == "" {
			p.Spec.SchedulerName = r.profile
		}
		if _, err := r.api.client.CoreV1().Pods(p.Namespace).Create(r.ctx, p, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create pod %s: %w", r.w.Pods[a.pod].Name(), err)
		}
		if r.arrived++; r.o.Progress != nil && (r.arrived%100 == 0 || r.arrived == len(r.w.Pods)) {
			r.o.Progress(r.arrived)
		}
		r.queueFlush()
	case complete, expire:
		p := r.w.Pods[a.pod].Pod
		cur, err := r.api.getPod(p.Namespace, p.Name)
		if err != nil {
			return nil // gone already (preempted before it completed)
		}
		if a.kind == complete && cur.DeletionTimestamp != nil {
			return nil // being evicted: expire removes it
		}
		return r.api.removePod(cur)
	case flush:
		r.flushQueued = false
		now := r.clock.elapsed()
		r.sched.SchedulingQueue.MoveAllToActiveOrBackoffQueue(r.logger, framework.EventUnschedulableTimeout, nil, nil,
			internalqueue.PreEnqueueCheck(func(pod *v1.Pod) bool {
				i, ok := r.byUID[pod.UID]
				return ok && now-r.lastAttempt[i] > internalqueue.DefaultPodMaxInUnschedulablePodsDuration
			}))
		r.queueFlush()
	}
	return nil
}

// queueFlush keeps a flush coming every flushInterval while anything else is still to
// happen; once nothing can change the cluster, retrying is pointless and the run ends.
func (r *run) queueFlush() {
	if r.flushQueued || r.pendingWork == 0 {
		return
	}
	r.flushQueued = true
	r.push(action{at: r.clock.elapsed().Truncate(flushInterval) + flushInterval, kind: flush})
}

// actionHeap orders actions by time, then by the order they were queued.
type actionHeap []action

func (h actionHeap) Len() int { return len(h) }
func (h actionHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h actionHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *actionHeap) Push(x any)   { *h = append(*h, x.(action)) }
func (h *actionHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
