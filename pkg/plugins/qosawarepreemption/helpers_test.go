package qosawarepreemption

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	policy "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	clientsetfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	internalcache "k8s.io/kubernetes/pkg/scheduler/backend/cache"
	internalqueue "k8s.io/kubernetes/pkg/scheduler/backend/queue"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultbinder"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultpreemption"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/interpodaffinity"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeports"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/queuesort"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/tainttoleration"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	tf "k8s.io/kubernetes/pkg/scheduler/testing/framework"

	"github.com/berth-sched/berth/pkg/apis/config"
)

func init() {
	// The Evaluator and Executor observe upstream's scheduler metrics.
	schedmetrics.Register()
}

const (
	low  int32 = 0
	mid  int32 = 100
	high int32 = 1000
)

// at is a start time n seconds after the epoch; later n = started later.
func at(n int) metav1.Time { return metav1.NewTime(time.Unix(int64(n), 0)) }

// Pods of each QoS class on node, in namespace default, with name as UID too.
func guaranteed(name, node string, prio int32, cpu string, started int) *v1.Pod {
	return st.MakePod().Namespace("default").Name(name).UID(name).Node(node).Priority(prio).
		Res(map[v1.ResourceName]string{v1.ResourceCPU: cpu, v1.ResourceMemory: "1Gi"}).StartTime(at(started)).Obj()
}

func burstable(name, node string, prio int32, cpu string, started int) *v1.Pod {
	return st.MakePod().Namespace("default").Name(name).UID(name).Node(node).Priority(prio).
		Req(map[v1.ResourceName]string{v1.ResourceCPU: cpu}).StartTime(at(started)).Obj()
}

func bestEffort(name, node string, prio int32, started int) *v1.Pod {
	return st.MakePod().Namespace("default").Name(name).UID(name).Node(node).Priority(prio).
		Container("app").StartTime(at(started)).Obj()
}

// preemptor is a pending Burstable pod requesting cpu (none if empty).
func preemptor(prio int32, cpu string) *st.PodWrapper {
	p := st.MakePod().Namespace("default").Name("preemptor").UID("preemptor").Priority(prio)
	if cpu == "" {
		return p.Container("app")
	}
	return p.Req(map[v1.ResourceName]string{v1.ResourceCPU: cpu})
}

// node has cpu cores, 16Gi memory and room for pods pods.
func node(name, cpu string, pods string) *v1.Node {
	return st.MakeNode().Name(name).Label(v1.LabelHostname, name).Capacity(map[v1.ResourceName]string{
		v1.ResourceCPU: cpu, v1.ResourceMemory: "16Gi", v1.ResourcePods: pods,
	}).Obj()
}

// blockingPDB covers pods labelled key=value and allows no disruption.
func blockingPDB(key, value string) *policy.PodDisruptionBudget {
	return st.MakePDB().Namespace("default").Name("pdb-"+value).MatchLabel(key, value).DisruptionsAllowed(0).Obj()
}

// argsObj turns args (anything that marshals to the plugin's JSON) into what the
// framework hands a factory; nil means no pluginConfig.
func argsObj(t testing.TB, args any) runtime.Object {
	t.Helper()
	if args == nil {
		return nil
	}
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}
}

// recordedEvent is one event as the plugin (or upstream's Executor) emitted it.
type recordedEvent struct{ object, reason, note string }

// recorder keeps the events in memory with the name of the object they are about.
type recorder struct {
	mu     sync.Mutex
	events []recordedEvent
}

var _ events.EventRecorderLogger = &recorder{}

func (r *recorder) Eventf(regarding, _ runtime.Object, _, reason, _, note string, args ...interface{}) {
	name := ""
	if m, err := meta.Accessor(regarding); err == nil {
		name = m.GetName()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, recordedEvent{object: name, reason: reason, note: fmt.Sprintf(note, args...)})
}

func (r *recorder) WithLogger(klog.Logger) events.EventRecorderLogger { return r }

