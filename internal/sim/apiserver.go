package sim

import (
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	podutil "k8s.io/kubernetes/pkg/api/v1/pod"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
)

var (
	podsResource  = v1.SchemeGroupVersion.WithResource("pods")
	nodesResource = v1.SchemeGroupVersion.WithResource("nodes")
)

// eventType is what happened to an object.
type eventType uint8

const (
	added eventType = iota
	updated
	deleted
)

// apiEvent is one change of a pod or node, as a watch would report it.
type apiEvent struct {
	typ      eventType
	old, obj runtime.Object
}

// apiServer stands in for kube-apiserver: client-go's fake clientset, whose object
// tracker stores the objects and applies patches as the API server would, plus what
// the simulation needs beyond a store. Writes to pods and nodes (from the scheduler
// and from the driver) are recorded as events for the driver to deliver; a binding
// sets the node, the PodScheduled condition and, as the kubelet would at once, phase
// Running and a start time; deleting a running pod with a grace period marks it
// terminating until the driver removes it when the period has passed in virtual time.
type apiServer struct {
	client  *fake.Clientset
	tracker k8stesting.ObjectTracker
	clock   *virtualClock

	mu      sync.Mutex
	pending []apiEvent
	// bound receives the UID of each pod the moment its binding is stored: the
	// scheduler binds on a goroutine of its own, and the driver waits for it.
	bound chan types.UID
}

func newAPIServer(clock *virtualClock, objects ...runtime.Object) *apiServer {
	client := fake.NewSimpleClientset(objects...)
	a := &apiServer{client: client, tracker: client.Tracker(), clock: clock, bound: make(chan types.UID, 1)}
	client.PrependReactor("*", "pods", a.reactPods)
	client.PrependReactor("*", "nodes", a.reactNodes)
	return a
}

func (a *apiServer) emit(e apiEvent) {
	a.mu.Lock()
	a.pending = append(a.pending, e)
	a.mu.Unlock()
}

// hasPending reports whether changes wait to be delivered.
func (a *apiServer) hasPending() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending) > 0
}

// takePending returns the events recorded since the last call, oldest first.
func (a *apiServer) takePending() []apiEvent {
	// The fake clientset keeps every action it served, for tests to inspect; a run
	// makes hundreds of thousands and needs none.
	a.client.ClearActions()
	a.mu.Lock()
	defer a.mu.Unlock()
	events := a.pending
	a.pending = nil
	return events
}

func (a *apiServer) getPod(ns, name string) (*v1.Pod, error) {
	obj, err := a.tracker.Get(podsResource, ns, name)
	if err != nil {
		return nil, err
	}
	return obj.(*v1.Pod), nil
}

// reactPods serves every write to pods; reads fall through to the tracker.
func (a *apiServer) reactPods(action k8stesting.Action) (bool, runtime.Object, error) {
	switch act := action.(type) {
	case k8stesting.CreateActionImpl:
		if act.GetSubresource() == "binding" {
			return true, act.GetObject(), a.bind(act.GetNamespace(), act.GetObject().(*v1.Binding))
		}
		if act.GetSubresource() != "" {
			return false, nil, nil
		}
		pod := act.GetObject().(*v1.Pod).DeepCopy()
		a.admit(pod)
		if err := a.tracker.Create(podsResource, pod, pod.Namespace); err != nil {
			return true, nil, err
		}
		a.emit(apiEvent{typ: added, obj: pod})
		return true, pod, nil
	case k8stesting.DeleteActionImpl:
		return true, nil, a.deletePod(act.GetNamespace(), act.GetName())
	case k8stesting.UpdateActionImpl, k8stesting.PatchActionImpl:
		return a.modify(podsResource, action)
	}
	return false, nil, nil
}

// reactNodes records node writes (the driver's; the scheduler never writes nodes).
func (a *apiServer) reactNodes(action k8stesting.Action) (bool, runtime.Object, error) {
	switch act := action.(type) {
	case k8stesting.CreateActionImpl:
		node := act.GetObject().(*v1.Node).DeepCopy()
		if err := a.tracker.Create(nodesResource, node, ""); err != nil {
			return true, nil, err
		}
		a.emit(apiEvent{typ: added, obj: node})
		return true, node, nil
	case k8stesting.DeleteActionImpl:
		old, err := a.tracker.Get(nodesResource, "", act.GetName())
		if err != nil {
			return true, nil, err
		}
		if err := a.tracker.Delete(nodesResource, "", act.GetName()); err != nil {
			return true, nil, err
		}
		a.emit(apiEvent{typ: deleted, obj: old})
		return true, nil, nil
	case k8stesting.UpdateActionImpl, k8stesting.PatchActionImpl:
		return a.modify(nodesResource, action)
	}
	return false, nil, nil
}

