package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	"k8s.io/kubernetes/pkg/scheduler"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	internalcache "k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkplugins "k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultpreemption"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	schedutil "k8s.io/kubernetes/pkg/scheduler/util"
)

// Attempt is the explanation of one scheduling attempt of a pod: what every plugin of
// the pod's profile said about every node, computed on the very state the scheduler
// was about to schedule the pod on, and what the scheduler then did.
type Attempt struct {
	// Number counts the pod's attempts from 1; At is the virtual time.
	Number int           `json:"attempt"`
	At     time.Duration `json:"at"`
	Pod    string        `json:"pod"`
	// Priority and QoSClass of the pod.
	Priority  int32           `json:"priority"`
	QoSClass  v1.PodQOSClass  `json:"qosClass"`
	Profile   string          `json:"profile"`
	PreFilter []PluginVerdict `json:"preFilter"`
	// Nodes are every node of the cluster with its verdicts and, if it passed every
	// filter, its scores; feasible nodes first, by total score.
	Nodes []NodeVerdict `json:"nodes"`
	// Best is the feasible node with the highest total score and Margin its lead over
	// RunnerUp; "" when no node is feasible. Ties lists the nodes sharing the top total.
	Best     string   `json:"best,omitempty"`
	RunnerUp string   `json:"runnerUp,omitempty"`
	Margin   int64    `json:"margin,omitempty"`
	Ties     []string `json:"ties,omitempty"`
	// Preemption is set when no node was feasible and the profile preempts.
	Preemption *PreemptionVerdict `json:"preemption,omitempty"`
	// Outcome is what the scheduler did in this attempt.
	Outcome AttemptOutcome `json:"outcome"`
}

