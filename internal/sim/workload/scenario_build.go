package workload

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	resourcehelper "k8s.io/component-helpers/resource"
	v1helper "k8s.io/kubernetes/pkg/apis/core/v1/helper"
)

// Limits that keep a mistyped count from exhausting memory; far above what berth-sim
// replays in reasonable time.
const (
	maxNodesTotal = 100_000
	maxPodsTotal  = 1_000_000
	// maxTime bounds arrival times: about 100 years of virtual time.
	maxTime = 100 * 365 * 24 * time.Hour
)

// DefaultMaxPods is a node's pod capacity when a scenario or trace gives none: the
// kubelet's default.
const DefaultMaxPods = 110

// PauseImage is the image of every container berth-sim makes; the simulator runs none,
// but the same objects can be created on a real cluster (the fidelity test does).
const PauseImage = "registry.k8s.io/pause:3.10"

// LoadScenario reads a scenario file and builds its workload. seed draws the durations
// given as ranges: the same file and seed give the same workload, bit for bit.
func LoadScenario(path string, seed int64) (*Workload, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseScenario(path, data, seed)
}

// ParseScenario builds the workload of the scenario in data; name is the file's name
// in messages. A faulty file gives an ErrorList with every problem found, each as
// name:line: field.path: what is wrong and what is allowed.
func ParseScenario(name string, data []byte, seed int64) (*Workload, error) {
	d := newDecoder(name)
	root := d.parseDocument(data)
	if root == nil {
		return nil, d.errs.asError()
	}
	var s Scenario
	d.decode(root, nil, reflect.ValueOf(&s).Elem())
	if len(d.errs) > 0 {
		// Checking what failed to decode would only repeat the same problems.
		return nil, d.errs.asError()
	}
	b := &scenarioBuilder{d: d, s: &s, seed: seed, w: &Workload{},
		classes: map[string]*schedulingv1.PriorityClass{}, nodes: map[string]*v1.Node{},
		groupNodes: map[string][]string{}, namespaces: map[string]*field.Path{}}
	b.build()
	if err := d.errs.asError(); err != nil {
		return nil, err
	}
	if err := b.w.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b.w, nil
}

// scenarioBuilder turns a decoded scenario into a Workload, checking it on the way;
// problems go to the decoder, which knows their lines.
type scenarioBuilder struct {
	d    *decoder
	s    *Scenario
	seed int64
	w    *Workload
	api  *apiServer

	classes    map[string]*schedulingv1.PriorityClass
	nodes      map[string]*v1.Node
	groupNodes map[string][]string
	// namespaces maps each namespace to the first field naming it.
	namespaces map[string]*field.Path
	pods       []sortedPod
}

// sortedPod is a pod with what orders it among the workload's pods.
type sortedPod struct {
	Pod
	bound       bool
	group, rank int // rank: the pod's index among its group's pods arriving at once
	index       int
}

func (b *scenarioBuilder) errorf(path *field.Path, format string, args ...any) {
	b.d.errorf(b.d.lineOf(ps(path)), path, format, args...)
}

// pathMap maps upstream validation paths of an API object (prefixes) to the fields of
// the scenario they come from, relative to the scenario object.
type pathMap map[string]string

// report records upstream validation errors of the object made from the scenario
// object at base, under the scenario's field paths.
func (b *scenarioBuilder) report(errs field.ErrorList, base *field.Path, m pathMap) {
	for _, e := range errs {
		best := ""
		for from := range m {
			if len(from) > len(best) && hasPathPrefix(e.Field, from) {
				best = from
			}
		}
		if best == "" {
			b.d.errs = append(b.d.errs, &Error{File: b.d.file, Line: b.d.lineOf(ps(base)), Field: ps(base),
				Msg: e.Field + ": " + e.ErrorBody()})
			continue
		}
		f, rest := ps(base), e.Field[len(best):]
		to := m[best]
		if key, ok := strings.CutSuffix(to, "[]"); ok && rest != "" {
			// The upstream path goes on with a map key written as a field name.
			to, rest = key+"["+strings.TrimPrefix(rest, ".")+"]", ""
		}
		if to != "" {
			f = joinPath(f, to)
		}
		f += rest
		b.d.errs = append(b.d.errs, &Error{File: b.d.file, Line: b.d.lineOf(f), Field: f, Msg: e.ErrorBody()})
	}
}

func hasPathPrefix(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix) && (p[len(prefix)] == '.' || p[len(prefix)] == '[')
}

