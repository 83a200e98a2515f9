package integration

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/component-base/metrics/legacyregistry"
	configv1 "k8s.io/kube-scheduler/config/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/pkg/plugins/qosawarepreemption"
	"github.com/berth-sched/berth/test/harness"
)

// Every scenario runs twice, in subtests "berth" (QoSAwarePreemption as the PostFilter,
// DefaultPreemption off) and "upstream" (upstream's default profile, i.e.
// upstream's DefaultPreemption), each with its own scheduler, namespace and nodes, so
// the difference shows side by side.

// qapSelectorKey pins a scenario's pods to its own nodes.
const qapSelectorKey = "berth.test/qosawarepreemption"

// Priorities of the scenarios' PriorityClasses.
const (
	qapLow  int32 = 100
	qapMid  int32 = 500
	qapHigh int32 = 1000
)

type qapProfile struct {
	name   string
	mutate func(*localcluster.SchedulerConfig)
}

// qapProfiles: berth's plugin with args (nil = defaults) beside the shipped profile.
// berth's profile also enables the plugin at preEnqueue, as multiPoint would, so the
// asynchronous preemption gate is on as it is for DefaultPreemption.
func qapProfiles(args any) []qapProfile {
	return []qapProfile{
		{"berth", all(withPlugin(qosawarepreemption.Name, args, PostFilter), qapWithPreEnqueue)},
		{"upstream", nil},
	}
}

// qapMultiPoint is the configuration docs/preemption.md recommends: the plugin at every
// extension point it implements (PreEnqueue, PostFilter), DefaultPreemption off.
func qapMultiPoint(c *localcluster.SchedulerConfig) {
	p := &c.Profiles[0]
	if p.Plugins == nil {
		p.Plugins = &configv1.Plugins{}
	}
	p.Plugins.MultiPoint.Enabled = append(p.Plugins.MultiPoint.Enabled, configv1.Plugin{Name: qosawarepreemption.Name})
	p.Plugins.MultiPoint.Disabled = append(p.Plugins.MultiPoint.Disabled, configv1.Plugin{Name: "DefaultPreemption"})
}

func qapWithPreEnqueue(c *localcluster.SchedulerConfig) {
	p := &c.Profiles[0]
	if p.Plugins == nil {
		p.Plugins = &configv1.Plugins{}
	}
	p.Plugins.PreEnqueue.Enabled = append(p.Plugins.PreEnqueue.Enabled, configv1.Plugin{Name: qosawarepreemption.Name})
}

// qapEnv is one scenario under one profile.
type qapEnv struct {
	t       *testing.T
	ns      string
	prefix  string // of node names
	profile string
}

// qapClasses creates the low/mid/high PriorityClasses of one scenario (and a high one
// with preemptionPolicy Never) and returns their names by role.
func qapClasses(t *testing.T, scenario string) map[string]string {
	t.Helper()
	ctx := context.Background()
	classes := map[string]string{}
	for role, pc := range map[string]struct {
		value  int32
		policy v1.PreemptionPolicy
	}{
		"low": {qapLow, ""}, "mid": {qapMid, ""}, "high": {qapHigh, ""}, "high-never": {qapHigh, v1.PreemptNever},
	} {
		name := "qosawarepreemption-" + scenario + "-" + role
		if _, err := cp.Client.SchedulingV1().PriorityClasses().Create(ctx, harness.PriorityClass(name, pc.value, pc.policy), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cp.Client.SchedulingV1().PriorityClasses().Delete(ctx, name, metav1.DeleteOptions{}) })
		classes[role] = name
	}
	return classes
}

// qapRun runs body under both profiles (and any extra ones), each in a subtest with
// its own scheduler and namespace; body creates nodes and pods and asserts.
func qapRun(t *testing.T, scenario string, args any, body func(e *qapEnv), extra ...qapProfile) {
	for _, prof := range append(qapProfiles(args), extra...) {
		t.Run(prof.name, func(t *testing.T) {
			e := &qapEnv{t: t, ns: newNamespace(t), prefix: "qosawarepreemption-" + scenario + "-" + prof.name, profile: prof.name}
			startBerth(t, prof.mutate)
			body(e)
		})
	}
}

// node is a node of this env: cpu cores, 8Gi, pods slots.
func (e *qapEnv) node(suffix, cpu string, pods int) string {
	e.t.Helper()
	return e.zonedNode(suffix, cpu, pods, "")
}

// zonedNode is node in zone (none if empty), the zone name made unique to the env.
func (e *qapEnv) zonedNode(suffix, cpu string, pods int, zone string) string {
	e.t.Helper()
	name := e.prefix + "-" + suffix
	if zone != "" {
		zone = e.prefix + "-" + zone
	}
	createNodes(e.t, harness.Node(name, cpu, "8Gi", pods, zone).Label(qapSelectorKey, e.prefix).Obj())
	return name
}

// onNode keeps a pod on the named node.
func onNode(w *st.PodWrapper, node string) *st.PodWrapper {
	return w.NodeSelector(map[string]string{v1.LabelHostname: node})
}

