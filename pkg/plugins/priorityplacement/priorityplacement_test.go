package priorityplacement

import (
	"encoding/json"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	plugintesting "k8s.io/kubernetes/pkg/scheduler/framework/plugins/testing"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

const (
	critical = 1000000 // the default criticalPriority
	zoneArgs = `{"spreadTopologyKey": "topology.kubernetes.io/zone"}`
)

func makeNode(name, cpu, mem, zone string) *v1.Node {
	n := st.MakeNode().Name(name).Capacity(map[v1.ResourceName]string{v1.ResourceCPU: cpu, v1.ResourceMemory: mem})
	if zone != "" {
		n.Label(v1.LabelTopologyZone, zone)
	}
	return n.Obj()
}

// makePod is a pod with priority prio requesting cpu and mem (either may be "": not
// requested), bound to node unless node is "".
func makePod(name, node string, prio int32, cpu, mem string) *v1.Pod {
	req := map[v1.ResourceName]string{}
	if cpu != "" {
		req[v1.ResourceCPU] = cpu
	}
	if mem != "" {
		req[v1.ResourceMemory] = mem
	}
	p := st.MakePod().Name(name).UID(name).Priority(prio)
	if len(req) > 0 {
		p.Req(req)
	} else {
		p.Container("app") // best effort
	}
	if node != "" {
		p.Node(node)
	}
	return p.Obj()
}

// newPlugin builds the plugin over a snapshot of nodes and the pods bound to them.
func newPlugin(t testing.TB, args string, nodes []*v1.Node, pods []*v1.Pod) (*PriorityPlacement, *cache.Snapshot) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	var obj runtime.Object
	if args != "" {
		obj = &runtime.Unknown{Raw: []byte(args)}
	}
	snap := cache.NewSnapshot(pods, nodes)
	return plugintesting.SetupPlugin(ctx, t, New, obj, snap).(*PriorityPlacement), snap
}

// scoreCandidates runs PreScore, Score and NormalizeScore as the framework does for the
// candidate nodes, and returns the normalised scores by node name (nil and the status
// if PreScore did not succeed).
func scoreCandidates(t *testing.T, pl *PriorityPlacement, snap *cache.Snapshot, pod *v1.Pod, candidates []string) (map[string]int64, *fwk.Status) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	nodeInfos := make([]fwk.NodeInfo, len(candidates))
	for i, name := range candidates {
		ni, err := snap.NodeInfos().Get(name)
		if err != nil {
			t.Fatal(err)
		}
		nodeInfos[i] = ni
	}
	state := framework.NewCycleState()
	if s := pl.PreScore(ctx, state, pod, nodeInfos); !s.IsSuccess() {
		return nil, s
	}
	list := make(fwk.NodeScoreList, len(nodeInfos))
	for i, ni := range nodeInfos {
		score, s := pl.Score(ctx, state, pod, ni)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s): %v", ni.Node().Name, s)
		}
		list[i] = fwk.NodeScore{Name: ni.Node().Name, Score: score}
	}
	if s := pl.ScoreExtensions().NormalizeScore(ctx, state, pod, list); !s.IsSuccess() {
		t.Fatalf("NormalizeScore: %v", s)
	}
	got := map[string]int64{}
	for _, ns := range list {
		if ns.Score < fwk.MinScore || ns.Score > fwk.MaxScore {
			t.Errorf("node %s: normalised score %d outside [%d, %d]", ns.Name, ns.Score, fwk.MinScore, fwk.MaxScore)
		}
		got[ns.Name] = ns.Score
	}
	return got, nil
}

