package qosplacement

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/pkg/plugins/internal/resize"
)

const gi = int64(1) << 30

type res = map[v1.ResourceName]string

// container builds a container requesting req and limited at lim (either may be nil).
func container(name string, req, lim res) v1.Container {
	c := st.MakeContainer().Name(name).Image("pause").Obj()
	c.Resources = v1.ResourceRequirements{Requests: list(req), Limits: list(lim)}
	return c
}

func list(r res) v1.ResourceList {
	if len(r) == 0 {
		return nil
	}
	l := v1.ResourceList{}
	for k, v := range r {
		l[k] = resource.MustParse(v)
	}
	return l
}

var uid int

// podOf is a pod with the given containers and a unique UID.
func podOf(cs ...v1.Container) *st.PodWrapper {
	uid++
	name := fmt.Sprintf("p%d", uid)
	return st.MakePod().Name(name).Namespace("ns").UID(name).Containers(cs)
}

// burstable is a Burstable pod requesting 1Gi of memory, limited at lim.
func burstable(lim string) *v1.Pod {
	return podOf(container("app", res{"cpu": "100m", "memory": "1Gi"}, res{"memory": lim})).Obj()
}

func guaranteed(mem string) *v1.Pod {
	return podOf(container("app", res{"cpu": "1", "memory": mem}, res{"cpu": "1", "memory": mem})).Obj()
}

func bestEffort() *v1.Pod { return podOf(container("app", nil, nil)).Obj() }

func nodeInfo(name, memory string, pods ...*v1.Pod) fwk.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(st.MakeNode().Name(name).Capacity(res{"cpu": "64", "memory": memory}).Obj())
	return ni
}

// defaultFeatures are the features a kube-scheduler v1.37 without --feature-gates hands
// the plugin, as far as it reads them.
var defaultFeatures = plfeature.Features{
	EnablePodLevelResources:                       true,
	EnableInPlacePodVerticalScaling:               true,
	EnableInPlacePodLevelResourcesVerticalScaling: true,
}

// newPlugin builds the plugin as a kube-scheduler without --feature-gates would.
func newPlugin(t testing.TB, args string) *QoSPlacement {
	t.Helper()
	return newPluginWith(t, defaultFeatures, args)
}

func newPluginWith(t testing.TB, fts plfeature.Features, args string) *QoSPlacement {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	var obj runtime.Object
	if args != "" {
		obj = &runtime.Unknown{Raw: []byte(args)}
	}
	p, err := New(ctx, obj, nil, fts)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*QoSPlacement)
}