// pin keeps a pod on this env's nodes (beside any node selector it has), gives it the
// PriorityClass class and a 2s grace period.
func (e *qapEnv) pin(w *st.PodWrapper, class string) *v1.Pod {
	p := w.Obj()
	p.Spec.PriorityClassName = class
	if p.Spec.NodeSelector == nil {
		p.Spec.NodeSelector = map[string]string{}
	}
	p.Spec.NodeSelector[qapSelectorKey] = e.prefix
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	return p
}

// qapLimitCPU adds a cpu limit to the pod's (first) container, keeping its requests.
// (harness.BurstablePod with limits currently replaces the requests: upstream's
// ContainerWrapper.ResourceLimits resets the whole ResourceRequirements, and the API
// server then defaults the requests to the limits.)
func qapLimitCPU(p *v1.Pod, cpu string) *v1.Pod {
	p.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
	return p
}

// running creates p and waits until the simulated kubelet runs it; returns it as stored.
func (e *qapEnv) running(p *v1.Pod) *v1.Pod {
	e.t.Helper()
	createPod(e.t, p)
	out, err := cp.WaitForPod(context.Background(), e.ns, p.Name, 30*time.Second, "running", localcluster.IsRunning)
	if err != nil {
		var conds []v1.PodCondition
		if out != nil {
			conds = out.Status.Conditions
		}
		e.t.Fatalf("%v (conditions %+v)", err, conds)
	}
	return out
}

// runningAfter is running, but first lets the clock pass the whole second after
// earlier's start time: KWOK records start times in whole seconds, and the scenarios
// need the second pod to have started strictly later.
func (e *qapEnv) runningAfter(earlier *v1.Pod, p *v1.Pod) *v1.Pod {
	e.t.Helper()
	if earlier.Status.StartTime == nil {
		e.t.Fatalf("%s has no start time", earlier.Name)
	}
	time.Sleep(time.Until(earlier.Status.StartTime.Add(1100 * time.Millisecond))) // a precondition, not an assertion
	out := e.running(p)
	if !earlier.Status.StartTime.Before(out.Status.StartTime) {
		e.t.Fatalf("%s started at %v, not after %s (%v)", out.Name, out.Status.StartTime, earlier.Name, earlier.Status.StartTime)
	}
	return out
}

// preempts creates the preemptor, waits until it is bound and checks that exactly the
// victims were deleted and the survivors still run. Returns the preemptor's node.
func (e *qapEnv) preempts(preemptor *v1.Pod, victims []string, survivors ...string) string {
	e.t.Helper()
	createPod(e.t, preemptor)
	node := waitBound(e.t, e.ns, preemptor.Name)
	ctx := context.Background()
	for _, v := range victims {
		if _, err := cp.Client.CoreV1().Pods(e.ns).Get(ctx, v, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			e.t.Errorf("%s: %s was not preempted (get: %v)", e.profile, v, err)
		}
	}
	e.survive(survivors...)
	return node
}

// survive checks the pods still exist and are not terminating.
func (e *qapEnv) survive(names ...string) {
	e.t.Helper()
	for _, s := range names {
		p, err := cp.Client.CoreV1().Pods(e.ns).Get(context.Background(), s, metav1.GetOptions{})
		switch {
		case err != nil:
			e.t.Errorf("%s: %s was preempted, want it kept (get: %v)", e.profile, s, err)
		case p.DeletionTimestamp != nil:
			e.t.Errorf("%s: %s is terminating, want it kept", e.profile, s)
		}
	}
}

// waitEvent waits for an event with reason about pod whose message contains want.
func (e *qapEnv) waitEvent(pod, reason, want string) {
	e.t.Helper()
	waitEvent(e.t, e.ns, pod, reason, want)
}