func names(nodes []*v1.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

func TestScore(t *testing.T) {
	fourByEight := func(name, zone string) *v1.Node { return makeNode(name, "4", "8Gi", zone) }
	tests := []struct {
		name  string
		args  string
		nodes []*v1.Node
		pods  []*v1.Pod
		// candidates are the nodes that passed filtering; all nodes if nil.
		candidates []string
		pod        *v1.Pod
		want       map[string]int64
		wantSkip   bool
	}{
		{
			name:  "critical pod prefers the node where critical pods hold the smallest share; non-critical pods do not count",
			nodes: []*v1.Node{fourByEight("n1", ""), fourByEight("n2", ""), fourByEight("n3", "")},
			pods: []*v1.Pod{
				makePod("c1", "n1", critical, "2", "1Gi"),
				makePod("c2", "n2", critical+5, "1", "1Gi"),
				makePod("below", "n3", critical-1, "3", "6Gi"),
			},
			pod: makePod("p", "", critical, "1", "1Gi"),
			// shares with the pod: n1 3/4, n2 2/4, n3 1/4
			want: map[string]int64{"n1": 0, "n2": 50, "n3": 100},
		},
		{
			name:  "critical share is relative to allocatable: a big node holding more critical work still wins",
			nodes: []*v1.Node{makeNode("big", "16", "32Gi", ""), fourByEight("small", "")},
			pods: []*v1.Pod{
				makePod("c1", "big", critical, "2", "2Gi"),
				makePod("c2", "small", critical, "1", "1Gi"),
			},
			pod:  makePod("p", "", critical, "1", "1Gi"),
			want: map[string]int64{"big": 100, "small": 0},
		},
		{
			name:  "the larger of the cpu and memory shares decides",
			nodes: []*v1.Node{fourByEight("n1", ""), fourByEight("n2", "")},
			pods: []*v1.Pod{
				makePod("c1", "n1", critical, "100m", "6Gi"), // memory share 0.76
				makePod("c2", "n2", critical, "2", "1Gi"),    // cpu share 0.53
			},
			pod:  makePod("p", "", critical, "100m", "100Mi"),
			want: map[string]int64{"n1": 0, "n2": 100},
		},
		{
			name:  "best-effort critical pods count with upstream's non-zero requests",
			nodes: []*v1.Node{fourByEight("n1", ""), fourByEight("n2", "")},
			pods: []*v1.Pod{
				makePod("be1", "n1", critical, "", ""), makePod("be2", "n1", critical, "", ""),
				makePod("be3", "n1", critical, "", ""), makePod("be4", "n2", critical, "", ""),
			},
			pod:  makePod("p", "", critical, "", ""),
			want: map[string]int64{"n1": 0, "n2": 100},
		},
		{
			name:  "equal critical shares express no preference",
			nodes: []*v1.Node{fourByEight("n1", ""), fourByEight("n2", "")},
			pod:   makePod("p", "", critical, "1", "1Gi"),
			want:  map[string]int64{"n1": 100, "n2": 100},
		},
		{
			name:  "with a zone key the critical pod prefers the zone with the lowest share, counting nodes that did not pass filtering",
			args:  zoneArgs,
			nodes: []*v1.Node{fourByEight("a1", "a"), fourByEight("a2", "a"), fourByEight("b1", "b"), fourByEight("b2", "b")},
			pods: []*v1.Pod{
				makePod("c1", "a2", critical, "3", "1Gi"),
				makePod("c2", "b1", critical, "1", "1Gi"),
			},
			candidates: []string{"a1", "b1", "b2"},
			pod:        makePod("p", "", critical, "1", "1Gi"),
			// zone a: (3+1)/8 = 0.5, zone b: (1+1)/8 = 0.25
			want: map[string]int64{"a1": 0, "b1": 100, "b2": 100},
		},
		{
			name:  "without a zone key the same cluster is judged per node",
			nodes: []*v1.Node{fourByEight("a1", "a"), fourByEight("a2", "a"), fourByEight("b1", "b"), fourByEight("b2", "b")},
			pods: []*v1.Pod{
				makePod("c1", "a2", critical, "3", "1Gi"),
				makePod("c2", "b1", critical, "1", "1Gi"),
			},
			candidates: []string{"a1", "b1", "b2"},
			pod:        makePod("p", "", critical, "1", "1Gi"),
			want:       map[string]int64{"a1": 100, "b1": 0, "b2": 100},
		},
		{
			name:  "with a zone key nodes missing the label get the lowest score even when emptier",
			args:  zoneArgs,
			nodes: []*v1.Node{fourByEight("a1", "a"), fourByEight("nolabel", "")},
			pods:  []*v1.Pod{makePod("c1", "a1", critical, "3", "1Gi")},
			pod:   makePod("p", "", critical, "1", "1Gi"),
			want:  map[string]int64{"a1": 100, "nolabel": 0},
		},
		{
			name:  "with a zone key and no labelled node there is no preference",
			args:  zoneArgs,
			nodes: []*v1.Node{fourByEight("x1", ""), fourByEight("x2", "")},
			pods:  []*v1.Pod{makePod("c1", "x1", critical, "3", "1Gi")},
			pod:   makePod("p", "", critical, "1", "1Gi"),
			want:  map[string]int64{"x1": 0, "x2": 0},
		},
		{
			name:  "low-priority pod prefers the most allocated node, counting pods of every priority",
			nodes: []*v1.Node{fourByEight("n1", ""), fourByEight("n2", ""), fourByEight("n3", "")},
			pods: []*v1.Pod{
				makePod("c1", "n1", critical, "3", "6Gi"),
				makePod("l1", "n2", 0, "1", "2Gi"),
			},
			pod: makePod("p", "", 0, "500m", "1Gi"),
			// utilisation with the pod: n1 0.875, n2 0.375, n3 0.125
			want: map[string]int64{"n1": 100, "n2": 33, "n3": 0},
		},
		{
			name:  "low-priority pod is packed by utilisation, not by absolute requests",
			nodes: []*v1.Node{makeNode("big", "16", "32Gi", ""), fourByEight("small", "")},
			pods: []*v1.Pod{
				makePod("l1", "big", 0, "4", "8Gi"),   // 25%
				makePod("l2", "small", 0, "2", "4Gi"), // 50%
			},
			pod:  makePod("p", "", 0, "100m", "100Mi"),
			want: map[string]int64{"big": 0, "small": 100},
		},
		{
			name:  "low-priority pod sees equally allocated nodes as a tie",
			nodes: []*v1.Node{fourByEight("n1", ""), fourByEight("n2", "")},
			pod:   makePod("p", "", 0, "1", "1Gi"),
			want:  map[string]int64{"n1": 100, "n2": 100},
		},
		{
			name:  "the zone key does not change packing",
			args:  zoneArgs,
			nodes: []*v1.Node{fourByEight("a1", "a"), fourByEight("nolabel", "")},
			pods:  []*v1.Pod{makePod("l1", "nolabel", 0, "2", "2Gi")},
			pod:   makePod("p", "", 0, "1", "1Gi"),
			want:  map[string]int64{"a1": 0, "nolabel": 100},
		},
		{
			name:     "a pod between the bands is skipped and left to the other score plugins",
			nodes:    []*v1.Node{fourByEight("n1", ""), fourByEight("n2", "")},
			pods:     []*v1.Pod{makePod("c1", "n1", critical, "3", "1Gi")},
			pod:      makePod("p", "", 5000, "1", "1Gi"),
			wantSkip: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, snap := newPlugin(t, tt.args, tt.nodes, tt.pods)
			candidates := tt.candidates
			if candidates == nil {
				candidates = names(tt.nodes)
			}
			got, status := scoreCandidates(t, pl, snap, tt.pod, candidates)
			if tt.wantSkip {
				if !status.IsSkip() {
					t.Fatalf("PreScore status = %v, want Skip", status)
				}
				return
			}
			if status != nil {
				t.Fatalf("PreScore: %v", status)
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("score of %s = %d, want %d (all: %v)", name, got[name], want, got)
				}
			}
		})
	}
}