// guard runs PreFilter, which must not skip the pod, then Filter on ni.
func guard(t *testing.T, pl *QoSPlacement, pod *v1.Pod, ni fwk.NodeInfo) *fwk.Status {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, []fwk.NodeInfo{ni}); !s.IsSuccess() {
		t.Fatalf("PreFilter = %v", s)
	}
	return pl.Filter(ctx, cs, pod, ni)
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name     string
		args     string
		pod      *v1.Pod
		node     fwk.NodeInfo
		wantSkip bool
		wantCode fwk.Code
		wantMsg  string
	}{
		{
			name:     "a Burstable pod that would bring limits above 150% of allocatable is rejected with the totals",
			pod:      burstable("4Gi"),
			node:     nodeInfo("n", "8Gi", burstable("4Gi"), burstable("4Gi"), burstable("4Gi")),
			wantCode: fwk.Unschedulable,
			wantMsg:  "memory limits on node would reach 16Gi of 12Gi allowed (150 percent of allocatable 8Gi)",
		},
		{
			name: "reaching exactly 150% passes",
			pod:  burstable("4Gi"),
			node: nodeInfo("n", "8Gi", burstable("4Gi"), burstable("4Gi")),
		},
		{
			name:     "one byte above 150% is rejected",
			pod:      burstable(fmt.Sprint(4*gi + 1)),
			node:     nodeInfo("n", "8Gi", burstable("4Gi"), burstable("4Gi")),
			wantCode: fwk.Unschedulable,
		},
		{
			name: "a container on the node without a memory limit counts at its request",
			pod:  burstable("4Gi"),
			node: nodeInfo("n", "8Gi", burstable("4Gi"),
				podOf(container("app", res{"memory": "5Gi"}, res{"cpu": "1"})).Obj()),
			wantCode: fwk.Unschedulable,
			wantMsg:  "would reach 13Gi of 12Gi allowed",
		},
		{
			name: "the incoming pod's container without a memory limit counts at its request",
			pod: podOf(container("a", res{"memory": "3Gi"}, nil),
				container("b", res{"memory": "1Gi"}, res{"memory": "2Gi"})).Obj(),
			node:     nodeInfo("n", "8Gi", burstable("4Gi"), burstable("4Gi")),
			wantCode: fwk.Unschedulable,
			wantMsg:  "would reach 13Gi of 12Gi allowed",
		},
		{
			name: "BestEffort pods on the node count nothing",
			pod:  burstable("4Gi"),
			node: nodeInfo("n", "8Gi", burstable("4Gi"), burstable("4Gi"), bestEffort(), bestEffort()),
		},
		{
			name:     "Guaranteed pods on the node count their limits",
			pod:      burstable("4Gi"),
			node:     nodeInfo("n", "8Gi", guaranteed("6Gi"), burstable("3Gi")),
			wantCode: fwk.Unschedulable,
			wantMsg:  "would reach 13Gi of 12Gi allowed",
		},
		{
			name: "an init container counts as the pod's peak, as upstream PodLimits has it",
			pod:  burstable("1Gi"),
			node: nodeInfo("n", "8Gi", burstable("4Gi"),
				podOf(container("app", res{"memory": "1Gi"}, res{"memory": "1Gi"})).
					InitReq(res{"memory": "8Gi"}).Obj()),
			wantCode: fwk.Unschedulable,
			wantMsg:  "would reach 13Gi of 12Gi allowed",
		},
		{
			name: "a sidecar adds to the pod's containers, as upstream PodLimits has it",
			pod:  burstable("1Gi"),
			node: nodeInfo("n", "8Gi", burstable("4Gi"),
				podOf(container("app", res{"memory": "1Gi"}, res{"memory": "4Gi"})).
					SidecarReq(res{"memory": "4Gi"}).Obj()),
			wantCode: fwk.Unschedulable,
			wantMsg:  "would reach 13Gi of 12Gi allowed",
		},
		{
			name: "pod overhead adds to a pod's limit",
			pod:  burstable("1Gi"),
			node: nodeInfo("n", "8Gi", burstable("4Gi"),
				podOf(container("app", res{"memory": "1Gi"}, res{"memory": "7Gi"})).
					Overhead(v1.ResourceList{v1.ResourceMemory: resource.MustParse("1Gi")}).Obj()),
			wantCode: fwk.Unschedulable,
			wantMsg:  "would reach 13Gi of 12Gi allowed",
		},
		{
			name:     "at 100% the limits may only add up to allocatable",
			args:     `{"maxMemoryLimitOvercommitPercent": 100}`,
			pod:      burstable("4Gi"),
			node:     nodeInfo("n", "8Gi", burstable("4Gi"), burstable("1Gi")),
			wantCode: fwk.Unschedulable,
			wantMsg:  "memory limits on node would reach 9Gi of 8Gi allowed (100 percent of allocatable 8Gi)",
		},
		{
			name:     "a Guaranteed pod is never rejected: it skips the filter",
			pod:      guaranteed("4Gi"),
			node:     nodeInfo("n", "8Gi", burstable("40Gi")),
			wantSkip: true,
		},
		{
			name:     "a BestEffort pod is never rejected: it skips the filter",
			pod:      bestEffort(),
			node:     nodeInfo("n", "8Gi", burstable("40Gi")),
			wantSkip: true,
		},
		{
			name:     "the guard is off at 0",
			args:     `{"maxMemoryLimitOvercommitPercent": 0}`,
			pod:      burstable("40Gi"),
			node:     nodeInfo("n", "8Gi", burstable("40Gi")),
			wantSkip: true,
		},
		{
			name:     "a node without allocatable memory rejects any memory limit, for good",
			pod:      burstable("1"),
			node:     nodeInfo("n", "0"),
			wantCode: fwk.UnschedulableAndUnresolvable,
			wantMsg:  "pod's memory limit 1 exceeds the 0 allowed on the node even when empty (150 percent of allocatable 0)",
		},
		{
			name:     "a pod whose own limit is above the bound is unresolvable: no eviction makes room",
			pod:      burstable("13Gi"),
			node:     nodeInfo("n", "8Gi", burstable("1Gi")),
			wantCode: fwk.UnschedulableAndUnresolvable,
			wantMsg:  "pod's memory limit 13Gi exceeds the 12Gi allowed on the node even when empty (150 percent of allocatable 8Gi)",
		},
		{
			name:     "a pod whose own limit is exactly the bound waits for evictions (Unschedulable)",
			pod:      burstable("12Gi"),
			node:     nodeInfo("n", "8Gi", burstable("1Gi")),
			wantCode: fwk.Unschedulable,
			wantMsg:  "memory limits on node would reach 13Gi of 12Gi allowed (150 percent of allocatable 8Gi)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pl := newPlugin(t, tt.args)
			cs := framework.NewCycleState()
			_, s := pl.PreFilter(ctx, cs, tt.pod, []fwk.NodeInfo{tt.node})
			if tt.wantSkip {
				if !s.IsSkip() {
					t.Fatalf("PreFilter = %v, want Skip", s)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatalf("PreFilter = %v", s)
			}
			got := pl.Filter(ctx, cs, tt.pod, tt.node)
			if got.Code() != tt.wantCode {
				t.Fatalf("Filter = %v, want code %v", got, tt.wantCode)
			}
			if !strings.Contains(got.Message(), tt.wantMsg) {
				t.Errorf("Filter message %q lacks %q", got.Message(), tt.wantMsg)
			}
			if strings.Contains(got.Message(), "%") {
				t.Errorf("Filter message %q contains %%: the FailedScheduling event, formatted with it, would be mangled", got.Message())
			}
		})
	}
}