var (
	priorityClassPaths = pathMap{"metadata.name": "name", "metadata": "name", "value": "value",
		"preemptionPolicy": "preemptionPolicy", "description": "description"}
	// Node validation puts taints under metadata, and resources as fields, not keys.
	nodePaths = pathMap{"metadata.name": "name", "metadata.labels": "labels", "metadata.taints": "taints", "spec.taints": "taints",
		"status.capacity": "extendedResources[]", "status.capacity.cpu": "cpu", "status.capacity.memory": "memory",
		"status.capacity.pods": "pods", "status.allocatable": "extendedResources[]", "status.allocatable.cpu": "cpu",
		"status.allocatable.memory": "memory", "status.allocatable.pods": "pods"}
	podPaths = pathMap{"metadata.name": "name", "metadata.namespace": "namespace", "metadata.labels": "labels",
		"spec.nodeSelector": "nodeSelector", "spec.tolerations": "tolerations", "spec.affinity": "affinity",
		"spec.topologySpreadConstraints":        "topologySpreadConstraints",
		"spec.terminationGracePeriodSeconds":    "terminationGracePeriodSeconds",
		"spec.priorityClassName":                "priorityClassName",
		"spec.containers[0].resources.requests": "requests", "spec.containers[0].resources.limits": "limits",
		"spec.nodeName": "boundTo"}
	pdbPaths = pathMap{"metadata.name": "name", "metadata.namespace": "namespace", "spec.selector": "selector",
		"spec.minAvailable": "minAvailable", "spec.maxUnavailable": "maxUnavailable"}
)

func (b *scenarioBuilder) build() {
	switch b.s.ArrivalOrder {
	case "", ArrivalOrderGroups, ArrivalOrderInterleaved:
	default:
		b.errorf(field.NewPath("arrivalOrder"), "unsupported value %q: must be %q (the default) or %q",
			b.s.ArrivalOrder, ArrivalOrderGroups, ArrivalOrderInterleaved)
	}
	b.priorityClasses()
	api, err := newAPIServer(append(systemPriorityClasses(), b.w.PriorityClasses...))
	if err != nil {
		b.d.errorf(0, nil, "%v", err)
		return
	}
	b.api = api
	b.nodeGroups()
	b.podGroups()
	b.pdbs()
	b.createNamespaces()
	b.checkBoundCapacity()
	b.order()
}

// priorityClasses builds the declared classes.
func (b *scenarioBuilder) priorityClasses() {
	root := field.NewPath("priorityClasses")
	var globalDefault string
	for i, c := range b.s.PriorityClasses {
		p := root.Index(i)
		if _, dup := b.classes[c.Name]; dup && c.Name != "" {
			b.errorf(p.Child("name"), "duplicate PriorityClass %q", c.Name)
			continue
		}
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: c.Name}, Value: c.Value,
			PreemptionPolicy: c.PreemptionPolicy, GlobalDefault: c.GlobalDefault, Description: c.Description}
		if errs := createPriorityClass(pc); len(errs) > 0 {
			b.report(errs, p, priorityClassPaths)
			continue
		}
		if c.GlobalDefault {
			if globalDefault != "" {
				b.errorf(p.Child("globalDefault"), "only one PriorityClass may be globalDefault, and %q already is", globalDefault)
				continue
			}
			globalDefault = c.Name
		}
		b.classes[c.Name] = pc
		b.w.PriorityClasses = append(b.w.PriorityClasses, pc)
	}
}

// groupName checks the name of a node or pod group: a DNS label short enough that
// <name>-<last index> is one too (node names are also hostname label values).
func (b *scenarioBuilder) groupName(p *field.Path, name string, count int, seen map[string]bool) bool {
	switch {
	case name == "":
		b.errorf(p, "required")
		return false
	case seen[name]:
		b.errorf(p, "duplicate name %q", name)
		return false
	}
	seen[name] = true
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		b.errorf(p, "invalid name %q: %s", name, strings.Join(msgs, "; "))
		return false
	}
	if last := indexedName(name, count-1, count); len(last) > validation.DNS1123LabelMaxLength {
		b.errorf(p, "name %q is too long: %q, its last member's name, must be at most %d characters", name, last, validation.DNS1123LabelMaxLength)
		return false
	}
	return true
}

// count checks a group's count.
func (b *scenarioBuilder) count(p *field.Path, n, total, limit int) bool {
	switch {
	case n < 0:
		b.errorf(p, "invalid value %d: must be 0 or more", n)
		return false
	case total+n > limit:
		b.errorf(p, "invalid value %d: a scenario may have at most %d in all", n, limit)
		return false
	}
	return true
}

