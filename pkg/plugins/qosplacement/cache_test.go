package qosplacement

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/backend/queue"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

func TestLimitCacheSweepsPodsAndNodesNoLongerInTheSnapshot(t *testing.T) {
	computed := 0
	c := newLimitCache(func(p *v1.Pod) int64 { computed++; return 1 })
	c.minSweep, c.sweepAbove = 3, 3
	keep := burstable("1Gi")
	node := nodeInfo("n", "8Gi", keep)
	for i := 0; i < 3; i++ {
		c.get(burstable("1Gi")) // objects that were replaced or deleted
	}
	c.nodeSum(nodeInfo("gone", "8Gi"))
	c.nodeSum(node)
	if pods, nodes := c.size(); pods != 4 || nodes != 2 {
		t.Fatalf("cache holds %d pods and %d nodes, want 4 and 2", pods, nodes)
	}
	c.maintain([]fwk.NodeInfo{node})
	if pods, nodes := c.size(); pods != 1 || nodes != 1 {
		t.Fatalf("after the sweep the cache holds %d pods and %d nodes, want 1 and 1 (the live ones)", pods, nodes)
	}
	before := computed
	if got := c.nodeSum(node); got != 1 || computed != before {
		t.Errorf("live node: sum %d, recomputed %d times; want 1, 0", got, computed-before)
	}
	if got := c.sum(node.GetPods()); got != 1 || computed != before {
		t.Errorf("live pod: sum %d, recomputed %d times; want 1, 0", got, computed-before)
	}
	c.get(burstable("1Gi"))
	c.maintain([]fwk.NodeInfo{node})
	if pods, _ := c.size(); pods != 2 {
		t.Errorf("below the bound (4) the cache must not sweep; holds %d pods", pods)
	}
}

// A Node update replaces the *v1.Node the memos are keyed by: the updated node is
// summed right, its pods' limits are not computed again, and the old object's memos
// go at the next sweep.
func TestAnUpdatedNodeObjectGetsItsOwnMemosAndTheOldOnesAreSwept(t *testing.T) {
	computed := 0
	c := newLimitCache(func(p *v1.Pod) int64 { computed++; return 1 })
	c.minSweep, c.sweepAbove = 1, 1
	ni := nodeInfo("n", "8Gi", burstable("1Gi"), burstable("1Gi"))
	if got := c.nodeSum(ni); got != 2 {
		t.Fatalf("sum %d, want 2", got)
	}
	updated := ni.Node().DeepCopy()
	updated.Labels = map[string]string{"changed": "true"}
	ni.SetNode(updated)
	before := computed
	if got := c.nodeSum(ni); got != 2 || computed != before {
		t.Errorf("after the Node update: sum %d, pod limits computed %d more times; want 2, 0", got, computed-before)
	}
	if _, nodes := c.size(); nodes != 2 {
		t.Fatalf("cache holds memos of %d node objects, want 2 (old and updated)", nodes)
	}
	c.maintain([]fwk.NodeInfo{ni})
	if _, nodes := c.size(); nodes != 1 {
		t.Errorf("after the sweep the cache holds memos of %d node objects, want 1 (the updated one)", nodes)
	}
}

// TestNodeSumFollowsAssumeAndForgetWithoutGenerationChange covers the snapshot's pod
// group cycles: pods are assumed and forgotten while the NodeInfo keeps its generation.
func TestNodeSumFollowsAssumeAndForgetWithoutGenerationChange(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	pl := newPlugin(t, "")
	ni := framework.NewNodeInfo(burstable("1Gi"))
	ni.SetNode(st.MakeNode().Name("n").Capacity(res{"memory": "8Gi"}).Obj())
	gen := ni.Generation
	if got := pl.limits.nodeSum(ni); got != gi {
		t.Fatalf("sum = %d, want 1Gi", got)
	}
	step := func(add *v1.Pod, remove *v1.Pod, want int64) {
		t.Helper()
		if remove != nil {
			if err := ni.RemovePod(logger, remove); err != nil {
				t.Fatal(err)
			}
		}
		if add != nil {
			pi, err := framework.NewPodInfo(add)
			if err != nil {
				t.Fatal(err)
			}
			ni.AddPodInfo(pi)
		}
		ni.Generation = gen
		if got := pl.limits.nodeSum(ni); got != want {
			t.Errorf("sum = %d, want %d", got, want)
		}
	}
	a, b := burstable("2Gi"), burstable("3Gi")
	step(a, nil, 3*gi)
	step(nil, a, gi)
	step(b, nil, 4*gi)
	step(nil, b, gi)
}