// TestFilterFollowsTheNodeInfoItIsGiven covers preemption's dry run and nominated pods:
// the framework hands Filter a clone with pods removed or added, and the cached limits
// must not make Filter answer for the original.
func TestFilterFollowsTheNodeInfoItIsGiven(t *testing.T) {
	logger, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, "")
	victim := burstable("4Gi")
	node := nodeInfo("n", "8Gi", burstable("4Gi"), victim, burstable("4Gi"))
	incoming := burstable("4Gi")
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, incoming, []fwk.NodeInfo{node}); !s.IsSuccess() {
		t.Fatal(s)
	}
	if s := pl.Filter(ctx, cs, incoming, node); s.Code() != fwk.Unschedulable {
		t.Fatalf("full node: Filter = %v, want Unschedulable", s)
	}
	clone := node.Snapshot()
	if err := clone.RemovePod(logger, victim); err != nil {
		t.Fatal(err)
	}
	if s := pl.Filter(ctx, cs, incoming, clone); !s.IsSuccess() {
		t.Errorf("clone without the victim: Filter = %v, want Success", s)
	}
	if s := pl.Filter(ctx, cs, incoming, node); s.Code() != fwk.Unschedulable {
		t.Errorf("original after the dry run: Filter = %v, want Unschedulable", s)
	}
	nominated := node.Snapshot()
	if err := nominated.RemovePod(logger, victim); err != nil {
		t.Fatal(err)
	}
	pi, err := framework.NewPodInfo(burstable("5Gi"))
	if err != nil {
		t.Fatal(err)
	}
	nominated.AddPodInfo(pi)
	if s := pl.Filter(ctx, cs, incoming, nominated); s.Code() != fwk.Unschedulable {
		t.Errorf("clone with a nominated pod in the victim's place: Filter = %v, want Unschedulable", s)
	}
}

