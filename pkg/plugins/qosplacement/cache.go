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
//  6. NodeInfo.AddPodInfo appends: the clone the framework filters with nominated pods
//     (addGENominatedPods: NodeInfo.Snapshot, then AddPodInfo per nominated pod), a
//     pod bound or assumed, and a victim reprieved in preemption's dry run all extend
//     the sequence of the NodeInfo they came from, which stays a prefix of it.
//  7. A pod's UID and resourceVersion identify its spec and status: the API server
//     gives every write a new resourceVersion, and the scheduler's own copies of a pod
//     (the nominated pods the queue hands out as fresh deep copies every call, an
//     assumed pod with its nodeName set) change nothing a limit is computed from. The
//     per-pod level therefore also finds a pod object by UID and resourceVersion, so
//     that a copy made every cycle costs a lookup, not PodLimits. Pods without either
//     (objects that never came from an API server) are found by pointer only.
//
// If 1, 2 or 7 broke, a memo or a per-pod entry would keep an old limit; if 3 or 6 broke,
// memos would only miss (slower, still exact); 4 and 5 are why the memo compares a
// copied sequence. TestUpstreamBehaviourTheCacheReliesOn (cache_test.go) runs the real cache,
// snapshot and NodeInfo through those steps and fails if any of this changes.

package qosplacement