// indexedName is <name>-<i>, i zero-padded to the width of count-1 so that names sort.
func indexedName(name string, i, count int) string {
	width := len(strconv.Itoa(max(count-1, 0)))
	return fmt.Sprintf("%s-%0*d", name, width, i)
}

// nodeGroups builds the nodes.
func (b *scenarioBuilder) nodeGroups() {
	root := field.NewPath("nodeGroups")
	if len(b.s.NodeGroups) == 0 {
		b.d.errorf(b.d.lineOf(""), root, "required: at least one node group, e.g. [{name: node, count: 10, cpu: 16, memory: 64Gi}]")
		return
	}
	seen := map[string]bool{}
	total := 0
	for i, g := range b.s.NodeGroups {
		p := root.Index(i)
		ok := b.groupName(p.Child("name"), g.Name, g.Count, seen)
		ok = b.count(p.Child("count"), g.Count, total, maxNodesTotal) && ok
		if g.CPU.IsZero() {
			b.errorf(p.Child("cpu"), "required: each node's cpu, e.g. 16 or 15500m")
			ok = false
		}
		if g.Memory.IsZero() {
			b.errorf(p.Child("memory"), "required: each node's memory, e.g. 64Gi")
			ok = false
		}
		pods := DefaultMaxPods
		if g.Pods != nil {
			pods = *g.Pods
			if pods < 1 {
				b.errorf(p.Child("pods"), "invalid value %d: must be at least 1", pods)
				ok = false
			}
		}
		for name := range g.ExtendedResources {
			switch {
			case name == v1.ResourceCPU || name == v1.ResourceMemory || name == v1.ResourcePods:
				b.errorf(p.Child("extendedResources").Key(string(name)), "%s has a field of its own: %s", name, name)
				ok = false
			case !v1helper.IsExtendedResourceName(name) && !v1helper.IsHugePageResourceName(name) && name != v1.ResourceEphemeralStorage:
				b.errorf(p.Child("extendedResources").Key(string(name)),
					"invalid resource name %q: must be a domain-qualified name outside kubernetes.io, e.g. nvidia.com/gpu (or ephemeral-storage, hugepages-<size>)", name)
				ok = false
			}
		}
		for key := range g.Labels {
			if key == v1.LabelHostname || key == v1.LabelTopologyZone && len(g.Zones) > 0 {
				b.errorf(p.Child("labels").Key(key), "berth-sim sets %s itself (from the node name, or from zones)", key)
				ok = false
			}
		}
		seenZone := map[string]bool{}
		for j, z := range g.Zones {
			if msgs := validation.IsValidLabelValue(z); len(msgs) > 0 || z == "" {
				b.errorf(p.Child("zones").Index(j), "invalid zone %q: must be a label value (%s)", z, strings.Join(msgs, "; "))
				ok = false
			} else if seenZone[z] {
				b.errorf(p.Child("zones").Index(j), "zone %q appears twice", z)
				ok = false
			}
			seenZone[z] = true
		}
		if !ok {
			continue
		}
		total += g.Count
		template := &v1.Node{Status: v1.NodeStatus{Capacity: v1.ResourceList{
			v1.ResourceCPU: g.CPU, v1.ResourceMemory: g.Memory, v1.ResourcePods: *resourceQuantity(int64(pods)),
		}}}
		for name, q := range g.ExtendedResources {
			template.Status.Capacity[name] = q
		}
		template.Spec.Taints = g.Taints
		for k := 0; k < max(g.Count, 1); k++ {
			n := template.DeepCopy()
			n.Name = indexedName(g.Name, k, g.Count)
			n.Labels = make(map[string]string, len(g.Labels)+2)
			for key, v := range g.Labels {
				n.Labels[key] = v
			}
			n.Labels[v1.LabelHostname] = n.Name
			if len(g.Zones) > 0 {
				n.Labels[v1.LabelTopologyZone] = g.Zones[k%len(g.Zones)]
			}
			if k == 0 {
				// The group's nodes differ only in name and zone, both checked already.
				if errs := createNode(n); len(errs) > 0 {
					b.report(errs, p, nodePaths)
					break
				}
			} else {
				createNode(n)
			}
			if g.Count == 0 {
				break
			}
			if _, dup := b.nodes[n.Name]; dup {
				b.errorf(p.Child("name"), "node %q is also a node of another group: rename one of the groups", n.Name)
				break
			}
			b.nodes[n.Name] = n
			b.groupNodes[g.Name] = append(b.groupNodes[g.Name], n.Name)
			b.w.Nodes = append(b.w.Nodes, n)
		}
	}
}

