// Package integration runs berth's plugins inside the upstream kube-scheduler, in
// process, against the real control plane of internal/localcluster. One cluster serves
// the package; each test starts its own scheduler with the profile it needs and creates
// its own nodes, which it removes when done.
package integration

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	podutil "k8s.io/kubernetes/pkg/api/v1/pod"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/pkg/plugins"
	"github.com/berth-sched/berth/test/harness"
)

var cp *localcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(harness.RunTests(m, "integration", localcluster.Options{SimulateNodes: true}, func(c *localcluster.Cluster) error {
		cp = c
		return nil
	}))
}

// startBerth runs a scheduler in process until the test ends: the shipped configuration
// with leader election off and its profile reduced to upstream's default plugins (so a
// test sees the one berth plugin it enables, and "upstream" means upstream), then
// changed by mutate (may be nil; recommendedProfile restores the shipped profile).
func startBerth(t *testing.T, mutate func(*localcluster.SchedulerConfig)) {
	t.Helper()
	cfg, err := localcluster.RenderSchedulerConfig(manifests.SchedulerConfig, t.TempDir(), cp.Kubeconfig(), func(c *localcluster.SchedulerConfig) {
		c.LeaderElection.LeaderElect = ptr.To(false)
		c.Profiles[0].Plugins = nil
		c.Profiles[0].PluginConfig = nil
		if mutate != nil {
			mutate(c)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := harness.StartInProcess(context.Background(), cfg, plugins.SchedulerOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
}

// newNamespace gives a test its own namespace; its pods are deleted at the end.
func newNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ns, err := cp.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "it-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// No namespace controller runs here: remove the pods ourselves, at once, so they
		// hold no capacity in later tests.
		_ = cp.Client.CoreV1().Pods(ns.Name).DeleteCollection(ctx,
			metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{})
	})
	return ns.Name
}

// createNodes creates nodes for one test and deletes them when it ends.
func createNodes(t *testing.T, nodes ...*v1.Node) {
	t.Helper()
	ctx := context.Background()
	for _, n := range nodes {
		if _, err := cp.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create node %s: %v", n.Name, err)
		}
		name := n.Name
		t.Cleanup(func() { _ = cp.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}) })
	}
}

// createPod creates p and returns it as stored.
func createPod(t *testing.T, p *v1.Pod) *v1.Pod {
	t.Helper()
	out, err := harness.CreatePod(context.Background(), cp.Client, p)
	if err != nil {
		t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return out
}

// waitBound waits for the pod to be bound and returns its node.
func waitBound(t *testing.T, ns, name string) string {
	t.Helper()
	p, err := cp.WaitForPod(context.Background(), ns, name, 30*time.Second, "bound", localcluster.IsBound)
	if err != nil {
		t.Fatal(err)
	}
	return p.Spec.NodeName
}

// waitUnschedulable waits for PodScheduled=False/Unschedulable and returns the
// condition's message.
func waitUnschedulable(t *testing.T, ns, name string) string {
	t.Helper()
	p, err := cp.WaitForPod(context.Background(), ns, name, 30*time.Second, "unschedulable", harness.IsUnschedulable)
	if err != nil {
		t.Fatal(err)
	}
	_, c := podutil.GetPodCondition(&p.Status, v1.PodScheduled)
	return c.Message // IsUnschedulable held: c is there
}

// waitEvent waits for an event with reason about the pod whose message contains want
// and returns that message. Tests check berth's reasons here as well as in the
// PodScheduled condition: the scheduler records FailedScheduling events with the
// reason as a printf format, so a reason can read right in the condition and arrive
// mangled in the event (`kubectl describe`, event exporters).
func waitEvent(t *testing.T, ns, pod, reason, want string) string {
	t.Helper()
	var seen []string
	var found string
	err := wait.PollUntilContextTimeout(context.Background(), harness.Poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		events, err := harness.EventsFor(ctx, cp.Client, ns, pod)
		if err != nil {
			return false, nil
		}
		seen = seen[:0]
		for _, ev := range events {
			if ev.Reason == reason {
				seen = append(seen, ev.Message)
				if strings.Contains(ev.Message, want) {
					found = ev.Message
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no %s event on %s/%s containing %q (seen %q): %v", reason, ns, pod, want, seen, err)
	}
	return found
}

// priorityClass creates a PriorityClass for the test, removed when it ends, and
// returns its name. Pods name it (the Priority admission plugin refuses spec.priority
// set by hand); createPod waits out the moment before admission sees a new class.
func priorityClass(t *testing.T, name string, value int32) string {
	t.Helper()
	ctx := context.Background()
	if err := harness.EnsurePriorityClasses(ctx, cp.Client, harness.PriorityClass(name, value, "")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.SchedulingV1().PriorityClasses().Delete(ctx, name, metav1.DeleteOptions{}) })
	return name
}
