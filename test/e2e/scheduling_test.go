package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/test/harness"
)

// newNamespace gives a test its own namespace.
func newNamespace(t *testing.T, ctx context.Context) string {
	t.Helper()
	ns, err := cp.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// ensureNodes creates the package's two simulated nodes once.
func ensureNodes(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, n := range []*v1.Node{
		harness.Node("e2e-node-a", "4", "8Gi", 10, "zone-a").Obj(),
		harness.Node("e2e-node-b", "4", "8Gi", 10, "zone-b").Obj(),
	} {
		if _, err := cp.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
	}
}

func createPod(t *testing.T, ctx context.Context, p *v1.Pod) {
	t.Helper()
	if _, err := harness.CreatePod(ctx, cp.Client, p); err != nil {
		t.Fatalf("create pod %s: %v", p.Name, err)
	}
}

func TestBinaryBindsOnlyPodsThatOptIn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ensureNodes(t, ctx)
	ns := newNamespace(t, ctx)
	startScheduler(t, nil)

	berthPod := harness.BurstablePod(ns, "opted-in", harness.Resources{v1.ResourceCPU: "500m"}, nil).Obj()
	defaultPod := harness.BurstablePod(ns, "default-scheduler", harness.Resources{v1.ResourceCPU: "500m"}, nil).
		SchedulerName(v1.DefaultSchedulerName).Obj()
	createPod(t, ctx, defaultPod)
	createPod(t, ctx, berthPod)

	got, err := cp.WaitForPod(ctx, ns, berthPod.Name, 30*time.Second, "running", localcluster.IsRunning)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Spec.NodeName, "e2e-node-") {
		t.Errorf("berth pod bound to %q, want one of the simulated nodes", got.Spec.NodeName)
	}
	if got.Status.StartTime == nil {
		t.Errorf("running pod has no startTime: the simulated kubelet did not report it")
	}

	// berth has scheduled a pod created after this one; give it a further moment in
	// which it could have acted on the default-scheduler pod, then check it did not.
	time.Sleep(2 * time.Second)
	other, err := cp.Client.CoreV1().Pods(ns).Get(ctx, defaultPod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if other.Spec.NodeName != "" {
		t.Errorf("pod with schedulerName %q was bound to %s by berth", v1.DefaultSchedulerName, other.Spec.NodeName)
	}
	for _, c := range other.Status.Conditions {
		if c.Type == v1.PodScheduled {
			t.Errorf("berth set %s=%s on a pod it does not own: %s", c.Type, c.Status, c.Message)
		}
	}
	events, err := harness.EventsFor(ctx, cp.Client, ns, defaultPod.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Errorf("events recorded for a pod berth does not own: %+v", events)
	}
}

func TestBinaryReportsWhyAPodFitsNowhere(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ensureNodes(t, ctx)
	ns := newNamespace(t, ctx)
	startScheduler(t, nil)

	huge := harness.GuaranteedPod(ns, "huge", harness.Resources{v1.ResourceCPU: "64", v1.ResourceMemory: "1Gi"}).Obj()
	createPod(t, ctx, huge)

	got, err := cp.WaitForPod(ctx, ns, huge.Name, 30*time.Second, "unschedulable", harness.IsUnschedulable)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != "" {
		t.Fatalf("pod asking for 64 CPUs was bound to %s", got.Spec.NodeName)
	}
	ev, err := harness.WaitForEvent(ctx, cp.Client, ns, huge.Name, "FailedScheduling", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Message, "Insufficient cpu") {
		t.Errorf("FailedScheduling event says %q, want it to name the missing resource (Insufficient cpu)", ev.Message)
	}
	if reporter := ev.ReportingController + ev.Source.Component; !strings.Contains(reporter, manifests.SchedulerName) {
		t.Errorf("event reported by %q, want %s", reporter, manifests.SchedulerName)
	}
}
