package qosawarepreemption

import (
	"cmp"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	policy "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	internalcache "k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

var (
	propSeed       = flag.Int64("qosap.seed", 0, "first seed of TestPropertyPreemption (0: from the clock)")
	propIterations = flag.Int("qosap.iterations", 10000, "clusters TestPropertyPreemption generates")
)

// cluster is one generated case: a few small nodes with pods, PDBs, a pending
// preemptor and the guaranteedPriorityGap in force.
type cluster struct {
	nodes     []*v1.Node
	pods      []*v1.Pod
	pdbs      []*policy.PodDisruptionBudget
	preemptor *v1.Pod
	gap       int64
}

func (c *cluster) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "guaranteedPriorityGap %d\n", c.gap)
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "node %s cpu=%s pods=%s zone=%q\n", n.Name, n.Status.Allocatable.Cpu(), n.Status.Allocatable.Pods(), n.Labels[v1.LabelTopologyZone])
	}
	for _, p := range append(slices.Clone(c.pods), c.preemptor) {
		fmt.Fprintf(&b, "pod %s node=%q prio=%d qos=%s cpu=%dm labels=%v ports=%v start=%v%s\n", p.Name, p.Spec.NodeName,
			*p.Spec.Priority, qosClass(p), requestedCPU(p), p.Labels, hostPorts(p), startOf(p), affinityOf(p))
	}
	for _, pdb := range c.pdbs {
		fmt.Fprintf(&b, "pdb %v allowed=%d\n", pdb.Spec.Selector.MatchLabels, pdb.Status.DisruptionsAllowed)
	}
	return b.String()
}

// affinityOf describes p's required pod (anti-)affinity terms.
func affinityOf(p *v1.Pod) string {
	a := p.Spec.Affinity
	if a == nil {
		return ""
	}
	var b strings.Builder
	if a.PodAffinity != nil {
		for _, t := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			fmt.Fprintf(&b, " affinity=%v@%s", t.LabelSelector.MatchLabels, t.TopologyKey)
		}
	}
	if a.PodAntiAffinity != nil {
		for _, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			fmt.Fprintf(&b, " anti-affinity=%v@%s", t.LabelSelector.MatchLabels, t.TopologyKey)
		}
	}
	return b.String()
}

// qosClass is upstream's definition (a host port adds a container without resources,
// so a generated pod's class is not always the one it was built as).
func qosClass(p *v1.Pod) v1.PodQOSClass { return qos.GetPodQOS(p) }

func requestedCPU(p *v1.Pod) int64 {
	var m int64
	for _, c := range p.Spec.Containers {
		m += c.Resources.Requests.Cpu().MilliValue()
	}
	return m
}

func hostPorts(p *v1.Pod) []int32 {
	var ports []int32
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.HostPort != 0 {
				ports = append(ports, port.HostPort)
			}
		}
	}
	return ports
}

func startOf(p *v1.Pod) int64 {
	if p.Status.StartTime == nil {
		return 0
	}
	return p.Status.StartTime.Unix()
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.Intn(len(xs))] }