// uid is the UID of the env's pod name.
func (e *qapEnv) uid(name string) string {
	e.t.Helper()
	p, err := cp.Client.CoreV1().Pods(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return string(p.UID)
}

// onePreempted waits for the "Preempted" event on victim containing want, then checks
// that it stays the only "Preempted" event on it: `kubectl get events`, event exporters
// and `make run` count events per victim.
func (e *qapEnv) onePreempted(victim, want string) {
	e.t.Helper()
	e.waitEvent(victim, "Preempted", want)
	// The events of one preemption are recorded within moments of each other; a second
	// one would show within this window.
	var notes []string
	err := wait.PollUntilContextTimeout(context.Background(), harness.Poll, 3*time.Second, true, func(ctx context.Context) (bool, error) {
		events, err := harness.EventsFor(ctx, cp.Client, e.ns, victim)
		if err != nil {
			return false, nil
		}
		notes = notes[:0]
		for _, ev := range events {
			if ev.Reason == "Preempted" {
				notes = append(notes, ev.Message)
			}
		}
		return len(notes) > 1, nil
	})
	if err == nil {
		e.t.Errorf("%s: %d Preempted events on %s, want one: %q", e.profile, len(notes), victim, notes)
	}
}

// qapCounter reads a berth counter from the process's legacy registry, where the
// in-process scheduler registers it (0 before the plugin was ever built).
func qapCounter(t *testing.T, name, label, value string) float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64 // over the other labels (berth_preemption_victims_total's priority_class)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// TestQoSAwarePreemptionBurstableBeforeGuaranteed: one 4-cpu node holds a Burstable pod
// (requests 2, limit 4) and a Guaranteed pod (2), equal low priority, the Guaranteed one
// started later. A high-priority pod requests 2 cpu. Upstream evicts the Guaranteed
// pod (the later-started one); berth evicts the Burstable one, says so in events and
// counts it in its metrics. A third run uses the documented multiPoint configuration.
func TestQoSAwarePreemptionBurstableBeforeGuaranteed(t *testing.T) {
	classes := qapClasses(t, "qos")
	qapRun(t, "qos", nil, func(e *qapEnv) {
		node := e.node("n1", "4", 10)
		burst := e.running(qapLimitCPU(e.pin(harness.BurstablePod(e.ns, "burstable",
			harness.Resources{v1.ResourceCPU: "2"}, nil), classes["low"]), "4"))
		e.runningAfter(burst, e.pin(harness.GuaranteedPod(e.ns, "guaranteed",
			harness.Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "1Gi"}), classes["low"]))

		victimsBefore := qapCounter(t, "berth_preemption_victims_total", "qos_class", "Burstable")
		attemptsBefore := qapCounter(t, "berth_preemption_attempts_total", "result", "nominated")
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"])
		if e.profile == "upstream" {
			e.preempts(preemptor, []string{"guaranteed"}, "burstable")
			e.onePreempted("guaranteed", fmt.Sprintf("Preempted by pod %s on node %s", e.uid("preemptor"), node))
			return
		}
		if got := e.preempts(preemptor, []string{"burstable"}, "guaranteed"); got != node {
			t.Errorf("preemptor bound to %s, want %s", got, node)
		}
		// One event on the victim: upstream's, completed with berth's detail.
		e.onePreempted("burstable", fmt.Sprintf("Preempted by pod %s on node %s; preemptor %s/preemptor (priority %d); victim QoS Burstable",
			e.uid("preemptor"), node, e.ns, qapHigh))
		nominated := fmt.Sprintf("nominated to node %s, preempting 1 victims: 0 Guaranteed, 1 Burstable, 0 BestEffort", node)
		// The cycle that preempted did not bind: its FailedScheduling event says why,
		// and whom it preempts per QoS class.
		e.waitEvent("preemptor", "FailedScheduling", "preemption: "+nominated)
		for _, pod := range []string{"burstable", "preemptor"} {
			events, _ := harness.EventsFor(context.Background(), cp.Client, e.ns, pod)
			for _, ev := range events {
				t.Logf("event on %s: %s %s: %s", pod, ev.Type, ev.Reason, ev.Message)
			}
		}
		if d := qapCounter(t, "berth_preemption_victims_total", "qos_class", "Burstable") - victimsBefore; d != 1 {
			t.Errorf("berth_preemption_victims_total{qos_class=Burstable} rose by %v, want 1", d)
		}
		if d := qapCounter(t, "berth_preemption_attempts_total", "result", "nominated") - attemptsBefore; d < 1 {
			t.Errorf("berth_preemption_attempts_total{result=nominated} rose by %v, want >= 1", d)
		}
	}, qapProfile{"berth-multipoint", qapMultiPoint})
}

// TestQoSAwarePreemptionBestEffortFreesPodSlot: a node with room for 2 pods holds an
// older BestEffort pod and a Guaranteed pod of equal low priority; a high-priority pod
// needs a pod slot (cpu is free). Upstream evicts the Guaranteed pod (the younger);
// berth evicts the BestEffort pod, whatever the start times.
func TestQoSAwarePreemptionBestEffortFreesPodSlot(t *testing.T) {
	classes := qapClasses(t, "slot")
	qapRun(t, "slot", nil, func(e *qapEnv) {
		e.node("n1", "4", 2)
		be := e.running(e.pin(harness.BestEffortPod(e.ns, "besteffort"), classes["low"]))
		e.runningAfter(be, e.pin(harness.GuaranteedPod(e.ns, "guaranteed",
			harness.Resources{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}), classes["low"]))
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "1"}, nil), classes["high"])
		if e.profile == "upstream" {
			e.preempts(preemptor, []string{"guaranteed"}, "besteffort")
			return
		}
		e.preempts(preemptor, []string{"besteffort"}, "guaranteed")
		e.waitEvent("besteffort", qosawarepreemption.ReasonPreempted, "victim QoS BestEffort")
	})
}