func TestBandOf(t *testing.T) {
	tests := []struct {
		name string
		args string
		prio *int32
		want band
	}{
		{name: "exactly criticalPriority is spread", prio: ptrTo(critical), want: spread},
		{name: "system-critical priorities are spread", prio: ptrTo(2000001000), want: spread},
		{name: "just below criticalPriority is neutral", prio: ptrTo(critical - 1), want: neutral},
		{name: "exactly packBelowPriority is neutral", prio: ptrTo(1000), want: neutral},
		{name: "just below packBelowPriority is packed", prio: ptrTo(999), want: pack},
		{name: "negative priorities are packed", prio: ptrTo(-100), want: pack},
		{name: "a pod without priority counts as 0 and is packed", prio: nil, want: pack},
		{name: "equal bounds leave no neutral band: at the bound is spread", args: `{"criticalPriority": 10, "packBelowPriority": 10}`, prio: ptrTo(10), want: spread},
		{name: "equal bounds leave no neutral band: below the bound is packed", args: `{"criticalPriority": 10, "packBelowPriority": 10}`, prio: ptrTo(9), want: pack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, _ := newPlugin(t, tt.args, nil, nil)
			p := st.MakePod().Name("p").Obj()
			p.Spec.Priority = tt.prio
			if got := pl.bandOf(p); got != tt.want {
				t.Errorf("band = %v, want %v", got, tt.want)
			}
		})
	}
}

func ptrTo(v int32) *int32 { return &v }