// podGroups builds the pods.
func (b *scenarioBuilder) podGroups() {
	root := field.NewPath("podGroups")
	seen := map[string]bool{}
	total := 0
	usedSystem := map[string]bool{}
	for i, g := range b.s.PodGroups {
		p := root.Index(i)
		ok := b.groupName(p.Child("name"), g.Name, g.Count, seen)
		ok = b.count(p.Child("count"), g.Count, total, maxPodsTotal) && ok
		ns := g.Namespace
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		if _, known := b.namespaces[ns]; !known {
			b.namespaces[ns] = p.Child("namespace")
		}
		if g.TerminationGracePeriodSeconds != nil && *g.TerminationGracePeriodSeconds < 0 {
			// The API server would quietly make it 1; a negative grace period is a mistake.
			b.errorf(p.Child("terminationGracePeriodSeconds"), "invalid value %d: must be 0 or more", *g.TerminationGracePeriodSeconds)
			ok = false
		}
		if c := g.PriorityClassName; c != "" && b.classes[c] == nil {
			if sys := systemClass(c); sys != nil {
				usedSystem[c] = true
			} else {
				b.errorf(p.Child("priorityClassName"), "no PriorityClass %q: declare it under priorityClasses (declared: %s)", c, b.classNames())
				ok = false
			}
		}
		arrivals := b.arrivals(p, g)
		durations := b.durations(p, g)
		nodes := b.boundNodes(p, g)
		if !ok || arrivals == nil || durations == nil || (g.BoundTo != nil && nodes == nil) {
			continue
		}
		total += g.Count

		template := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: indexedName(g.Name, 0, g.Count), Namespace: ns, Labels: g.Labels},
			Spec: v1.PodSpec{
				PriorityClassName:             g.PriorityClassName,
				NodeSelector:                  g.NodeSelector,
				Tolerations:                   g.Tolerations,
				Affinity:                      g.Affinity,
				TopologySpreadConstraints:     g.TopologySpreadConstraints,
				TerminationGracePeriodSeconds: g.TerminationGracePeriodSeconds,
				Containers: []v1.Container{{Name: "main", Image: PauseImage,
					Resources: v1.ResourceRequirements{Requests: g.Requests, Limits: g.Limits}}},
			},
		}
		if errs := b.api.createPod(template); len(errs) > 0 {
			b.report(errs, p, podPaths)
			continue
		}
		for k := 0; k < g.Count; k++ {
			pod := template.DeepCopy()
			pod.Name = indexedName(g.Name, k, g.Count)
			if nodes != nil {
				pod.Spec.NodeName = nodes[k%len(nodes)]
			}
			rank := 0
			if k > 0 && arrivals[k] == arrivals[k-1] {
				rank = b.pods[len(b.pods)-1].rank + 1
			}
			b.pods = append(b.pods, sortedPod{
				Pod:   Pod{Pod: pod, Arrival: arrivals[k], Duration: durations[k], Group: g.Name},
				bound: nodes != nil, group: i, rank: rank, index: k,
			})
		}
	}
	for _, pc := range systemPriorityClasses() {
		if usedSystem[pc.Name] {
			b.w.PriorityClasses = append(b.w.PriorityClasses, pc)
		}
	}
}

func systemClass(name string) *schedulingv1.PriorityClass {
	for _, pc := range systemPriorityClasses() {
		if pc.Name == name {
			return pc
		}
	}
	return nil
}

