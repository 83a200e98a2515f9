package qosplacement

import (
	"maps"
	"math"
	"slices"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// memoryLimit is a pod's memory limit as the guard and the score count it: upstream's
// PodLimits (so init containers, restartable init containers (sidecars), pod overhead
// and pod-level resources count as upstream counts them), except that a container
// without a memory limit counts at its memory request, and a pod-level memory request
// without a pod-level memory limit raises the total to at least that request. A
// container with neither counts 0: it is BestEffort-like and the kubelet evicts it first.
// Never negative; saturates at MaxInt64.
//
// It allocates (PodLimits builds ResourceLists), which is why Filter and Score read it
// through limitCache.
func memoryLimit(pod *v1.Pod, opts resourcehelper.PodResourcesOptions) int64 {
	opts.Reuse = nil
	limits := resourcehelper.PodLimits(withMemoryLimitAtRequest(pod), opts)
	v := bytesOf(limits[v1.ResourceMemory])
	if !opts.SkipPodLevelResources && pod.Spec.Resources != nil {
		if _, limited := pod.Spec.Resources.Limits[v1.ResourceMemory]; !limited {
			if req, ok := pod.Spec.Resources.Requests[v1.ResourceMemory]; ok {
				v = max(v, bytesOf(req))
			}
		}
	}
	return v
}

// withMemoryLimitAtRequest returns pod itself when every container that requests memory
// also limits it, else a copy in which those containers are limited at their request.
func withMemoryLimitAtRequest(pod *v1.Pod) *v1.Pod {
	if !anyUnlimitedRequest(pod.Spec.Containers) && !anyUnlimitedRequest(pod.Spec.InitContainers) {
		return pod
	}
	// A shallow copy with copied container slices: limitAtRequest replaces (never
	// modifies) the maps it changes, so the original pod is untouched.
	p := *pod
	p.Spec.Containers = slices.Clone(pod.Spec.Containers)
	p.Spec.InitContainers = slices.Clone(pod.Spec.InitContainers)
	limitAtRequest(p.Spec.Containers)
	limitAtRequest(p.Spec.InitContainers)
	return &p
}

func anyUnlimitedRequest(cs []v1.Container) bool {
	for i := range cs {
		if unlimitedRequest(&cs[i]) {
			return true
		}
	}
	return false
}

func unlimitedRequest(c *v1.Container) bool {
	_, limited := c.Resources.Limits[v1.ResourceMemory]
	_, requested := c.Resources.Requests[v1.ResourceMemory]
	return !limited && requested
}

func limitAtRequest(cs []v1.Container) {
	for i := range cs {
		c := &cs[i]
		if !unlimitedRequest(c) {
			continue
		}
		limits := make(v1.ResourceList, len(c.Resources.Limits)+1)
		maps.Copy(limits, c.Resources.Limits)
		limits[v1.ResourceMemory] = c.Resources.Requests[v1.ResourceMemory]
		c.Resources.Limits = limits
	}
}

var maxBytes = *resource.NewQuantity(math.MaxInt64, resource.BinarySI)

// bytesOf is q in bytes, 0 if negative, MaxInt64 if beyond.
func bytesOf(q resource.Quantity) int64 {
	if q.Sign() <= 0 {
		return 0
	}
	if q.Cmp(maxBytes) >= 0 {
		return math.MaxInt64
	}
	return q.Value()
}

// addSat adds non-negative a and b, saturating at MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// defaultSweepAbove is the cache size below which limitCache never sweeps.
const defaultSweepAbove = 4096

// limitCache makes "the sum of the memory limits of the pods in this NodeInfo" cheap
// enough for Filter and Score: no allocation, no PodLimits, and in the steady state no
// per-pod lookups. It has two levels:
//
//   - per node name, the sum last computed and the exact PodInfo sequence it was computed
//     over. A NodeInfo whose GetPods() holds the same PodInfo pointers in the same order
//     has the same pods, so the sum is reused after comparing the two slices (which are
//     contiguous: no pod object is touched). Anything else (a pod bound, removed,
//     assumed or forgotten; preemption's dry-run clone with victims removed; nominated
//     pods added to a clone) differs in the sequence and is summed afresh. NodeInfo
//     generations cannot serve as the key: the snapshot assumes and forgets pods of pod
//     groups without changing the generation.
//   - per pod object (*v1.Pod), memoryLimit, for summing afresh. The scheduler never
//     modifies a pod object it has put into a NodeInfo (an update replaces the object,
//     and the PodInfo with it), so a pointer identifies its limits.
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