// genCluster builds 1-3 nodes of 2 or 4 cores and 2-6 pod slots, most in one of two
// zones, filled with up to 6 pods each of random priority, QoS class, cpu, app label,
// sometimes tier=x (only on app=a pods) and (sometimes) host port 8080, each fitting
// when placed; an optional PDB on app=c; and a preemptor of random priority, class and
// cpu that may want port 8080, may carry app=a and tier=x itself, and may require
// affinity (one or two terms, app=a or tier=x, per node or per zone) or anti-affinity
// to app=b (per node). Pods the preemptor's affinity can count never fall under the
// PDB: where a kept affinity target would have spent a budget is the one place the
// plugin's reprieve order (computed without the target) may differ from the oracle's.
func genCluster(r *rand.Rand) *cluster {
	c := &cluster{gap: pick(r, int64(0), 0, 50)}
	starts := r.Perm(100) // distinct start times: the victim order is then strict
	podNum := 0
	mkPod := func(name string, prio int32, class v1.PodQOSClass, cpu string) *st.PodWrapper {
		w := st.MakePod().Namespace("default").Name(name).UID(name).Priority(prio)
		switch class {
		case v1.PodQOSGuaranteed:
			w.Res(map[v1.ResourceName]string{v1.ResourceCPU: cpu, v1.ResourceMemory: "1Gi"})
		case v1.PodQOSBurstable:
			w.Req(map[v1.ResourceName]string{v1.ResourceCPU: cpu})
		default:
			w.Container("app")
		}
		return w
	}
	classes := []v1.PodQOSClass{v1.PodQOSBestEffort, v1.PodQOSBurstable, v1.PodQOSGuaranteed}
	for i := range 1 + r.Intn(3) {
		name := fmt.Sprintf("n%d", i)
		cores, slots := pick(r, 2, 4), pick(r, 2, 3, 4, 6)
		n := node(name, fmt.Sprint(cores), fmt.Sprint(slots))
		if r.Intn(8) != 0 {
			n.Labels[v1.LabelTopologyZone] = pick(r, "z0", "z1")
		}
		c.nodes = append(c.nodes, n)
		usedCPU, used, portTaken := int64(0), 0, false
		for range 2 + r.Intn(5) {
			class := pick(r, classes...)
			cpu := pick(r, "250m", "500m", "1", "2")
			app := pick(r, "a", "b", "c")
			w := mkPod(fmt.Sprintf("p%d", podNum), pick(r, int32(0), 10, 50, 100, 500), class, cpu).
				Node(name).Label("app", app).StartTime(at(starts[podNum]))
			if app == "a" && r.Intn(2) == 0 {
				w.Label("tier", "x")
			}
			if r.Intn(10) == 0 && !portTaken {
				w.HostPort(8080)
			}
			p := w.Obj()
			if usedCPU+requestedCPU(p) > int64(cores)*1000 || used+1 > slots || (portTaken && len(hostPorts(p)) > 0) {
				continue
			}
			podNum++
			usedCPU += requestedCPU(p)
			used++
			portTaken = portTaken || len(hostPorts(p)) > 0
			c.pods = append(c.pods, p)
		}
	}
	w := mkPod("preemptor", pick(r, int32(10), 50, 100, 500, 1000), pick(r, classes...), pick(r, "500m", "1", "2", "3", "4"))
	if r.Intn(7) == 0 {
		w.HostPort(8080)
	}
	if r.Intn(4) == 0 {
		w.Label("app", "a")
		if r.Intn(2) == 0 {
			w.Label("tier", "x")
		}
	}
	if r.Intn(3) == 0 {
		var terms []v1.PodAffinityTerm
		for range 1 + r.Intn(2) {
			sel := pick(r, map[string]string{"app": "a"}, map[string]string{"tier": "x"})
			terms = append(terms, v1.PodAffinityTerm{
				LabelSelector: &metav1.LabelSelector{MatchLabels: sel},
				TopologyKey:   pick(r, v1.LabelHostname, v1.LabelTopologyZone),
			})
		}
		w.Obj().Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
	} else if r.Intn(10) == 0 {
		w.PodAntiAffinity(v1.LabelHostname, &metav1.LabelSelector{MatchLabels: map[string]string{"app": "b"}}, st.PodAntiAffinityWithRequiredReq)
	}
	c.preemptor = w.Obj()
	if r.Intn(3) == 0 {
		c.pdbs = append(c.pdbs, st.MakePDB().Namespace("default").Name("pdb").MatchLabel("app", "c").
			DisruptionsAllowed(pick(r, int32(0), 1)).Obj())
	}
	return c
}

