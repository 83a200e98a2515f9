package qosawarepreemption

import (
	"context"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

func attempts(t *testing.T, result string) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(attemptsTotal.WithLabelValues(result))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func victimCount(t *testing.T, class v1.PodQOSClass) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(victimsTotal.WithLabelValues(string(class), "none")) // the test pods have no PriorityClass
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// terminatingByPreemption is a pod the scheduler has already preempted: deleted, with
// the DisruptionTarget condition upstream's Executor sets.
func terminatingByPreemption(p *v1.Pod) *v1.Pod {
	now := metav1.Now()
	p.DeletionTimestamp = &now
	p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{
		Type: v1.DisruptionTarget, Status: v1.ConditionTrue, Reason: v1.PodReasonPreemptionByScheduler,
	})
	return p
}

// TestPostFilter runs the whole plugin as the scheduler does (upstream Evaluator and
// Executor, synchronous preemption) and checks result, message, API calls, events and
// metrics.
func TestPostFilter(t *testing.T) {
	tests := []struct {
		name      string
		nodes     []*v1.Node
		pods      []*v1.Pod
		preemptor *v1.Pod
		// wantCode and wantMsg: the PostFilter status.
		wantCode fwk.Code
		wantMsg  string
		// wantNode: the nominated node ("" for none).
		wantNode string
		// wantDeleted and wantKept: pods the preemption deleted or left.
		wantDeleted, wantKept []string
		// wantVictimEvents: the one Preempted event on each victim: upstream's note
		// (preemptor by UID) completed with berth's detail.
		wantVictimEvents map[string]string
		wantResult       string
		wantVictimQoS    map[v1.PodQOSClass]float64
	}{
		{
			name:  "the Burstable pod is evicted, the preemptor nominated, the victim and the preemptor told why",
			nodes: []*v1.Node{node("n1", "4", "10")},
			pods: []*v1.Pod{
				burstable("burstable", "n1", low, "2", 1),
				guaranteed("guaranteed", "n1", low, "2", 2),
			},
			preemptor:   preemptor(high, "2").Obj(),
			wantCode:    fwk.Success,
			wantMsg:     "preemption: nominated to node n1, preempting 1 victims: 0 Guaranteed, 1 Burstable, 0 BestEffort",
			wantNode:    "n1",
			wantDeleted: []string{"burstable"},
			wantKept:    []string{"guaranteed"},
			wantVictimEvents: map[string]string{
				"burstable": "Preempted by pod preemptor on node n1; preemptor default/preemptor (priority 1000); victim QoS Burstable",
			},
			wantResult:    ResultNominated,
			wantVictimQoS: map[v1.PodQOSClass]float64{v1.PodQOSBurstable: 1},
		},
		{
			name:  "victims of several classes are counted per class",
			nodes: []*v1.Node{node("n1", "4", "10")},
			pods: []*v1.Pod{
				st.MakePod().Namespace("default").Name("besteffort").UID("besteffort").Node("n1").Priority(low).
					HostPort(8080).StartTime(at(1)).Obj(),
				burstable("burstable", "n1", low, "1", 1),
				guaranteed("guaranteed", "n1", mid, "3", 2),
			},
			preemptor:   preemptor(high, "4").HostPort(8080).Obj(),
			wantCode:    fwk.Success,
			wantMsg:     "preemption: nominated to node n1, preempting 3 victims: 1 Guaranteed, 1 Burstable, 1 BestEffort",
			wantNode:    "n1",
			wantDeleted: []string{"besteffort", "burstable", "guaranteed"},
			wantVictimEvents: map[string]string{
				"besteffort": "Preempted by pod preemptor on node n1; preemptor default/preemptor (priority 1000); victim QoS BestEffort",
				"burstable":  "Preempted by pod preemptor on node n1; preemptor default/preemptor (priority 1000); victim QoS Burstable",
				"guaranteed": "Preempted by pod preemptor on node n1; preemptor default/preemptor (priority 1000); victim QoS Guaranteed",
			},
			wantResult: ResultNominated,
			wantVictimQoS: map[v1.PodQOSClass]float64{
				v1.PodQOSBestEffort: 1, v1.PodQOSBurstable: 1, v1.PodQOSGuaranteed: 1,
			},
		},
		{
			name:  "preemptionPolicy Never: nothing is evicted",
			nodes: []*v1.Node{node("n1", "4", "10")},
			pods: []*v1.Pod{
				burstable("burstable", "n1", low, "4", 1),
			},
			preemptor:  preemptor(high, "2").PreemptionPolicy(v1.PreemptNever).Obj(),
			wantCode:   fwk.Unschedulable,
			wantMsg:    "preemption: not eligible due to preemptionPolicy=Never.",
			wantKept:   []string{"burstable"},
			wantResult: ResultIneligible,
		},
		{
			name:  "an earlier victim still terminating on the nominated node: wait, evict nothing more",
			nodes: []*v1.Node{node("n1", "4", "10")},
			pods: []*v1.Pod{
				terminatingByPreemption(burstable("leaving", "n1", low, "2", 1)),
				burstable("staying", "n1", low, "2", 1),
			},
			preemptor:  preemptor(high, "3").NominatedNodeName("n1").Obj(),
			wantCode:   fwk.Unschedulable,
			wantMsg:    "preemption: not eligible due to a terminating pod on the nominated node.",
			wantKept:   []string{"staying"},
			wantResult: ResultIneligible,
		},
		{
			name:  "no node fits even without its lower-priority pods",
			nodes: []*v1.Node{node("n1", "4", "10")},
			pods: []*v1.Pod{
				burstable("burstable", "n1", low, "2", 1),
			},
			preemptor:  preemptor(high, "8").Obj(),
			wantCode:   fwk.Unschedulable,
			wantMsg:    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
			wantKept:   []string{"burstable"},
			wantResult: ResultNoCandidate,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, tt.nodes, tt.pods, nil, tt.preemptor)
			pl := e.berth(t, nil)
			state := e.preFilter(t, tt.preemptor)
			statuses := e.nodeStatuses(t, state, tt.preemptor)

			before := attempts(t, tt.wantResult)
			beforeQoS := map[v1.PodQOSClass]float64{}
			for _, c := range []v1.PodQOSClass{v1.PodQOSBestEffort, v1.PodQOSBurstable, v1.PodQOSGuaranteed} {
				beforeQoS[c] = victimCount(t, c)
			}

			result, status := pl.PostFilter(e.ctx, state, tt.preemptor, statuses)
			if status.Code() != tt.wantCode || !strings.Contains(status.Message(), tt.wantMsg) {
				t.Errorf("status %v %q, want %v containing %q", status.Code(), status.Message(), tt.wantCode, tt.wantMsg)
			}
			gotNode := ""
			if result != nil && result.NominatingInfo != nil {
				gotNode = result.NominatedNodeName
			}
			if gotNode != tt.wantNode {
				t.Errorf("nominated %q, want %q", gotNode, tt.wantNode)
			}
			for _, name := range tt.wantDeleted {
				if _, err := e.cs.CoreV1().Pods("default").Get(e.ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("victim %s not deleted (get: %v)", name, err)
				}
			}
			for _, name := range tt.wantKept {
				if _, err := e.cs.CoreV1().Pods("default").Get(e.ctx, name, metav1.GetOptions{}); err != nil {
					t.Errorf("pod %s should stay: %v", name, err)
				}
			}
			for _, victim := range append(slices.Clone(tt.wantDeleted), tt.wantKept...) {
				got := e.recorder.about(victim, ReasonPreempted)
				want, preempted := tt.wantVictimEvents[victim]
				if preempted && (len(got) != 1 || got[0] != want) {
					t.Errorf("Preempted events on %s: %q, want exactly [%q]", victim, got, want)
				}
				if !preempted && len(got) > 0 {
					t.Errorf("Preempted events on %s, which was not preempted: %q", victim, got)
				}
			}
			// The nomination and its victims per QoS class are in PostFilter's message
			// (checked above), which upstream puts in the preemptor's FailedScheduling
			// event and PodScheduled condition: berth records no event of its own on
			// the preemptor, an API write upstream's preemption does not make.
			if got := e.recorder.on(tt.preemptor.Name); len(got) > 0 {
				t.Errorf("events on the preemptor: %q, want none", got)
			}
			if got := attempts(t, tt.wantResult) - before; got != 1 {
				t.Errorf("berth_preemption_attempts_total{result=%q} rose by %v, want 1", tt.wantResult, got)
			}
			for c, b := range beforeQoS {
				if got, want := victimCount(t, c)-b, tt.wantVictimQoS[c]; got != want {
					t.Errorf("berth_preemption_victims_total{qos_class=%q} rose by %v, want %v", c, got, want)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestAsyncPreemptionGatesThePreemptor checks the wiring of upstream's async
// preemption: while the victim's deletion is in flight, PreEnqueue keeps the preemptor
// out of the scheduling cycle, and lets it in once the deletion has gone through.
func TestAsyncPreemptionGatesThePreemptor(t *testing.T) {
	pods := []*v1.Pod{burstable("victim", "n1", low, "4", 1)}
	pod := preemptor(high, "2").Obj()
	e := newTestEnv(t, []*v1.Node{node("n1", "4", "10")}, pods, nil, pod)
	release := make(chan struct{})
	e.cs.PrependReactor("delete", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		<-release
		return false, nil, nil
	})
	pl := e.berth(t, nil, plfeature.Features{EnableAsyncPreemption: true})
	state := e.preFilter(t, pod)

	if s := pl.PreEnqueue(e.ctx, pod); !s.IsSuccess() {
		t.Fatalf("PreEnqueue before preemption: %v, want success", s)
	}
	if _, status := pl.PostFilter(e.ctx, state, pod, e.nodeStatuses(t, state, pod)); !status.IsSuccess() {
		t.Fatalf("PostFilter: %v", status)
	}
	if s := pl.PreEnqueue(e.ctx, pod); s.Code() != fwk.UnschedulableAndUnresolvable {
		t.Errorf("PreEnqueue while the victim is being deleted: %v, want UnschedulableAndUnresolvable", s)
	}
	close(release)
	err := wait.PollUntilContextTimeout(e.ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return pl.PreEnqueue(e.ctx, pod).IsSuccess(), nil
	})
	if err != nil {
		t.Errorf("PreEnqueue still gates the preemptor after the victim's deletion: %v", err)
	}
	events, err := pl.EventsToRegister(e.ctx)
	if err != nil || len(events) == 0 {
		t.Errorf("EventsToRegister = %v, %v; want the assigned-pod deletion event that re-checks the gate", events, err)
	}
}

// TestNewRejectsBadArgs: the factory refuses invalid or misspelt args with the field
// named, so a scheduler with a broken profile does not start.
func TestNewRejectsBadArgs(t *testing.T) {
	e := newTestEnv(t, nil, nil, nil)
	for args, want := range map[string]string{
		`{"guaranteedPriorityGap": -1}`:                                      "args.guaranteedPriorityGap: Invalid value: -1",
		`{"qosCost": {"bestEffort": 3, "burstable": 2}}`:                     "args.qosCost.burstable: Invalid value: 2",
		`{"minCandidateNodesPercentage": 120}`:                               "args.minCandidateNodesPercentage: Invalid value: 120",
		`{"minCandidateNodesAbsolute": 0, "minCandidateNodesPercentage": 0}`: "cannot be zero at the same time",
		`{"guaranteedPriorityGapp": 5}`:                                      `unknown field guaranteedPriorityGapp`,
	} {
		_, err := New(e.ctx, &runtime.Unknown{Raw: []byte(args), ContentType: runtime.ContentTypeJSON}, e.fw, plfeature.Features{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%s) error = %v, want it to contain %q", args, err, want)
		}
	}
}

// TestVictimEvents covers the victims' events and metric where upstream's Executor
// does not simply delete the victim: berth announces and counts exactly what upstream
// preempted, in one event that keeps upstream's wording.
func TestVictimEvents(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the victim's fate once the plugin is built.
		setup     func(t *testing.T, e *testEnv, victim *v1.Pod)
		wantEvent string // "" for none
		wantCount float64
		wantGone  bool
	}{
		{
			name: "a victim deleted by someone else before the eviction: upstream preempts nothing, berth says and counts nothing",
			setup: func(t *testing.T, e *testEnv, victim *v1.Pod) {
				// The DisruptionTarget patch finds the pod gone, as the API server answers
				// when the pod was deleted since the scheduler's snapshot.
				e.cs.PrependReactor("patch", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewNotFound(v1.Resource("pods"), victim.Name)
				})
			},
			wantCount: 0,
		},
		{
			name: "a victim waiting in Permit is preempted in scheduler memory: upstream's wording says so",
			setup: func(t *testing.T, e *testEnv, victim *v1.Pod) {
				e.fw.AddWaitingPod(victim, map[string]time.Duration{"Permit": time.Minute})
			},
			wantEvent: "Preempted by pod preemptor on node n1 (in kube-scheduler memory); preemptor default/preemptor (priority 1000); victim QoS Burstable",
			wantCount: 1,
		},
		{
			name:      "a victim deleted by the eviction: one event",
			setup:     func(*testing.T, *testEnv, *v1.Pod) {},
			wantEvent: "Preempted by pod preemptor on node n1; preemptor default/preemptor (priority 1000); victim QoS Burstable",
			wantCount: 1,
			wantGone:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			victim := burstable("victim", "n1", low, "4", 1)
			pod := preemptor(high, "2").Obj()
			e := newTestEnv(t, []*v1.Node{node("n1", "4", "10")}, []*v1.Pod{victim}, nil, pod)
			pl := e.berth(t, nil)
			tt.setup(t, e, victim)
			state := e.preFilter(t, pod)
			before := victimCount(t, v1.PodQOSBurstable)
			if _, status := pl.PostFilter(e.ctx, state, pod, e.nodeStatuses(t, state, pod)); !status.IsSuccess() {
				t.Fatalf("PostFilter: %v", status)
			}
			got := e.recorder.about("victim", ReasonPreempted)
			switch {
			case tt.wantEvent == "" && len(got) > 0:
				t.Errorf("Preempted events %q, want none", got)
			case tt.wantEvent != "" && (len(got) != 1 || got[0] != tt.wantEvent):
				t.Errorf("Preempted events %q, want exactly [%q]", got, tt.wantEvent)
			}
			if d := victimCount(t, v1.PodQOSBurstable) - before; d != tt.wantCount {
				t.Errorf("berth_preemption_victims_total{qos_class=Burstable} rose by %v, want %v", d, tt.wantCount)
			}
			_, err := e.cs.CoreV1().Pods("default").Get(e.ctx, "victim", metav1.GetOptions{})
			if gone := apierrors.IsNotFound(err); gone != tt.wantGone {
				t.Errorf("victim deleted = %v, want %v (get: %v)", gone, tt.wantGone, err)
			}
		})
	}
}