// TestQoSAwarePreemptionNodeChoiceByQoSCost: two nodes, one would need one Guaranteed
// victim, the other one Burstable victim of the same priority that started earlier.
// Upstream picks the Guaranteed pod's node (its victim started latest); berth the
// Burstable pod's (lower QoS cost).
func TestQoSAwarePreemptionNodeChoiceByQoSCost(t *testing.T) {
	classes := qapClasses(t, "cost")
	qapRun(t, "cost", nil, func(e *qapEnv) {
		burstNode, guarNode := e.node("burstable", "4", 10), e.node("guaranteed", "4", 10)
		burst := e.running(e.pin(harness.BurstablePod(e.ns, "burstable", harness.Resources{v1.ResourceCPU: "4"}, nil).
			NodeSelector(map[string]string{v1.LabelHostname: burstNode}), classes["low"]))
		e.runningAfter(burst, e.pin(harness.GuaranteedPod(e.ns, "guaranteed",
			harness.Resources{v1.ResourceCPU: "4", v1.ResourceMemory: "1Gi"}).
			NodeSelector(map[string]string{v1.LabelHostname: guarNode}), classes["low"]))
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"])
		victim, survivor, wantNode := "guaranteed", "burstable", guarNode
		if e.profile == "berth" {
			victim, survivor, wantNode = "burstable", "guaranteed", burstNode
		}
		if got := e.preempts(preemptor, []string{victim}, survivor); got != wantNode {
			t.Errorf("%s: preemptor bound to %s, want %s", e.profile, got, wantNode)
		}
	})
}

// TestQoSAwarePreemptionRespectsPDB: as in the first scenario, but a PodDisruptionBudget
// (no disruption allowed) covers the Burstable pod. PDB-violating victims are
// reprieved first, so berth too evicts the Guaranteed pod.
func TestQoSAwarePreemptionRespectsPDB(t *testing.T) {
	classes := qapClasses(t, "pdb")
	qapRun(t, "pdb", nil, func(e *qapEnv) {
		e.node("n1", "4", 10)
		pdb := harness.PDB().Namespace(e.ns).Name("web").MatchLabel("app", "web").Obj()
		// No disruption controller runs here, so status.disruptionsAllowed stays 0.
		pdb.Spec.MinAvailable = ptr.To(intstr.FromInt32(1))
		if _, err := cp.Client.PolicyV1().PodDisruptionBudgets(e.ns).Create(context.Background(), pdb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		burst := e.running(qapLimitCPU(e.pin(harness.BurstablePod(e.ns, "burstable-web",
			harness.Resources{v1.ResourceCPU: "2"}, nil).Label("app", "web"), classes["low"]), "4"))
		e.runningAfter(burst, e.pin(harness.GuaranteedPod(e.ns, "guaranteed",
			harness.Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "1Gi"}), classes["low"]))
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"])
		e.preempts(preemptor, []string{"guaranteed"}, "burstable-web")
	})
}

// TestQoSAwarePreemptionPolicyNever: a preemptor whose PriorityClass says
// preemptionPolicy: Never stays pending with the reason, and nothing is evicted.
func TestQoSAwarePreemptionPolicyNever(t *testing.T) {
	classes := qapClasses(t, "never")
	qapRun(t, "never", nil, func(e *qapEnv) {
		e.node("n1", "4", 10)
		e.running(e.pin(harness.BurstablePod(e.ns, "low", harness.Resources{v1.ResourceCPU: "4"}, nil), classes["low"]))
		ineligibleBefore := qapCounter(t, "berth_preemption_attempts_total", "result", "ineligible")
		p := createPod(t, e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high-never"]))
		msg := waitUnschedulable(t, e.ns, p.Name)
		if want := "preemption: not eligible due to preemptionPolicy=Never"; !strings.Contains(msg, want) {
			t.Errorf("%s: PodScheduled message %q lacks %q", e.profile, msg, want)
		}
		e.waitEvent(p.Name, "FailedScheduling", "Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.")
		e.survive("low")
		if e.profile == "berth" {
			if d := qapCounter(t, "berth_preemption_attempts_total", "result", "ineligible") - ineligibleBefore; d < 1 {
				t.Errorf("berth_preemption_attempts_total{result=ineligible} rose by %v, want >= 1", d)
			}
		}
	})
}

// TestQoSAwarePreemptionGuaranteedPriorityGap: with guaranteedPriorityGap 1000, a
// Guaranteed pod at priority 100 can only be preempted from priority 1100 on. A node
// holds it and a Burstable pod at priority 500; a priority-1000 pod needs half the
// node. Upstream evicts the lower-priority Guaranteed pod; berth the Burstable one.
func TestQoSAwarePreemptionGuaranteedPriorityGap(t *testing.T) {
	classes := qapClasses(t, "gap")
	qapRun(t, "gap", map[string]any{"guaranteedPriorityGap": 1000}, func(e *qapEnv) {
		e.node("n1", "4", 10)
		e.running(e.pin(harness.GuaranteedPod(e.ns, "guaranteed",
			harness.Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "1Gi"}), classes["low"]))
		e.running(e.pin(harness.BurstablePod(e.ns, "burstable", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["mid"]))
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"])
		if e.profile == "upstream" {
			e.preempts(preemptor, []string{"guaranteed"}, "burstable")
			return
		}
		e.preempts(preemptor, []string{"burstable"}, "guaranteed")
	})
}

// TestQoSAwarePreemptionKeepsAffinityTarget: the preemptor requires pod affinity (same
// node) to a low-priority "db" pod, and needs the cpu of db or of another low-priority
// pod. Upstream removes every possible victim, finds the affinity broken and gives the
// node up: the preemptor stays pending. berth never evicts the pod the preemptor needs
// beside it: it evicts the other one and the preemptor runs next to db.
func TestQoSAwarePreemptionKeepsAffinityTarget(t *testing.T) {
	classes := qapClasses(t, "affinity")
	qapRun(t, "affinity", nil, func(e *qapEnv) {
		node := e.node("n1", "4", 10)
		e.running(e.pin(harness.BurstablePod(e.ns, "other", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["low"]))
		e.running(e.pin(harness.BurstablePod(e.ns, "db", harness.Resources{v1.ResourceCPU: "2"}, nil).Label("app", "db"), classes["low"]))
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil).
			PodAffinity(v1.LabelHostname, &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, st.PodAffinityWithRequiredReq),
			classes["high"])
		if e.profile == "upstream" {
			createPod(t, preemptor)
			msg := waitUnschedulable(t, e.ns, preemptor.Name)
			if want := "didn't match pod affinity rules"; !strings.Contains(msg, want) {
				t.Errorf("upstream: PodScheduled message %q lacks %q", msg, want)
			}
			e.waitEvent(preemptor.Name, "FailedScheduling", "didn't match pod affinity rules")
			e.survive("db", "other")
			return
		}
		if got := e.preempts(preemptor, []string{"other"}, "db"); got != node {
			t.Errorf("preemptor bound to %s, want %s", got, node)
		}
	})
}

