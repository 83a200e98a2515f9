// Package qosawarepreemption is berth's PostFilter preemption plugin, a drop-in for
// upstream's DefaultPreemption that also weighs the victims' QoS classes.
//
// It is built on upstream's preemption framework, not a copy of it: the upstream
// Evaluator finds candidate nodes and the upstream Executor evicts victims
// (asynchronously, with the PreEnqueue gate, exactly as upstream does), and even the
// per-node victim search is upstream DefaultPreemption's SelectVictimsOnNode, run with
// berth's eligibility rule (IsEligiblePod hook) and victim order (MoreImportantVictim
// hook). berth adds only what upstream does not know about:
//   - victim order on a node: priority, then Guaranteed > Burstable > BestEffort, then
//     upstream's order (start time);
//   - guaranteedPriorityGap: Guaranteed pods need a preemptor that many priorities above;
//   - a pod the preemptor has required pod affinity to stays when evicting it would
//     leave a term of that affinity unmet in its topology domain (affinity.go);
//   - node choice by QoS cost (OrderedScoreFuncs) instead of the sum of priorities;
//   - the preemptor's name and priority and the victim's QoS class in upstream's event
//     on each victim, the victims per QoS class in the preemptor's FailedScheduling
//     event, and two metrics.
package qosawarepreemption

import (
	"context"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	policy "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	fwk "k8s.io/kube-scheduler/framework"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultpreemption"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"
	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"

	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/internal/cyclestate"
	"github.com/berth-sched/berth/pkg/plugins/internal/qosrank"
)

// Name is the plugin's name in the registry and in scheduler configurations.
const Name = "QoSAwarePreemption"

// Events. Each victim gets one event, upstream's ("Preempted", action "Preempting",
// the preemptor by UID, the node, "in kube-scheduler memory" for a pod preempted
// without a delete call) with berth's detail appended: the preemptor's name and
// priority and the victim's QoS class (events.go).
const (
	// ReasonPreempted is the reason of the event on each victim, upstream's.
	ReasonPreempted = "Preempted"
)

// postFilterStateKey is where PostFilter leaves per-cycle data for SelectVictimsOnNode.
const postFilterStateKey fwk.StateKey = "PostFilter" + Name

// attemptKey is the context key under which PostFilter passes its postFilterState to
// PodEligibleToPreemptOthers, which the Evaluator calls without the cycle state.
type attemptKey struct{}

// QoSAwarePreemption implements upstream's preemption.Interface with berth's rules. See
// the package documentation.
type QoSAwarePreemption struct {
	fh   fwk.Handle
	args config.QoSAwarePreemptionArgs

	// upstream is a DefaultPreemption configured with berth's hooks. berth delegates
	// to it everything that is the same as upstream's: the victim search on a node,
	// eligibility of the preemptor, candidate counts, PreEnqueue and its events.
	upstream *defaultpreemption.DefaultPreemption
	// evaluator runs upstream's preemption with this plugin as its Interface and
	// upstream's Executor (shared with upstream.PreEnqueue's gate).
	evaluator *preemption.Evaluator

	listNamespaces func(labels.Selector) ([]string, error)

	// asyncPreemption: upstream's Executor evicts victims after the cycle
	// (SchedulerAsyncPreemption), and the preemptor waits, gated, for their deletion.
	asyncPreemption bool
	// podLister is the scheduler's pod informer (the one upstream's PreEnqueue gate
	// reads): whether it has seen a victim's deletion yet. Nil without informers.
	podLister corelisters.PodLister
}

var (
	_ fwk.PostFilterPlugin  = &QoSAwarePreemption{}
	_ fwk.PreEnqueuePlugin  = &QoSAwarePreemption{}
	_ fwk.EnqueueExtensions = &QoSAwarePreemption{}
	_ preemption.Interface  = &QoSAwarePreemption{}
)

// Name returns the plugin's name.
func (pl *QoSAwarePreemption) Name() string { return Name }

// PreemptionEvaluator is the upstream Evaluator the plugin preempts with, so that tools
// (berth-sim explain) can dry-run preemption exactly as the plugin would.
func (pl *QoSAwarePreemption) PreemptionEvaluator() *preemption.Evaluator { return pl.evaluator }