// TestConcurrentFilterAndScore runs Filter and Score from several goroutines, as the
// framework does, over nodes whose memos keep changing (run with -race).
func TestConcurrentFilterAndScore(t *testing.T) {
	logger, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, "")
	pl.limits.minSweep, pl.limits.sweepAbove = 8, 8
	var nodes []fwk.NodeInfo
	for i := 0; i < 8; i++ {
		ni := nodeInfo(fmt.Sprintf("n%d", i), "64Gi", burstable("1Gi"), guaranteed("1Gi"), bestEffort())
		clone := ni.Snapshot()
		if err := clone.RemovePod(logger, ni.GetPods()[0].GetPod()); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, ni, clone)
	}
	p := burstable("1Gi")
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, p, nodes); !s.IsSuccess() {
		t.Fatal(s)
	}
	_ = pl.PreScore(ctx, cs, p, nodes)
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				ni := nodes[(i+g)%len(nodes)]
				if s := pl.Filter(ctx, cs, p, ni); !s.IsSuccess() {
					t.Errorf("Filter = %v", s)
					return
				}
				pl.Score(ctx, cs, p, ni)
				if i%50 == 0 {
					pl.limits.maintain(nodes[:len(nodes)/2])
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

func TestFilterWithoutPreFilterIsAnError(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, "")
	if s := pl.Filter(ctx, framework.NewCycleState(), burstable("1Gi"), nodeInfo("n", "1Gi")); s.Code() != fwk.Error {
		t.Fatalf("Filter = %v, want Error", s)
	}
}