func (b *scenarioBuilder) classNames() string {
	if len(b.s.PriorityClasses) == 0 {
		return "none"
	}
	names := make([]string, 0, len(b.s.PriorityClasses))
	for _, c := range b.s.PriorityClasses {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// arrivals gives each pod of a group its arrival time; nil if the arrival is invalid.
func (b *scenarioBuilder) arrivals(p *field.Path, g PodGroup) []time.Duration {
	out := make([]time.Duration, max(g.Count, 0))
	a := g.Arrival
	if a == nil {
		return out
	}
	p = p.Child("arrival")
	if g.BoundTo != nil {
		b.errorf(p, "pods with boundTo exist when the run starts: remove arrival")
		return nil
	}
	var set []string
	for name, on := range map[string]bool{"at": a.At != nil, "rate": a.Rate != nil, "every": a.Every != nil} {
		if on {
			set = append(set, name)
		}
	}
	sort.Strings(set)
	switch {
	case len(set) == 0:
		b.errorf(p, "set one of at (all pods at once), rate or every (one after the other)")
		return nil
	case len(set) > 1:
		b.errorf(p, "set only one of at, rate and every, not %s", strings.Join(set, " and "))
		return nil
	case a.At != nil && a.Start != nil:
		b.errorf(p.Child("start"), "start goes with rate or every; with at, at is the start")
		return nil
	case a.Every != nil && *a.Every == 0:
		b.errorf(p.Child("every"), "invalid duration 0s: must be more than 0")
		return nil
	}
	var start time.Duration
	if a.Start != nil {
		start = time.Duration(*a.Start)
	}
	for k := range out {
		var t *big.Int
		switch {
		case a.At != nil:
			t = big.NewInt(int64(*a.At))
		case a.Every != nil:
			t = new(big.Int).Mul(big.NewInt(int64(k)), big.NewInt(int64(*a.Every)))
			t.Add(t, big.NewInt(int64(start)))
		default:
			// k × per / count, exactly, rounded down.
			t = new(big.Int).Mul(big.NewInt(int64(k)), big.NewInt(int64(a.Rate.Per)))
			t.Mul(t, a.Rate.Count.Denom())
			t.Quo(t, a.Rate.Count.Num())
			t.Add(t, big.NewInt(int64(start)))
		}
		if !t.IsInt64() || t.Int64() > int64(maxTime) {
			b.errorf(p, "pod %d would arrive after %v: fewer pods, or a faster rate", k, maxTime)
			return nil
		}
		out[k] = time.Duration(t.Int64())
	}
	return out
}

// durations gives each pod of a group its duration; nil if the duration is invalid. A
// range draws from a stream of its own, seeded by the scenario's seed and the group's
// name, so that changing one group leaves the others' draws as they were.
func (b *scenarioBuilder) durations(p *field.Path, g PodGroup) []time.Duration {
	out := make([]time.Duration, max(g.Count, 0))
	s := g.Duration
	if s == nil {
		return out
	}
	p = p.Child("duration")
	if s.Range == nil {
		for k := range out {
			out[k] = time.Duration(s.Fixed)
		}
		return out
	}
	lo, hi := time.Duration(s.Range.Min), time.Duration(s.Range.Max)
	switch {
	case lo <= 0:
		b.errorf(p.Child("min"), "required, more than 0 (a pod that draws 0 would run until the end)")
		return nil
	case hi < lo:
		b.errorf(p.Child("max"), "invalid duration %v: must not be less than min (%v)", hi, lo)
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(g.Name))
	rng := rand.New(rand.NewPCG(uint64(b.seed), h.Sum64()))
	steps := uint64((hi-lo)/time.Millisecond) + 1
	for k := range out {
		// The high word of a 64×64-bit product is uniform on [0, steps) up to a bias of
		// steps/2^64; unlike rand's IntN, it is fixed by this code, not by the Go release.
		step, _ := bits.Mul64(rng.Uint64(), steps)
		out[k] = lo + time.Duration(step)*time.Millisecond
	}
	return out
}

// boundNodes lists the nodes a boundTo group's pods go to, round-robin; nil if none.
func (b *scenarioBuilder) boundNodes(p *field.Path, g PodGroup) []string {
	bt := g.BoundTo
	if bt == nil {
		return nil
	}
	p = p.Child("boundTo")
	set := 0
	for _, on := range []bool{bt.Node != "", len(bt.Nodes) > 0, bt.NodeGroup != ""} {
		if on {
			set++
		}
	}
	if set != 1 {
		b.errorf(p, "set exactly one of node, nodes and nodeGroup")
		return nil
	}
	switch {
	case bt.Node != "":
		if b.nodes[bt.Node] == nil {
			b.errorf(p.Child("node"), "no node %q%s", bt.Node, b.nodeNamesHint())
			return nil
		}
		return []string{bt.Node}
	case bt.NodeGroup != "":
		names := b.groupNodes[bt.NodeGroup]
		if len(names) == 0 {
			b.errorf(p.Child("nodeGroup"), "no node group %q with nodes", bt.NodeGroup)
			return nil
		}
		return names
	}
	for j, n := range bt.Nodes {
		if b.nodes[n] == nil {
			b.errorf(p.Child("nodes").Index(j), "no node %q%s", n, b.nodeNamesHint())
			return nil
		}
	}
	return bt.Nodes
}

func (b *scenarioBuilder) nodeNamesHint() string {
	if len(b.w.Nodes) == 0 {
		return ""
	}
	return fmt.Sprintf(" (nodes are named <node group>-<index>, e.g. %s)", b.w.Nodes[0].Name)
}

// checkBoundCapacity refuses pods bound to a node that cannot hold them all: the
// kubelet would reject them, and the run would start from a cluster that cannot be.
func (b *scenarioBuilder) checkBoundCapacity() {
	used := map[string]v1.ResourceList{}
	reported := map[string]bool{}
	for _, sp := range b.pods {
		if !sp.bound {
			continue
		}
		node := sp.Pod.Pod.Spec.NodeName
		u := used[node]
		if u == nil {
			u = v1.ResourceList{}
			used[node] = u
		}
		for name, q := range resourcehelper.PodRequests(sp.Pod.Pod, resourcehelper.PodResourcesOptions{}) {
			sum := u[name]
			sum.Add(q)
			u[name] = sum
		}
		pods := u[v1.ResourcePods]
		pods.Add(*resourceQuantity(1))
		u[v1.ResourcePods] = pods
		for name, sum := range u {
			alloc, ok := b.nodes[node].Status.Allocatable[name]
			if (!ok || sum.Cmp(alloc) > 0) && !reported[node] {
				reported[node] = true
				b.errorf(field.NewPath("podGroups").Index(sp.group).Child("boundTo"),
					"the pods bound to node %s need %s %s in all, more than its %s", node, sum.String(), name, alloc.String())
			}
		}
	}
}

// pdbs builds the PodDisruptionBudgets.
func (b *scenarioBuilder) pdbs() {
	root := field.NewPath("podDisruptionBudgets")
	seen := map[string]bool{}
	for i, in := range b.s.PodDisruptionBudgets {
		p := root.Index(i)
		ns := in.Namespace
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		if _, known := b.namespaces[ns]; !known {
			b.namespaces[ns] = p.Child("namespace")
		}
		if seen[ns+"/"+in.Name] {
			b.errorf(p.Child("name"), "duplicate PodDisruptionBudget %s/%s", ns, in.Name)
			continue
		}
		seen[ns+"/"+in.Name] = true
		if in.Selector == nil {
			b.errorf(p.Child("selector"), "required: the pods the budget covers, e.g. {matchLabels: {app: web}}")
			continue
		}
		if (in.MinAvailable == nil) == (in.MaxUnavailable == nil) {
			b.errorf(p, "set exactly one of minAvailable and maxUnavailable")
			continue
		}
		pdb := &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: ns},
			Spec: policyv1.PodDisruptionBudgetSpec{Selector: in.Selector, MinAvailable: in.MinAvailable,
				MaxUnavailable: in.MaxUnavailable},
		}
		if errs := checkPDB(pdb); len(errs) > 0 {
			b.report(errs, p, pdbPaths)
			continue
		}
		b.w.PDBs = append(b.w.PDBs, pdb)
	}
}

