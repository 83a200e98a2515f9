package priorityqossort

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/queuesort"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// at is t0 plus n seconds: the enqueue time.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// podOf builds a pod of the given QoS class; the class is left for qos.GetPodQOS to
// compute unless withStatus, as the apiserver sets it.
func podOf(name string, prio int32, class v1.PodQOSClass, withStatus bool) *v1.Pod {
	w := st.MakePod().Namespace("ns").Name(name).Priority(prio)
	switch class {
	case v1.PodQOSGuaranteed:
		w = w.Res(map[v1.ResourceName]string{"cpu": "1", "memory": "1Gi"})
	case v1.PodQOSBurstable:
		w = w.Req(map[v1.ResourceName]string{"cpu": "1"})
	case v1.PodQOSBestEffort:
		w = w.Container("app")
	}
	p := w.Obj()
	if withStatus {
		p.Status.QOSClass = class
	}
	return p
}

func queued(p *v1.Pod, ts time.Time) *framework.QueuedPodInfo {
	pi, err := framework.NewPodInfo(p)
	if err != nil {
		panic(err)
	}
	return &framework.QueuedPodInfo{PodInfo: pi, QueueingParams: framework.QueueingParams{Timestamp: ts}}
}

func pod(name string, prio int32, class v1.PodQOSClass, ts time.Time) *framework.QueuedPodInfo {
	return queued(podOf(name, prio, class, false), ts)
}

func group(name string, prio *int32, ts time.Time) *framework.QueuedPodGroupInfo {
	return &framework.QueuedPodGroupInfo{
		PodGroupInfo: &framework.PodGroupInfo{
			Namespace: "ns", Name: name, Type: fwk.PodGroupKeyType,
			PodGroup: &schedulingv1beta1.PodGroup{Spec: schedulingv1beta1.PodGroupSpec{Priority: prio}},
		},
		QueueingParams: framework.QueueingParams{Timestamp: ts},
	}
}

// name identifies an entity in failure messages.
func name(e fwk.QueuedEntityInfo) string {
	switch q := e.(type) {
	case *framework.QueuedPodInfo:
		return q.Pod.Name
	case *framework.QueuedPodGroupInfo:
		return "group/" + q.Name
	}
	return fmt.Sprintf("%T", e)
}

func TestLess(t *testing.T) {
	g, b, be := v1.PodQOSGuaranteed, v1.PodQOSBurstable, v1.PodQOSBestEffort
	tests := []struct {
		name   string
		e1, e2 fwk.QueuedEntityInfo
		want   bool
	}{
		{"higher priority goes first even when BestEffort and later",
			pod("a", 100, be, at(2)), pod("b", 10, g, at(1)), true},
		{"lower priority goes after even when Guaranteed and earlier",
			pod("a", 10, g, at(1)), pod("b", 100, be, at(2)), false},
		{"at equal priority Guaranteed goes before Burstable enqueued earlier",
			pod("a", 5, g, at(2)), pod("b", 5, b, at(1)), true},
		{"at equal priority Burstable goes before BestEffort enqueued earlier",
			pod("a", 5, b, at(2)), pod("b", 5, be, at(1)), true},
		{"at equal priority Guaranteed goes before BestEffort",
			pod("a", 5, g, at(2)), pod("b", 5, be, at(1)), true},
		{"at equal priority BestEffort goes after Guaranteed",
			pod("a", 5, be, at(1)), pod("b", 5, g, at(2)), false},
		{"at equal priority and QoS the earlier enqueued goes first",
			pod("a", 5, b, at(1)), pod("b", 5, b, at(2)), true},
		{"at equal priority and QoS the later enqueued goes after",
			pod("a", 5, b, at(2)), pod("b", 5, b, at(1)), false},
		{"an entity is not less than itself (same time)",
			pod("a", 5, g, at(1)), pod("a", 5, g, at(1)), false},
		{"a pod without priority counts as 0",
			queued(func() *v1.Pod { p := podOf("a", 0, g, false); p.Spec.Priority = nil; return p }(), at(1)), pod("b", -1, g, at(0)), true},
		{"the apiserver's status.qosClass is used when set",
			queued(func() *v1.Pod { p := podOf("a", 5, be, false); p.Status.QOSClass = g; return p }(), at(2)), pod("b", 5, b, at(1)), true},
		{"pod groups order by priority",
			group("a", ptr.To[int32](100), at(2)), group("b", ptr.To[int32](10), at(1)), true},
		{"pod groups of equal priority order by time",
			group("a", ptr.To[int32](5), at(1)), group("b", ptr.To[int32](5), at(2)), true},
		{"a pod group without priority counts as 0",
			group("a", nil, at(1)), pod("b", 1, be, at(2)), false},
		{"a higher-priority pod group goes before a Guaranteed pod",
			group("a", ptr.To[int32](6), at(2)), pod("b", 5, g, at(1)), true},
		{"at equal priority a pod group ranks with Burstable pods: after Guaranteed",
			group("a", ptr.To[int32](5), at(1)), pod("b", 5, g, at(2)), false},
		{"at equal priority a pod group ranks with Burstable pods: before BestEffort",
			group("a", ptr.To[int32](5), at(2)), pod("b", 5, be, at(1)), true},
		{"at equal priority a pod group ranks with Burstable pods: by time",
			group("a", ptr.To[int32](5), at(2)), pod("b", 5, b, at(1)), false},
	}
	pl := &PriorityQoSSort{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pl.Less(tt.e1, tt.e2); got != tt.want {
				t.Errorf("Less(%s, %s) = %v, want %v", name(tt.e1), name(tt.e2), got, tt.want)
			}
		})
	}
}

