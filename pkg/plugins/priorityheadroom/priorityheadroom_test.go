package priorityheadroom

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/internal/resize"
)

// exampleArgs is the documented configuration: below 1000000 keep 10%, below 1000 keep
// 25% of cpu and memory.
func exampleArgs(extra ...config.HeadroomReservation) *config.PriorityHeadroomArgs {
	return &config.PriorityHeadroomArgs{Reservations: append([]config.HeadroomReservation{
		{BelowPriority: ptr.To[int32](1000000), ReservePercent: map[v1.ResourceName]int32{"cpu": 10, "memory": 10}},
		{BelowPriority: ptr.To[int32](1000), ReservePercent: map[v1.ResourceName]int32{"cpu": 25, "memory": 25}},
	}, extra...)}
}

// defaultFeatures are the features a kube-scheduler v1.37 without --feature-gates hands
// the plugin, as far as it reads them.
var defaultFeatures = plfeature.Features{EnablePodLevelResources: true, EnableInPlacePodVerticalScaling: true}

// newPlugin builds the plugin as a kube-scheduler without --feature-gates would.
func newPlugin(t testing.TB, args *config.PriorityHeadroomArgs) *PriorityHeadroom {
	t.Helper()
	return newPluginWith(t, defaultFeatures, args)
}

func newPluginWith(t testing.TB, fts plfeature.Features, args *config.PriorityHeadroomArgs) *PriorityHeadroom {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(context.Background(), &runtime.Unknown{Raw: raw}, nil, fts)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*PriorityHeadroom)
}

// filter runs PreFilter, which must not skip the pod, then Filter on ni.
func filter(t *testing.T, pl *PriorityHeadroom, pod *v1.Pod, ni fwk.NodeInfo) *fwk.Status {
	t.Helper()
	ctx := context.Background()
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() {
		t.Fatalf("PreFilter = %v", s)
	}
	return pl.Filter(ctx, cs, pod, ni)
}

// node is a 10-cpu, 10Gi, 10-pod node (plus extra allocatable) running pods.
func node(extra map[v1.ResourceName]string, pods ...*v1.Pod) *framework.NodeInfo {
	capacity := map[v1.ResourceName]string{"cpu": "10", "memory": "10Gi", "pods": "10"}
	for k, v := range extra {
		capacity[k] = v
	}
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(st.MakeNode().Name("n1").Capacity(capacity).Obj())
	return ni
}

func running(name string, prio int32, req map[v1.ResourceName]string) *v1.Pod {
	return st.MakePod().Namespace("ns").Name(name).UID(name).Node("n1").Priority(prio).Req(req).Obj()
}