// TestUpstreamBehaviourTheCacheReliesOn drives upstream's real scheduler cache, snapshot
// and NodeInfo through what a scheduler does to them (bind, update, delete, assume,
// forget, pod-group assume in the snapshot, preemption's dry-run clone) and checks the
// behaviours listed at the top of cache.go, then that limitCache's sums stay exact and
// its memos are reused exactly when a node's pods did not change. A change upstream
// that breaks one of those behaviours fails here, not in production.
func TestUpstreamBehaviourTheCacheReliesOn(t *testing.T) {
	logger, ctx := ktesting.NewTestContext(t)
	schedmetrics.Register() // the cache reports its size
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sched := cache.New(ctx, nil, false, false)
	snap := cache.NewEmptySnapshot()
	computed := 0
	lc := newLimitCache(func(p *v1.Pod) int64 { computed++; return memoryLimit(p, resourcehelper.PodResourcesOptions{}) })

	for _, name := range []string{"n1", "n2"} {
		sched.AddNode(logger, st.MakeNode().Name(name).Capacity(res{"memory": "64Gi"}).Obj())
	}
	onNode := func(node string, p *v1.Pod) *v1.Pod { p.Spec.NodeName = node; return p }
	a, b, c := onNode("n1", burstable("1Gi")), onNode("n1", burstable("2Gi")), onNode("n1", burstable("4Gi"))
	other := onNode("n2", burstable("8Gi"))
	for _, p := range []*v1.Pod{a, b, c, other} {
		if err := sched.AddPod(logger, p); err != nil {
			t.Fatal(err)
		}
	}

	nodeInfo := func(name string) fwk.NodeInfo {
		t.Helper()
		ni, err := snap.NodeInfos().Get(name)
		if err != nil {
			t.Fatal(err)
		}
		return ni
	}
	refresh := func() fwk.NodeInfo {
		t.Helper()
		if err := sched.UpdateSnapshot(logger, snap); err != nil {
			t.Fatal(err)
		}
		return nodeInfo("n1")
	}
	// wantSum checks nodeSum against a sum computed without any cache, and whether it
	// stored a new memo for the node (false: it reused one, whole or as a prefix).
	wantSum := func(step string, ni fwk.NodeInfo, stored bool) {
		t.Helper()
		before := memosOf(lc, ni.Node())
		got := lc.nodeSum(ni)
		var want int64
		for _, pi := range ni.GetPods() {
			want += memoryLimit(pi.GetPod(), resourcehelper.PodResourcesOptions{})
		}
		if got != want {
			t.Errorf("%s: nodeSum = %d, want %d (a stale memo or pod entry)", step, got, want)
		}
		if after := memosOf(lc, ni.Node()); (after != before) != stored {
			t.Errorf("%s: stored a new memo = %v, want %v", step, after != before, stored)
		}
	}
	podInfoOf := func(ni fwk.NodeInfo, p *v1.Pod) fwk.PodInfo {
		t.Helper()
		for _, pi := range ni.GetPods() {
			if pi.GetPod().UID == p.UID {
				return pi
			}
		}
		t.Fatalf("pod %s not in node %s", p.Name, ni.Node().Name)
		return nil
	}

	ni := refresh()
	wantSum("first cycle", ni, true)
	first := slices.Clone(ni.GetPods())

	// 2. The cache keeps the very pod object it was handed: no copy, so the object's
	// pointer is what identifies it in the per-pod cache.
	if got := podInfoOf(ni, b).GetPod(); got != b {
		t.Errorf("snapshot holds pod object %p for %s, want the object given to the cache %p", got, b.Name, b)
	}

	// 3. A cycle after a change on another node: UpdateSnapshot leaves n1 alone and
	// hands out the same PodInfo pointers in the same order, so the memo is reused.
	if err := sched.RemovePod(logger, other); err != nil {
		t.Fatal(err)
	}
	ni = refresh()
	if !slices.Equal(first, ni.GetPods()) {
		t.Errorf("an unchanged node's pods changed across UpdateSnapshot: %v, then %v", first, ni.GetPods())
	}
	wantSum("unchanged node, next cycle", ni, false)

	// 1. An update replaces the PodInfo and the pod object; the old PodInfo still
	// holds the old object, unmodified.
	oldInfo := podInfoOf(ni, b)
	bWant := b.DeepCopy()
	b2 := onNode("n1", burstable("3Gi"))
	b2.Name, b2.Namespace, b2.UID = b.Name, b.Namespace, b.UID
	if err := sched.UpdatePod(logger, b, b2); err != nil {
		t.Fatal(err)
	}
	ni = refresh()
	newInfo := podInfoOf(ni, b2)
	if newInfo == oldInfo {
		t.Error("UpdatePod kept the PodInfo of the updated pod: a memo over it would keep the old limit")
	}
	if newInfo.GetPod() != b2 || oldInfo.GetPod() != b {
		t.Error("UpdatePod changed the pod object a PodInfo refers to")
	}
	if diff := cmp.Diff(bWant, b); diff != "" {
		t.Errorf("UpdatePod modified the old pod object:\n%s", diff)
	}
	wantSum("a pod updated to a larger limit", ni, true)
	wantSum("same cycle, again", ni, false)

	// 4. Binding (assume), forgetting, and the snapshot's pod-group assume and forget
	// (which keep the NodeInfo's generation) all change the GetPods sequence.
	d := onNode("n1", burstable("5Gi"))
	if err := sched.AssumePod(logger, d); err != nil {
		t.Fatal(err)
	}
	ni = refresh()
	wantSum("a pod assumed (the memo and one pod more)", ni, false)
	if err := sched.ForgetPod(logger, d); err != nil {
		t.Fatal(err)
	}
	ni = refresh()
	wantSum("the assumed pod forgotten (the memo again)", ni, false)

	pi, err := framework.NewPodInfo(onNode("n1", burstable("6Gi")))
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.AssumePod(pi); err != nil {
		t.Fatal(err)
	}
	wantSum("a pod-group member assumed in the snapshot", ni, false)
	if err := snap.ForgetPod(logger, pi.Pod); err != nil {
		t.Fatal(err)
	}
	wantSum("the pod-group member forgotten", ni, false)

	// Preemption's dry run on a clone: upstream's SelectVictimsOnNode removes every
	// possible victim, then reprieves them one by one, adding each back, running the
	// filters, and removing it again if the preemptor no longer fits.
	// 5. RemovePod moves the last PodInfo into the removed one's place and AddPodInfo
	// appends into the same array, so after "remove c, add e" the clone's slice is as
	// long as before with other contents in the same memory: a memo that aliased it
	// would still match it.
	dry := ni.Snapshot()
	wantSum("dry-run clone before any change (same PodInfos, same order)", dry, false)
	for _, victim := range []*v1.Pod{a, c} {
		if err := dry.RemovePod(logger, victim); err != nil {
			t.Fatal(err)
		}
	}
	wantSum("dry-run clone without its victims", dry, true)
	addBack := func(p *v1.Pod) {
		t.Helper()
		pi, err := framework.NewPodInfo(p)
		if err != nil {
			t.Fatal(err)
		}
		dry.AddPodInfo(pi)
	}
	addBack(a)
	wantSum("a victim reprieved", dry, false)
	addBack(c)
	wantSum("a second victim added back", dry, false)
	if err := dry.RemovePod(logger, c); err != nil {
		t.Fatal(err)
	}
	e := onNode("n1", burstable("7Gi"))
	addBack(e)
	wantSum("the second victim removed again and a third added in its place", dry, false)
	wantSum("the original after the dry run (its memo kept)", ni, false)

	// 6. What the framework filters while pods are nominated to the node
	// (addGENominatedPods): a copy with the nominated pod appended, made afresh every
	// cycle from a fresh deep copy of the pod. The copy's sum is the node's memo plus
	// the pod, and the node's memo is still there for the node the next cycle.
	for cycle := 1; cycle <= 2; cycle++ {
		nominated := ni.Snapshot()
		pi, err := framework.NewPodInfo(onNode("n1", burstable("9Gi")))
		if err != nil {
			t.Fatal(err)
		}
		nominated.AddPodInfo(pi)
		if n := len(ni.GetPods()); !slices.Equal(ni.GetPods(), nominated.GetPods()[:n]) {
			t.Errorf("AddPodInfo on a copy did not append: %v, then %v", ni.GetPods(), nominated.GetPods())
		}
		wantSum(fmt.Sprintf("cycle %d: a copy with a nominated pod", cycle), nominated, false)
		wantSum(fmt.Sprintf("cycle %d: the node after its copy with a nominated pod", cycle), ni, false)
	}

	if err := sched.RemovePod(logger, c); err != nil {
		t.Fatal(err)
	}
	ni = refresh()
	wantSum("a pod deleted", ni, true)
	if computed != 9 {
		t.Errorf("memoryLimit computed %d times, want 9: once per pod object (a, b, c, b2, d, the pod-group member, e, two nominated copies)", computed)
	}
}