// TestLessIsStrictWeakOrder checks, over every pair and triple of a mixed queue of pods
// and pod groups, what the scheduling queue's heap relies on: irreflexive, asymmetric,
// transitive, and incomparability transitive.
func TestLessIsStrictWeakOrder(t *testing.T) {
	var es []fwk.QueuedEntityInfo
	n := 0
	for _, prio := range []int32{0, 5} {
		for _, class := range []v1.PodQOSClass{v1.PodQOSGuaranteed, v1.PodQOSBurstable, v1.PodQOSBestEffort} {
			for _, ts := range []int{1, 3} {
				n++
				es = append(es, pod(fmt.Sprint("p", n), prio, class, at(ts)))
			}
		}
		for _, ts := range []int{0, 2, 4} {
			n++
			es = append(es, group(fmt.Sprint("g", n), ptr.To(prio), at(ts)))
		}
	}
	pl := &PriorityQoSSort{}
	less := pl.Less
	equiv := func(a, b fwk.QueuedEntityInfo) bool { return !less(a, b) && !less(b, a) }
	for _, a := range es {
		if less(a, a) {
			t.Errorf("Less(%s, %s) is true: not irreflexive", name(a), name(a))
		}
		for _, b := range es {
			if less(a, b) && less(b, a) {
				t.Errorf("Less(%s, %s) and its converse both hold", name(a), name(b))
			}
			for _, c := range es {
				if less(a, b) && less(b, c) && !less(a, c) {
					t.Errorf("not transitive: %s < %s < %s but not %s < %s", name(a), name(b), name(c), name(a), name(c))
				}
				if equiv(a, b) && equiv(b, c) && !equiv(a, c) {
					t.Errorf("incomparability not transitive: %s ~ %s ~ %s", name(a), name(b), name(c))
				}
			}
		}
	}
}

// TestLessSortsAQueue sorts a shuffled queue and checks the documented order.
func TestLessSortsAQueue(t *testing.T) {
	want := []fwk.QueuedEntityInfo{
		pod("hi-best-effort", 1000, v1.PodQOSBestEffort, at(9)),
		pod("guaranteed-late", 10, v1.PodQOSGuaranteed, at(8)),
		pod("burstable-early", 10, v1.PodQOSBurstable, at(1)),
		group("gang", ptr.To[int32](10), at(2)),
		pod("burstable-late", 10, v1.PodQOSBurstable, at(7)),
		pod("best-effort-early", 10, v1.PodQOSBestEffort, at(0)),
		pod("low-guaranteed", 0, v1.PodQOSGuaranteed, at(0)),
	}
	got := append([]fwk.QueuedEntityInfo(nil), want...)
	rand.New(rand.NewSource(1)).Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	pl := &PriorityQoSSort{}
	sort.Slice(got, func(i, j int) bool { return pl.Less(got[i], got[j]) })
	var gotNames, wantNames []string
	for i := range want {
		gotNames, wantNames = append(gotNames, name(got[i])), append(wantNames, name(want[i]))
	}
	if strings.Join(gotNames, ",") != strings.Join(wantNames, ",") {
		t.Errorf("queue order\n got %v\nwant %v", gotNames, wantNames)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(context.Background(), nil, nil); err != nil {
		t.Errorf("New without args: %v", err)
	}
	if _, err := New(context.Background(), &runtime.Unknown{Raw: []byte(`{}`)}, nil); err != nil {
		t.Errorf("New with empty args: %v", err)
	}
	_, err := New(context.Background(), &runtime.Unknown{Raw: []byte(`{"qosOrder": ["BestEffort"]}`)}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown field qosOrder`) {
		t.Errorf("New with an argument = %v, want it rejected as unknown", err)
	}
}

// BenchmarkLess compares PriorityQoSSort.Less with upstream PrioritySort.Less from the
// same run: when priorities differ (QoS is not read), when they tie and the pods carry
// the apiserver's status.qosClass (every pod the scheduler sees from an apiserver), and
// when they tie and the class must be computed from the containers.
func BenchmarkLess(b *testing.B) {
	cases := []struct {
		name   string
		e1, e2 fwk.QueuedEntityInfo
	}{
		{"priority-differs", pod("a", 10, v1.PodQOSBurstable, at(1)), pod("b", 5, v1.PodQOSBurstable, at(2))},
		{"priority-ties/status-qos", queued(podOf("a", 5, v1.PodQOSBurstable, true), at(1)), queued(podOf("b", 5, v1.PodQOSBurstable, true), at(2))},
		{"priority-ties/computed-qos", pod("a", 5, v1.PodQOSBurstable, at(1)), pod("b", 5, v1.PodQOSBurstable, at(2))},
		{"priority-ties/pod-groups", group("a", ptr.To[int32](5), at(1)), group("b", ptr.To[int32](5), at(2))},
	}
	plugins := []struct {
		name string
		pl   fwk.QueueSortPlugin
	}{
		{"berth=PriorityQoSSort", &PriorityQoSSort{}},
		{"upstream=PrioritySort", &queuesort.PrioritySort{}},
	}
	for _, c := range cases {
		for _, p := range plugins {
			b.Run(c.name+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					_ = p.pl.Less(c.e1, c.e2)
				}
			})
		}
	}
}