func TestFilter(t *testing.T) {
	gpu := v1.ResourceName("example.com/gpu")
	tests := []struct {
		name       string
		args       *config.PriorityHeadroomArgs
		pod        *v1.Pod
		node       *framework.NodeInfo
		wantSkip   bool
		wantCode   fwk.Code
		wantReason string
	}{
		{
			name: "low-priority pod that brings cpu exactly to the 75% limit passes",
			pod:  st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"cpu": "2500m"}).Obj(),
			node: node(nil, running("a", 0, map[v1.ResourceName]string{"cpu": "5"})),
		},
		{
			name:       "low-priority pod one milli-cpu over the 75% limit is rejected, naming the rule",
			pod:        st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"cpu": "2501m"}).Obj(),
			node:       node(nil, running("a", 0, map[v1.ResourceName]string{"cpu": "5"})),
			wantCode:   fwk.Unschedulable,
			wantReason: "node keeps 25 percent of cpu for pods with priority >= 1000",
		},
		{
			name:       "memory is held back the same way, to the byte",
			pod:        st.MakePod().Name("p").Priority(999).Req(map[v1.ResourceName]string{"memory": "5Gi"}).Obj(),
			node:       node(nil, running("a", 0, map[v1.ResourceName]string{"memory": "2684354561"})), // 7.5Gi - 5Gi + 1
			wantCode:   fwk.Unschedulable,
			wantReason: "node keeps 25 percent of memory for pods with priority >= 1000",
		},
		{
			name: "a pod at a bound is held back only by the higher bounds (10%)",
			pod:  st.MakePod().Name("p").Priority(1000).Req(map[v1.ResourceName]string{"cpu": "4"}).Obj(),
			node: node(nil, running("a", 0, map[v1.ResourceName]string{"cpu": "5"})),
		},
		{
			name:       "a pod at a bound is rejected past the 90% limit",
			pod:        st.MakePod().Name("p").Priority(1000).Req(map[v1.ResourceName]string{"cpu": "4001m"}).Obj(),
			node:       node(nil, running("a", 0, map[v1.ResourceName]string{"cpu": "5"})),
			wantCode:   fwk.Unschedulable,
			wantReason: "node keeps 10 percent of cpu for pods with priority >= 1000000",
		},
		{
			name:     "a pod at or above every bound sees the whole node: Filter is skipped",
			pod:      st.MakePod().Name("p").Priority(1000000).Req(map[v1.ResourceName]string{"cpu": "5"}).Obj(),
			node:     node(nil, running("a", 0, map[v1.ResourceName]string{"cpu": "5"})),
			wantSkip: true,
		},
		{
			name:     "a pod that requests none of the reserved resources is skipped",
			pod:      st.MakePod().Name("p").Priority(0).Obj(),
			node:     node(nil, running("a", 0, map[v1.ResourceName]string{"cpu": "10"})),
			wantSkip: true,
		},
		{
			name:     "no reservations: every pod is skipped",
			args:     &config.PriorityHeadroomArgs{},
			pod:      st.MakePod().Name("p").Priority(-100).Req(map[v1.ResourceName]string{"cpu": "9"}).Obj(),
			node:     node(nil, running("a", 0, map[v1.ResourceName]string{"cpu": "1"})),
			wantSkip: true,
		},
		{
			name: "of several reservations binding a pod, the largest percent wins even from a higher bound",
			args: exampleArgs(config.HeadroomReservation{BelowPriority: ptr.To[int32](2000000), ReservePercent: map[v1.ResourceName]int32{"memory": 30}}),
			pod:  st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"memory": "7Gi"}).Obj(),
			node: node(nil),
			// 30% of 10Gi kept: 7Gi fits exactly; 25% would also let it in, so use 7Gi+1 below.
		},
		{
			name:       "the largest percent's rule is the one named",
			args:       exampleArgs(config.HeadroomReservation{BelowPriority: ptr.To[int32](2000000), ReservePercent: map[v1.ResourceName]int32{"memory": 30}}),
			pod:        st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"memory": "7516192769"}).Obj(), // 7Gi + 1
			node:       node(nil),
			wantCode:   fwk.UnschedulableAndUnresolvable,
			wantReason: "node keeps 30 percent of memory for pods with priority >= 2000000",
		},
		{
			name:       "a pod larger than the node's reserve-free share is unresolvable: preemption cannot help",
			pod:        st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"cpu": "8"}).Obj(),
			node:       node(nil),
			wantCode:   fwk.UnschedulableAndUnresolvable,
			wantReason: "node keeps 25 percent of cpu for pods with priority >= 1000",
		},
		{
			name: "init containers and overhead count as upstream counts them",
			pod: st.MakePod().Name("p").Priority(0).
				InitReq(map[v1.ResourceName]string{"cpu": "3"}).Req(map[v1.ResourceName]string{"cpu": "1"}).
				Overhead(v1.ResourceList{"cpu": apiresource.MustParse("1m")}).Obj(),
			node:       node(nil, running("a", 0, map[v1.ResourceName]string{"cpu": "4500m"})),
			wantCode:   fwk.Unschedulable, // max(3, 1) + 1m = 3001m > 7500m - 4500m
			wantReason: "node keeps 25 percent of cpu for pods with priority >= 1000",
		},
		{
			name: "an extended resource is held back: 2 of 4 gpus usable, 1 used, 1 more fits",
			args: &config.PriorityHeadroomArgs{Reservations: []config.HeadroomReservation{
				{BelowPriority: ptr.To[int32](100), ReservePercent: map[v1.ResourceName]int32{gpu: 50}},
			}},
			pod:  st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{gpu: "1"}).Obj(),
			node: node(map[v1.ResourceName]string{gpu: "4"}, running("a", 0, map[v1.ResourceName]string{gpu: "1"})),
		},
		{
			name: "an extended resource is held back: a second more does not fit",
			args: &config.PriorityHeadroomArgs{Reservations: []config.HeadroomReservation{
				{BelowPriority: ptr.To[int32](100), ReservePercent: map[v1.ResourceName]int32{gpu: 50}},
			}},
			pod:        st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{gpu: "2"}).Obj(),
			node:       node(map[v1.ResourceName]string{gpu: "4"}, running("a", 0, map[v1.ResourceName]string{gpu: "1"})),
			wantCode:   fwk.Unschedulable,
			wantReason: "node keeps 50 percent of example.com/gpu for pods with priority >= 100",
		},
		{
			name: "a node that offers none of an extended resource has nothing to reserve (NodeResourcesFit judges it)",
			args: &config.PriorityHeadroomArgs{Reservations: []config.HeadroomReservation{
				{BelowPriority: ptr.To[int32](100), ReservePercent: map[v1.ResourceName]int32{gpu: 50}},
			}},
			pod:  st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{gpu: "1"}).Obj(),
			node: node(nil),
		},
		{
			name: "pods: the 9th pod of a 10-pod node with 10% kept fits",
			args: &config.PriorityHeadroomArgs{Reservations: []config.HeadroomReservation{
				{BelowPriority: ptr.To[int32](100), ReservePercent: map[v1.ResourceName]int32{"pods": 10}},
			}},
			pod: st.MakePod().Name("p").Priority(0).Obj(),
			node: node(nil, running("a", 0, nil), running("b", 0, nil), running("c", 0, nil), running("d", 0, nil),
				running("e", 0, nil), running("f", 0, nil), running("g", 0, nil), running("h", 0, nil)),
		},
		{
			name: "pods: the 10th pod of a 10-pod node with 10% kept is rejected, even a BestEffort one",
			args: &config.PriorityHeadroomArgs{Reservations: []config.HeadroomReservation{
				{BelowPriority: ptr.To[int32](100), ReservePercent: map[v1.ResourceName]int32{"pods": 10}},
			}},
			pod: st.MakePod().Name("p").Priority(0).Obj(),
			node: node(nil, running("a", 0, nil), running("b", 0, nil), running("c", 0, nil), running("d", 0, nil),
				running("e", 0, nil), running("f", 0, nil), running("g", 0, nil), running("h", 0, nil), running("i", 0, nil)),
			wantCode:   fwk.Unschedulable,
			wantReason: "node keeps 10 percent of pods for pods with priority >= 100",
		},
		{
			name: "a 0% reservation holds nothing back",
			args: &config.PriorityHeadroomArgs{Reservations: []config.HeadroomReservation{
				{BelowPriority: ptr.To[int32](100), ReservePercent: map[v1.ResourceName]int32{"cpu": 0}},
			}},
			pod:      st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"cpu": "1"}).Obj(),
			node:     node(nil),
			wantSkip: true,
		},
		{
			name: "100% keeps a resource entirely for higher priorities",
			args: &config.PriorityHeadroomArgs{Reservations: []config.HeadroomReservation{
				{BelowPriority: ptr.To[int32](100), ReservePercent: map[v1.ResourceName]int32{"cpu": 100}},
			}},
			pod:        st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"cpu": "1m"}).Obj(),
			node:       node(nil),
			wantCode:   fwk.UnschedulableAndUnresolvable,
			wantReason: "node keeps 100 percent of cpu for pods with priority >= 100",
		},
		{
			name: "a pod without priority counts as priority 0",
			pod: func() *v1.Pod {
				p := st.MakePod().Name("p").Req(map[v1.ResourceName]string{"cpu": "8"}).Obj()
				p.Spec.Priority = nil
				return p
			}(),
			node:       node(nil),
			wantCode:   fwk.UnschedulableAndUnresolvable,
			wantReason: "node keeps 25 percent of cpu for pods with priority >= 1000",
		},
		{
			name:       "a huge request does not overflow: it is rejected",
			pod:        st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"memory": "8Ei"}).Obj(),
			node:       node(nil, running("a", 0, map[v1.ResourceName]string{"memory": "1Gi"})),
			wantCode:   fwk.UnschedulableAndUnresolvable,
			wantReason: "node keeps 25 percent of memory for pods with priority >= 1000",
		},
		{
			name: "a huge node does not overflow the limit",
			pod:  st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"memory": "5Ei"}).Obj(),
			node: node(map[v1.ResourceName]string{"memory": "7Ei"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = exampleArgs()
			}
			pl := newPlugin(t, args)
			ctx := context.Background()
			cs := framework.NewCycleState()
			_, status := pl.PreFilter(ctx, cs, tt.pod, nil)
			if tt.wantSkip {
				if !status.IsSkip() {
					t.Fatalf("PreFilter = %v, want Skip", status)
				}
				return
			}
			if !status.IsSuccess() {
				t.Fatalf("PreFilter = %v, want success", status)
			}
			got := pl.Filter(ctx, cs, tt.pod, tt.node)
			if got.Code() != tt.wantCode {
				t.Fatalf("Filter code = %v (%v), want %v", got.Code(), got.Reasons(), tt.wantCode)
			}
			if tt.wantReason != "" && !reflect.DeepEqual(got.Reasons(), []string{tt.wantReason}) {
				t.Errorf("Filter reasons = %q, want [%q]", got.Reasons(), tt.wantReason)
			}
			if got == nil {
				return
			}
			for _, r := range got.Reasons() {
				// The scheduler uses the reason as an event's format string.
				if strings.Contains(r, "%") {
					t.Errorf("reason %q contains %%, which the FailedScheduling event would mangle", r)
				}
			}
		})
	}
}