// TestAsyncPreemptionActivatesThePreemptorWhenNoDeletionEventWillCome: under async
// preemption the preemptor waits, gated, for an assigned-pod deletion. A victim the
// Executor finds already deleted, whose deletion the scheduler's informer has already
// handled, sends none (kubernetes/kubernetes#141694), so berth moves the preemptor back
// to the active queue itself. Where an event is still to come (a victim deleted by the
// eviction, or one the informer has not yet seen go) it does not, nor under
// synchronous preemption.
func TestAsyncPreemptionActivatesThePreemptorWhenNoDeletionEventWillCome(t *testing.T) {
	const (
		deletedAndSeen    = "deleted, the informer has seen it"     // the scheduler's cache still holds it
		deletedNotSeen    = "deleted, the informer has not seen it" // the API answers NotFound, the informer lags
		deletedByEviction = "deleted by the eviction"
	)
	tests := []struct {
		name         string
		async        bool
		victim       string
		wantActivate bool
	}{
		{name: "async, the victim already deleted and its deletion handled: the preemptor is activated", async: true, victim: deletedAndSeen, wantActivate: true},
		{name: "async, the victim already deleted but its deletion still to come: that event wakes the preemptor", async: true, victim: deletedNotSeen},
		{name: "async, the victim deleted by the eviction: its deletion event wakes the preemptor", async: true, victim: deletedByEviction},
		{name: "synchronous, the victim already deleted: the preemptor is still in its cycle", victim: deletedAndSeen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The Executor's goroutine logs through klog's global logger; capture it at
			// the verbosity the line is written at.
			logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.BufferLogs(true), ktesting.Verbosity(2)))
			klog.SetLogger(logger)
			t.Cleanup(klog.ClearLogger)
			var flags flag.FlagSet
			klog.InitFlags(&flags)
			if err := flags.Set("v", "2"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = flags.Set("v", "0") })
			victim := burstable("victim", "n1", low, "4", 1)
			pod := preemptor(high, "2").Obj()
			e := newTestEnv(t, []*v1.Node{node("n1", "4", "10")}, []*v1.Pod{victim}, nil, pod)
			pl := e.berth(t, nil, plfeature.Features{EnableAsyncPreemption: tt.async})
			switch tt.victim {
			case deletedAndSeen:
				// Gone from the API and from the informer; the snapshot still holds it.
				if err := e.cs.CoreV1().Pods(victim.Namespace).Delete(e.ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				err := wait.PollUntilContextTimeout(e.ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
					_, err := pl.podLister.Pods(victim.Namespace).Get(victim.Name)
					return apierrors.IsNotFound(err), nil
				})
				if err != nil {
					t.Fatalf("the informer never saw the victim's deletion: %v", err)
				}
			case deletedNotSeen:
				e.cs.PrependReactor("patch", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewNotFound(v1.Resource("pods"), victim.Name)
				})
			}
			state := e.preFilter(t, pod)
			if _, status := pl.PostFilter(e.ctx, state, pod, e.nodeStatuses(t, state, pod)); !status.IsSuccess() {
				t.Fatalf("PostFilter: %v", status)
			}
			if tt.async {
				// The eviction runs after PostFilter, in the Executor's goroutine. Wait
				// for what ends it in each case: the activation, berth's victim event
				// (recorded right after upstream's eviction returns, where it would
				// activate), or the Executor letting go of the preemptor.
				err := wait.PollUntilContextTimeout(e.ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
					switch tt.victim {
					case deletedAndSeen:
						return len(e.activator.pods()) > 0, nil
					case deletedByEviction:
						return len(e.recorder.about("victim", ReasonPreempted)) > 0, nil
					}
					return !pl.upstream.Executor.IsPodRunningPreemption(pod.UID), nil
				})
				if err != nil {
					t.Fatalf("the eviction did not end: %v", err)
				}
			}
			want := []string(nil)
			if tt.wantActivate {
				want = []string{pod.Name}
			}
			if got := e.activator.pods(); !slices.Equal(got, want) {
				t.Errorf("activated %q, want %q", got, want)
			}
			// What an operator reads in the scheduler's log at verbosity 2 (klog's text
			// format quotes the message; the test buffer does not).
			const line = `INFO Victim was already gone; activating the preemptor, no deletion event will follow preemptor="default/preemptor" victim="default/victim"`
			logged := logger.GetSink().(ktesting.Underlier).GetBuffer().String()
			if got := strings.Contains(logged, line); got != tt.wantActivate {
				t.Errorf("log has %s: %v, want %v; log:\n%s", line, got, tt.wantActivate, logged)
			}
		})
	}
}
