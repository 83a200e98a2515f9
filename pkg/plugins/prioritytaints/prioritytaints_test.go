package prioritytaints

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/pkg/apis/config"
)

const critical = 1000000

var (
	reservedNoSchedule = v1.Taint{Key: "berth.io/reserved", Value: "critical", Effect: v1.TaintEffectNoSchedule}
	reservedNoExecute  = v1.Taint{Key: "berth.io/reserved", Value: "critical", Effect: v1.TaintEffectNoExecute}
	reservedPrefer     = v1.Taint{Key: "berth.io/reserved", Value: "critical", Effect: v1.TaintEffectPreferNoSchedule}
	otherValue         = v1.Taint{Key: "berth.io/reserved", Value: "batch", Effect: v1.TaintEffectNoSchedule}
	unrelated          = v1.Taint{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}

	tolerateReserved = v1.Toleration{Key: "berth.io/reserved", Operator: v1.TolerationOpEqual, Value: "critical"}
	tolerateAll      = v1.Toleration{Operator: v1.TolerationOpExists}
	tolerateOther    = v1.Toleration{Key: "berth.io/reserved", Operator: v1.TolerationOpEqual, Value: "batch", Effect: v1.TaintEffectNoSchedule}
	tolerateGPU      = v1.Toleration{Key: "dedicated", Operator: v1.TolerationOpExists}
)

func cfgRule(key, value string, min int32) config.PriorityTaintRule {
	return config.PriorityTaintRule{Key: key, Value: value, MinPriority: ptr.To(min)}
}

// defaultFeatures are the features a kube-scheduler v1.37 without --feature-gates hands
// the plugin, as far as it reads them (TaintTolerationComparisonOperators is alpha, off).
var defaultFeatures = plfeature.Features{}

// newPlugin builds the plugin as a kube-scheduler without --feature-gates would.
func newPlugin(t testing.TB, rules ...config.PriorityTaintRule) *PriorityTaints {
	t.Helper()
	return newPluginWith(t, defaultFeatures, rules...)
}

func newPluginWith(t testing.TB, fts plfeature.Features, rules ...config.PriorityTaintRule) *PriorityTaints {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	raw, err := json.Marshal(config.PriorityTaintsArgs{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(ctx, &runtime.Unknown{Raw: raw}, nil, fts)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*PriorityTaints)
}

func nodeInfo(name string, taints ...v1.Taint) fwk.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(st.MakeNode().Name(name).Taints(taints).Obj())
	return ni
}

func pod(priority *int32, tolerations ...v1.Toleration) *v1.Pod {
	p := st.MakePod().Name("p").Namespace("ns").Obj()
	p.Spec.Priority = priority
	p.Spec.Tolerations = tolerations
	return p
}