// TestFilterSeesPreemptionDryRun mirrors DefaultPreemption's dry run: removing a
// lower-priority victim from a copy of the NodeInfo frees headroom Filter sees.
func TestFilterSeesPreemptionDryRun(t *testing.T) {
	pl := newPlugin(t, exampleArgs())
	ctx := context.Background()
	victim := running("victim", 0, map[v1.ResourceName]string{"cpu": "3"})
	ni := node(nil, running("keeper", 0, map[v1.ResourceName]string{"cpu": "4"}), victim)
	preemptor := st.MakePod().Name("p").Priority(500).Req(map[v1.ResourceName]string{"cpu": "3"}).Obj()
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, preemptor, nil); !s.IsSuccess() {
		t.Fatal(s)
	}
	if s := pl.Filter(ctx, cs, preemptor, ni); s.Code() != fwk.Unschedulable {
		t.Fatalf("before eviction: Filter = %v, want Unschedulable (preemption may help)", s)
	}
	dry := ni.Snapshot()
	if err := dry.RemovePod(klog.Background(), victim); err != nil {
		t.Fatal(err)
	}
	if s := pl.Filter(ctx, cs, preemptor, dry); !s.IsSuccess() {
		t.Errorf("after removing the victim: Filter = %v, want success", s)
	}
}

