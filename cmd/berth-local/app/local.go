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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"

	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/test/harness"
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
	} else if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(o.WorkDir, "controlplane.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(o.Out, "Starting etcd and kube-apiserver (logs: %s)...\n", logPath)
	cp, err := harness.Start(harness.Options{LogOutput: logFile, SimulateNodes: true})
	if err != nil {
		return err
	}
	defer cp.Stop()

	if err := createNodes(ctx, cp, o.Nodes); err != nil {
		return err
	}
	if err := harness.EnsureNamespace(ctx, cp.Client, manifests.LeaseNamespace); err != nil {
		return err
	}
	kubeconfig := filepath.Join(o.WorkDir, "kubeconfig")
	if err := cp.WriteKubeconfig(kubeconfig); err != nil {
		return err
	}
	config, err := harness.RenderSchedulerConfig(manifests.SchedulerConfig, o.WorkDir, kubeconfig, nil)
	if err != nil {
		return err
	}
	sched, err := harness.StartScheduler(o.SchedulerBinary, config, kubeconfig, o.WorkDir)
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

func createNodes(ctx context.Context, cp *harness.ControlPlane, n int) error {
	zones := []string{"zone-a", "zone-b", "zone-c"}
	var nodes []*v1.Node
	for i := 0; i < n; i++ {
		nodes = append(nodes, harness.Node(fmt.Sprintf("node-%d", i), "4", "8Gi", 20, zones[i%len(zones)]).Obj())
	}
	nodes = append(nodes,
		harness.Node(ReservedNode, "4", "8Gi", 20, zones[0]).Label("berth.io/pool", "reserved").
			Taints([]v1.Taint{{Key: "berth.io/reserved", Value: "critical", Effect: v1.TaintEffectNoSchedule}}).Obj(),
		harness.Node(PreemptionNode, "4", "8Gi", 20, zones[1]).Label("berth.io/demo", "preemption").
			Taints([]v1.Taint{{Key: "berth.io/demo", Value: "preemption", Effect: v1.TaintEffectNoSchedule}}).Obj(),
	)
	for _, node := range nodes {
		if _, err := cp.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", node.Name, err)
		}
	}
	return nil
}

// applyExample applies one embedded example file; after (may be nil) runs after each
// object, as in harness.ApplyEach.
func applyExample(ctx context.Context, cp *harness.ControlPlane, name string, after func(*unstructured.Unstructured) error) error {
	data, err := fs.ReadFile(manifests.Examples, name)
	if err != nil {
		return err
	}
	if _, err := harness.ApplyEach(ctx, cp.Config, data, after); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// runPreemptionDemo applies demo-preemption.yaml one pod at a time: each victim must be
// running before the next pod comes, so they are really there to be preempted, and the
// critical pod must end up bound.
func runPreemptionDemo(ctx context.Context, cp *harness.ControlPlane, timeout time.Duration) error {
	return applyExample(ctx, cp, "examples/demo-preemption.yaml", func(obj *unstructured.Unstructured) error {
		want, what := harness.IsRunning, "running"
		if strings.HasPrefix(obj.GetName(), "critical-") {
			want, what = harness.IsBound, "bound after preempting"
		}
		_, err := harness.WaitForPod(ctx, cp.Client, obj.GetNamespace(), obj.GetName(), timeout, what, want)
		return err
	})
}

// PrintPreemptions lists the demo's victims from their Preempted events.
func PrintPreemptions(ctx context.Context, cp *harness.ControlPlane, out io.Writer) error {
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
func waitSettled(ctx context.Context, cp *harness.ControlPlane, timeout time.Duration, sched *harness.SchedulerProcess) error {
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
			if p.Spec.SchedulerName == harness.SchedulerName && p.Spec.NodeName == "" && scheduledCondition(p) == nil {
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
func PrintTable(ctx context.Context, cp *harness.ControlPlane, out io.Writer) error {
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
	if p.Spec.SchedulerName != harness.SchedulerName {
		return "Pending: not berth's (" + p.Spec.SchedulerName + " is not running here)"
	}
	return "Pending"
}

func scheduledCondition(p *v1.Pod) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == v1.PodScheduled {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
