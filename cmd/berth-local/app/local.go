// Package app is berth-local: a local control plane (embedded etcd, kube-apiserver,
// KWOK-simulated nodes) with berth-scheduler running against it and the example
// workload applied. It is what `make run` starts.
package app

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	podutil "k8s.io/kubernetes/pkg/api/v1/pod"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
)

// Options configure a local run.
type Options struct {
	// SchedulerBinary is the berth-scheduler executable to start.
	SchedulerBinary string
	// WorkDir keeps the kubeconfig, the rendered scheduler configuration and the logs.
	// Empty means a new temporary directory.
	WorkDir string
	// Nodes is how many general simulated nodes to create (4 CPU, 8Gi, 20 pods each,
	// spread over three zones). Two more always join them: a pool reserved for critical
	// pods and a node for the preemption demo.
	Nodes int
	// Once prints the table and returns instead of waiting for ctx to end.
	Once bool
	// SettleTimeout bounds how long to wait for the demo pods to be placed or rejected.
	SettleTimeout time.Duration
	// Out receives the table and the instructions.
	Out io.Writer
}

// DemoNamespace holds the example workload.
const DemoNamespace = "berth-demo"

// Run starts everything, applies the examples, prints the placement table and, unless
// Once is set, keeps the cluster up until ctx ends. Everything it started is stopped
// before it returns.
func Run(ctx context.Context, o Options) error {
	if o.Nodes <= 0 {
		return fmt.Errorf("--nodes must be at least 1, got %d", o.Nodes)
	}
	if _, err := os.Stat(o.SchedulerBinary); err != nil {
		return fmt.Errorf("--scheduler: %w (run `make build` first)", err)
	}
	if o.WorkDir == "" {
		dir, err := os.MkdirTemp("", "berth-local-")
		if err != nil {
			return err
		}
		o.WorkDir = dir
	}
	fmt.Fprintf(o.Out, "Starting etcd and kube-apiserver (logs: %s)...\n", filepath.Join(o.WorkDir, localcluster.LogFile))
	cp, err := localcluster.Start(localcluster.Options{Dir: o.WorkDir, SimulateNodes: true})
	if err != nil {
		return err
	}
	defer cp.Stop()

	if err := cp.AddNodes(ctx, demoNodes(o.Nodes)...); err != nil {
		return err
	}
	if err := cp.EnsureNamespace(ctx, manifests.LeaseNamespace); err != nil {
		return err
	}
	kubeconfig := cp.Kubeconfig()
	config, err := localcluster.RenderSchedulerConfig(manifests.SchedulerConfig, o.WorkDir, kubeconfig, nil)
	if err != nil {
		return err
	}
	sched, err := cp.RunScheduler(o.SchedulerBinary, config)
	if err != nil {
		return err
	}
	defer sched.Stop(10 * time.Second)
	fmt.Fprintf(o.Out, "berth-scheduler running (pid %d, logs: %s)\n", sched.Cmd.Process.Pid, sched.LogPath)

	for _, name := range []string{"examples/priorityclasses.yaml", "examples/demo-pods.yaml"} {
		if err := applyExample(ctx, cp, name, nil); err != nil {
			return err
		}
	}
	if err := waitSettled(ctx, cp, o.SettleTimeout, sched); err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "Demo pods placed; now the preemption demo on node-preemption...")
	if err := runPreemptionDemo(ctx, cp, o.SettleTimeout); err != nil {
		return err
	}
	if err := PrintTable(ctx, cp, o.Out); err != nil {
		return err
	}
	if err := PrintPreemptions(ctx, cp, o.Out); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "\nkubeconfig: %s\ninspect:    kubectl --kubeconfig %s get pods -A -o wide\n", kubeconfig, kubeconfig)
	if o.Once {
		return nil
	}
	fmt.Fprintln(o.Out, "Press Ctrl-C to stop.")
	select {
	case <-ctx.Done():
	case <-sched.Exited():
		return fmt.Errorf("berth-scheduler exited early (code %d); see %s", sched.ExitCode(), sched.LogPath)
	}
	fmt.Fprintln(o.Out, "Stopping...")
	return nil
}

// Names of the demo's special nodes; demo-pods.yaml and demo-preemption.yaml select
// them by the labels below.
const (
	ReservedNode   = "node-reserved"
	PreemptionNode = "node-preemption"
)

// demoNodeSize is every demo node's allocatable; the examples are sized for it.
var demoNodeSize = v1.ResourceList{
	v1.ResourceCPU:    resource.MustParse("4"),
	v1.ResourceMemory: resource.MustParse("8Gi"),
	v1.ResourcePods:   resource.MustParse("20"),
}