func TestFilterWithoutPreFilterIsAnError(t *testing.T) {
	pl := newPlugin(t, exampleArgs())
	s := pl.Filter(context.Background(), framework.NewCycleState(), st.MakePod().Obj(), node(nil))
	if s.Code() != fwk.Error {
		t.Errorf("Filter without PreFilter state = %v, want Error", s)
	}
}

func TestNewRejectsBadArgs(t *testing.T) {
	for _, raw := range []string{
		`{"reservations":[{"belowPriority":1,"reservePercent":{"cpu":101}}]}`,
		`{"reservations":[{"reservePercent":{"cpu":1}}]}`,
		`{"reservatons":[]}`,
	} {
		if _, err := New(context.Background(), &runtime.Unknown{Raw: []byte(raw)}, nil, defaultFeatures); err == nil || !strings.Contains(err.Error(), Name) {
			t.Errorf("New(%s) error = %v, want an error naming %s", raw, err, Name)
		}
	}
	if _, err := New(context.Background(), nil, nil, defaultFeatures); err != nil {
		t.Errorf("New without args = %v, want the no-op default", err)
	}
}

func TestSignPod(t *testing.T) {
	pl := newPlugin(t, exampleArgs())
	ctx := context.Background()
	sign := func(p *v1.Pod) []fwk.SignFragment {
		t.Helper()
		f, s := pl.SignPod(ctx, p)
		if !s.IsSuccess() {
			t.Fatalf("SignPod = %v", s)
		}
		if _, err := json.Marshal(f); err != nil {
			t.Fatalf("fragments do not marshal: %v", err)
		}
		return f
	}
	cpu := func(prio int32, c string) *v1.Pod {
		return st.MakePod().Name("p").Priority(prio).Req(map[v1.ResourceName]string{"cpu": c}).Obj()
	}
	tests := []struct {
		name  string
		a, b  *v1.Pod
		equal bool
	}{
		{"pods of one tier with equal requests sign alike, whatever their exact priority", cpu(1, "1"), cpu(999, "1"), true},
		{"pods of different tiers sign apart", cpu(1, "1"), cpu(1000, "1"), false},
		{"pods of one tier with different requests sign apart", cpu(1, "1"), cpu(1, "2"), false},
		{"pods above every bound sign alike whatever they request", cpu(1000000, "1"), cpu(2000000, "3"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reflect.DeepEqual(sign(tt.a), sign(tt.b)); got != tt.equal {
				t.Errorf("signatures equal = %v, want %v", got, tt.equal)
			}
		})
	}
}