// activator stands for the scheduling queue's Activate: it records the pods the plugin
// asks to move back to the active queue.
type activator struct {
	mu        sync.Mutex
	activated []string
}

var _ fwk.PodActivator = &activator{}

func (a *activator) Activate(_ klog.Logger, pods map[string]*v1.Pod) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range pods {
		a.activated = append(a.activated, p.Name)
	}
}

func (a *activator) pods() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.activated)
}

// on returns "reason: note" of every event about the named object.
func (r *recorder) on(object string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []string
	for _, e := range r.events {
		if e.object == object {
			got = append(got, e.reason+": "+e.note)
		}
	}
	return got
}

// about returns the notes of the events with reason about the named object.
func (r *recorder) about(object, reason string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var notes []string
	for _, e := range r.events {
		if e.object == object && e.reason == reason {
			notes = append(notes, e.note)
		}
	}
	return notes
}

// swapSnapshot lets one framework serve many clusters: the property test points it
// at a new snapshot per generated cluster instead of building a framework each time.
type swapSnapshot struct{ *internalcache.Snapshot }

// testEnv is an in-memory scheduler framework, as upstream's default_preemption_test
// builds it: fake clientset and informers, a snapshot, and upstream's filters that
// preemption interacts with (resources and pod count, host ports, inter-pod affinity,
// taints).
type testEnv struct {
	ctx       context.Context
	fw        framework.Framework
	snap      *swapSnapshot
	cs        *clientsetfake.Clientset
	informers informers.SharedInformerFactory
	recorder  *recorder
	activator *activator
}

func newTestEnv(t testing.TB, nodes []*v1.Node, pods []*v1.Pod, pdbs []*policy.PodDisruptionBudget, pending ...*v1.Pod) *testEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	t.Cleanup(cancel)

	var objs []runtime.Object
	for _, p := range append(append([]*v1.Pod{}, pods...), pending...) {
		objs = append(objs, p)
	}
	for _, n := range nodes {
		objs = append(objs, n)
	}
	for _, pdb := range pdbs {
		objs = append(objs, pdb)
	}
	objs = append(objs, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: map[string]string{"team": "a"}}})
	cs := clientsetfake.NewClientset(objs...)
	inf := informers.NewSharedInformerFactory(cs, 0)
	recorder := &recorder{}
	activator := &activator{}
	snap := &swapSnapshot{internalcache.NewSnapshot(pods, nodes)}
	fts := plfeature.Features{}
	fw, err := tf.NewFramework(ctx, []tf.RegisterPluginFunc{
		tf.RegisterQueueSortPlugin(queuesort.Name, queuesort.New),
		tf.RegisterBindPlugin(defaultbinder.Name, defaultbinder.New),
		tf.RegisterPluginAsExtensions(noderesources.Name, frameworkruntime.FactoryAdapter(fts, noderesources.NewFit), "PreFilter", "Filter"),
		tf.RegisterPluginAsExtensions("NodePorts", frameworkruntime.FactoryAdapter(fts, nodeports.New), "PreFilter", "Filter"),
		tf.RegisterPluginAsExtensions(interpodaffinity.Name, frameworkruntime.FactoryAdapter(fts, interpodaffinity.New), "PreFilter", "Filter"),
		tf.RegisterPluginAsExtensions(tainttoleration.Name, frameworkruntime.FactoryAdapter(fts, tainttoleration.New), "Filter"),
	}, "",
		frameworkruntime.WithClientSet(cs),
		frameworkruntime.WithEventRecorder(recorder),
		frameworkruntime.WithPodActivator(activator),
		frameworkruntime.WithInformerFactory(inf),
		frameworkruntime.WithPodNominator(internalqueue.NewSchedulingQueue(nil, inf)),
		frameworkruntime.WithSnapshotSharedLister(snap),
		frameworkruntime.WithMutableSnapshotLister(snap),
		frameworkruntime.WithWaitingPods(frameworkruntime.NewWaitingPodsMap()),
		frameworkruntime.WithPodsInPreBind(frameworkruntime.NewPodsInPreBindMap()),
		frameworkruntime.WithLogger(klog.Background()),
	)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{ctx: ctx, fw: fw, snap: snap, cs: cs, informers: inf, recorder: recorder, activator: activator}
}