func TestFilter(t *testing.T) {
	defaultRules := []config.PriorityTaintRule{cfgRule("berth.io/reserved", "critical", critical)}
	tests := []struct {
		name   string
		rules  []config.PriorityTaintRule
		pod    *v1.Pod
		taints []v1.Taint
		// wantSkip: PreFilter skips Filter for this pod.
		wantSkip bool
		wantCode fwk.Code
		wantMsg  string
	}{
		{
			name:     "a low-priority pod that tolerates a reserved NoSchedule taint is rejected, naming taint and bound",
			pod:      pod(ptr.To[int32](1000), tolerateReserved),
			taints:   []v1.Taint{reservedNoSchedule},
			wantCode: fwk.UnschedulableAndUnresolvable,
			wantMsg:  "node taint berth.io/reserved=critical:NoSchedule is reserved for pods with priority >= 1000000",
		},
		{
			name:     "a reserved NoExecute taint is reserved too",
			pod:      pod(ptr.To[int32](1000), tolerateReserved),
			taints:   []v1.Taint{reservedNoExecute},
			wantCode: fwk.UnschedulableAndUnresolvable,
			wantMsg:  "node taint berth.io/reserved=critical:NoExecute is reserved for pods with priority >= 1000000",
		},
		{
			name:     "a catch-all Exists toleration does not get a low-priority pod in either",
			pod:      pod(ptr.To[int32](0), tolerateAll),
			taints:   []v1.Taint{unrelated, reservedNoSchedule},
			wantCode: fwk.UnschedulableAndUnresolvable,
			wantMsg:  "node taint berth.io/reserved=critical:NoSchedule",
		},
		{
			name:     "a pod without priority counts as priority 0",
			pod:      pod(nil, tolerateReserved),
			taints:   []v1.Taint{reservedNoSchedule},
			wantCode: fwk.UnschedulableAndUnresolvable,
		},
		{
			name:     "a pod one below minPriority is rejected",
			pod:      pod(ptr.To[int32](critical-1), tolerateReserved),
			taints:   []v1.Taint{reservedNoSchedule},
			wantCode: fwk.UnschedulableAndUnresolvable,
		},
		{
			name:     "a pod at exactly minPriority skips the filter",
			pod:      pod(ptr.To[int32](critical), tolerateReserved),
			taints:   []v1.Taint{reservedNoSchedule},
			wantSkip: true,
		},
		{
			name:     "a system-critical pod skips the filter",
			pod:      pod(ptr.To[int32](2000001000), tolerateReserved),
			taints:   []v1.Taint{reservedNoSchedule},
			wantSkip: true,
		},
		{
			name:     "a low-priority pod that tolerates no reserved key skips the filter: upstream TaintToleration rejects the taint",
			pod:      pod(ptr.To[int32](1000), tolerateGPU),
			taints:   []v1.Taint{reservedNoSchedule},
			wantSkip: true,
		},
		{
			name:     "a low-priority pod without tolerations skips the filter",
			pod:      pod(ptr.To[int32](0)),
			taints:   []v1.Taint{reservedNoSchedule},
			wantSkip: true,
		},
		{
			name:   "a taint with another value is not matched by a rule with a value",
			pod:    pod(ptr.To[int32](1000), tolerateOther),
			taints: []v1.Taint{otherValue},
		},
		{
			name:     "a rule without value matches the key with any value",
			rules:    []config.PriorityTaintRule{cfgRule("berth.io/reserved", "", 5000)},
			pod:      pod(ptr.To[int32](1000), tolerateOther),
			taints:   []v1.Taint{otherValue},
			wantCode: fwk.UnschedulableAndUnresolvable,
			wantMsg:  "node taint berth.io/reserved=batch:NoSchedule is reserved for pods with priority >= 5000",
		},
		{
			name:     "a taint without value prints as key:effect",
			rules:    []config.PriorityTaintRule{cfgRule("berth.io/reserved", "", 5000)},
			pod:      pod(ptr.To[int32](1000), tolerateAll),
			taints:   []v1.Taint{{Key: "berth.io/reserved", Effect: v1.TaintEffectNoSchedule}},
			wantCode: fwk.UnschedulableAndUnresolvable,
			wantMsg:  "node taint berth.io/reserved:NoSchedule is reserved for pods with priority >= 5000",
		},
		{
			name:   "a reserved PreferNoSchedule taint does not filter",
			pod:    pod(ptr.To[int32](1000), tolerateReserved),
			taints: []v1.Taint{reservedPrefer},
		},
		{
			name:   "an untainted node passes",
			pod:    pod(ptr.To[int32](1000), tolerateReserved),
			taints: nil,
		},
		{
			name: "when two rules match a taint the message names the higher bound",
			rules: []config.PriorityTaintRule{
				cfgRule("berth.io/reserved", "", 5000),
				cfgRule("berth.io/reserved", "critical", critical),
			},
			pod:      pod(ptr.To[int32](1000), tolerateReserved),
			taints:   []v1.Taint{reservedNoSchedule},
			wantCode: fwk.UnschedulableAndUnresolvable,
			wantMsg:  "is reserved for pods with priority >= 1000000",
		},
		{
			name: "a pod between two bounds is bound only by the higher rule",
			rules: []config.PriorityTaintRule{
				cfgRule("berth.io/reserved", "batch", 500),
				cfgRule("berth.io/reserved", "critical", critical),
			},
			pod:    pod(ptr.To[int32](1000), tolerateOther),
			taints: []v1.Taint{otherValue},
		},
		{
			name:     "no rules: every pod skips the filter",
			rules:    []config.PriorityTaintRule{},
			pod:      pod(ptr.To[int32](-5), tolerateAll),
			taints:   []v1.Taint{reservedNoSchedule},
			wantSkip: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			rules := tt.rules
			if rules == nil {
				rules = defaultRules
			}
			pl := newPlugin(t, rules...)
			cs := framework.NewCycleState()
			ni := nodeInfo("n1", tt.taints...)
			_, s := pl.PreFilter(ctx, cs, tt.pod, []fwk.NodeInfo{ni})
			if tt.wantSkip {
				if !s.IsSkip() {
					t.Fatalf("PreFilter = %v, want Skip", s)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatalf("PreFilter = %v, want Success", s)
			}
			got := pl.Filter(ctx, cs, tt.pod, ni)
			if got.Code() != tt.wantCode {
				t.Fatalf("Filter = %v, want code %v", got, tt.wantCode)
			}
			if tt.wantMsg != "" && !strings.Contains(got.Message(), tt.wantMsg) {
				t.Errorf("Filter message %q lacks %q", got.Message(), tt.wantMsg)
			}
		})
	}
}