// TestPropertyPreemption dry-runs berth's preemption on many generated clusters and
// checks it against an oracle that knows only the documented rules:
//   - victims have lower priority than the preemptor and respect guaranteedPriorityGap;
//   - with its victims gone the preemptor passes every filter, upstream's
//     InterPodAffinity over the whole cluster included (zone terms count the pods of
//     every node in the zone);
//   - on each node, the victim set is the best one under berth's order: found by trying
//     every subset of the eligible pods, PDB-violating pods reprieved first, then the
//     others, most important (priority, QoS, earlier start) first;
//   - a node is a candidate exactly when some eligible subset makes room;
//   - the chosen node is minimal by (PDB violations, highest victim priority, QoS cost,
//     victims, earliest start of the highest-priority victims, reversed).
func TestPropertyPreemption(t *testing.T) {
	seed := *propSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	// A panic inside the Evaluator's worker goroutines ends the process before any
	// t.Log is shown; stderr is printed with the failure.
	fmt.Fprintf(os.Stderr, "TestPropertyPreemption: first seed %d, %d clusters\n", seed, *propIterations)

	e := newTestEnv(t, nil, nil, nil)
	plugins := map[int64]*QoSAwarePreemption{
		0:  e.berth(t, nil),
		50: e.berth(t, map[string]any{"guaranteedPriorityGap": 50}),
	}
	var total coverage
	for i := range *propIterations {
		s := seed + int64(i)
		c := genCluster(rand.New(rand.NewSource(s)))
		cov, err := checkCluster(e, plugins[c.gap], c)
		if err != nil {
			t.Fatalf("cluster %d: %v\nreproduce with: go test ./pkg/plugins/qosawarepreemption -run TestPropertyPreemption -qosap.seed=%d -qosap.iterations=1\n%s", i, err, s, c)
		}
		total.add(cov)
	}
	t.Logf("seed %d: %d clusters, %d needed preemption; affinity targets among the possible victims of %d, one evicted in %d, one kept in %d",
		seed, *propIterations, total.preempted, total.targets, total.targetEvicted, total.targetKept)
	if n := *propIterations; n >= 1000 && (total.preempted < n/4 || total.targetEvicted < n/100 || total.targetKept < n/100) {
		t.Errorf("the generator no longer exercises the plugin: %+v of %d clusters", total, n)
	}
}

// coverage counts what a generated cluster exercised.
type coverage struct {
	// preempted: the preemptor needed preemption.
	preempted int
	// targets: a possible victim on a candidate node was a pod the preemptor's
	// affinity counts (it matches every required term); targetEvicted, targetKept: a
	// candidate node's victim set evicts, or keeps, such a pod.
	targets, targetEvicted, targetKept int
}

func (c *coverage) add(o coverage) {
	c.preempted += o.preempted
	c.targets += o.targets
	c.targetEvicted += o.targetEvicted
	c.targetKept += o.targetKept
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isTarget reports whether p matches every required pod-affinity term of the preemptor
// (the generator's terms only use matchLabels).
func isTarget(preemptor, p *v1.Pod) bool {
	a := preemptor.Spec.Affinity
	if a == nil || a.PodAffinity == nil || len(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		return false
	}
	for _, t := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		for k, v := range t.LabelSelector.MatchLabels {
			if p.Labels[k] != v {
				return false
			}
		}
	}
	return true
}

// oracle answers feasibility questions on fresh snapshots, independent of the
// plugin's incremental NodeInfo updates.
type oracle struct {
	e *testEnv
	c *cluster
}

// fits reports whether the preemptor passes every filter on node once the pods in
// removed are gone: a snapshot of the whole cluster without them, PreFilter and Filter
// of upstream's plugins (InterPodAffinity counts targets in every node of a zone).
func (o *oracle) fits(node string, removed map[string]bool) bool {
	var pods []*v1.Pod
	for _, p := range o.c.pods {
		if !removed[p.Name] {
			pods = append(pods, p)
		}
	}
	o.e.snap.Snapshot = internalcache.NewSnapshot(pods, o.c.nodes)
	state := framework.NewCycleState()
	if _, s, _ := o.e.fw.RunPreFilterPlugins(o.e.ctx, state, o.c.preemptor); !s.IsSuccess() {
		return false
	}
	ni, err := o.e.snap.NodeInfos().Get(node)
	if err != nil {
		panic(err)
	}
	return o.e.fw.RunFilterPluginsWithNominatedPods(o.e.ctx, state, o.c.preemptor, ni).IsSuccess()
}