// berth builds the plugin on the env (synchronous preemption unless fts says otherwise)
// and starts the informers it registered.
func (e *testEnv) berth(t testing.TB, args any, fts ...plfeature.Features) *QoSAwarePreemption {
	t.Helper()
	var f plfeature.Features
	if len(fts) > 0 {
		f = fts[0]
	}
	pl, err := New(e.ctx, argsObj(t, args), e.fw, f)
	if err != nil {
		t.Fatal(err)
	}
	e.informers.Start(e.ctx.Done())
	e.informers.WaitForCacheSync(e.ctx.Done())
	return pl.(*QoSAwarePreemption)
}

// upstream builds plain upstream DefaultPreemption on the same env, for comparison.
func (e *testEnv) upstream(t testing.TB) *defaultpreemption.DefaultPreemption {
	t.Helper()
	var a config.QoSAwarePreemptionArgs
	a.Default()
	pl, err := defaultpreemption.New(e.ctx, upstreamArgs(a), e.fw, plfeature.Features{})
	if err != nil {
		t.Fatal(err)
	}
	e.informers.Start(e.ctx.Done())
	e.informers.WaitForCacheSync(e.ctx.Done())
	return pl
}

// preFilter runs the profile's PreFilter plugins for pod, as the scheduling cycle does
// before PostFilter.
func (e *testEnv) preFilter(t testing.TB, pod *v1.Pod) fwk.CycleState {
	t.Helper()
	state := framework.NewCycleState()
	if _, status, _ := e.fw.RunPreFilterPlugins(e.ctx, state, pod); !status.IsSuccess() {
		t.Fatalf("PreFilter: %v", status)
	}
	return state
}

// nodeStatuses runs the Filters on every node, giving what PostFilter receives.
func (e *testEnv) nodeStatuses(t testing.TB, state fwk.CycleState, pod *v1.Pod) *framework.NodeToStatus {
	t.Helper()
	m := framework.NewDefaultNodeToStatus()
	infos, err := e.snap.NodeInfos().List()
	if err != nil {
		t.Fatal(err)
	}
	for _, ni := range infos {
		if s := e.fw.RunFilterPluginsWithNominatedPods(e.ctx, state, pod, ni); !s.IsSuccess() {
			m.Set(ni.Node().Name, s)
		}
	}
	return m
}

// selectVictims runs an Interface's SelectVictimsOnNode on one node of the snapshot the
// way the Evaluator's dry run does: possible victims from the Evaluator, a cloned cycle
// state and a copy of the NodeInfo.
func selectVictims(t testing.TB, e *testEnv, ev *preemption.Evaluator, state fwk.CycleState, pod *v1.Pod, nodeName string, pdbs []*policy.PodDisruptionBudget) ([]*v1.Pod, int, *fwk.Status) {
	t.Helper()
	ni, err := e.snap.NodeInfos().Get(nodeName)
	if err != nil {
		t.Fatal(err)
	}
	victims, err := ev.GetVictimsOnNode(e.ctx, ni)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Interface.SelectVictimsOnNode(e.ctx, state.Clone(), pod, ni.Snapshot(), victims, pdbs)
}

// victimUnderTest is a single-pod preemption unit, named for messages.
type victimUnderTest struct {
	preemption.Victim
	name string
}

func newVictimUnderTest(t testing.TB, p *v1.Pod) *victimUnderTest {
	t.Helper()
	pi, err := framework.NewPodInfo(p)
	if err != nil {
		t.Fatal(err)
	}
	return &victimUnderTest{Victim: preemption.NewPodVictim(pi, nil, nil), name: p.Name}
}

func names(pods []*v1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}