// memosOf returns the node's two memos as they are now.
func memosOf(c *limitCache, node *v1.Node) [2]*nodeSum {
	c.nodes.mu.Lock()
	memos, ok := (*c.nodes.published.Load())[node]
	if !ok {
		memos, ok = c.nodes.added[node]
	}
	c.nodes.mu.Unlock()
	if !ok {
		return [2]*nodeSum{}
	}
	return [2]*nodeSum{memos.slot[0].Load(), memos.slot[1].Load()}
}

// TestCopiesOfANominatedPodAreComputedOnce drives upstream's real scheduling queue: it
// hands out a fresh deep copy of a nominated pod on every call (what the framework
// adds to a copy of the node each cycle), with the UID and resourceVersion of the pod
// the API server stored (behaviour 7). The cache computes its limit once, and a pod
// object without a resourceVersion is never mistaken for another.
func TestCopiesOfANominatedPodAreComputedOnce(t *testing.T) {
	logger, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	schedmetrics.Register() // the queue reports its size
	pod := burstable("3Gi")
	pod.UID, pod.ResourceVersion = "nominated-uid", "42"
	// The queue nominates only pods its informer knows.
	q := queue.NewTestQueueWithObjects(ctx, func(a, b fwk.QueuedEntityInfo) bool { return a.GetTimestamp().Before(b.GetTimestamp()) },
		[]runtime.Object{pod})
	q.Add(ctx, pod)
	pi, err := framework.NewPodInfo(pod)
	if err != nil {
		t.Fatal(err)
	}
	q.AddNominatedPod(logger, pi, &fwk.NominatingInfo{NominatingMode: fwk.ModeOverride, NominatedNodeName: "n1"})

	computed := 0
	lc := newLimitCache(func(p *v1.Pod) int64 { computed++; return memoryLimit(p, resourcehelper.PodResourcesOptions{}) })
	node := nodeInfo("n1", "64Gi", burstable("1Gi"))
	lc.nodeSum(node)
	before := computed
	var copies []*v1.Pod
	for cycle := 0; cycle < 3; cycle++ {
		nominated := q.NominatedPodsForNode("n1")
		if len(nominated) != 1 {
			t.Fatalf("queue returned %d nominated pods for n1, want 1", len(nominated))
		}
		copies = append(copies, nominated[0].GetPod())
		withNominated := node.Snapshot()
		withNominated.AddPodInfo(nominated[0])
		if got, want := lc.nodeSum(withNominated), 4*gi; got != want {
			t.Errorf("cycle %d: nodeSum = %d, want %d", cycle, got, want)
		}
	}
	if copies[0] == copies[1] || copies[0] == pod {
		t.Error("the queue returned the same nominated pod object twice: the test no longer covers copies")
	}
	if got := computed - before; got != 1 {
		t.Errorf("the nominated pod's limit was computed %d times over 3 cycles, want once", got)
	}

	// Without a resourceVersion, equal UIDs mean nothing: each object counts alone.
	unversioned := burstable("5Gi")
	unversioned.UID = pod.UID
	if got, want := lc.get(unversioned), 5*gi; got != want {
		t.Errorf("a pod with the UID of a cached one but no resourceVersion: limit %d, want its own %d", got, want)
	}
	// An update is a new resourceVersion: the new limit, not the cached one.
	updated := copies[0].DeepCopy()
	updated.ResourceVersion = "43"
	updated.Spec.Containers[0].Resources.Limits[v1.ResourceMemory] = resource.MustParse("6Gi")
	if got, want := lc.get(updated), 6*gi; got != want {
		t.Errorf("the pod at a new resourceVersion: limit %d, want %d", got, want)
	}
}