// eligible lists the pods on node the rules allow as victims, in reprieve order:
// PDB-violating ones first, each group by descending importance.
func (o *oracle) eligible(node string) (order []*v1.Pod, violating map[string]bool) {
	prio := *o.c.preemptor.Spec.Priority
	var list []*v1.Pod
	for _, p := range o.c.pods {
		switch {
		case p.Spec.NodeName != node, *p.Spec.Priority >= prio:
		case o.c.gap > 0 && qosClass(p) == v1.PodQOSGuaranteed && int64(prio) < int64(*p.Spec.Priority)+o.c.gap:
		default:
			list = append(list, p)
		}
	}
	rank := map[v1.PodQOSClass]int{v1.PodQOSBestEffort: 0, v1.PodQOSBurstable: 1, v1.PodQOSGuaranteed: 2}
	slices.SortFunc(list, func(a, b *v1.Pod) int {
		return cmp.Or(
			cmp.Compare(*b.Spec.Priority, *a.Spec.Priority),
			cmp.Compare(rank[qosClass(b)], rank[qosClass(a)]),
			cmp.Compare(startOf(a), startOf(b)))
	})
	// A PDB's budget is spent in that order; the pods beyond it violate.
	violating = map[string]bool{}
	for _, pdb := range o.c.pdbs {
		allowed := pdb.Status.DisruptionsAllowed
		for _, p := range list {
			if p.Labels["app"] == pdb.Spec.Selector.MatchLabels["app"] {
				if allowed--; allowed < 0 {
					violating[p.Name] = true
				}
			}
		}
	}
	var rest []*v1.Pod
	for _, p := range list {
		if violating[p.Name] {
			order = append(order, p)
		} else {
			rest = append(rest, p)
		}
	}
	return append(order, rest...), violating
}

// best returns the lexicographically best victim set on node: among all subsets of the
// eligible pods that make room, the one that keeps order[0] if any does, then order[1],
// and so on. Counting masks up with order[0] as the most significant bit visits them in
// exactly that preference; the first that fits wins. nil, false if none fits.
func (o *oracle) best(node string) ([]*v1.Pod, bool) {
	order, _ := o.eligible(node)
	k := len(order)
	for mask := 0; mask < 1<<k; mask++ {
		removed := map[string]bool{}
		var set []*v1.Pod
		for j, p := range order {
			if mask&(1<<(k-1-j)) != 0 {
				removed[p.Name] = true
				set = append(set, p)
			}
		}
		if len(set) > 0 && o.fits(node, removed) {
			return set, true
		}
	}
	return nil, false
}

// checkCluster returns what the cluster exercised, and the first broken invariant.
func checkCluster(e *testEnv, pl *QoSAwarePreemption, c *cluster) (coverage, error) {
	var cov coverage
	ok, err := checkClusterCounting(e, pl, c, &cov)
	cov.preempted = b2i(ok)
	return cov, err
}