// modify lets the tracker apply an update or patch and records old and new.
func (a *apiServer) modify(gvr schema.GroupVersionResource, action k8stesting.Action) (bool, runtime.Object, error) {
	ns, name := action.GetNamespace(), nameOf(action)
	old, err := a.tracker.Get(gvr, ns, name)
	if err != nil {
		return true, nil, err
	}
	handled, obj, err := k8stesting.ObjectReaction(a.tracker)(action)
	if err != nil || !handled {
		return handled, obj, err
	}
	cur, err := a.tracker.Get(gvr, ns, name)
	if err != nil {
		return true, nil, err
	}
	a.emit(apiEvent{typ: updated, old: old, obj: cur})
	return true, obj, nil
}

func nameOf(action k8stesting.Action) string {
	switch act := action.(type) {
	case k8stesting.UpdateActionImpl:
		if m, err := metaOf(act.GetObject()); err == nil {
			return m.GetName()
		}
	case k8stesting.PatchActionImpl:
		return act.GetName()
	}
	return ""
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// admit fills in what the API server sets on create: a UID (derived from the name, so
// it is the same in every run), the creation time, the pending phase and the QoS class.
func (a *apiServer) admit(pod *v1.Pod) {
	if pod.UID == "" {
		pod.UID = types.UID("sim-" + pod.Namespace + "-" + pod.Name)
	}
	if pod.CreationTimestamp.IsZero() {
		pod.CreationTimestamp = metav1.NewTime(a.clock.Now())
	}
	if pod.Status.Phase == "" {
		pod.Status.Phase = v1.PodPending
	}
	if pod.Status.QOSClass == "" {
		pod.Status.QOSClass = qos.ComputePodQOS(pod)
	}
	if pod.Spec.NodeName != "" && pod.Status.StartTime == nil {
		// Created bound (a pod the workload starts with): already running.
		now := metav1.NewTime(a.clock.Now())
		podutil.UpdatePodCondition(&pod.Status, &v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: now})
		pod.Status.Phase = v1.PodRunning
		pod.Status.StartTime = &now
	}
}

// bind stores a binding as the API server and a kubelet would: node set, PodScheduled
// true, then at once running with a start time. Start times are distinct instants of
// the virtual clock, which keeps preemption's "latest start time" tie-break from ever
// tying.
func (a *apiServer) bind(ns string, b *v1.Binding) error {
	old, err := a.getPod(ns, b.Name)
	if err != nil {
		return err
	}
	if old.Spec.NodeName != "" {
		return apierrors.NewConflict(podsResource.GroupResource(), b.Name, fmt.Errorf("pod %s is already assigned to node %q", b.Name, old.Spec.NodeName))
	}
	pod := old.DeepCopy()
	pod.Spec.NodeName = b.Target.Name
	now := metav1.NewTime(a.clock.Now())
	podutil.UpdatePodCondition(&pod.Status, &v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: now})
	pod.Status.Phase = v1.PodRunning
	pod.Status.StartTime = &now
	if err := a.tracker.Update(podsResource, pod, ns); err != nil {
		return err
	}
	a.emit(apiEvent{typ: updated, old: old, obj: pod})
	a.bound <- pod.UID
	return nil
}

// deletePod deletes gracefully: a pod on a node gets a deletion timestamp at the end of
// its grace period and stays (holding its resources, as with a kubelet that is
// stopping it) until the driver removes it then; other pods go at once.
func (a *apiServer) deletePod(ns, name string) error {
	old, err := a.getPod(ns, name)
	if err != nil {
		return err
	}
	if old.DeletionTimestamp != nil {
		return nil
	}
	grace := int64(v1.DefaultTerminationGracePeriodSeconds)
	if old.Spec.TerminationGracePeriodSeconds != nil {
		grace = *old.Spec.TerminationGracePeriodSeconds
	}
	if old.Spec.NodeName == "" || grace <= 0 {
		return a.removePod(old)
	}
	pod := old.DeepCopy()
	at := metav1.NewTime(a.clock.Now().Add(time.Duration(grace) * time.Second))
	pod.DeletionTimestamp = &at
	pod.DeletionGracePeriodSeconds = &grace
	if err := a.tracker.Update(podsResource, pod, ns); err != nil {
		return err
	}
	a.emit(apiEvent{typ: updated, old: old, obj: pod})
	return nil
}

// removePod deletes the pod object now.
func (a *apiServer) removePod(pod *v1.Pod) error {
	if err := a.tracker.Delete(podsResource, pod.Namespace, pod.Name); err != nil {
		return err
	}
	a.emit(apiEvent{typ: deleted, obj: pod})
	return nil
}