// TestQoSAwarePreemptionAffinityTargetWithAnotherInItsZone: the preemptor requires
// zone affinity to app=db. Node n1 holds a low-priority db pod and nothing else; a db
// pod at the preemptor's own priority (not a possible victim) runs on n2, in the same
// zone, which is full. Evicting n1's db pod leaves the zone's term met by n2's, so both
// profiles evict it and bind the preemptor to n1: the affinity target is only kept when
// no other pod in its topology domain would satisfy the term.
func TestQoSAwarePreemptionAffinityTargetWithAnotherInItsZone(t *testing.T) {
	classes := qapClasses(t, "zone")
	qapRun(t, "zone", nil, func(e *qapEnv) {
		n1, n2 := e.zonedNode("n1", "2", 10, "a"), e.zonedNode("n2", "2", 10, "a")
		db := func(name, node string) *st.PodWrapper {
			return onNode(harness.BurstablePod(e.ns, name, harness.Resources{v1.ResourceCPU: "2"}, nil).Label("app", "db"), node)
		}
		e.running(e.pin(db("db-low", n1), classes["low"]))
		e.running(e.pin(db("db-high", n2), classes["high"]))
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil).
			PodAffinity(v1.LabelTopologyZone, &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, st.PodAffinityWithRequiredReq),
			classes["high"])
		if got := e.preempts(preemptor, []string{"db-low"}, "db-high"); got != n1 {
			t.Errorf("%s: preemptor bound to %s, want %s", e.profile, got, n1)
		}
	})
}

// TestQoSAwarePreemptionAffinityTermsNeedOnePodMatchingAll: the preemptor has two
// required hostname terms, app=db and tier=cache. Node b2 (4 cpu) holds db (app=db,
// 1 cpu), cache (tier=cache, 1 cpu) and other (2 cpu), all of low priority; the
// preemptor needs 2 cpu. Upstream's InterPodAffinity wants one pod that matches every
// term, so no eviction can satisfy this affinity: under both profiles the preemptor
// stays pending with the affinity reason and nothing is evicted. With a pod that
// matches both terms (db-cache), evicting other suffices and berth keeps db-cache;
// upstream, which removes every possible victim first, gives the node up.
func TestQoSAwarePreemptionAffinityTermsNeedOnePodMatchingAll(t *testing.T) {
	classes := qapClasses(t, "terms")
	qapRun(t, "terms", nil, func(e *qapEnv) {
		b2 := e.node("b2", "4", 10)
		pod := func(name, cpu string, labels map[string]string) *v1.Pod {
			return e.pin(onNode(harness.BurstablePod(e.ns, name, harness.Resources{v1.ResourceCPU: cpu}, nil).Labels(labels), b2), classes["low"])
		}
		e.running(pod("db", "1", map[string]string{"app": "db"}))
		e.running(pod("cache", "1", map[string]string{"tier": "cache"}))
		e.running(pod("other", "2", nil))
		twoTerms := func(name string) *v1.Pod {
			p := e.pin(harness.BurstablePod(e.ns, name, harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"])
			p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{
				{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: v1.LabelHostname},
				{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "cache"}}, TopologyKey: v1.LabelHostname},
			}}}
			return p
		}
		createPod(t, twoTerms("preemptor"))
		msg := waitUnschedulable(t, e.ns, "preemptor")
		if want := "didn't match pod affinity rules"; !strings.Contains(msg, want) {
			t.Errorf("%s: PodScheduled message %q lacks %q", e.profile, msg, want)
		}
		e.waitEvent("preemptor", "FailedScheduling", "didn't match pod affinity rules")
		e.survive("db", "cache", "other")

		// One pod meeting both terms: now the affinity can hold.
		if err := cp.Client.CoreV1().Pods(e.ns).Delete(context.Background(), "preemptor", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		if err := cp.Client.CoreV1().Pods(e.ns).Delete(context.Background(), "db", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		e.running(pod("db-cache", "1", map[string]string{"app": "db", "tier": "cache"}))
		if e.profile == "upstream" {
			createPod(t, twoTerms("preemptor-2"))
			msg := waitUnschedulable(t, e.ns, "preemptor-2")
			if want := "didn't match pod affinity rules"; !strings.Contains(msg, want) {
				t.Errorf("upstream: PodScheduled message %q lacks %q", msg, want)
			}
			e.survive("db-cache", "cache", "other")
			return
		}
		if got := e.preempts(twoTerms("preemptor-2"), []string{"other"}, "db-cache", "cache"); got != b2 {
			t.Errorf("preemptor bound to %s, want %s", got, b2)
		}
	})
}