func TestQueueingHints(t *testing.T) {
	pl := newPlugin(t, exampleArgs())
	logger := klog.Background()
	pending := st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"cpu": "3"}).Obj()
	mkNode := func(cpu string) *v1.Node {
		return st.MakeNode().Name("n").Capacity(map[v1.ResourceName]string{"cpu": cpu, "memory": "1Gi", "pods": "10"}).Obj()
	}
	tests := []struct {
		name     string
		fn       fwk.QueueingHintFn
		old, new interface{}
		want     fwk.QueueingHint
	}{
		{"deleting a scheduled pod frees headroom", pl.isSchedulableAfterPodChange,
			st.MakePod().Name("x").Node("n").Obj(), nil, fwk.Queue},
		{"deleting a nominated pod frees headroom", pl.isSchedulableAfterPodChange,
			st.MakePod().Name("x").NominatedNodeName("n").Obj(), nil, fwk.Queue},
		{"deleting a pod that held nothing does not", pl.isSchedulableAfterPodChange,
			st.MakePod().Name("x").Obj(), nil, fwk.QueueSkip},
		{"a new node whose reserve-free share holds the pod", pl.isSchedulableAfterNodeChange,
			nil, mkNode("4"), fwk.Queue},
		{"a new node too small once the reserve is kept", pl.isSchedulableAfterNodeChange,
			nil, mkNode("3"), fwk.QueueSkip},
		{"a node whose cpu grew", pl.isSchedulableAfterNodeChange,
			mkNode("3"), mkNode("5"), fwk.Queue},
		{"a node whose cpu did not grow", pl.isSchedulableAfterNodeChange,
			mkNode("5"), mkNode("5"), fwk.QueueSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn(logger, pending, tt.old, tt.new)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("hint = %v, want %v", got, tt.want)
			}
		})
	}
	events, err := pl.EventsToRegister(context.Background())
	if err != nil || len(events) < 2 {
		t.Fatalf("EventsToRegister = %v, %v; want at least pod delete and node add/allocatable", events, err)
	}
}

func TestLimitNeverOverflows(t *testing.T) {
	const maxInt64 = int64(^uint64(0) >> 1)
	tests := []struct {
		alloc, pct, want int64
	}{
		{10000, 25, 7500},
		{10, 10, 9},
		{9, 10, 8}, // 8.1 rounds down: the reserve rounds up
		{1, 10, 0},
		{maxInt64, 0, maxInt64},
		{maxInt64, 100, 0},
		{maxInt64, 50, maxInt64 / 2},
	}
	for _, tt := range tests {
		if got := limit(tt.alloc, tt.pct); got != tt.want {
			t.Errorf("limit(%d, %d) = %d, want %d", tt.alloc, tt.pct, got, tt.want)
		}
	}
}

// TestFeatureGates: New takes the scheduler's features as upstream plugins do.
// PodLevelResources decides, as in NodeResourcesFit, whether a pod-level request is the
// pod's request; InPlacePodVerticalScaling whether a scheduled pod shrinking in place
// requeues pods this plugin rejected.
func TestFeatureGates(t *testing.T) {
	// The pod asks 1 cpu in its container and 8 at pod level; the node keeps 25% of its
	// 10 cpus from priority 0, so 7.5 are left.
	podLevel := st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{"cpu": "1"}).
		Resources(v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: apiresource.MustParse("8")}}).Obj()
	if s := filter(t, newPluginWith(t, plfeature.Features{EnablePodLevelResources: true}, exampleArgs()), podLevel, node(nil)); s.Code() != fwk.UnschedulableAndUnresolvable {
		t.Errorf("with pod-level resources the pod asks 8 cpus: Filter = %v, want UnschedulableAndUnresolvable", s)
	}
	if s := filter(t, newPluginWith(t, plfeature.Features{}, exampleArgs()), podLevel, node(nil)); !s.IsSuccess() {
		t.Errorf("without them it asks its container's 1 cpu: Filter = %v, want success", s)
	}
	for _, inPlace := range []bool{true, false} {
		events, err := newPluginWith(t, plfeature.Features{EnableInPlacePodVerticalScaling: inPlace}, exampleArgs()).EventsToRegister(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		scaleDown := slices.ContainsFunc(events, func(e fwk.ClusterEventWithHint) bool { return e.Event.ActionType&fwk.UpdatePodScaleDown != 0 })
		if scaleDown != inPlace {
			t.Errorf("InPlacePodVerticalScaling %v: a pod's scale-down is an event: %v", inPlace, scaleDown)
		}
	}
}

