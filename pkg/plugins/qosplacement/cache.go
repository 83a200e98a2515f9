// This file is limitCache, the one part of QoSPlacement with no upstream idiom: a cache
// that lives across scheduling cycles and is shared by concurrent Filter and Score
// calls. Upstream plugins recompute from the NodeInfo every call; this cache instead
// trusts these behaviours of upstream's scheduler cache, snapshot and NodeInfo
// (k8s.io/kubernetes/pkg/scheduler/backend/cache and .../framework, v1.37), none of
// which an interface promises:
//
//  1. PodInfo identity: a *framework.PodInfo in a NodeInfo never changes the pod object
//     it refers to. The scheduler cache's UpdatePod removes the pod and adds it again
//     (NodeInfo.AddPod, a new PodInfo from NewPodInfo), and assuming a bound pod, adding
//     it and forgetting it do the same; PodInfo.Update, which does change a PodInfo in
//     place, is only used on pending pods in the scheduling queue.
//  2. Pod objects are read-only: the *v1.Pod a PodInfo holds is the object the informer
//     handed to the cache, not a copy, and the scheduler never modifies it (client-go's
//     rule for informer objects); an update brings a new object.
//  3. Snapshots share PodInfos in order: cache.UpdateSnapshot leaves the NodeInfos of
//     unchanged nodes as they are and replaces the others with NodeInfo.Snapshot copies,
//     which copy the Pods slice but keep its PodInfo pointers in the same order
//     (GetPods order is AddPod order, and only RemovePod reorders it). A node whose pods
//     did not change therefore shows the same sequence next cycle, and in the clone that
//     preemption's dry run starts from.
//  4. Every change to a NodeInfo's pods changes its GetPods sequence: binding, updates,
//     deletions, the snapshot's assume and forget of pod-group members (which keep the
//     NodeInfo's Generation, so the generation cannot key the memo), and preemption's
//     RemovePod and AddPodInfo on a clone.
//  5. NodeInfo.RemovePod works in place: the last PodInfo moves into the removed one's
//     slot, and a later AddPodInfo fills the same array. A memo therefore keeps its own
//     copy of the sequence, never the NodeInfo's slice.
//
// If 1 or 2 broke, a memo or a per-pod entry would keep an old limit; if 3 broke, memos
// would only miss (slower, still exact); 4 and 5 are why the memo compares a copied
// sequence. TestUpstreamBehaviourTheCacheReliesOn (cache_test.go) runs the real cache,
// snapshot and NodeInfo through those steps and fails if any of this changes.

package qosplacement