// TestQoSAwarePreemptionKeepsOneAffinityTargetOfSeveral: the preemptor requires app=db
// on its node (hostname) and in its zone. Its node holds two low-priority db pods that
// fill it; it needs the room of one. One db pod left on the node meets both terms, so
// berth evicts the other (the later-started: equal priority and class) and keeps one.
// Upstream removes every possible victim first, finds the affinity broken and gives
// the node up.
func TestQoSAwarePreemptionKeepsOneAffinityTargetOfSeveral(t *testing.T) {
	classes := qapClasses(t, "several")
	qapRun(t, "several", nil, func(e *qapEnv) {
		n1 := e.zonedNode("n1", "4", 10, "a")
		db := func(name string) *v1.Pod {
			return e.pin(onNode(harness.BurstablePod(e.ns, name, harness.Resources{v1.ResourceCPU: "2"}, nil).Label("app", "db"), n1), classes["low"])
		}
		first := e.running(db("db-1"))
		e.runningAfter(first, db("db-2"))
		isDB := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"])
		preemptor.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{
			{LabelSelector: isDB, TopologyKey: v1.LabelHostname},
			{LabelSelector: isDB, TopologyKey: v1.LabelTopologyZone},
		}}}
		if e.profile == "upstream" {
			createPod(t, preemptor)
			msg := waitUnschedulable(t, e.ns, preemptor.Name)
			if want := "didn't match pod affinity rules"; !strings.Contains(msg, want) {
				t.Errorf("upstream: PodScheduled message %q lacks %q", msg, want)
			}
			e.survive("db-1", "db-2")
			return
		}
		if got := e.preempts(preemptor, []string{"db-2"}, "db-1"); got != n1 {
			t.Errorf("preemptor bound to %s, want %s", got, n1)
		}
	})
}