// createNamespaces makes the namespaces pods and budgets are in, sorted by name.
func (b *scenarioBuilder) createNamespaces() {
	names := make([]string, 0, len(b.namespaces))
	for ns := range b.namespaces {
		names = append(names, ns)
	}
	sort.Strings(names)
	for _, name := range names {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if errs := checkNamespace(ns); len(errs) > 0 {
			b.report(errs, b.namespaces[name], pathMap{"metadata.name": "", "metadata": ""})
			continue
		}
		b.w.Namespaces = append(b.w.Namespaces, ns)
	}
}

// order puts the pods in the order they are created: pods bound from the start first,
// then by arrival time, and pods arriving at once group after group or interleaved.
func (b *scenarioBuilder) order() {
	interleaved := b.s.ArrivalOrder == ArrivalOrderInterleaved
	sort.SliceStable(b.pods, func(i, j int) bool {
		x, y := &b.pods[i], &b.pods[j]
		if x.bound != y.bound {
			return x.bound
		}
		if x.Arrival != y.Arrival {
			return x.Arrival < y.Arrival
		}
		if interleaved && x.rank != y.rank {
			return x.rank < y.rank
		}
		if x.group != y.group {
			return x.group < y.group
		}
		return x.index < y.index
	})
	b.w.Pods = make([]Pod, len(b.pods))
	for i := range b.pods {
		b.w.Pods[i] = b.pods[i].Pod
	}
}