func TestFilterWithoutPreFilterIsAnError(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, cfgRule("berth.io/reserved", "", 1))
	s := pl.Filter(ctx, framework.NewCycleState(), pod(nil), nodeInfo("n1"))
	if s.Code() != fwk.Error {
		t.Fatalf("Filter = %v, want Error", s)
	}
}

func TestScore(t *testing.T) {
	rules := []config.PriorityTaintRule{
		cfgRule("berth.io/reserved", "critical", critical),
		cfgRule("berth.io/soft", "", critical),
	}
	nodes := []fwk.NodeInfo{
		nodeInfo("plain"),
		nodeInfo("one-reserved", reservedPrefer),
		nodeInfo("two-reserved", reservedPrefer, v1.Taint{Key: "berth.io/soft", Value: "x", Effect: v1.TaintEffectPreferNoSchedule}),
		nodeInfo("unrelated-prefer", v1.Taint{Key: "dedicated", Effect: v1.TaintEffectPreferNoSchedule}),
		nodeInfo("reserved-noschedule-only", reservedNoSchedule),
	}
	tests := []struct {
		name     string
		pod      *v1.Pod
		wantSkip bool
		want     fwk.NodeScoreList
	}{
		{
			name: "a low-priority pod prefers nodes with fewer reserved PreferNoSchedule taints, tolerated or not",
			pod:  pod(ptr.To[int32](1000), tolerateAll),
			want: fwk.NodeScoreList{
				{Name: "plain", Score: 100},
				{Name: "one-reserved", Score: 50},
				{Name: "two-reserved", Score: 0},
				{Name: "unrelated-prefer", Score: 100},
				{Name: "reserved-noschedule-only", Score: 100},
			},
		},
		{
			name: "a low-priority pod without tolerations scores the same",
			pod:  pod(ptr.To[int32](1000)),
			want: fwk.NodeScoreList{
				{Name: "plain", Score: 100},
				{Name: "one-reserved", Score: 50},
				{Name: "two-reserved", Score: 0},
				{Name: "unrelated-prefer", Score: 100},
				{Name: "reserved-noschedule-only", Score: 100},
			},
		},
		{
			name:     "a critical pod is indifferent: PreScore skips Score",
			pod:      pod(ptr.To[int32](critical), tolerateAll),
			wantSkip: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pl := newPlugin(t, rules...)
			cs := framework.NewCycleState()
			s := pl.PreScore(ctx, cs, tt.pod, nodes)
			if tt.wantSkip {
				if !s.IsSkip() {
					t.Fatalf("PreScore = %v, want Skip", s)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatalf("PreScore = %v", s)
			}
			var got fwk.NodeScoreList
			for _, ni := range nodes {
				score, s := pl.Score(ctx, cs, tt.pod, ni)
				if !s.IsSuccess() {
					t.Fatalf("Score(%s) = %v", ni.Node().Name, s)
				}
				got = append(got, fwk.NodeScore{Name: ni.Node().Name, Score: score})
			}
			if s := pl.NormalizeScore(ctx, cs, tt.pod, got); !s.IsSuccess() {
				t.Fatalf("NormalizeScore = %v", s)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("scores (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNoReservedPreferNoScheduleTaintAmongTheNodesSkipsScore: Score would give every
// node the same, so PreScore skips it; a reserved NoSchedule taint, an unrelated
// PreferNoSchedule taint, or a reserved one on a node not among those scored do not count.
func TestNoReservedPreferNoScheduleTaintAmongTheNodesSkipsScore(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, cfgRule("berth.io/reserved", "", critical))
	p := pod(nil, tolerateAll)
	nodes := []fwk.NodeInfo{
		nodeInfo("a"),
		nodeInfo("b", unrelated, v1.Taint{Key: "dedicated", Effect: v1.TaintEffectPreferNoSchedule}),
		nodeInfo("c", reservedNoSchedule),
		framework.NewNodeInfo(), // a node already deleted
	}
	if s := pl.PreScore(ctx, framework.NewCycleState(), p, nodes); !s.IsSkip() {
		t.Fatalf("PreScore = %v, want Skip", s)
	}
	// The same pod with one more node to score, one that has a reserved PreferNoSchedule
	// taint: the nodes now differ, and each is scored.
	cs := framework.NewCycleState()
	nodes = append(nodes[:3:3], nodeInfo("d", reservedPrefer))
	if s := pl.PreScore(ctx, cs, p, nodes); !s.IsSuccess() {
		t.Fatalf("PreScore = %v, want Success", s)
	}
	scores := fwk.NodeScoreList{}
	for _, ni := range nodes {
		sc, _ := pl.Score(ctx, cs, p, ni)
		scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: sc})
	}
	_ = pl.NormalizeScore(ctx, cs, p, scores)
	want := fwk.NodeScoreList{{Name: "a", Score: 100}, {Name: "b", Score: 100}, {Name: "c", Score: 100}, {Name: "d", Score: 0}}
	if diff := cmp.Diff(want, scores); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
}

// TestPreFilterSkipsOnlyPodsFilterPassesEverywhere: PreFilter's shortcut on tolerations
// never skips a pod that Filter would reject on some node, for every pairing of a set
// of tolerations (catch-all, by key, by key and value, by effect, Gt, other keys) with
// a set of taints (reserved with each effect and value, unrelated).
func TestPreFilterSkipsOnlyPodsFilterPassesEverywhere(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	logger := klog.FromContext(ctx)
	tolerations := []v1.Toleration{
		tolerateReserved, tolerateAll, tolerateOther, tolerateGPU,
		{Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule},
		{Key: "berth.io/reserved", Operator: v1.TolerationOpExists},
		{Key: "berth.io/soft", Operator: v1.TolerationOpExists},
		{Key: "berth.io/reserved", Operator: v1.TolerationOpGt, Value: "1"},
	}
	taints := []v1.Taint{reservedNoSchedule, reservedNoExecute, reservedPrefer, otherValue, unrelated,
		{Key: "berth.io/soft", Value: "7", Effect: v1.TaintEffectNoExecute}}
	for _, fts := range []plfeature.Features{{}, {EnableTaintTolerationComparisonOperators: true}} {
		pl := newPluginWith(t, fts, cfgRule("berth.io/reserved", "critical", critical), cfgRule("berth.io/soft", "", 5000))
		// Every subset of up to two tolerations.
		for i := -1; i < len(tolerations); i++ {
			for j := i; j < len(tolerations); j++ {
				var tols []v1.Toleration
				if i >= 0 {
					tols = append(tols, tolerations[i])
				}
				if j > i {
					tols = append(tols, tolerations[j])
				}
				p := pod(ptr.To[int32](100), tols...)
				_, s := pl.PreFilter(ctx, framework.NewCycleState(), p, nil)
				for k := range taints {
					tainted, _ := pl.reservedTolerated(logger, taints[k:k+1], tols, pl.bindingRules(p))
					if s.IsSkip() && tainted != nil {
						t.Errorf("gates %+v: PreFilter skips a pod with tolerations %v that Filter rejects on a node with taint %v", fts, tols, taints[k].ToString())
					}
				}
			}
		}
	}
}

func TestIsSchedulableAfterNodeChange(t *testing.T) {
	node := func(taints ...v1.Taint) *v1.Node { return st.MakeNode().Name("n").Taints(taints).Obj() }
	low := pod(ptr.To[int32](1000), tolerateReserved)
	tests := []struct {
		name     string
		pod      *v1.Pod
		old, new *v1.Node
		want     fwk.QueueingHint
	}{
		{name: "a new node without reserved taints queues", pod: low, new: node(), want: fwk.Queue},
		{name: "a new node with a reserved taint the pod tolerates is skipped", pod: low, new: node(reservedNoSchedule), want: fwk.QueueSkip},
		{name: "removing the reserved taint queues", pod: low, old: node(reservedNoSchedule), new: node(), want: fwk.Queue},
		{name: "changing the reserved taint's value queues", pod: low, old: node(reservedNoSchedule), new: node(otherValue), want: fwk.Queue},
		{name: "an unrelated taint change on a reserved node is skipped", pod: low, old: node(reservedNoSchedule), new: node(reservedNoSchedule, unrelated), want: fwk.QueueSkip},
		{name: "a change on a node that never had a reserved taint is skipped", pod: low, old: node(), new: node(unrelated), want: fwk.QueueSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, _ := ktesting.NewTestContext(t)
			pl := newPlugin(t, cfgRule("berth.io/reserved", "critical", critical))
			var oldObj interface{}
			if tt.old != nil {
				oldObj = tt.old
			}
			got, err := pl.isSchedulableAfterNodeChange(logger, tt.pod, oldObj, tt.new)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("hint = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEventsToRegister(t *testing.T) {
	pl := newPlugin(t)
	events, err := pl.EventsToRegister(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Event.Resource != fwk.Node || events[0].Event.ActionType != fwk.Add|fwk.UpdateNodeTaint {
		t.Errorf("events = %+v, want node Add|UpdateNodeTaint", events)
	}
}

func TestSignPod(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, cfgRule("a", "", 100), cfgRule("b", "", 1000))
	sign := func(p *v1.Pod) []fwk.SignFragment {
		f, s := pl.SignPod(ctx, p)
		if !s.IsSuccess() {
			t.Fatal(s)
		}
		return f
	}
	if diff := cmp.Diff(sign(pod(ptr.To[int32](1))), sign(pod(ptr.To[int32](99)))); diff != "" {
		t.Errorf("pods bound by the same rules sign differently:\n%s", diff)
	}
	if cmp.Equal(sign(pod(ptr.To[int32](99))), sign(pod(ptr.To[int32](100)))) {
		t.Error("pods bound by different rules sign the same")
	}
	if cmp.Equal(sign(pod(nil)), sign(pod(nil, tolerateAll))) {
		t.Error("pods with different tolerations sign the same")
	}
}

func TestNewRejectsInvalidArgs(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	_, err := New(ctx, &runtime.Unknown{Raw: []byte(`{"rules":[{"key":"berth.io/reserved","minPriority":1,"effct":"x"}]}`)}, nil, defaultFeatures)
	if err == nil || !strings.Contains(err.Error(), `unknown field effct`) {
		t.Errorf("New error = %v, want unknown field", err)
	}
	_, err = New(ctx, &runtime.Unknown{Raw: []byte(`{"rules":[{"key":"berth.io/reserved"}]}`)}, nil, defaultFeatures)
	if err == nil || !strings.Contains(err.Error(), "PriorityTaints: args.rules[0].minPriority: Required value") {
		t.Errorf("New error = %v, want minPriority required", err)
	}
}

func TestOddPodsDoNotPanic(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, cfgRule("berth.io/reserved", "", critical))
	empty := &v1.Pod{}
	ni := nodeInfo("n", reservedNoSchedule, reservedPrefer)
	cs := framework.NewCycleState()
	// A pod without tolerations skips Filter: it tolerates no reserved taint.
	if _, s := pl.PreFilter(ctx, cs, empty, nil); !s.IsSkip() {
		t.Fatal(s)
	}
	if s := pl.PreScore(ctx, cs, empty, nil); !s.IsSkip() {
		t.Fatalf("PreScore with no nodes = %v, want Skip", s)
	}
	if s := pl.PreScore(ctx, cs, empty, []fwk.NodeInfo{ni}); !s.IsSuccess() {
		t.Fatal(s)
	}
	if _, s := pl.Score(ctx, cs, empty, ni); !s.IsSuccess() {
		t.Fatal(s)
	}
	if _, s := pl.SignPod(ctx, empty); !s.IsSuccess() {
		t.Fatal(s)
	}
}

// TestFeatureGates: New takes the scheduler's features as upstream plugins do, and the
// TaintTolerationComparisonOperators gate decides, as in TaintToleration, whether a Gt
// or Lt toleration tolerates a reserved taint at all.
func TestFeatureGates(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	low := pod(ptr.To[int32](0), v1.Toleration{Key: "berth.io/tier", Operator: v1.TolerationOpGt, Value: "3"})
	tier5 := nodeInfo("n1", v1.Taint{Key: "berth.io/tier", Value: "5", Effect: v1.TaintEffectNoSchedule})
	for _, enabled := range []bool{true, false} {
		pl := newPluginWith(t, plfeature.Features{EnableTaintTolerationComparisonOperators: enabled}, cfgRule("berth.io/tier", "", critical))
		cs := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, cs, low, nil); !s.IsSuccess() {
			t.Fatal(s)
		}
		// With the operators the Gt toleration tolerates the reserved taint, so the
		// low-priority pod is rejected; without, it tolerates nothing and the pod is
		// TaintToleration's to reject.
		if rejected := !pl.Filter(ctx, cs, low, tier5).IsSuccess(); rejected != enabled {
			t.Errorf("TaintTolerationComparisonOperators %v: Filter rejects the pod: %v", enabled, rejected)
		}
	}
}

// TestPodWhoseResizeIsDeferredSkipsTheFilter: with InPlacePodVerticalScalingSchedulerPreemption
// the scheduler re-judges a running pod whose resize the kubelet deferred, on its own
// node; like TaintToleration, PriorityTaints has nothing to say about a resize.
func TestPodWhoseResizeIsDeferredSkipsTheFilter(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	// A low-priority pod already on a reserved node (placed before the rule existed).
	running := pod(ptr.To[int32](0), tolerateReserved)
	running.Spec.NodeName = "n1"
	running.Status.Conditions = []v1.PodCondition{{Type: v1.PodResizePending, Status: v1.ConditionTrue, Reason: v1.PodReasonDeferred}}
	rule := cfgRule("berth.io/reserved", "", critical)

	judged := newPluginWith(t, plfeature.Features{EnableInPlacePodVerticalScalingSchedulerPreemption: true}, rule)
	if _, s := judged.PreFilter(ctx, framework.NewCycleState(), running, nil); !s.IsSkip() {
		t.Errorf("with the scheduler judging deferred resizes: PreFilter = %v, want Skip", s)
	}
	plain := newPluginWith(t, plfeature.Features{}, rule)
	cs := framework.NewCycleState()
	if _, s := plain.PreFilter(ctx, cs, running, nil); !s.IsSuccess() {
		t.Fatalf("without it: PreFilter = %v, want the pod filtered as any other", s)
	}
	if s := plain.Filter(ctx, cs, running, nodeInfo("n1", reservedNoSchedule)); s.Code() != fwk.UnschedulableAndUnresolvable {
		t.Errorf("without it: Filter = %v, want UnschedulableAndUnresolvable", s)
	}
}