func TestSignPod(t *testing.T) {
	sign := func(t *testing.T, pl *PriorityPlacement, p *v1.Pod) (string, *fwk.Status) {
		_, ctx := ktesting.NewTestContext(t)
		frags, status := pl.SignPod(ctx, p)
		if !status.IsSuccess() {
			return "", status
		}
		b, err := json.Marshal(frags)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), nil
	}
	tests := []struct {
		name     string
		args     string
		a, b     *v1.Pod
		wantSame bool
	}{
		{
			name:     "pods of the same band and requests share a signature even when their priorities differ",
			a:        makePod("a", "", 0, "1", "1Gi"),
			b:        makePod("b", "", 500, "1", "1Gi"),
			wantSame: true,
		},
		{
			name:     "neutral pods share a signature whatever they request (they get no score)",
			a:        makePod("a", "", 5000, "1", "1Gi"),
			b:        makePod("b", "", 6000, "3", "5Gi"),
			wantSame: true,
		},
		{
			name: "a different band gives a different signature",
			a:    makePod("a", "", 0, "1", "1Gi"),
			b:    makePod("b", "", 5000, "1", "1Gi"),
		},
		{
			name: "packed pods with different requests get different signatures",
			a:    makePod("a", "", 0, "1", "1Gi"),
			b:    makePod("b", "", 0, "2", "1Gi"),
		},
		{
			name:     "critical pods spread per node are signable",
			a:        makePod("a", "", critical, "1", "1Gi"),
			b:        makePod("b", "", critical+1, "1", "1Gi"),
			wantSame: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, _ := newPlugin(t, tt.args, nil, nil)
			sa, s := sign(t, pl, tt.a)
			if s != nil {
				t.Fatalf("SignPod(a): %v", s)
			}
			sb, s := sign(t, pl, tt.b)
			if s != nil {
				t.Fatalf("SignPod(b): %v", s)
			}
			if (sa == sb) != tt.wantSame {
				t.Errorf("signatures %s and %s: same=%v, want %v", sa, sb, sa == sb, tt.wantSame)
			}
		})
	}

	t.Run("critical pods spread over a zone key are not signable, others still are", func(t *testing.T) {
		pl, _ := newPlugin(t, zoneArgs, nil, nil)
		if _, s := sign(t, pl, makePod("a", "", critical, "1", "1Gi")); s.Code() != fwk.Unschedulable {
			t.Errorf("SignPod status = %v, want Unschedulable", s)
		}
		if _, s := sign(t, pl, makePod("b", "", 0, "1", "1Gi")); s != nil {
			t.Errorf("SignPod of a packed pod: %v", s)
		}
	})
}

// TestScoreDoesNotAllocate guards the per-node cost: Score runs once per node per pod.
func TestScoreDoesNotAllocate(t *testing.T) {
	nodes := []*v1.Node{makeNode("a1", "4", "8Gi", "a"), makeNode("b1", "4", "8Gi", "b"), makeNode("x", "4", "8Gi", "")}
	pods := []*v1.Pod{makePod("c1", "a1", critical, "1", "1Gi"), makePod("l1", "b1", 0, "1", "1Gi")}
	for _, tc := range []struct{ name, args string }{{"per node", ""}, {"per zone", zoneArgs}} {
		for _, prio := range []int32{0, critical} {
			pl, snap := newPlugin(t, tc.args, nodes, pods)
			_, ctx := ktesting.NewTestContext(t)
			all, _ := snap.NodeInfos().List()
			state := framework.NewCycleState()
			pod := makePod("p", "", prio, "1", "1Gi")
			if s := pl.PreScore(ctx, state, pod, all); !s.IsSuccess() {
				t.Fatal(s)
			}
			for _, ni := range all {
				allocs := testing.AllocsPerRun(100, func() { _, _ = pl.Score(ctx, state, pod, ni) })
				if allocs != 0 {
					t.Errorf("%s, priority %d, node %s: Score allocates %v times, want 0", tc.name, prio, ni.Node().Name, allocs)
				}
			}
		}
	}
}

func TestOddInputDoesNotPanic(t *testing.T) {
	noContainers := st.MakePod().Name("empty").Priority(critical).Obj()
	huge := makePod("huge", "", critical, "1000000", "1000Pi")
	hugeLow := makePod("hugelow", "", 0, "1000000", "1000Pi")
	noPriority := st.MakePod().Name("noprio").Req(map[v1.ResourceName]string{v1.ResourceCPU: "1"}).Obj()
	nodes := []*v1.Node{
		makeNode("a1", "4", "8Gi", "a"),
		st.MakeNode().Name("nothing").Label(v1.LabelTopologyZone, "b").Obj(), // no allocatable at all
		makeNode("x", "4", "8Gi", ""),
	}
	existing := []*v1.Pod{
		makePod("c1", "a1", critical, "1000000", "1000Pi"),
		makePod("c2", "nothing", critical, "1", "1Gi"),
		st.MakePod().Name("c3").UID("c3").Node("x").Priority(critical).Obj(),
	}
	for _, args := range []string{"", zoneArgs} {
		pl, snap := newPlugin(t, args, nodes, existing)
		for _, p := range []*v1.Pod{noContainers, huge, hugeLow, noPriority} {
			if _, s := scoreCandidates(t, pl, snap, p, names(nodes)); s != nil && !s.IsSkip() {
				t.Errorf("args %q, pod %s: %v", args, p.Name, s)
			}
		}
	}
}