import (
	"slices"
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

const (
	// defaultSweepAbove is the cache size below which limitCache never sweeps.
	defaultSweepAbove = 4096
	// maxDerivedTail is how many pods past a memo's sequence nodeSum adds without
	// storing a new memo: enough for the nominated pods of a node and the victims
	// preemption's dry run reprieves, which are gone next cycle, while a node that
	// keeps gaining bound pods gets a memo of its own after a few.
	maxDerivedTail = 4
)

// limitCache makes "the sum of the memory limits of the pods in this NodeInfo" cheap
// enough for Filter and Score: no allocation, no PodLimits, and in the steady state no
// per-pod lookups. It has two levels:
//
//   - per node object (*v1.Node: the snapshot's NodeInfo and every copy of it hold the
//     cache's pointer, replaced only when the Node is updated), the two sums last
//     stored (nodeMemos), each with a copy of the
//     exact PodInfo sequence it was computed over. A NodeInfo whose GetPods() holds the
//     same PodInfo pointers in the same order has the same pods (behaviours 1, 3 and 4
//     above), so the sum is reused after comparing the two slices (which are
//     contiguous: no pod object is touched). A NodeInfo whose sequence extends a memo's
//     (behaviour 6) adds only the extra pods' limits. Anything else is summed afresh.
//     Two memos, not one, because a scheduling cycle with preemption under way sees a
//     node and copies of it (with nominated pods added, without victims): one memo
//     would be overwritten by each copy and miss on the node the next cycle.
//   - per pod, memoryLimit, for summing afresh: by UID and resourceVersion (behaviour
//     7), or for a pod without them by pointer (behaviour 2). Keyed by version, the
//     cache holds no pod object alive.
//
// Entries of nodes and pod objects that are gone are dropped by maintain.
type limitCache struct {
	compute func(*v1.Pod) int64

	// nodes holds each node object's memos (nodeindex.go).
	nodes *nodeIndex

	mu       sync.RWMutex
	pods     map[*v1.Pod]int64
	versions map[podVersion]int64
	// sweepAbove is the number of entries past which maintain sweeps.
	sweepAbove int
	minSweep   int
}

// podVersion is a pod as the API server stored it (behaviour 7).
type podVersion struct {
	uid             types.UID
	resourceVersion string
}

// versionOf returns the pod's version, false for a pod without UID or resourceVersion.
func versionOf(p *v1.Pod) (podVersion, bool) {
	return podVersion{p.UID, p.ResourceVersion}, p.UID != "" && p.ResourceVersion != ""
}

// nodeSum is an immutable memo: sum is the limits of exactly pods.
type nodeSum struct {
	pods []fwk.PodInfo
	sum  int64
}

// nodeMemos are a node's two memos. Each slot is replaced whole, never modified, so
// concurrent calls on the same node (not something the scheduler does, but a tool's
// dry run might) read a consistent memo; lastUsed picks the slot a new memo replaces,
// the one not used last.
type nodeMemos struct {
	slot     [2]atomic.Pointer[nodeSum]
	lastUsed atomic.Uint32
}

func (m *nodeMemos) use(i uint32) {
	if m.lastUsed.Load() != i {
		m.lastUsed.Store(i)
	}
}

func (m *nodeMemos) store(s *nodeSum) {
	i := 1 - m.lastUsed.Load()
	m.slot[i].Store(s)
	m.use(i)
}

func newLimitCache(compute func(*v1.Pod) int64) *limitCache {
	return &limitCache{
		compute:    compute,
		nodes:      newNodeIndex(),
		pods:       map[*v1.Pod]int64{},
		versions:   map[podVersion]int64{},
		sweepAbove: defaultSweepAbove,
		minSweep:   defaultSweepAbove,
	}
}

// nodeSum returns the sum of the memory limits of the pods in ni, saturating at
// MaxInt64. Allocation-free when ni's pods are those of one of its node's memos, or
// extend one by at most maxDerivedTail pod objects seen before; otherwise it stores a
// memo of ni's pods (one allocation). It is Filter's: ni may be a copy made for one
// call (nominated pods added, victims removed).
func (c *limitCache) nodeSum(ni fwk.NodeInfo) int64 {
	return c.nodeSumOf(ni, false)
}

// snapshotNodeSum is nodeSum for a NodeInfo of the scheduler's snapshot, which Score
// is only ever given: one that extends a memo is the node as it now is (pods bound
// since the memo), not a copy, and will be seen again next cycle, so it gets a memo of
// its own (one allocation per node that changed) instead of paying a lookup per added
// pod, under the per-pod level's lock, every cycle until it changes again.
func (c *limitCache) snapshotNodeSum(ni fwk.NodeInfo) int64 {
	return c.nodeSumOf(ni, true)
}

func (c *limitCache) nodeSumOf(ni fwk.NodeInfo, snapshot bool) int64 {
	pods := ni.GetPods()
	memos := c.nodes.get(ni.Node())
	// The slot used last first: in the steady state it holds the node itself.
	last := memos.lastUsed.Load()
	var base *nodeSum
	baseSlot := last
	for _, i := range [2]uint32{last, 1 - last} {
		m := memos.slot[i].Load()
		if m == nil || len(m.pods) > len(pods) || !samePodInfos(m.pods, pods[:len(m.pods)]) {
			continue
		}
		if len(m.pods) == len(pods) {
			memos.use(i)
			return m.sum
		}
		if base == nil || len(m.pods) > len(base.pods) {
			base, baseSlot = m, i
		}
	}
	if base != nil && len(pods)-len(base.pods) <= maxDerivedTail {
		// A copy of the node with nominated pods added or victims reprieved, or the
		// node with a pod or two bound since its memo: the memo plus the extra pods,
		// and no new memo, so that copies made afresh every cycle never displace the
		// node's own.
		memos.use(baseSlot)
		sum := addSat(base.sum, c.sum(pods[len(base.pods):]))
		if snapshot && comparablePodInfos(pods) {
			memos.store(&nodeSum{pods: slices.Clone(pods), sum: sum})
		}
		return sum
	}
	sum := c.sum(pods)
	if comparablePodInfos(pods) {
		memos.store(&nodeSum{pods: slices.Clone(pods), sum: sum})
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
		v, ok := c.lookupLocked(pods[i].GetPod())
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

// lookupLocked finds a pod's limit by version, or by pointer for a pod without one.
// The caller holds mu.
func (c *limitCache) lookupLocked(p *v1.Pod) (int64, bool) {
	if version, ok := versionOf(p); ok {
		v, ok := c.versions[version]
		return v, ok
	}
	v, ok := c.pods[p]
	return v, ok
}

// get returns one pod's memory limit, computing and storing it on a miss. A pod with a
// version is stored by version only, never by pointer: the first object of a pod the
// cache meets is typically the scheduler's assumed copy, which the informer's bound
// object replaces within a cycle or two, and a pointer entry would keep that whole copy
// alive until the next sweep (10 MB of 10000 assumed copies in the retained heap of the
// 5000-node make bench-rss run).
func (c *limitCache) get(p *v1.Pod) int64 {
	if p == nil {
		return 0
	}
	c.mu.RLock()
	v, ok := c.lookupLocked(p)
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = c.compute(p)
	c.mu.Lock()
	if version, versioned := versionOf(p); versioned {
		c.versions[version] = v
	} else {
		c.pods[p] = v
	}
	c.mu.Unlock()
	return v
}

// size is the number of cached pods (by pointer or by version) and nodes with memos.
func (c *limitCache) size() (pods, nodes int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.pods) + len(c.versions), c.nodes.len()
}

// maintain runs once per scheduling cycle (PreFilter, PreScore). It publishes the node
// memos added since the last cycle (nodeIndex.publish) and drops the entries of pod
// objects and nodes no longer in nodes (all the nodes of the scheduler's snapshot),
// once the cache has outgrown its bound. The bound is
// twice what remains after a sweep, so the O(pods) sweep runs at most once per that many
// new entries: amortised O(1) per pod object ever cached.
func (c *limitCache) maintain(nodes []fwk.NodeInfo) {
	c.nodes.publish()
	c.mu.RLock()
	n, above := len(c.pods)+len(c.versions)+c.nodes.len(), c.sweepAbove
	c.mu.RUnlock()
	if n <= above {
		return
	}
	livePods := make(map[*v1.Pod]struct{}, n/2)
	liveVersions := make(map[podVersion]struct{}, n/2)
	liveNodes := make(map[*v1.Node]struct{}, len(nodes))
	for _, ni := range nodes {
		if node := ni.Node(); node != nil {
			liveNodes[node] = struct{}{}
		}
		for _, pi := range ni.GetPods() {
			livePods[pi.GetPod()] = struct{}{}
			if version, ok := versionOf(pi.GetPod()); ok {
				liveVersions[version] = struct{}{}
			}
		}
	}
	c.nodes.retain(liveNodes)
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.pods {
		if _, ok := livePods[p]; !ok {
			delete(c.pods, p)
		}
	}
	for version := range c.versions {
		if _, ok := liveVersions[version]; !ok {
			delete(c.versions, version)
		}
	}
	c.sweepAbove = max(c.minSweep, 2*(len(c.pods)+len(c.versions)+c.nodes.len()))
}