// PluginVerdict is one plugin's answer: Code is the framework's status code
// (Success, Skip, Unschedulable, UnschedulableAndUnresolvable, Error).
type PluginVerdict struct {
	Plugin string `json:"plugin"`
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// NodeVerdict is one node seen by the pod's profile.
type NodeVerdict struct {
	Node string `json:"node"`
	// Feasible is the scheduler's own verdict (all filters, nominated pods included);
	// Reason is its first rejection, as in the FailedScheduling message.
	Feasible bool   `json:"feasible"`
	Plugin   string `json:"plugin,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Reasons are that rejection's reasons one by one, as the FailedScheduling message
	// counts them ("Insufficient cpu", "Insufficient memory").
	Reasons []string `json:"reasons,omitempty"`
	// Filters are every filter plugin's answer on the node alone (the scheduler stops
	// at the first rejection; this goes on).
	Filters []PluginVerdict `json:"filters"`
	Scores  []PluginScore   `json:"scores,omitempty"`
	Total   int64           `json:"total,omitempty"`
}

// PluginScore is one score plugin's view of a node: Raw from Score, Normalized after
// NormalizeScore, Weighted = Normalized × Weight, which is what the total adds up.
type PluginScore struct {
	Plugin     string `json:"plugin"`
	Raw        int64  `json:"raw"`
	Normalized int64  `json:"normalized"`
	Weight     int32  `json:"weight"`
	Weighted   int64  `json:"weighted"`
}

// PreemptionVerdict explains preemption: every node where evicting pods would let the
// pod fit, with the victims the plugin picks there, and the rules that rank them.
type PreemptionVerdict struct {
	Plugin     string      `json:"plugin"`
	Eligible   bool        `json:"eligible"`
	Reason     string      `json:"reason,omitempty"`
	Rules      []string    `json:"rules,omitempty"`
	Candidates []Candidate `json:"candidates,omitempty"`
	// Chosen is the node the plugin's own selection picks among the candidates, and
	// DecidedBy the rule after which it alone remained ("" if it was the only one).
	Chosen    string `json:"chosen,omitempty"`
	DecidedBy string `json:"decidedBy,omitempty"`
}

// Candidate is one node preemption could use.
type Candidate struct {
	Node          string   `json:"node"`
	Victims       []Victim `json:"victims"`
	PDBViolations int64    `json:"pdbViolations"`
	// RuleScores are the ranking rules' scores of this node, higher is better.
	RuleScores []int64 `json:"ruleScores"`
}

// Victim is a pod preemption would evict.
type Victim struct {
	Pod      string         `json:"pod"`
	Priority int32          `json:"priority"`
	QoSClass v1.PodQOSClass `json:"qosClass"`
	Started  time.Duration  `json:"started"`
}

// AttemptOutcome is what the scheduler did.
type AttemptOutcome struct {
	// Result is "bound", "nominated" (preemption started in this attempt) or
	// "unschedulable".
	Result  string   `json:"result"`
	Node    string   `json:"node,omitempty"`
	Message string   `json:"message,omitempty"`
	Victims []string `json:"victims,omitempty"`
	// KeepsNomination is the node an unschedulable pod stays nominated to from an
	// earlier attempt's preemption (this one preempted nothing).
	KeepsNomination string `json:"keepsNomination,omitempty"`
}

// explainer builds the explanations of one pod's attempts. It runs a second framework
// of the pod's profile, built from the same registry and configuration (so plugin
// names are the configured ones; nothing is wrapped or renamed), sharing the real
// one's snapshot, informers and nominated pods, but holding its own plugin instances:
// asking it every plugin's answer leaves the scheduler's own plugins untouched.
type explainer struct {
	target  string
	cfg     *schedconfig.KubeSchedulerConfiguration
	reg     frameworkruntime.Registry
	shadows map[string]*shadow
	reports []Attempt
	current *Attempt
	// postFilter is what the scheduler's own PostFilter did in the current attempt,
	// nil until the attempt fails after its filters (or if it never does).
	postFilter *postFilterOutcome
}

// postFilterOutcome is the scheduler's PostFilter result in one attempt: nominated is
// the node its preemption nominated ("" if it preempted nothing) and message its
// status message, as the FailedScheduling event quotes it.
type postFilterOutcome struct {
	nominated string
	message   string
}

type shadow struct {
	fw      framework.Framework
	plugins map[string]fwk.Plugin
	weights map[string]int32
}

func newExplainer(target string, cfg *schedconfig.KubeSchedulerConfiguration, outOfTree frameworkruntime.Registry) (*explainer, error) {
	reg := frameworkplugins.NewInTreeRegistry()
	if err := reg.Merge(outOfTree); err != nil {
		return nil, err
	}
	return &explainer{target: target, cfg: cfg, reg: reg, shadows: map[string]*shadow{}}, nil
}

func (e *explainer) shadowFor(ctx context.Context, s *scheduler.Scheduler, profile string) (*shadow, error) {
	if sh, ok := e.shadows[profile]; ok {
		return sh, nil
	}
	real, ok := s.Profiles[profile]
	if !ok {
		return nil, fmt.Errorf("no profile %q", profile)
	}
	var cfg *schedconfig.KubeSchedulerProfile
	for i := range e.cfg.Profiles {
		if e.cfg.Profiles[i].SchedulerName == profile {
			cfg = &e.cfg.Profiles[i]
		}
	}
	sh := &shadow{plugins: map[string]fwk.Plugin{}, weights: map[string]int32{}}
	capturing := frameworkruntime.Registry{}
	for name, factory := range e.reg {
		capturing[name] = func(ctx context.Context, args runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
			p, err := factory(ctx, args, h)
			if err == nil {
				sh.plugins[name] = p
			}
			return p, err
		}
	}
	snap, ok := real.SnapshotSharedLister().(*internalcache.Snapshot)
	if !ok {
		return nil, fmt.Errorf("profile %s: unexpected snapshot type %T", profile, real.SnapshotSharedLister())
	}
	fw, err := frameworkruntime.NewFramework(ctx, capturing, cfg,
		frameworkruntime.WithComponentConfigVersion(e.cfg.TypeMeta.APIVersion),
		frameworkruntime.WithClientSet(real.ClientSet()),
		frameworkruntime.WithInformerFactory(real.SharedInformerFactory()),
		frameworkruntime.WithSharedDRAManager(real.SharedDRAManager()),
		frameworkruntime.WithSharedCSIManager(real.SharedCSIManager()),
		frameworkruntime.WithSnapshotSharedLister(snap),
		frameworkruntime.WithMutableSnapshotLister(snap),
		frameworkruntime.WithPodNominator(s.SchedulingQueue),
		frameworkruntime.WithParallelism(1),
		frameworkruntime.WithEventRecorder(&recorder{clock: newVirtualClock()}),
	)
	if err != nil {
		return nil, fmt.Errorf("explain: building profile %s: %w", profile, err)
	}
	sh.fw = fw
	for _, p := range fw.ListPlugins().Score.Enabled {
		sh.weights[p.Name] = p.Weight
	}
	e.shadows[profile] = sh
	return sh, nil
}

// before explains the attempt the scheduler is about to make for pod.
func (e *explainer) before(ctx context.Context, s *scheduler.Scheduler, cache internalcache.Cache, pod *v1.Pod, at time.Duration) error {
	sh, err := e.shadowFor(ctx, s, pod.Spec.SchedulerName)
	if err != nil {
		return err
	}
	// The snapshot the scheduling cycle is about to take; taking it first changes
	// nothing for the cycle, which finds it up to date.
	if err := cache.UpdateSnapshot(klog.FromContext(ctx), sh.fw.SnapshotSharedLister().(*internalcache.Snapshot)); err != nil {
		return err
	}
	a := Attempt{Number: len(e.reports) + 1, At: at, Pod: pod.Namespace + "/" + pod.Name,
		Priority: corev1helpers.PodPriority(pod), QoSClass: qos.GetPodQOS(pod), Profile: pod.Spec.SchedulerName}
	state := framework.NewCycleState()
	nodes, err := sh.fw.SnapshotSharedLister().NodeInfos().List()
	if err != nil {
		return err
	}
	_, pfStatus, _ := sh.fw.RunPreFilterPlugins(ctx, state, pod)
	skip := state.GetSkipFilterPlugins()
	for _, p := range sh.fw.ListPlugins().PreFilter.Enabled {
		v := PluginVerdict{Plugin: p.Name, Code: fwk.Success.String()}
		switch {
		case skip.Has(p.Name):
			v.Code = fwk.Skip.String()
		case !pfStatus.IsSuccess() && pfStatus.Plugin() == p.Name:
			v.Code, v.Reason = pfStatus.Code().String(), pfStatus.Message()
		}
		a.PreFilter = append(a.PreFilter, v)
	}
	var feasible []fwk.NodeInfo
	filterNames := names(sh.fw.ListPlugins().Filter.Enabled)
	for _, ni := range nodes {
		nv := NodeVerdict{Node: ni.Node().Name}
		var st *fwk.Status
		if pfStatus.IsSuccess() {
			st = sh.fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni)
		} else {
			st = pfStatus
		}
		nv.Feasible = st.IsSuccess()
		if !nv.Feasible {
			nv.Plugin, nv.Reason, nv.Reasons = st.Plugin(), st.Message(), st.Reasons()
		} else {
			feasible = append(feasible, ni)
		}
		for _, name := range filterNames {
			v := PluginVerdict{Plugin: name, Code: fwk.Skip.String()}
			if pl, ok := sh.plugins[name].(fwk.FilterPlugin); ok && pfStatus.IsSuccess() && !skip.Has(name) {
				s := pl.Filter(ctx, state, pod, ni)
				v.Code, v.Reason = s.Code().String(), s.Message()
			}
			nv.Filters = append(nv.Filters, v)
		}
		a.Nodes = append(a.Nodes, nv)
	}
	if len(feasible) > 0 {
		if err := e.score(ctx, sh, state, pod, feasible, &a); err != nil {
			return err
		}
	} else if pfStatus.Code() != fwk.Error {
		a.Preemption = e.preemption(ctx, sh, state, pod, &a)
	}
	e.reports = append(e.reports, a)
	e.current = &e.reports[len(e.reports)-1]
	e.postFilter = nil
	return nil
}

func (e *explainer) score(ctx context.Context, sh *shadow, state fwk.CycleState, pod *v1.Pod, feasible []fwk.NodeInfo, a *Attempt) error {
	if st := sh.fw.RunPreScorePlugins(ctx, state, pod, feasible); !st.IsSuccess() {
		return st.AsError()
	}
	scores, st := sh.fw.RunScorePlugins(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		return st.AsError()
	}
	byNode := map[string]*NodeVerdict{}
	for i := range a.Nodes {
		byNode[a.Nodes[i].Node] = &a.Nodes[i]
	}
	for i, ns := range scores {
		nv := byNode[ns.Name]
		raw, _ := sh.fw.RunRawScorePlugins(ctx, state, pod, feasible[i])
		rawOf := map[string]int64{}
		for _, r := range raw {
			rawOf[r.Name] = r.Score
		}
		for _, ps := range ns.Scores {
			w := sh.weights[ps.Name]
			norm := ps.Score
			if w > 0 {
				norm = ps.Score / int64(w)
			}
			nv.Scores = append(nv.Scores, PluginScore{Plugin: ps.Name, Raw: rawOf[ps.Name], Normalized: norm, Weight: w, Weighted: ps.Score})
		}
		nv.Total = ns.TotalScore
	}
	// Feasible first by total (then name, for a stable report); the rest by name.
	sort.SliceStable(a.Nodes, func(i, j int) bool {
		x, y := a.Nodes[i], a.Nodes[j]
		if x.Feasible != y.Feasible {
			return x.Feasible
		}
		if x.Total != y.Total {
			return x.Total > y.Total
		}
		return x.Node < y.Node
	})
	a.Best = a.Nodes[0].Node
	for _, n := range a.Nodes {
		if n.Feasible && n.Total == a.Nodes[0].Total {
			a.Ties = append(a.Ties, n.Node)
		}
	}
	if len(a.Ties) == 1 {
		a.Ties = nil
	}
	if len(feasible) > 1 {
		a.RunnerUp, a.Margin = a.Nodes[1].Node, a.Nodes[0].Total-a.Nodes[1].Total
	}
	return nil
}

// preemptionEvaluator is what explain needs of a PostFilter plugin: upstream's
// DefaultPreemption has its Evaluator as a field, berth's QoSAwarePreemption as a
// method.
type evaluatorOwner interface {
	PreemptionEvaluator() *preemption.Evaluator
}

// upstreamRules name the criteria of upstream's pickOneNodeForPreemption, which it
// applies when a preemption plugin returns no OrderedScoreFuncs.
var upstreamRules = []string{"fewest PDB violations", "lowest highest-victim priority", "smallest sum of victim priorities", "fewest victims", "latest start of the highest-priority victims"}

func (e *explainer) preemption(ctx context.Context, sh *shadow, state fwk.CycleState, pod *v1.Pod, a *Attempt) *PreemptionVerdict {
	// The profile's preemption plugin: the PostFilter plugin that has an Evaluator
	// (others, like DynamicResources, only clean up).
	var name string
	var ev *preemption.Evaluator
	for _, p := range sh.fw.ListPlugins().PostFilter.Enabled {
		switch pl := sh.plugins[p.Name].(type) {
		case *defaultpreemption.DefaultPreemption:
			name, ev = p.Name, pl.Evaluator
		case evaluatorOwner:
			name, ev = p.Name, pl.PreemptionEvaluator()
		}
		if ev != nil {
			break
		}
	}
	if ev == nil {
		return nil
	}
	// Like upstream's Evaluator (evaluate, step 0), ask about the preemptor as the
	// informer has it: the queued copy lacks the nomination an earlier attempt gave it,
	// on which PodEligibleToPreemptOthers depends.
	if latest, err := ev.PodLister.Pods(pod.Namespace).Get(pod.Name); err == nil {
		pod = latest
	}
	v := &PreemptionVerdict{Plugin: name}
	statuses := framework.NewDefaultNodeToStatus()
	var potential []fwk.NodeInfo
	all, _ := sh.fw.SnapshotSharedLister().NodeInfos().List()
	for _, n := range a.Nodes {
		code := fwk.UnschedulableAndUnresolvable
		for _, f := range n.Filters {
			if f.Code == fwk.Unschedulable.String() && code == fwk.UnschedulableAndUnresolvable {
				code = fwk.Unschedulable
			}
			if f.Code == fwk.UnschedulableAndUnresolvable.String() {
				code = fwk.UnschedulableAndUnresolvable
				break
			}
		}
		statuses.Set(n.Node, fwk.NewStatus(code, n.Reason))
	}
	if ok, msg := ev.PodEligibleToPreemptOthers(ctx, pod, statuses.Get(pod.Status.NominatedNodeName)); !ok {
		v.Reason = msg
		return v
	}
	v.Eligible = true
	for _, ni := range all {
		if statuses.Get(ni.Node().Name).Code() == fwk.Unschedulable {
			potential = append(potential, ni)
		}
	}
	if len(potential) == 0 {
		v.Reason = "no node would fit the pod even with every lower-priority pod removed"
		return v
	}
	pdbs, _ := ev.PdbLister.List(labels.Everything())
	candidates, _, _ := ev.DryRunPreemption(ctx, state, pod, potential, pdbs, 0, int32(len(potential)))
	if len(candidates) == 0 {
		v.Reason = "evicting the pods this plugin may evict frees no node for the pod"
		return v
	}
	victims := ev.CandidatesToVictimsMap(candidates)
	funcs := ev.OrderedScoreFuncs(ctx, victims)
	v.Rules = upstreamRules
	if len(funcs) == 0 {
		funcs = upstreamScoreFuncs(victims)
	} else if r, ok := sh.plugins[name].(interface{ NodeOrderRules() []string }); ok {
		v.Rules = r.NodeOrderRules()
	} else {
		v.Rules = nil
	}
	for _, c := range candidates {
		cand := Candidate{Node: c.Name(), PDBViolations: c.Victims().NumPDBViolations}
		for _, p := range c.Victims().Pods {
			vi := Victim{Pod: p.Namespace + "/" + p.Name, Priority: corev1helpers.PodPriority(p), QoSClass: qos.GetPodQOS(p)}
			if p.Status.StartTime != nil {
				vi.Started = p.Status.StartTime.Sub(Epoch)
			}
			cand.Victims = append(cand.Victims, vi)
		}
		for _, f := range funcs {
			cand.RuleScores = append(cand.RuleScores, f(c.Name()))
		}
		v.Candidates = append(v.Candidates, cand)
	}
	slices.SortFunc(v.Candidates, func(x, y Candidate) int {
		for i := range x.RuleScores {
			if x.RuleScores[i] != y.RuleScores[i] {
				if x.RuleScores[i] > y.RuleScores[i] {
					return -1
				}
				return 1
			}
		}
		return 0
	})
	if chosen := ev.SelectCandidate(ctx, candidates); chosen != nil {
		v.Chosen = chosen.Name()
	}
	v.DecidedBy = decidingRule(v)
	return v
}

// decidingRule is the first rule after which the top candidate alone is left.
func decidingRule(v *PreemptionVerdict) string {
	if len(v.Candidates) < 2 {
		return ""
	}
	top, next := v.Candidates[0].RuleScores, v.Candidates[1].RuleScores
	for i := range top {
		if top[i] != next[i] {
			if i < len(v.Rules) {
				return v.Rules[i]
			}
			return fmt.Sprintf("rule %d", i+1)
		}
	}
	return "tie (the first candidate in the plugin's own order)"
}

// upstreamScoreFuncs are the criteria of upstream's pickOneNodeForPreemption (unexported
// there), to show how it ranks candidates; the choice itself is SelectCandidate's.
func upstreamScoreFuncs(victims map[string]*extenderv1.Victims) []func(string) int64 {
	return []func(string) int64{
		func(n string) int64 { return -victims[n].NumPDBViolations },
		func(n string) int64 { return -int64(corev1helpers.PodPriority(victims[n].Pods[0])) },
		func(n string) int64 {
			var sum int64
			for _, p := range victims[n].Pods {
				sum += int64(corev1helpers.PodPriority(p)) + int64(math.MaxInt32+1)
			}
			return -sum
		},
		func(n string) int64 { return -int64(len(victims[n].Pods)) },
		func(n string) int64 {
			if t := schedutil.GetEarliestPodStartTime(victims[n]); t != nil {
				return t.UnixNano()
			}
			return math.MinInt64
		},
	}
}

// failed records the scheduler's failure of the attempt being explained (its
// FailureHandler's arguments): when the filters left no node, the status carries the
// FitError with the PostFilter plugins' message, and nominating is what PostFilter
// decided (a node when preemption nominated one; nil, or no node, when it did not).
func (e *explainer) failed(status *fwk.Status, nominating *fwk.NominatingInfo) {
	if e.current == nil {
		return
	}
	var fitErr *framework.FitError
	if !errors.As(status.AsError(), &fitErr) {
		return
	}
	pf := &postFilterOutcome{message: fitErr.Diagnosis.PostFilterMsg}
	if nominating.Mode() == fwk.ModeOverride {
		pf.nominated = nominating.NominatedNodeName
	}
	e.postFilter = pf
}

// after records what the scheduler did in the attempt just explained.
func (e *explainer) after(pod *v1.Pod, events []Event) {
	if e.current == nil {
		return
	}
	o := &e.current.Outcome
	pf := e.postFilter
	switch {
	case pod != nil && pod.Spec.NodeName != "":
		o.Result, o.Node = "bound", pod.Spec.NodeName
	case pf != nil && pf.nominated == "":
		// PostFilter preempted nothing; a nomination the pod holds is an earlier
		// attempt's.
		o.Result = "unschedulable"
		if pod != nil {
			o.KeepsNomination = pod.Status.NominatedNodeName
		}
	case pod != nil && pod.Status.NominatedNodeName != "":
		o.Result, o.Node = "nominated", pod.Status.NominatedNodeName
	default:
		o.Result = "unschedulable"
	}
	if v := e.current.Preemption; v != nil && pf != nil && pf.nominated == "" {
		// The scheduler's PostFilter is the truth: the dry run's candidates are not
		// what happened, and the scheduler's reason replaces the dry run's.
		v.Candidates, v.Chosen, v.DecidedBy, v.Rules = nil, "", "", nil
		if msg := strings.TrimPrefix(pf.message, "preemption: "); msg != "" {
			v.Reason = msg
		}
	}
	for _, ev := range events {
		switch {
		case ev.Reason == "FailedScheduling" && ev.Object == e.target:
			o.Message = ev.Message
		case ev.Reason == "Preempted" && ev.Related == e.target && !slices.Contains(o.Victims, ev.Object):
			o.Victims = append(o.Victims, ev.Object)
		}
	}
	e.current, e.postFilter = nil, nil
}

func names(ps []schedconfig.Plugin) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}