func TestScore(t *testing.T) {
	// big has more slack in bytes (16Gi) but its neighbours may burst into 75% of it;
	// small has less slack (6Gi) but limits on only 25% of it.
	nodes := []fwk.NodeInfo{
		nodeInfo("big", "64Gi", burstable("48Gi")),
		nodeInfo("small", "8Gi", burstable("2Gi")),
		nodeInfo("overcommitted", "8Gi", burstable("10Gi")),
		nodeInfo("empty", "4Gi"),
	}
	tests := []struct {
		name string
		pod  *v1.Pod
		want fwk.NodeScoreList
	}{
		{
			name: "a BestEffort pod prefers the most memory slack in bytes",
			pod:  bestEffort(),
			want: fwk.NodeScoreList{{Name: "big", Score: 100}, {Name: "small", Score: 37}, {Name: "overcommitted", Score: 0}, {Name: "empty", Score: 25}},
		},
		{
			name: "a Burstable pod prefers the most memory slack in bytes",
			pod:  burstable("2Gi"),
			want: fwk.NodeScoreList{{Name: "big", Score: 100}, {Name: "small", Score: 37}, {Name: "overcommitted", Score: 0}, {Name: "empty", Score: 25}},
		},
		{
			name: "a Guaranteed pod prefers the lowest limits relative to allocatable",
			pod:  guaranteed("1Gi"),
			want: fwk.NodeScoreList{{Name: "big", Score: 25}, {Name: "small", Score: 75}, {Name: "overcommitted", Score: 0}, {Name: "empty", Score: 100}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pl := newPlugin(t, "")
			cs := framework.NewCycleState()
			if s := pl.PreScore(ctx, cs, tt.pod, nodes); !s.IsSuccess() {
				t.Fatal(s)
			}
			var got fwk.NodeScoreList
			for _, ni := range nodes {
				sc, s := pl.Score(ctx, cs, tt.pod, ni)
				if !s.IsSuccess() {
					t.Fatal(s)
				}
				got = append(got, fwk.NodeScore{Name: ni.Node().Name, Score: sc})
			}
			if s := pl.NormalizeScore(ctx, cs, tt.pod, got); !s.IsSuccess() {
				t.Fatal(s)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("scores (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScoreWithoutSlackAnywhereIsZeroEverywhere(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, "")
	nodes := []fwk.NodeInfo{nodeInfo("a", "1Gi", burstable("2Gi")), nodeInfo("b", "0")}
	p := bestEffort()
	cs := framework.NewCycleState()
	_ = pl.PreScore(ctx, cs, p, nodes)
	var got fwk.NodeScoreList
	for _, ni := range nodes {
		sc, _ := pl.Score(ctx, cs, p, ni)
		got = append(got, fwk.NodeScore{Name: ni.Node().Name, Score: sc})
	}
	_ = pl.NormalizeScore(ctx, cs, p, got)
	for _, s := range got {
		if s.Score != 0 {
			t.Errorf("node %s scored %d, want 0", s.Name, s.Score)
		}
	}
}

func TestHugeNodesDoNotOverflow(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, `{"maxMemoryLimitOvercommitPercent": 1000}`)
	huge := nodeInfo("huge", "7Ei", burstable("6Ei"))
	p := burstable("1Ei")
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, p, []fwk.NodeInfo{huge}); !s.IsSuccess() {
		t.Fatal(s)
	}
	if s := pl.Filter(ctx, cs, p, huge); !s.IsSuccess() {
		t.Errorf("Filter = %v, want Success", s)
	}
	for _, q := range []*v1.Pod{p, guaranteed("1Ei")} {
		cs := framework.NewCycleState()
		_ = pl.PreScore(ctx, cs, q, nil)
		sc, s := pl.Score(ctx, cs, q, huge)
		if !s.IsSuccess() || sc < 0 {
			t.Fatalf("Score = %d, %v", sc, s)
		}
		list := fwk.NodeScoreList{{Name: "huge", Score: sc}}
		_ = pl.NormalizeScore(ctx, cs, q, list)
		if list[0].Score < 0 || list[0].Score > fwk.MaxNodeScore {
			t.Errorf("%s: normalized score %d out of range", q.Name, list[0].Score)
		}
	}
}

func TestIsSchedulableAfterPodDelete(t *testing.T) {
	assigned := func(p *v1.Pod) *v1.Pod { p.Spec.NodeName = "n"; return p }
	tests := []struct {
		name    string
		deleted *v1.Pod
		want    fwk.QueueingHint
	}{
		{name: "an assigned pod with a memory limit queues", deleted: assigned(burstable("1Gi")), want: fwk.Queue},
		{name: "an assigned BestEffort pod frees no limit", deleted: assigned(bestEffort()), want: fwk.QueueSkip},
		{name: "an unassigned pod frees nothing", deleted: burstable("1Gi"), want: fwk.QueueSkip},
		{name: "a nominated pod queues", deleted: func() *v1.Pod {
			p := burstable("1Gi")
			p.Status.NominatedNodeName = "n"
			return p
		}(), want: fwk.Queue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, _ := ktesting.NewTestContext(t)
			pl := newPlugin(t, "")
			got, err := pl.isSchedulableAfterPodDelete(logger, burstable("1Gi"), tt.deleted, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("hint = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsSchedulableAfterNodeChange(t *testing.T) {
	node := func(mem string) *v1.Node { return st.MakeNode().Name("n").Capacity(res{"memory": mem}).Obj() }
	tests := []struct {
		name     string
		old, new *v1.Node
		want     fwk.QueueingHint
	}{
		{name: "a new node queues", new: node("1Gi"), want: fwk.Queue},
		{name: "grown allocatable memory queues", old: node("1Gi"), new: node("2Gi"), want: fwk.Queue},
		{name: "shrunk allocatable memory is skipped", old: node("2Gi"), new: node("1Gi"), want: fwk.QueueSkip},
		{name: "unchanged allocatable memory is skipped", old: node("2Gi"), new: node("2Gi"), want: fwk.QueueSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, _ := ktesting.NewTestContext(t)
			pl := newPlugin(t, "")
			var oldObj interface{}
			if tt.old != nil {
				oldObj = tt.old
			}
			got, err := pl.isSchedulableAfterNodeChange(logger, burstable("1Gi"), oldObj, tt.new)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("hint = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsSchedulableAfterPodScaleDown(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	pl := newPlugin(t, "")
	if h, _ := pl.isSchedulableAfterPodScaleDown(logger, burstable("1Gi"), burstable("4Gi"), burstable("2Gi")); h != fwk.Queue {
		t.Errorf("lower memory limit: hint = %v, want Queue", h)
	}
	if h, _ := pl.isSchedulableAfterPodScaleDown(logger, burstable("1Gi"), burstable("2Gi"), burstable("2Gi")); h != fwk.QueueSkip {
		t.Errorf("same memory limit: hint = %v, want QueueSkip", h)
	}
}

func TestEventsToRegister(t *testing.T) {
	pl := newPlugin(t, "")
	events, err := pl.EventsToRegister(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[fwk.EventResource]fwk.ActionType{
		fwk.AssignedPod: fwk.Delete,
		fwk.Node:        fwk.Add | fwk.UpdateNodeAllocatable,
	}
	for _, e := range events {
		if a, ok := want[e.Event.Resource]; ok && e.Event.ActionType == a {
			delete(want, e.Event.Resource)
		}
	}
	if len(want) > 0 {
		t.Errorf("events %+v lack %v", events, want)
	}
	// InPlacePodVerticalScaling (on by default) adds scheduled pods' scale-downs.
	plain, err := newPluginWith(t, plfeature.Features{}, "").EventsToRegister(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	scaleDown := fwk.ClusterEvent{Resource: fwk.AssignedPod, ActionType: fwk.UpdatePodScaleDown}
	if len(events) != len(plain)+1 || events[len(events)-1].Event != scaleDown {
		t.Errorf("with InPlacePodVerticalScaling the events are %+v, want those without it (%+v) and a scale-down", events, plain)
	}
}

func TestSignPod(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, "")
	sign := func(p *v1.Pod) []fwk.SignFragment {
		f, s := pl.SignPod(ctx, p)
		if !s.IsSuccess() {
			t.Fatal(s)
		}
		return f
	}
	if !cmp.Equal(sign(burstable("2Gi")), sign(burstable("2Gi"))) {
		t.Error("equal pods sign differently")
	}
	if cmp.Equal(sign(burstable("2Gi")), sign(burstable("3Gi"))) {
		t.Error("pods with different memory limits sign the same")
	}
	if cmp.Equal(sign(guaranteed("1Gi")), sign(podOf(container("a", res{"memory": "1Gi"}, res{"memory": "1Gi"})).Obj())) {
		t.Error("pods of different QoS classes sign the same")
	}
}

func TestNewRejectsInvalidArgs(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for raw, want := range map[string]string{
		`{"maxMemoryLimitOvercommitPercent": 50}`: "QoSPlacement: args.maxMemoryLimitOvercommitPercent: Invalid value: 50",
		`{"percent": 150}`:                        `unknown field percent`,
	} {
		_, err := New(ctx, &runtime.Unknown{Raw: []byte(raw)}, nil, defaultFeatures)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%s) error = %v, want it to contain %q", raw, err, want)
		}
	}
}

func TestOddPodsDoNotPanic(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newPlugin(t, "")
	empty := &v1.Pod{}
	ni := nodeInfo("n", "8Gi", burstable("1Gi"), empty)
	for _, p := range []*v1.Pod{empty, burstable("1Gi")} {
		cs := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, cs, p, nil); s.IsSuccess() {
			_ = pl.Filter(ctx, cs, p, ni)
		}
		_ = pl.PreScore(ctx, cs, p, nil)
		if _, s := pl.Score(ctx, cs, p, ni); !s.IsSuccess() {
			t.Fatal(s)
		}
		if _, s := pl.SignPod(ctx, p); !s.IsSuccess() {
			t.Fatal(s)
		}
	}
}

// TestFeatureGates: New takes the scheduler's features as upstream plugins do, and
// PodLevelResources decides whether a pod-level memory limit is the pod's limit.
func TestFeatureGates(t *testing.T) {
	// The incoming pod limits its container at 1Gi and the pod at 6Gi; the node's 8Gi
	// allow 12Gi of limits and already hold 8Gi.
	podLevel := podOf(container("app", res{"memory": "1Gi"}, res{"memory": "1Gi"})).
		Resources(v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("6Gi")}}).Obj()
	node := nodeInfo("n", "8Gi", burstable("4Gi"), burstable("4Gi"))
	if s := guard(t, newPluginWith(t, plfeature.Features{EnablePodLevelResources: true}, ""), podLevel, node); s.Code() != fwk.Unschedulable {
		t.Errorf("with pod-level resources the pod's limit is 6Gi, 14Gi in all: Filter = %v, want Unschedulable", s)
	}
	if s := guard(t, newPluginWith(t, plfeature.Features{}, ""), podLevel, node); !s.IsSuccess() {
		t.Errorf("without them it is its container's 1Gi: Filter = %v, want success", s)
	}
}

// deferredResize is a running Burstable pod on node (1Gi requested) whose memory limit
// the user raised from limit to want and whose resize the kubelet deferred: the spec
// asks want, the status still reports limit.
func deferredResize(node, limit, want string) *v1.Pod {
	p := podOf(container("app", res{"memory": "1Gi"}, res{"memory": want})).Node(node).
		Condition(v1.PodResizePending, v1.ConditionTrue, v1.PodReasonDeferred).Obj()
	p.Status.ContainerStatuses = []v1.ContainerStatus{{
		Name:               "app",
		AllocatedResources: list(res{"memory": "1Gi"}),
		Resources:          &v1.ResourceRequirements{Requests: list(res{"memory": "1Gi"}), Limits: list(res{"memory": limit})},
	}}
	return p
}

// TestDeferredResizeIsJudgedByItsLimitGrowthOnItsOwnNode: with
// InPlacePodVerticalScalingSchedulerPreemption the scheduler re-judges a running pod
// whose resize the kubelet deferred, on its own node, whose NodeInfo already counts the
// pod at its new limit. The guard still binds the resize; the pod is not counted twice.
// Nodes have 8Gi, so 12Gi of limits.
func TestDeferredResizeIsJudgedByItsLimitGrowthOnItsOwnNode(t *testing.T) {
	judge := plfeature.Features{EnableInPlacePodVerticalScalingSchedulerPreemption: true, EnableInPlacePodVerticalScaling: true}
	// The node's copy of the pod is the same object as the queue's: same UID.
	own := func(want string) (*v1.Pod, fwk.NodeInfo) {
		p := deferredResize("n", "4Gi", want)
		return p, nodeInfo("n", "8Gi", burstable("4Gi"), p)
	}
	tests := []struct {
		name     string
		fts      plfeature.Features
		want     string
		other    bool
		wantCode fwk.Code
	}{
		{name: "raising the limit from 4Gi to 6Gi leaves the node at 10Gi of 12Gi: the resize fits",
			fts: judge, want: "6Gi", wantCode: fwk.Success},
		{name: "raising it to 9Gi would take the node to 13Gi",
			fts: judge, want: "9Gi", wantCode: fwk.Unschedulable},
		{name: "on another node the pod counts at its full limit",
			fts: judge, want: "6Gi", other: true, wantCode: fwk.Unschedulable},
		{name: "without the gate the scheduler does not judge resizes, and the pod is taken as new",
			fts: plfeature.Features{EnableInPlacePodVerticalScaling: true}, want: "6Gi", wantCode: fwk.Unschedulable},
		{name: "a resize above the bound of the empty node is unresolvable, on its own node too",
			fts: judge, want: "13Gi", wantCode: fwk.UnschedulableAndUnresolvable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod, node := own(tt.want)
			if tt.other {
				node = nodeInfo("m", "8Gi", burstable("4Gi"), burstable("4Gi"))
			}
			if got := guard(t, newPluginWith(t, tt.fts, ""), pod, node); got.Code() != tt.wantCode {
				t.Errorf("Filter = %v, want %v", got, tt.wantCode)
			}
		})
	}
	events, err := newPluginWith(t, judge, "").EventsToRegister(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(e fwk.ClusterEventWithHint) bool { return e.Event == resize.ShrinkEvent.Event }) {
		t.Errorf("events %+v: a rejected resize is not retried when the pod asks for less", events)
	}
}