func TestScoreWithoutPreScoreSaysWhy(t *testing.T) {
	pl, snap := newPlugin(t, "", []*v1.Node{makeNode("n1", "4", "8Gi", "")}, nil)
	_, ctx := ktesting.NewTestContext(t)
	ni, _ := snap.NodeInfos().Get("n1")
	_, s := pl.Score(ctx, framework.NewCycleState(), makePod("p", "", 0, "1", "1Gi"), ni)
	if s.Code() != fwk.Error || !strings.Contains(s.Message(), "enabled at preScore") {
		t.Errorf("Score without PreScore = %v, want an Error that names preScore", s)
	}
}

func TestNewDefaultsAndRejectsInvalidArgs(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := plugintesting.SetupPlugin(ctx, t, New, nil, cache.NewSnapshot(nil, nil)).(*PriorityPlacement)
	if pl.criticalPriority != critical || pl.packBelowPriority != 1000 || pl.topologyKey != "" {
		t.Fatalf("defaults: got %+v", pl)
	}
	for _, tc := range []struct{ args, want string }{
		{`{"criticalPriority": 5, "packBelowPriority": 6}`, "PriorityPlacement: args.packBelowPriority: Invalid value: 6: must be less than or equal to criticalPriority (5)"},
		{`{"spreadTopologyKey": "a b"}`, `args.spreadTopologyKey: Invalid value: "a b"`},
		{`{"spreadTopologyKeys": "zone"}`, `unknown field spreadTopologyKeys`},
	} {
		_, err := New(ctx, &runtime.Unknown{Raw: []byte(tc.args)}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) error = %v, want it to contain %q", tc.args, err, tc.want)
		}
	}
}

func TestNormalizeScore(t *testing.T) {
	tests := []struct {
		name string
		raw  []int64
		want []int64
	}{
		{name: "best gets 100, worst 0, the rest in proportion", raw: []int64{-750000, -500000, -250000}, want: []int64{0, 50, 100}},
		{name: "differences far below one percent still decide", raw: []int64{500000, 500010}, want: []int64{0, 100}},
		{name: "equal scores are no preference", raw: []int64{7, 7, 7}, want: []int64{100, 100, 100}},
		{name: "nodes without a domain get 0 and do not widen the range", raw: []int64{noDomain, -3, -1}, want: []int64{0, 0, 100}},
		{name: "only nodes without a domain", raw: []int64{noDomain, noDomain}, want: []int64{0, 0}},
		{name: "no nodes", raw: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, _ := newPlugin(t, "", nil, nil)
			_, ctx := ktesting.NewTestContext(t)
			list := make(fwk.NodeScoreList, len(tt.raw))
			for i, r := range tt.raw {
				list[i] = fwk.NodeScore{Name: string(rune('a' + i)), Score: r}
			}
			if s := pl.NormalizeScore(ctx, framework.NewCycleState(), nil, list); s != nil {
				t.Fatal(s)
			}
			for i, w := range tt.want {
				if list[i].Score != w {
					t.Errorf("score %d = %d, want %d (all %v)", i, list[i].Score, w, list)
				}
			}
		})
	}
}

// TestScoreOfANodePreScoreDidNotSee: Score judges such a node on its own instead of
// failing the pod.
func TestScoreOfANodePreScoreDidNotSee(t *testing.T) {
	nodes := []*v1.Node{makeNode("n1", "4", "8Gi", ""), makeNode("n2", "4", "8Gi", "")}
	pl, snap := newPlugin(t, "", nodes, []*v1.Pod{makePod("c1", "n2", critical, "1", "1Gi")})
	_, ctx := ktesting.NewTestContext(t)
	n1, _ := snap.NodeInfos().Get("n1")
	n2, _ := snap.NodeInfos().Get("n2")
	pod := makePod("p", "", critical, "1", "1Gi")
	state := framework.NewCycleState()
	if s := pl.PreScore(ctx, state, pod, []fwk.NodeInfo{n1}); s != nil {
		t.Fatal(s)
	}
	got, s := pl.Score(ctx, state, pod, n2)
	if s != nil {
		t.Fatal(s)
	}
	if want := int64(-500000); got != want { // (1+1)/4
		t.Errorf("raw score of n2 = %d, want %d", got, want)
	}
}