// A node that gained pods since its memo (as the snapshot's NodeInfo does after a bind)
// gets a memo of its own from Score, which is only given the snapshot's NodeInfos, so
// that later cycles find it whole; Filter, which is also given copies made for one call,
// derives the sum without storing. The older memo stays beside the new one.
func TestANodeThatGainedPodsGetsAMemoFromScoreNotFromFilter(t *testing.T) {
	c := newLimitCache(func(p *v1.Pod) int64 { return 1 })
	ni := nodeInfo("n", "8Gi", burstable("1Gi"), burstable("1Gi"))
	if got := c.nodeSum(ni); got != 2 {
		t.Fatalf("sum %d, want 2", got)
	}
	grown := ni.Snapshot()
	pi, err := framework.NewPodInfo(burstable("1Gi"))
	if err != nil {
		t.Fatal(err)
	}
	grown.AddPodInfo(pi)
	if got := c.nodeSum(grown); got != 3 {
		t.Fatalf("Filter's sum of the grown node %d, want 3", got)
	}
	if hasMemoOf(c, grown) {
		t.Errorf("Filter stored a memo of a NodeInfo that may be a one-call copy")
	}
	if got := c.snapshotNodeSum(grown); got != 3 {
		t.Fatalf("Score's sum of the grown node %d, want 3", got)
	}
	if !hasMemoOf(c, grown) {
		t.Errorf("Score did not store a memo of the node as it now is")
	}
	if !hasMemoOf(c, ni) {
		t.Errorf("the memo of the node before it grew was dropped")
	}
	if got := c.nodeSum(grown); got != 3 {
		t.Errorf("sum from the new memo %d, want 3", got)
	}
}