// TestQoSAwarePreemptionWaitsForGracefulTermination: two full nodes, each with one
// low-priority pod that takes its 2s grace period to terminate. The preemptor is
// nominated to one node, stays unbound while its victim terminates there, and is bound
// to that node once the simulated kubelet has removed the victim.
func TestQoSAwarePreemptionWaitsForGracefulTermination(t *testing.T) {
	classes := qapClasses(t, "grace")
	qapRun(t, "grace", nil, func(e *qapEnv) {
		ctx := context.Background()
		nodes := []string{e.node("a", "2", 10), e.node("b", "2", 10)}
		for i, n := range nodes {
			e.running(e.pin(harness.BurstablePod(e.ns, fmt.Sprintf("low-%d", i), harness.Resources{v1.ResourceCPU: "2"}, nil).
				NodeSelector(map[string]string{v1.LabelHostname: n}), classes["low"]))
		}
		createPod(t, e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"]))

		// The victim is terminating while the preemptor, nominated to its node, waits.
		var victim string
		var nominated string
		err := wait.PollUntilContextTimeout(ctx, harness.Poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			p, err := cp.Client.CoreV1().Pods(e.ns).Get(ctx, "preemptor", metav1.GetOptions{})
			if err != nil || p.Status.NominatedNodeName == "" {
				return false, nil
			}
			nominated = p.Status.NominatedNodeName
			for i, n := range nodes {
				v, err := cp.Client.CoreV1().Pods(e.ns).Get(ctx, fmt.Sprintf("low-%d", i), metav1.GetOptions{})
				if err == nil && n == nominated && v.DeletionTimestamp != nil {
					victim = v.Name
					if p.Spec.NodeName != "" {
						return false, fmt.Errorf("preemptor bound to %s while its victim %s was still terminating", p.Spec.NodeName, v.Name)
					}
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("%s: never saw the preemptor nominated while its victim terminates: %v", e.profile, err)
		}
		if got := waitBound(t, e.ns, "preemptor"); got != nominated {
			t.Errorf("%s: preemptor bound to %s, nominated to %s", e.profile, got, nominated)
		}
		if _, err := cp.Client.CoreV1().Pods(e.ns).Get(ctx, victim, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: victim %s still exists after the preemptor was bound (get: %v)", e.profile, victim, err)
		}
		other := "low-0"
		if victim == other {
			other = "low-1"
		}
		e.survive(other)
		if e.profile == "berth" {
			e.waitEvent("preemptor", "FailedScheduling", "preemption: nominated to node "+nominated)
		}
	})
}

// TestQoSAwarePreemptionSystemCriticalIgnoresTheGap: guaranteedPriorityGap has no upper
// bound, but pods at or above system-cluster-critical are never blocked by it, as
// upstream requires of every victim-eligibility hook. With a gap of 2000000000, a
// Guaranteed pod at priority 100 that fills the node yields to a system-cluster-critical
// pod under both profiles.
func TestQoSAwarePreemptionSystemCriticalIgnoresTheGap(t *testing.T) {
	classes := qapClasses(t, "syscrit")
	qapRun(t, "syscrit", map[string]any{"guaranteedPriorityGap": 2000000000}, func(e *qapEnv) {
		node := e.node("n1", "4", 10)
		e.running(e.pin(harness.GuaranteedPod(e.ns, "guaranteed",
			harness.Resources{v1.ResourceCPU: "4", v1.ResourceMemory: "1Gi"}), classes["low"]))
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil),
			"system-cluster-critical")
		if got := e.preempts(preemptor, []string{"guaranteed"}); got != node {
			t.Errorf("%s: preemptor bound to %s, want %s", e.profile, got, node)
		}
	})
}

// qapWithExtender adds a scheduler extender at url that only takes part in preemption.
func qapWithExtender(url string) func(*localcluster.SchedulerConfig) {
	return func(c *localcluster.SchedulerConfig) {
		c.Extenders = append(c.Extenders, configv1.Extender{URLPrefix: url, PreemptVerb: "preempt"})
	}
}

// TestQoSAwarePreemptionExtenderRemovingEveryCandidateCountsAsNoCandidate: a scheduler
// extender (a real HTTP one) that keeps no candidate node leaves the preemptor pending
// with upstream's "no candidate node for preemption", nothing is evicted, and berth
// counts the attempt as no_candidate: the preemptor was eligible, no node was left.
func TestQoSAwarePreemptionExtenderRemovingEveryCandidateCountsAsNoCandidate(t *testing.T) {
	var calls atomic.Int32
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/preempt" {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(extenderv1.ExtenderPreemptionResult{NodeNameToMetaVictims: map[string]*extenderv1.MetaVictims{}})
	}))
	t.Cleanup(ext.Close)

	classes := qapClasses(t, "extender")
	e := &qapEnv{t: t, ns: newNamespace(t), prefix: "qosawarepreemption-extender", profile: "berth"}
	startBerth(t, all(withPlugin(qosawarepreemption.Name, nil, PostFilter), qapWithPreEnqueue, qapWithExtender(ext.URL)))
	e.node("n1", "4", 10)
	e.running(e.pin(harness.BurstablePod(e.ns, "low", harness.Resources{v1.ResourceCPU: "4"}, nil), classes["low"]))

	noCandidate := qapCounter(t, "berth_preemption_attempts_total", "result", "no_candidate")
	ineligible := qapCounter(t, "berth_preemption_attempts_total", "result", "ineligible")
	p := createPod(t, e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"]))
	const want = "preemption: no candidate node for preemption"
	if msg := waitUnschedulable(t, e.ns, p.Name); !strings.Contains(msg, want) {
		t.Errorf("PodScheduled message %q lacks %q", msg, want)
	}
	e.waitEvent(p.Name, "FailedScheduling", want)
	e.survive("low")
	if calls.Load() == 0 {
		t.Fatal("the extender was never asked: the test does not exercise it")
	}
	if d := qapCounter(t, "berth_preemption_attempts_total", "result", "no_candidate") - noCandidate; d < 1 {
		t.Errorf("berth_preemption_attempts_total{result=no_candidate} rose by %v, want >= 1", d)
	}
	if d := qapCounter(t, "berth_preemption_attempts_total", "result", "ineligible") - ineligible; d != 0 {
		t.Errorf("berth_preemption_attempts_total{result=ineligible} rose by %v, want 0: the preemptor was eligible", d)
	}
}

// qapVanishLabel marks a pod that a test's admission webhook deletes the moment the
// scheduler sets its DisruptionTarget condition: a victim already gone by the time
// the Executor reaches it.
const qapVanishLabel = "berth.test/vanish"

// qapVanishingVictims registers a validating admission webhook (served here, called by
// the real API server) on the status updates of pods labelled qapVanishLabel=value.
// When the scheduler adds DisruptionTarget to such a pod, the webhook deletes every pod
// so labelled in the namespace at once, waits hold, and lets the update through, which
// then finds the pod gone: the Executor's patch returns NotFound, as it does when a
// victim is deleted by someone else between the dry run and the eviction, and so does
// its patch of any other victim of the same preemption. It returns how many victims it
// removed so far.
func qapVanishingVictims(t *testing.T, value string, hold time.Duration) func() int32 {
	t.Helper()
	var removed atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		req := review.Request
		var pod v1.Pod
		if err := json.Unmarshal(req.Object.Raw, &pod); err == nil && (req.DryRun == nil || !*req.DryRun) {
			for _, c := range pod.Status.Conditions {
				if c.Type == v1.DisruptionTarget && c.Reason == v1.PodReasonPreemptionByScheduler {
					ctx := context.Background()
					labelled, err := cp.Client.CoreV1().Pods(req.Namespace).List(ctx, metav1.ListOptions{LabelSelector: qapVanishLabel + "=" + value})
					if err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					for _, p := range labelled.Items {
						err := cp.Client.CoreV1().Pods(req.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
						if err == nil {
							removed.Add(1)
						}
					}
					time.Sleep(hold) // the scenario's timing, not a wait for an outcome
				}
			}
		}
		review.Response = &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
		review.Request = nil
		_ = json.NewEncoder(w).Encode(review)
	}))
	t.Cleanup(srv.Close)

	ctx := context.Background()
	name := "vanish-" + value
	none, fail := admissionregistrationv1.SideEffectClassNoneOnDryRun, admissionregistrationv1.Fail
	url := srv.URL + "/validate"
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "vanish.berth.test",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL:      &url,
				CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
					Resources: []string{"pods/status"}, Scope: ptr.To(admissionregistrationv1.NamespacedScope)},
			}},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{qapVanishLabel: value}},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if _, err := cp.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cp.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
	})
	return removed.Load
}