// New builds the plugin from QoSAwarePreemptionArgs and the scheduler's features,
// which it hands to the upstream DefaultPreemption it delegates to (async preemption,
// pod-group preemption, ...).
func New(ctx context.Context, obj runtime.Object, h fwk.Handle, fts plfeature.Features) (fwk.Plugin, error) {
	var args config.QoSAwarePreemptionArgs
	if err := config.Decode(Name, obj, &args); err != nil {
		return nil, err
	}
	// Upstream's Executor records each victim's event through the handle it is built
	// with; this one holds that event back for berth to complete (events.go).
	held := &heldEvents{}
	up, err := defaultpreemption.New(ctx, upstreamArgs(args), &executorHandle{Handle: h, held: held}, fts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	pl := &QoSAwarePreemption{fh: h, args: args, upstream: up, asyncPreemption: fts.EnableAsyncPreemption}
	gap := args.GuaranteedPriorityGap
	up.IsEligiblePod = func(_ fwk.NodeInfo, victim preemption.Victim, preemptor *v1.Pod) bool {
		return allowedByGap(gap, victim, preemptor)
	}
	up.MoreImportantVictim = moreImportantVictim
	if f := h.SharedInformerFactory(); f != nil {
		pl.podLister = f.Core().V1().Pods().Lister()
		nsLister := f.Core().V1().Namespaces().Lister()
		pl.listNamespaces = func(sel labels.Selector) ([]string, error) {
			list, err := nsLister.List(sel)
			names := make([]string, len(list))
			for i, ns := range list {
				names[i] = ns.Name
			}
			return names, err
		}
	}
	pl.instrumentExecutor(up.Executor, held)
	pl.evaluator = preemption.NewEvaluator(Name, h, pl, up.Executor)
	registerMetrics()
	return pl, nil
}

// upstreamArgs are the DefaultPreemptionArgs berth's args carry (defaulted).
func upstreamArgs(a config.QoSAwarePreemptionArgs) *schedconfig.DefaultPreemptionArgs {
	return &schedconfig.DefaultPreemptionArgs{
		MinCandidateNodesPercentage: *a.MinCandidateNodesPercentage,
		MinCandidateNodesAbsolute:   *a.MinCandidateNodesAbsolute,
	}
}

// postFilterState is what one PostFilter run shares with its SelectVictimsOnNode calls: the
// preemptor's affinity terms, resolved once, and the victims found per node, read back
// for the preemptor's event once the node is chosen.
type postFilterState struct {
	// affinity is the preemptor's required pod affinity (nil: none).
	affinity *affinityTargets
	// ineligible: PodEligibleToPreemptOthers refused the preemptor.
	ineligible bool

	mu      sync.Mutex
	victims map[string][]*v1.Pod
}

// Clone returns the state itself: the Evaluator clones the cycle state for every node
// it dry-runs, and one state must collect the victims of all of them.
func (r *postFilterState) Clone() fwk.StateData { return r }

func (r *postFilterState) setVictims(node string, pods []*v1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.victims == nil {
		r.victims = map[string][]*v1.Pod{}
	}
	r.victims[node] = pods
}

func (r *postFilterState) victimsOn(node string) []*v1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.victims[node]
}

func getPostFilterState(cs fwk.CycleState) (*postFilterState, error) {
	return cyclestate.Read[*postFilterState](cs, postFilterStateKey, "postFilter")
}

// PostFilter runs upstream's preemption Evaluator with berth's Interface.
func (pl *QoSAwarePreemption) PostFilter(ctx context.Context, state fwk.CycleState, pod *v1.Pod, m fwk.NodeToStatusReader) (*fwk.PostFilterResult, *fwk.Status) {
	// Upstream's scheduler_preemption_attempts_total counts every preemption plugin's
	// attempts; berth's replaces DefaultPreemption's, so it keeps counting.
	schedmetrics.PreemptionAttempts.Inc()

	rec := &postFilterState{affinity: pl.affinityTargets(pod)}
	state.Write(postFilterStateKey, rec)
	// The Evaluator hands this context to PodEligibleToPreemptOthers, which notes a
	// refusal there: the status alone does not tell it from other Unschedulable ends.
	result, status := pl.evaluator.Preempt(context.WithValue(ctx, attemptKey{}, rec), state, pod, m)
	attemptsTotal.WithLabelValues(attemptResult(status, rec.ineligible)).Inc()

	if status.IsSuccess() && result != nil && result.NominatingInfo != nil && result.NominatedNodeName != "" {
		// Upstream puts this message in the preemptor's FailedScheduling event and
		// PodScheduled condition, so it needs no event of its own: preemption makes no
		// API call upstream's does not.
		node := result.NominatedNodeName
		return result, fwk.NewStatus(fwk.Success, "preemption: "+nominationMessage(node, rec.victimsOn(node)))
	}
	if msg := status.Message(); msg != "" {
		return result, fwk.NewStatus(status.Code(), "preemption: "+msg)
	}
	return result, status
}

// nominationMessage tells the preemptor where it goes and whom it displaces, e.g.
// "nominated to node n1, preempting 2 victims: 0 Guaranteed, 1 Burstable, 1 BestEffort".
func nominationMessage(node string, victims []*v1.Pod) string {
	var n [qosrank.Count]int
	for _, p := range victims {
		n[qosrank.OfPod(p)]++
	}
	return fmt.Sprintf("nominated to node %s, preempting %d victims: %d Guaranteed, %d Burstable, %d BestEffort",
		node, len(victims), n[qosrank.Guaranteed], n[qosrank.Burstable], n[qosrank.BestEffort])
}