// hasMemoOf reports whether one of the node's memos holds exactly ni's pods.
func hasMemoOf(c *limitCache, ni fwk.NodeInfo) bool {
	memos := c.nodes.get(ni.Node())
	for i := range memos.slot {
		if m := memos.slot[i].Load(); m != nil && samePodInfos(m.pods, ni.GetPods()) {
			return true
		}
	}
	return false
}

// The first object of a pod the cache meets is typically the scheduler's assumed copy,
// replaced by the informer's bound object (a new resourceVersion) a cycle or two later:
// the cache keys such pods by version, so it keeps neither object alive, and the sweep
// drops the version no NodeInfo holds any more. Pods without a version (never from an
// API server) are keyed by pointer.
func TestPodsWithAVersionAreNotKeptAliveByTheCache(t *testing.T) {
	c := newLimitCache(func(p *v1.Pod) int64 { return 1 })
	c.minSweep, c.sweepAbove = 1, 1
	assumed := burstable("1Gi")
	assumed.UID, assumed.ResourceVersion = "uid-1", "10"
	bound := assumed.DeepCopy()
	bound.ResourceVersion = "11"
	unversioned := burstable("1Gi")
	c.nodeSum(nodeInfo("n", "8Gi", assumed, unversioned))
	ni := nodeInfo("n", "8Gi", bound, unversioned)
	if got := c.nodeSum(ni); got != 2 {
		t.Fatalf("sum %d, want 2", got)
	}
	for _, p := range []*v1.Pod{assumed, bound} {
		if _, ok := c.pods[p]; ok {
			t.Errorf("pod with resourceVersion %s is held by pointer", p.ResourceVersion)
		}
	}
	if _, ok := c.pods[unversioned]; !ok {
		t.Errorf("a pod without a version is not found by pointer")
	}
	c.maintain([]fwk.NodeInfo{ni})
	if _, ok := c.versions[podVersion{"uid-1", "10"}]; ok {
		t.Errorf("the assumed copy's version survived the sweep")
	}
	if _, ok := c.versions[podVersion{"uid-1", "11"}]; !ok {
		t.Errorf("the bound object's version was swept while a NodeInfo holds it")
	}
}