import (
	"slices"
	"sync"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// defaultSweepAbove is the cache size below which limitCache never sweeps.
const defaultSweepAbove = 4096

// limitCache makes "the sum of the memory limits of the pods in this NodeInfo" cheap
// enough for Filter and Score: no allocation, no PodLimits, and in the steady state no
// per-pod lookups. It has two levels:
//
//   - per node name, the sum last computed and a copy of the exact PodInfo sequence it
//     was computed over. A NodeInfo whose GetPods() holds the same PodInfo pointers in
//     the same order has the same pods (behaviours 1, 3 and 4 above), so the sum is
//     reused after comparing the two slices (which are contiguous: no pod object is
//     touched). Anything else is summed afresh.
//   - per pod object (*v1.Pod), memoryLimit, for summing afresh: a pointer identifies
//     its limits (behaviour 2).
//
// Entries of nodes and pod objects that are gone are dropped by maintain.
type limitCache struct {
	compute func(*v1.Pod) int64

	mu    sync.RWMutex
	pods  map[*v1.Pod]int64
	nodes map[string]*nodeSum
	// sweepAbove is the number of entries past which maintain sweeps.
	sweepAbove int
	minSweep   int
}

// nodeSum is an immutable memo: sum is the limits of exactly pods.
type nodeSum struct {
	pods []fwk.PodInfo
	sum  int64
}

func newLimitCache(compute func(*v1.Pod) int64) *limitCache {
	return &limitCache{
		compute:    compute,
		pods:       map[*v1.Pod]int64{},
		nodes:      map[string]*nodeSum{},
		sweepAbove: defaultSweepAbove,
		minSweep:   defaultSweepAbove,
	}
}

// nodeSum returns the sum of the memory limits of the pods in ni, saturating at
// MaxInt64. Allocation-free when ni's pods are those of the memo for its node, or when
// every pod object has been seen before.
func (c *limitCache) nodeSum(ni fwk.NodeInfo) int64 {
	pods := ni.GetPods()
	var name string
	if n := ni.Node(); n != nil {
		name = n.Name
	}
	c.mu.RLock()
	memo := c.nodes[name]
	c.mu.RUnlock()
	if memo != nil && samePodInfos(memo.pods, pods) {
		return memo.sum
	}
	sum := c.sum(pods)
	if comparablePodInfos(pods) {
		memo = &nodeSum{pods: slices.Clone(pods), sum: sum}
		c.mu.Lock()
		c.nodes[name] = memo
		c.mu.Unlock()
	}
	return sum
}

// samePodInfos compares the PodInfo interface values, i.e. pointers: memo holds only
// *framework.PodInfo values (comparablePodInfos), so the comparison cannot panic.
func samePodInfos(memo, pods []fwk.PodInfo) bool {
	if len(memo) != len(pods) {
		return false
	}
	for i := range memo {
		if memo[i] != pods[i] {
			return false
		}
	}
	return true
}

// comparablePodInfos reports whether every PodInfo is upstream's pointer type, the only
// kind a memo may hold.
func comparablePodInfos(pods []fwk.PodInfo) bool {
	for _, pi := range pods {
		if _, ok := pi.(*framework.PodInfo); !ok {
			return false
		}
	}
	return true
}

// sum returns the sum of the pods' memory limits, saturating at MaxInt64. Allocation-free
// when every pod object has been seen before.
func (c *limitCache) sum(pods []fwk.PodInfo) int64 {
	var total int64
	i := 0
	c.mu.RLock()
	for ; i < len(pods); i++ {
		v, ok := c.pods[pods[i].GetPod()]
		if !ok {
			break
		}
		total = addSat(total, v)
	}
	c.mu.RUnlock()
	for ; i < len(pods); i++ {
		total = addSat(total, c.get(pods[i].GetPod()))
	}
	return total
}

// get returns one pod's memory limit, computing and storing it on a miss.
func (c *limitCache) get(p *v1.Pod) int64 {
	if p == nil {
		return 0
	}
	c.mu.RLock()
	v, ok := c.pods[p]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = c.compute(p)
	c.mu.Lock()
	c.pods[p] = v
	c.mu.Unlock()
	return v
}

// size is the number of cached pod objects and node memos.
func (c *limitCache) size() (pods, nodes int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.pods), len(c.nodes)
}

// maintain drops the entries of pod objects and nodes no longer in nodes (all the nodes
// of the scheduler's snapshot), once the cache has outgrown its bound. The bound is
// twice what remains after a sweep, so the O(pods) sweep runs at most once per that many
// new entries: amortised O(1) per pod object ever cached.
func (c *limitCache) maintain(nodes []fwk.NodeInfo) {
	c.mu.RLock()
	n, above := len(c.pods)+len(c.nodes), c.sweepAbove
	c.mu.RUnlock()
	if n <= above {
		return
	}
	livePods := make(map[*v1.Pod]struct{}, len(c.pods)/2)
	liveNodes := make(map[string]struct{}, len(nodes))
	for _, ni := range nodes {
		if node := ni.Node(); node != nil {
			liveNodes[node.Name] = struct{}{}
		}
		for _, pi := range ni.GetPods() {
			livePods[pi.GetPod()] = struct{}{}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.pods {
		if _, ok := livePods[p]; !ok {
			delete(c.pods, p)
		}
	}
	for name := range c.nodes {
		if _, ok := liveNodes[name]; !ok {
			delete(c.nodes, name)
		}
	}
	c.sweepAbove = max(c.minSweep, 2*(len(c.pods)+len(c.nodes)))
}
