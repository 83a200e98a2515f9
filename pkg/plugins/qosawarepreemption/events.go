package qosawarepreemption

import (
	"context"
	"fmt"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"
)

// Upstream's Executor.PreemptPod does the eviction (a waiting or pre-binding pod is
// preempted in scheduler memory, any other gets the DisruptionTarget condition and a
// delete call) and records the victim's "Preempted" event itself, through the event
// recorder of the handle the Executor was built with. Its result does not tell a
// deleted victim from one that was already gone ((false, nil) both), but its event
// does: it is recorded exactly when upstream preempted the victim. So berth builds the
// Executor on a handle whose recorder holds that event back, and its PreemptPod hook,
// wrapped around upstream's, completes the held event with berth's detail, records it
// and counts the victim. Nothing of upstream's eviction is copied, and each victim
// gets one event.

// heldEvent is upstream's victim event, its note formatted.
type heldEvent struct {
	eventtype, reason, action, note string
}

// heldKey is a victim and the preemptor (pod or pod group) that preempted it.
type heldKey struct {
	victim, preemptor types.UID
}

// heldEvents are the victim events upstream recorded and berth has not yet completed.
type heldEvents struct {
	mu     sync.Mutex
	events map[heldKey]heldEvent
}

func (h *heldEvents) put(k heldKey, e heldEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.events == nil {
		h.events = map[heldKey]heldEvent{}
	}
	h.events[k] = e
}

func (h *heldEvents) take(k heldKey) (heldEvent, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.events[k]
	delete(h.events, k)
	return e, ok
}

// executorHandle is the scheduler's handle as upstream's Executor sees it: the same in
// every respect but its event recorder.
type executorHandle struct {
	fwk.Handle
	held *heldEvents
}

// EventRecorder returns the scheduler's recorder, holding back victim events.
func (h *executorHandle) EventRecorder() events.EventRecorderLogger {
	r := h.Handle.EventRecorder()
	if r == nil {
		return nil
	}
	return &holdingRecorder{EventRecorderLogger: r, held: h.held}
}

// holdingRecorder passes every event on, except a "Preempted" event on a pod, which it
// keeps for instrumentExecutor's hook.
type holdingRecorder struct {
	events.EventRecorderLogger
	held *heldEvents
}

func (r *holdingRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	if victim, ok := regarding.(*v1.Pod); ok && reason == ReasonPreempted && related != nil {
		if m, err := meta.Accessor(related); err == nil {
			r.held.put(heldKey{victim: victim.UID, preemptor: m.GetUID()},
				heldEvent{eventtype: eventtype, reason: reason, action: action, note: fmt.Sprintf(note, args...)})
			return
		}
	}
	r.EventRecorderLogger.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

func (r *holdingRecorder) WithLogger(logger klog.Logger) events.EventRecorderLogger {
	return &holdingRecorder{EventRecorderLogger: r.EventRecorderLogger.WithLogger(logger), held: r.held}
}

// instrumentExecutor wraps the Executor's PreemptPod, its documented hook: after
// upstream's eviction, a victim upstream announced is counted and its event recorded,
// completed; a victim upstream failed to evict is neither, and one it found already
// gone also wakes the preemptor (activateIfNoEventWillCome).
func (pl *QoSAwarePreemption) instrumentExecutor(e *preemption.Executor, held *heldEvents) {
	preempt := e.PreemptPod
	e.PreemptPod = func(ctx context.Context, c preemption.Candidate, preemptor preemption.ExecutorPreemptor, victim *v1.Pod, pluginName string) (bool, error) {
		inMemory, err := preempt(ctx, c, preemptor, victim, pluginName)
		ev, preempted := held.take(heldKey{victim: victim.UID, preemptor: preemptor.UID()})
		if !preempted {
			if err == nil && !inMemory {
				pl.activateIfNoEventWillCome(ctx, preemptor, victim)
			}
			return inMemory, err
		}
		class := qos.GetPodQOS(victim)
		victimsTotal.WithLabelValues(string(class), priorityClassLabel(victim)).Inc()
		if r := pl.fh.EventRecorder(); r != nil {
			r.WithLogger(klog.FromContext(ctx)).Eventf(victim, preemptor.Obj(), ev.eventtype, ev.reason, ev.action, "%s",
				victimNote(ev.note, preemptor, class))
		}
		return inMemory, err
	}
}

// activateIfNoEventWillCome moves the preemptor back to the active queue when
// upstream's Executor found a victim already deleted (its patch or delete answered
// NotFound: no event, (false, nil)). Under async preemption the preemptor waits, gated
// by PreEnqueue while its preemption runs, for an assigned-pod deletion to re-check the
// gate. A victim already gone sends none from this eviction, and its own deletion may
// have been handled while the gate was still shut: kubernetes/kubernetes#141694 (a
// redundant preemption of a victim the cache still held). The preemptor then sat in the
// unschedulable pool until the 5-minute flush: some of scheduler_perf's
// PreemptionBasic runs stalled so, under either profile (docs/benchmarks.md). Upstream
// activates the preemptor itself only on an error or an in-memory last victim; its open
// fix (#142294) activates on every completion. Activating here is safe whatever the timing:
// PreEnqueue still gates the preemptor while its last victim is pending (so the
// deletion event path is unchanged), the queue records it for a preemptor still in its
// cycle, it is a no-op for one already active, and one waiting out its backoff is tried
// at once (its victims are gone, which is what it was waiting for).
//
// Only once the scheduler's informer has seen the victim go: until then its deletion
// event is still to come and wakes the preemptor as usual, and activating it early
// would only repeat the cycle, and the redundant preemption, for as long as the
// informer lags.
func (pl *QoSAwarePreemption) activateIfNoEventWillCome(ctx context.Context, preemptor preemption.ExecutorPreemptor, victim *v1.Pod) {
	if !pl.asyncPreemption {
		// Synchronous preemption: the preemptor is still in its cycle and comes back
		// through the events of that cycle.
		return
	}
	if pl.podLister != nil {
		if seen, err := pl.podLister.Pods(victim.Namespace).Get(victim.Name); err == nil && seen.UID == victim.UID {
			return
		}
	}
	logger := klog.FromContext(ctx)
	logger.V(2).Info("Victim was already gone; activating the preemptor, no deletion event will follow",
		"preemptor", klog.KObj(preemptor), "victim", klog.KObj(victim))
	pl.fh.Activate(logger, preemptor.Pods())
}

// victimNote is upstream's note completed with berth's detail, e.g. "Preempted by pod
// 8ad75996-… on node n1; preemptor team-a/web (priority 1000); victim QoS Burstable",
// or "… on node n1 (in kube-scheduler memory); preemptor …". Upstream's final period,
// if any, gives way to the detail.
func victimNote(upstream string, preemptor preemption.ExecutorPreemptor, class v1.PodQOSClass) string {
	return fmt.Sprintf("%s; preemptor %s/%s (priority %d); victim QoS %s",
		strings.TrimSuffix(upstream, "."), preemptor.GetNamespace(), preemptor.GetName(), preemptor.Priority(), class)
}

// priorityClassLabel is the victim's PriorityClass for berth_preemption_victims_total
// ("none" for a pod without one): classes are cluster-scoped and few, unlike pods.
func priorityClassLabel(p *v1.Pod) string {
	if p.Spec.PriorityClassName == "" {
		return "none"
	}
	return p.Spec.PriorityClassName
}