func checkClusterCounting(e *testEnv, pl *QoSAwarePreemption, c *cluster, cov *coverage) (bool, error) {
	e.snap.Snapshot = internalcache.NewSnapshot(c.pods, c.nodes)
	state := framework.NewCycleState()
	if _, s, _ := e.fw.RunPreFilterPlugins(e.ctx, state, c.preemptor); !s.IsSuccess() {
		return false, nil
	}
	infos, err := e.snap.NodeInfos().List()
	if err != nil {
		return false, err
	}
	var potential []fwk.NodeInfo
	for _, ni := range infos {
		s := e.fw.RunFilterPluginsWithNominatedPods(e.ctx, state, c.preemptor, ni)
		if s.IsSuccess() {
			return false, nil // fits without preemption: PostFilter would not run
		}
		if s.Code() == fwk.Unschedulable {
			potential = append(potential, ni)
		}
	}
	if len(potential) == 0 {
		return false, nil
	}
	// As PostFilter does, leave the per-cycle record for SelectVictimsOnNode.
	state.Write(postFilterStateKey, &postFilterState{affinity: pl.affinityTargets(c.preemptor)})
	offset, n := pl.GetOffsetAndNumCandidates(int32(len(potential)))
	candidates, _, err := pl.evaluator.DryRunPreemption(e.ctx, state, c.preemptor, potential, c.pdbs, offset, n)
	if err != nil {
		return true, fmt.Errorf("dry run: %w", err)
	}
	chosen := pl.evaluator.SelectCandidate(e.ctx, candidates)

	o := &oracle{e: e, c: c}
	byNode := map[string][]*v1.Pod{}
	pdbViolations := map[string]int64{}
	for _, cand := range candidates {
		byNode[cand.Name()] = cand.Victims().Pods
		pdbViolations[cand.Name()] = cand.Victims().NumPDBViolations
	}
	prio := *c.preemptor.Spec.Priority
	for _, ni := range potential {
		name := ni.Node().Name
		got, isCandidate := byNode[name]
		want, feasible := o.best(name)
		if isCandidate != feasible {
			return true, fmt.Errorf("node %s: candidate=%v, but a victim set making room exists=%v (oracle's best %v)", name, isCandidate, feasible, names(want))
		}
		if !isCandidate {
			continue
		}
		order, _ := o.eligible(name)
		for _, p := range order {
			if isTarget(c.preemptor, p) {
				cov.targets = 1
				cov.targetEvicted = max(cov.targetEvicted, b2i(slices.Contains(got, p)))
				cov.targetKept = max(cov.targetKept, b2i(!slices.Contains(got, p)))
			}
		}
		removed := map[string]bool{}
		for _, v := range got {
			removed[v.Name] = true
			if *v.Spec.Priority >= prio {
				return true, fmt.Errorf("node %s: victim %s has priority %d >= the preemptor's %d", name, v.Name, *v.Spec.Priority, prio)
			}
		}
		if !o.fits(name, removed) {
			return true, fmt.Errorf("node %s: the preemptor does not fit once victims %v are gone", name, names(got))
		}
		gotNames, wantNames := names(got), names(want)
		slices.Sort(gotNames)
		slices.Sort(wantNames)
		if !slices.Equal(gotNames, wantNames) {
			return true, fmt.Errorf("node %s: victims %v, but %v is better under berth's order", name, gotNames, wantNames)
		}
		_, violating := o.eligible(name)
		var wantViolations int64
		for _, v := range want {
			if violating[v.Name] {
				wantViolations++
			}
		}
		if pdbViolations[name] != wantViolations {
			return true, fmt.Errorf("node %s: %d PDB violations reported, want %d", name, pdbViolations[name], wantViolations)
		}
	}
	if len(candidates) == 0 {
		if chosen != nil {
			return true, fmt.Errorf("a node (%s) was chosen without candidates", chosen.Name())
		}
		return true, nil
	}
	// Node choice: berth's key, lower is better; the chosen node must have the least.
	key := func(node string) [5]int64 {
		pods := byNode[node]
		highest := int64(-1 << 62)
		var cost int64
		for _, p := range pods {
			highest = max(highest, int64(*p.Spec.Priority))
			cost += map[v1.PodQOSClass]int64{v1.PodQOSBestEffort: 1, v1.PodQOSBurstable: 2, v1.PodQOSGuaranteed: 4}[qosClass(p)]
		}
		earliest := int64(1 << 62)
		for _, p := range pods {
			if int64(*p.Spec.Priority) == highest {
				earliest = min(earliest, startOf(p))
			}
		}
		return [5]int64{pdbViolations[node], highest, cost, int64(len(pods)), -earliest}
	}
	bestKey := key(chosen.Name())
	for node := range byNode {
		if k := key(node); slices.Compare(k[:], bestKey[:]) < 0 {
			return true, fmt.Errorf("chose node %s %v, but node %s is better %v", chosen.Name(), bestKey, node, k)
		}
	}
	return true, nil
}