// deferredResize is a running priority-0 pod on node whose cpu request the user raised
// from cpu to want and whose resize the kubelet deferred: the spec asks want, the
// status still reports cpu.
func deferredResize(node, cpu, want string) *v1.Pod {
	p := st.MakePod().Namespace("ns").Name("resizing").UID("resizing").Node(node).Priority(0).
		Req(map[v1.ResourceName]string{"cpu": want}).
		Condition(v1.PodResizePending, v1.ConditionTrue, v1.PodReasonDeferred).Obj()
	actual := v1.ResourceList{v1.ResourceCPU: apiresource.MustParse(cpu)}
	p.Status.ContainerStatuses = []v1.ContainerStatus{{
		Name:               p.Spec.Containers[0].Name,
		AllocatedResources: actual,
		Resources:          &v1.ResourceRequirements{Requests: actual},
	}}
	return p
}

// TestDeferredResizeIsJudgedByItsGrowthOnItsOwnNode: with
// InPlacePodVerticalScalingSchedulerPreemption the scheduler re-judges a running pod
// whose resize the kubelet deferred, on its own node, whose NodeInfo already counts the
// pod at its new size. The headroom still binds the resize; the pod is not counted
// twice. Nodes have 10 cpus, 7.5 of them open to priority 0.
func TestDeferredResizeIsJudgedByItsGrowthOnItsOwnNode(t *testing.T) {
	keeper := running("keeper", 0, map[v1.ResourceName]string{"cpu": "4"})
	judge := plfeature.Features{EnableInPlacePodVerticalScalingSchedulerPreemption: true}
	tests := []struct {
		name string
		fts  plfeature.Features
		// want is the pod's new cpu request (it runs with 2).
		want string
		// other filters the pod on n2 (keeper and a 1-cpu pod) instead of its own n1
		// (keeper and the pod itself).
		other    bool
		wantCode fwk.Code
	}{
		{name: "growing from 2 to 3 cpus leaves the node at 7 of 7.5: the resize fits",
			fts: judge, want: "3", wantCode: fwk.Success},
		{name: "growing to 4 cpus would take the node to 8: preemption may make room",
			fts: judge, want: "4", wantCode: fwk.Unschedulable},
		{name: "growing to 8 cpus exceeds 7.5 even on an empty node",
			fts: judge, want: "8", wantCode: fwk.UnschedulableAndUnresolvable},
		{name: "on another node the pod counts at its full size",
			fts: judge, want: "3", other: true, wantCode: fwk.Unschedulable},
		{name: "without the gate the scheduler does not judge resizes, and the pod is taken as new",
			fts: plfeature.Features{}, want: "3", wantCode: fwk.Unschedulable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := deferredResize("n1", "2", tt.want)
			ni := node(nil, keeper, pod)
			if tt.other {
				ni = framework.NewNodeInfo(keeper, running("other", 0, map[v1.ResourceName]string{"cpu": "1"}))
				ni.SetNode(st.MakeNode().Name("n2").Capacity(map[v1.ResourceName]string{"cpu": "10", "memory": "10Gi", "pods": "10"}).Obj())
			}
			if got := filter(t, newPluginWith(t, tt.fts, exampleArgs()), pod, ni); got.Code() != tt.wantCode {
				t.Errorf("Filter = %v, want %v", got, tt.wantCode)
			}
		})
	}
	events, err := newPluginWith(t, judge, exampleArgs()).EventsToRegister(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(e fwk.ClusterEventWithHint) bool { return e.Event == resize.ShrinkEvent.Event }) {
		t.Errorf("events %+v: a rejected resize is not retried when the pod asks for less", events)
	}
}
