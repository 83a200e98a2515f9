package localcluster

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestNodeSimulator runs the KWOK simulator against a real API server and checks what
// berth's tests rely on: nodes get Ready, bound pods get Running, terminating pods go
// when their grace period ends, and nodes without the KWOK annotation are left alone.
func TestNodeSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	cp, err := Start(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(cp.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stop, err := startNodeSimulator(ctx, cp.Config)
	if err != nil {
		t.Fatalf("startNodeSimulator: %v", err)
	}
	// Cleanups run last-in first-out: the simulator stops before the control plane.
	t.Cleanup(func() {
		start := time.Now()
		stop()
		stop() // idempotent
		if d := time.Since(start); d > 11*time.Second {
			t.Errorf("stop took %v", d)
		}
	})
	c := cp.Client
	const ns = metav1.NamespaceDefault

	// A pod bound before its node exists starts once the node is managed.
	early := simBoundPod(ns, "early", "node-a")
	if _, err := c.CoreV1().Pods(ns).Create(ctx, early, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod early: %v", err)
	}

	node := Node("node-a", simResources, "zone-a")
	if _, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node: %v", err)
	}
	unmanaged := Node("node-unmanaged", simResources, "")
	delete(unmanaged.Annotations, KWOKNodeAnnotation)
	if _, err := c.CoreV1().Nodes().Create(ctx, unmanaged, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create unmanaged node: %v", err)
	}

	simWaitFor(t, ctx, 30*time.Second, "node-a Ready", func() (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return simNodeReady(n), nil
	})
	n, _ := c.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if q := n.Status.Allocatable[v1.ResourceCPU]; q.String() != "4" {
		t.Errorf("node-a allocatable cpu = %s, want the 4 it was created with", q.String())
	}

	pod := simBoundPod(ns, "p1", "node-a")
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	for _, name := range []string{"p1", "early"} {
		simWaitFor(t, ctx, 30*time.Second, name+" Running", func() (bool, error) {
			p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return p.Status.Phase == v1.PodRunning, nil
		})
		p, _ := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if p.Status.StartTime == nil {
			t.Errorf("%s: no startTime", name)
		}
		if !simPodReady(p) {
			t.Errorf("%s: not Ready: %+v", name, p.Status.Conditions)
		}
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil || !p.Status.ContainerStatuses[0].Ready {
			t.Errorf("%s: container statuses %+v", name, p.Status.ContainerStatuses)
		}
	}

	// Nodes without the annotation, and pods on them, are not touched.
	onUnmanaged := simBoundPod(ns, "on-unmanaged", "node-unmanaged")
	if _, err := c.CoreV1().Pods(ns).Create(ctx, onUnmanaged, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod on unmanaged node: %v", err)
	}

	// Graceful deletion: still there (terminating) within the grace period, gone after.
	grace := int64(3)
	deletedAt := time.Now()
	if err := c.CoreV1().Pods(ns).Delete(ctx, "p1", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatalf("delete p1: %v", err)
	}
	for _, after := range []time.Duration{time.Second, 2500 * time.Millisecond} {
		time.Sleep(time.Until(deletedAt.Add(after)))
		p, err := c.CoreV1().Pods(ns).Get(ctx, "p1", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("p1 %v into its 3s grace period: %v (want it still present)", after, err)
		}
		if p.DeletionTimestamp == nil {
			t.Fatalf("p1 has no deletionTimestamp")
		}
	}
	simWaitFor(t, ctx, 6*time.Second, "p1 deleted", func() (bool, error) {
		return simPodGone(ctx, c, ns, "p1")
	})
	if gone := time.Since(deletedAt); gone < 3*time.Second {
		t.Errorf("p1 (grace 3s) gone after only %v", gone)
	} else {
		t.Logf("p1 (grace 3s) gone %v after delete", gone.Round(100*time.Millisecond))
	}

	// Grace period 0: gone at once.
	zero := int64(0)
	deletedAt = time.Now()
	if err := c.CoreV1().Pods(ns).Delete(ctx, "early", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatalf("delete early: %v", err)
	}
	simWaitFor(t, ctx, 2*time.Second, "early deleted", func() (bool, error) {
		return simPodGone(ctx, c, ns, "early")
	})

	// The unmanaged node and its pod stayed as created.
	un, err := c.CoreV1().Nodes().Get(ctx, "node-unmanaged", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if simNodeReady(un) {
		t.Errorf("unmanaged node got Ready")
	}
	up, err := c.CoreV1().Pods(ns).Get(ctx, "on-unmanaged", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if up.Status.Phase != v1.PodPending {
		t.Errorf("pod on unmanaged node is %s, want Pending", up.Status.Phase)
	}
}

var simResources = v1.ResourceList{
	v1.ResourceCPU:    resource.MustParse("4"),
	v1.ResourceMemory: resource.MustParse("8Gi"),
	v1.ResourcePods:   resource.MustParse("110"),
}

// simBoundPod is a BestEffort pod already bound to nodeName, as if scheduled.
func simBoundPod(ns, name, nodeName string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.PodSpec{
			NodeName:   nodeName,
			Containers: []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
}

func simNodeReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func simPodReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func simPodGone(ctx context.Context, c kubernetes.Interface, ns, name string) (bool, error) {
	_, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, err
}

// simWaitFor polls cond every 100ms until it is true, failing the test after timeout or on
// an error.
func simWaitFor(t *testing.T, ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