// demoNodes are n general nodes over three zones, the reserved pool's node and the
// preemption demo's node.
func demoNodes(n int) []*v1.Node {
	zones := []string{"zone-a", "zone-b", "zone-c"}
	var nodes []*v1.Node
	for i := 0; i < n; i++ {
		nodes = append(nodes, localcluster.Node(fmt.Sprintf("node-%d", i), demoNodeSize, zones[i%len(zones)]))
	}
	reserved := localcluster.Node(ReservedNode, demoNodeSize, zones[0])
	reserved.Labels["berth.io/pool"] = "reserved"
	reserved.Spec.Taints = []v1.Taint{{Key: "berth.io/reserved", Value: "critical", Effect: v1.TaintEffectNoSchedule}}
	preemption := localcluster.Node(PreemptionNode, demoNodeSize, zones[1])
	preemption.Labels["berth.io/demo"] = "preemption"
	preemption.Spec.Taints = []v1.Taint{{Key: "berth.io/demo", Value: "preemption", Effect: v1.TaintEffectNoSchedule}}
	return append(nodes, reserved, preemption)
}

// applyExample applies one embedded example file; after (may be nil) runs after each
// object, as in localcluster.Cluster.ApplyEach.
func applyExample(ctx context.Context, cp *localcluster.Cluster, name string, after func(*unstructured.Unstructured) error) error {
	data, err := fs.ReadFile(manifests.Examples, name)
	if err != nil {
		return err
	}
	if _, err := cp.ApplyEach(ctx, data, after); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// runPreemptionDemo applies demo-preemption.yaml one pod at a time: each victim must be
// running before the next pod comes, so they are really there to be preempted, and the
// critical pod must end up bound.
func runPreemptionDemo(ctx context.Context, cp *localcluster.Cluster, timeout time.Duration) error {
	return applyExample(ctx, cp, "examples/demo-preemption.yaml", func(obj *unstructured.Unstructured) error {
		want, what := localcluster.IsRunning, "running"
		if strings.HasPrefix(obj.GetName(), "critical-") {
			want, what = localcluster.IsBound, "bound after preempting"
		}
		_, err := cp.WaitForPod(ctx, obj.GetNamespace(), obj.GetName(), timeout, what, want)
		return err
	})
}

// PrintPreemptions lists the demo's victims from their Preempted events.
func PrintPreemptions(ctx context.Context, cp *localcluster.Cluster, out io.Writer) error {
	events, err := cp.Client.CoreV1().Events(DemoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var lines []string
	for _, e := range events.Items {
		if e.Reason == "Preempted" {
			lines = append(lines, fmt.Sprintf("  %s: %s", e.InvolvedObject.Name, e.Message))
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		lines = []string{"  (none)"}
	}
	fmt.Fprintf(out, "\nPreempted pods:\n%s\n", strings.Join(lines, "\n"))
	return nil
}

// waitSettled waits until every berth pod of the demo is bound or has been found
// unschedulable at least once.
func waitSettled(ctx context.Context, cp *localcluster.Cluster, timeout time.Duration, sched *localcluster.SchedulerProcess) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		select {
		case <-sched.Exited():
			return false, fmt.Errorf("berth-scheduler exited (code %d); see %s", sched.ExitCode(), sched.LogPath)
		default:
		}
		pods, err := cp.Client.CoreV1().Pods(DemoNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Spec.SchedulerName == manifests.SchedulerName && p.Spec.NodeName == "" && scheduledCondition(p) == nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for berth to place the demo pods: %w", err)
	}
	return nil
}

// PrintTable writes one row per demo pod: priority, QoS class, node or why it is
// Pending.
func PrintTable(ctx context.Context, cp *localcluster.Cluster, out io.Writer) error {
	pods, err := cp.Client.CoreV1().Pods(DemoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	items := pods.Items
	sort.Slice(items, func(i, j int) bool {
		pi, pj := corev1helpers.PodPriority(&items[i]), corev1helpers.PodPriority(&items[j])
		if pi != pj {
			return pi > pj
		}
		return items[i].Name < items[j].Name
	})
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POD\tSCHEDULER\tPRIORITY\tQOS\tNODE")
	for i := range items {
		p := &items[i]
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", p.Name, p.Spec.SchedulerName,
			corev1helpers.PodPriority(p), qos.GetPodQOS(p), placement(p))
	}
	return w.Flush()
}

func placement(p *v1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	if c := scheduledCondition(p); c != nil && c.Status == v1.ConditionFalse {
		return "Pending: " + strings.TrimSpace(c.Message)
	}
	if p.Spec.SchedulerName != manifests.SchedulerName {
		return "Pending: not berth's (" + p.Spec.SchedulerName + " is not running here)"
	}
	return "Pending"
}

func scheduledCondition(p *v1.Pod) *v1.PodCondition {
	_, c := podutil.GetPodCondition(&p.Status, v1.PodScheduled)
	return c
}