// attemptResult maps the Evaluator's outcome to the attempts metric's result label.
// Every other failure leaves no candidate node: none fits even with its possible
// victims gone, or extenders removed every candidate ("no candidate node for
// preemption").
func attemptResult(status *fwk.Status, ineligible bool) string {
	switch {
	case status.IsSuccess():
		return ResultNominated
	case status.Code() == fwk.Error:
		return ResultError
	case ineligible:
		return ResultIneligible
	default:
		return ResultNoCandidate
	}
}

// PreEnqueue keeps a preemptor out of the scheduling cycle while its victims are being
// deleted asynchronously: upstream's gate, on the shared Executor.
func (pl *QoSAwarePreemption) PreEnqueue(ctx context.Context, p *v1.Pod) *fwk.Status {
	return pl.upstream.PreEnqueue(ctx, p)
}

// EventsToRegister is upstream's: an assigned pod's deletion lets the gate re-check.
func (pl *QoSAwarePreemption) EventsToRegister(ctx context.Context) ([]fwk.ClusterEventWithHint, error) {
	return pl.upstream.EventsToRegister(ctx)
}

// GetOffsetAndNumCandidates is upstream's, driven by the minCandidate args.
func (pl *QoSAwarePreemption) GetOffsetAndNumCandidates(numNodes int32) (int32, int32) {
	return pl.upstream.GetOffsetAndNumCandidates(numNodes)
}

// CandidatesToVictimsMap is upstream's.
func (pl *QoSAwarePreemption) CandidatesToVictimsMap(candidates []preemption.Candidate) map[string]*extenderv1.Victims {
	return pl.upstream.CandidatesToVictimsMap(candidates)
}

// PodEligibleToPreemptOthers is upstream's: preemptionPolicy Never, and no new victims
// while earlier ones (that this plugin could have chosen) terminate on the nominated
// node.
func (pl *QoSAwarePreemption) PodEligibleToPreemptOthers(ctx context.Context, pod *v1.Pod, nominatedNodeStatus *fwk.Status) (bool, string) {
	ok, msg := pl.upstream.PodEligibleToPreemptOthers(ctx, pod, nominatedNodeStatus)
	if rec, _ := ctx.Value(attemptKey{}).(*postFilterState); rec != nil && !ok {
		rec.ineligible = true
	}
	return ok, msg
}

// SelectVictimsOnNode runs upstream's search with berth's hooks: remove every eligible
// victim (lower priority, guaranteedPriorityGap), check that the preemptor passes every
// Filter of the profile, then reprieve PDB-violating victims and then the others, most
// important first in berth's order, keeping each one whose return still lets the
// preemptor fit. A preemptor with required pod affinity keeps the pod it needs beside it
// when evicting it would break its affinity (affinity.go).
func (pl *QoSAwarePreemption) SelectVictimsOnNode(ctx context.Context, state fwk.CycleState, preemptor *v1.Pod, nodeInfo fwk.NodeInfo,
	allPossibleVictims []*preemption.DomainVictim, pdbs []*policy.PodDisruptionBudget) ([]*v1.Pod, int, *fwk.Status) {
	// The state is missing when something other than PostFilter (berth-sim's explain,
	// a test) asks for victims: the affinity is resolved here then.
	var rec *postFilterState
	if state != nil {
		rec, _ = getPostFilterState(state)
	}
	var affinity *affinityTargets
	if rec != nil {
		affinity = rec.affinity
	} else {
		affinity = pl.affinityTargets(preemptor)
	}
	var pods []*v1.Pod
	var numPDBViolations int
	var status *fwk.Status
	if affinity == nil {
		pods, numPDBViolations, status = pl.upstream.SelectVictimsOnNode(ctx, state, preemptor, nodeInfo, allPossibleVictims, pdbs)
	} else {
		pods, numPDBViolations, status = pl.selectVictimsKeepingAffinity(ctx, affinity, state, preemptor, nodeInfo, allPossibleVictims, pdbs)
	}
	if rec != nil && status.IsSuccess() && nodeInfo.Node() != nil {
		rec.setVictims(nodeInfo.Node().Name, pods)
	}
	return pods, numPDBViolations, status
}

// affinityTargets resolves the preemptor's required pod affinity over the scheduler's
// snapshot (nil when it has none, the common case, which costs nothing more).
func (pl *QoSAwarePreemption) affinityTargets(preemptor *v1.Pod) *affinityTargets {
	if a := preemptor.Spec.Affinity; a == nil || a.PodAffinity == nil || len(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		return nil
	}
	var nodes []fwk.NodeInfo
	if l := pl.fh.SnapshotSharedLister(); l != nil {
		nodes, _ = l.NodeInfos().List()
	}
	return newAffinityTargets(preemptor, pl.listNamespaces, nodes)
}