// TestQoSAwarePreemptionVictimAlreadyGone: the only victim is deleted by someone else
// just as the Executor evicts it (a webhook deletes it on the DisruptionTarget update,
// which then fails with NotFound). Upstream's Executor then preempts nothing and says
// nothing; berth announces and counts only what upstream actually preempted, so there
// is no "Preempted" event and berth_preemption_victims_total does not move. The
// preemptor still gets the freed node.
func TestQoSAwarePreemptionVictimAlreadyGone(t *testing.T) {
	classes := qapClasses(t, "gone")
	qapRun(t, "gone", nil, func(e *qapEnv) {
		removed := qapVanishingVictims(t, e.ns, 0)
		node := e.node("n1", "4", 10)
		e.running(e.pin(harness.BurstablePod(e.ns, "victim", harness.Resources{v1.ResourceCPU: "4"}, nil).
			Label(qapVanishLabel, e.ns), classes["low"]))
		before := qapCounter(t, "berth_preemption_victims_total", "qos_class", "Burstable")
		preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "2"}, nil), classes["high"])
		if got := e.preempts(preemptor, []string{"victim"}); got != node {
			t.Errorf("%s: preemptor bound to %s, want %s", e.profile, got, node)
		}
		if removed() == 0 {
			t.Fatalf("%s: the webhook never removed the victim: the test does not exercise a victim already gone", e.profile)
		}
		// Upstream's Executor records its event before returning; berth's would follow at
		// once. Neither may appear.
		var notes []string
		err := wait.PollUntilContextTimeout(context.Background(), harness.Poll, 3*time.Second, true, func(ctx context.Context) (bool, error) {
			events, err := harness.EventsFor(ctx, cp.Client, e.ns, "victim")
			if err != nil {
				return false, nil
			}
			for _, ev := range events {
				if ev.Reason == "Preempted" {
					notes = append(notes, ev.Message)
				}
			}
			return len(notes) > 0, nil
		})
		if err == nil {
			t.Errorf("%s: Preempted events on a victim that was already gone: %q", e.profile, notes)
		}
		if d := qapCounter(t, "berth_preemption_victims_total", "qos_class", "Burstable") - before; d != 0 {
			t.Errorf("%s: berth_preemption_victims_total{qos_class=Burstable} rose by %v for a victim that was already gone", e.profile, d)
		}
	})
}

// TestQoSAwarePreemptionWakesThePreemptorWhenNoDeletionEventWillCome reproduces
// kubernetes/kubernetes#141694 on the real control plane, under async preemption (on by
// default). The preemptor must evict two victims. While the Executor evicts the first,
// both are deleted by someone else (the webhook), and the scheduler handles both
// deletions while PreEnqueue still gates the preemptor (its preemption is running, its
// last victim not yet registered): the events are spent. The last victim's eviction
// then finds it gone, which sends no event. Upstream's DefaultPreemption leaves the
// preemptor in the unschedulable pool until the 5-minute flush; berth activates it, so
// it is bound within waitBound's 30 s.
func TestQoSAwarePreemptionWakesThePreemptorWhenNoDeletionEventWillCome(t *testing.T) {
	classes := qapClasses(t, "wake")
	prof := qapProfiles(nil)[0]
	e := &qapEnv{t: t, ns: newNamespace(t), prefix: "qosawarepreemption-wake-" + prof.name, profile: prof.name}
	startBerth(t, prof.mutate)
	// Two seconds for the deletions to reach the scheduler while the first eviction waits.
	removed := qapVanishingVictims(t, e.ns, 2*time.Second)
	node := e.node("n1", "4", 10)
	for _, name := range []string{"victim-a", "victim-b"} {
		e.running(e.pin(harness.BurstablePod(e.ns, name, harness.Resources{v1.ResourceCPU: "2"}, nil).
			Label(qapVanishLabel, e.ns), classes["low"]))
	}
	preemptor := e.pin(harness.BurstablePod(e.ns, "preemptor", harness.Resources{v1.ResourceCPU: "4"}, nil), classes["high"])
	if got := e.preempts(preemptor, []string{"victim-a", "victim-b"}); got != node {
		t.Errorf("preemptor bound to %s, want %s", got, node)
	}
	if n := removed(); n != 2 {
		t.Fatalf("the webhook removed %d victims, want both: the test does not exercise victims already gone", n)
	}
}
