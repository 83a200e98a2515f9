//go:build benchmark

package benchmark

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	perf "k8s.io/kubernetes/test/integration/scheduler_perf"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/test/harness"
)

// The size of TestSchedulerPeakRSS: upstream's SchedulingBasic/5000Nodes_10000Pods
// unless told otherwise. Under -short, flags not given explicitly shrink to a smoke test.
var (
	rssNodes = flag.Int("rss-nodes", 5000, "TestSchedulerPeakRSS: nodes in the cluster")
	rssPods  = flag.Int("rss-pods", 10000, "TestSchedulerPeakRSS: pods each run schedules")
	rssCount = flag.Int("rss-count", 3, "TestSchedulerPeakRSS: runs per profile; the order of the profiles alternates between runs")
)

// rssShort is the size of TestSchedulerPeakRSS under -short.
var rssShort = map[string]int{"rss-nodes": 5, "rss-pods": 10, "rss-count": 1}

const (
	rssNamespace = "rss"
	// rssClientQPS is the scheduler's API client rate in both profiles: scheduler_perf's
	// (test/integration/scheduler_perf/util.go), so that the scheduler, not the client
	// rate limiter (50 QPS by default), bounds how fast pods bind.
	rssClientQPS = 5000
	// rssPodsPerNode is how many pods fit a node under both profiles: berth's
	// PriorityHeadroom keeps priority-0 pods to 75% of a node's 4 cpu, 3 cpu or 30 pods
	// of 100m (memory allows 49 of 500Mi).
	rssPodsPerNode = 30
	// rssSample is how often the scheduler's RSS and heap are sampled during a run.
	rssSample = time.Second
)

// rssRun is what one run of one profile measured, in bytes and seconds.
type rssRun struct {
	profile string
	// hwm is the process's VmHWM at the end: its peak resident set over the whole run.
	hwm float64
	// rss is VmRSS once all pods are bound.
	rss float64
	// peakHeap is the largest go_memstats_heap_inuse_bytes of the samples.
	peakHeap float64
	// heap is go_memstats_heap_inuse_bytes once all pods are bound.
	heap float64
	// bind is from the first pod's creation until the last one is bound.
	bind float64
}

// TestSchedulerPeakRSS measures the memory of the berth-scheduler binary as it ships,
// a process of its own, under upstream's default profile and berth's recommended one in
// the same run: scheduler_perf runs the scheduler inside its API server's process, so
// it cannot tell the scheduler's resident set apart. Each run starts the binary against
// a cluster of -rss-nodes nodes (upstream's node-default) with no pods, creates
// -rss-pods pods (upstream's pod-default), waits until all are bound, and reads the
// process's peak resident set (VmHWM) from /proc; the pods are then deleted for the
// next run. See docs/benchmarks.md, "Memory: scheduler peak RSS".
func TestSchedulerPeakRSS(t *testing.T) {
	nodes, pods, count := rssSize()
	if pods > nodes*rssPodsPerNode {
		t.Fatalf("-rss-pods=%d do not fit -rss-nodes=%d under berth's profile: at most %d pods a node", pods, nodes, rssPodsPerNode)
	}
	logToArtifacts(t)
	bin, err := harness.SchedulerBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := localcluster.Start(localcluster.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if err := c.EnsureNamespace(ctx, rssNamespace); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := parallel(nodes, func(i int) error {
		_, err := c.Client.CoreV1().Nodes().Create(ctx, rssNode(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		t.Fatalf("create nodes: %v", err)
	}
	t.Logf("%d nodes created in %.0fs", nodes, time.Since(start).Seconds())

	configs, err := rssConfigs(t.TempDir(), c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	out := flag.Lookup("data-items-dir").Value.String()
	stamp := time.Now().Format("2006-01-02T15-04-05")
	var runs []rssRun
runs:
	for i := range count {
		order := []string{"default", "berth"}
		if i%2 == 1 {
			order = []string{"berth", "default"}
		}
		for _, name := range order {
			profile := filepath.Join(out, fmt.Sprintf("rss_%s_heap_%s_%d.pb.gz", stamp, name, i+1))
			r, err := measureRSS(ctx, c, bin, configs[name], pods, profile)
			if err != nil {
				// The runs so far still go into the table below.
				t.Errorf("%s profile, run %d: %v", name, i+1, err)
				break runs
			}
			r.profile = name
			runs = append(runs, r)
			t.Logf("%s run %d: VmHWM %.0f MiB, VmRSS %.0f MiB, peak heap in use %.0f MiB, %d pods bound in %.1fs (heap profile %s)",
				name, i+1, r.hwm/mib, r.rss/mib, r.peakHeap/mib, pods, r.bind, profile)
		}
	}
	table := rssTable(runs, nodes, pods)
	fmt.Print(table)
	path := filepath.Join(out, "rss_"+stamp+".md")
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\nscheduler peak RSS: %s\n", path)
}

// logToArtifacts sends this process's logs (the API server's, at scheduler_perf's
// verbosity) to $ARTIFACTS/<test>.log, removed if the test passes, as scheduler_perf
// does for each workload; the scheduler's own log is a file in the cluster's directory.
func logToArtifacts(t *testing.T) {
	path := filepath.Join(os.Getenv("ARTIFACTS"), t.Name()+".log")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := logsapi.ResetForTest(perf.LoggingFeatureGate); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		klog.Flush()
		if err := logsapi.ResetForTest(perf.LoggingFeatureGate); err != nil {
			t.Error(err)
		}
		out.Close()
		if t.Failed() {
			t.Logf("log: %s", path)
		} else {
			os.Remove(path)
		}
	})
	if err := logsapi.ValidateAndApplyWithOptions(perf.LoggingConfig, &logsapi.LoggingOptions{ErrorStream: out, InfoStream: out}, perf.LoggingFeatureGate); err != nil {
		t.Fatal(err)
	}
}

// rssSize is the flags' size, or the smoke test's under -short for flags not given.
func rssSize() (nodes, pods, count int) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	size := func(name string, v int) int {
		if testing.Short() && !set[name] {
			return rssShort[name]
		}
		return v
	}
	return size("rss-nodes", *rssNodes), size("rss-pods", *rssPods), size("rss-count", *rssCount)
}

// rssConfigs renders both profiles into dir, returning their paths by profile name.
// They differ only in their profiles: both schedule pods named for berth-scheduler,
// without leader election (one replica), at the same client rate.
func rssConfigs(dir, kubeconfig string) (map[string]string, error) {
	same := func(cfg *localcluster.SchedulerConfig) {
		cfg.LeaderElection.LeaderElect = ptr.To(false)
		cfg.ClientConnection.QPS = rssClientQPS
		cfg.ClientConnection.Burst = rssClientQPS
	}
	defaultProfile := fmt.Sprintf("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: %s\n", manifests.SchedulerName)
	paths := map[string]string{}
	for name, base := range map[string][]byte{"default": []byte(defaultProfile), "berth": manifests.SchedulerConfig} {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
		p, err := localcluster.RenderSchedulerConfig(base, d, kubeconfig, same)
		if err != nil {
			return nil, fmt.Errorf("%s profile: %w", name, err)
		}
		paths[name] = p
	}
	return paths, nil
}

// measureRSS runs the scheduler with configPath until pods pods are bound, returns what
// it measured and saves its heap profile at the end to heapProfile; it leaves the
// cluster without pods.
func measureRSS(ctx context.Context, c *localcluster.Cluster, bin, configPath string, pods int, heapProfile string) (_ rssRun, err error) {
	p, err := c.RunScheduler(bin, configPath)
	if err != nil {
		return rssRun{}, err
	}
	defer func() {
		if !p.Stop(30*time.Second) && err == nil {
			err = fmt.Errorf("scheduler did not exit within 30s of SIGTERM")
		}
		if err != nil {
			log := p.Log()
			err = fmt.Errorf("%w\nscheduler log (last 4 KiB):\n%s", err, log[max(0, len(log)-4096):])
		}
		if cleanErr := deletePods(ctx, c); err == nil {
			err = cleanErr
		}
	}()
	if err := waitReady(ctx, p); err != nil {
		return rssRun{}, err
	}

	// Bound pods are counted from a watch, not by listing thousands of pods each poll.
	factory := informers.NewSharedInformerFactoryWithOptions(c.Client, 0, informers.WithNamespace(rssNamespace))
	lister := factory.Core().V1().Pods().Lister()
	stopInformer := make(chan struct{})
	defer close(stopInformer)
	factory.Start(stopInformer)
	factory.WaitForCacheSync(stopInformer)

	token := c.Config.BearerToken
	var r rssRun
	samplerCtx, stopSampler := context.WithCancel(ctx)
	var sampled sync.WaitGroup
	sampled.Go(func() {
		tick := time.NewTicker(rssSample)
		defer tick.Stop()
		for {
			if m, err := schedulerMetrics(samplerCtx, p, token); err == nil {
				r.peakHeap = max(r.peakHeap, m["go_memstats_heap_inuse_bytes"])
			}
			select {
			case <-samplerCtx.Done():
				return
			case <-tick.C:
			}
		}
	})
	defer func() { stopSampler(); sampled.Wait() }()

	start := time.Now()
	if err := parallel(pods, func(i int) error {
		_, err := c.Client.CoreV1().Pods(rssNamespace).Create(ctx, rssPod(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		return rssRun{}, fmt.Errorf("create pods: %w", err)
	}
	deadline := time.Now().Add(time.Duration(pods)*100*time.Millisecond + 5*time.Minute)
	for bound := 0; bound < pods; {
		select {
		case <-p.Exited():
			return rssRun{}, fmt.Errorf("scheduler exited (code %d) with %d of %d pods bound", p.ExitCode(), bound, pods)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return rssRun{}, fmt.Errorf("%d of %d pods bound after %v", bound, pods, time.Since(start).Round(time.Second))
		}
		all, err := lister.List(labelsEverything)
		if err != nil {
			return rssRun{}, err
		}
		bound = 0
		for _, pod := range all {
			if pod.Spec.NodeName != "" {
				bound++
			}
		}
	}
	r.bind = time.Since(start).Seconds()
	stopSampler()
	sampled.Wait()

	status, err := procStatus(p.Cmd.Process.Pid)
	if err != nil {
		return rssRun{}, err
	}
	r.hwm, r.rss = status["VmHWM"], status["VmRSS"]
	m, err := schedulerMetrics(ctx, p, token)
	if err != nil {
		return rssRun{}, err
	}
	r.heap = m["go_memstats_heap_inuse_bytes"]
	r.peakHeap = max(r.peakHeap, r.heap)
	// After a GC (gc=1), so that the profile shows what the scheduler retains with every
	// pod bound rather than how much garbage the last cycle of the run left.
	code, body, err := p.Get(ctx, "/debug/pprof/heap?gc=1", token)
	if err != nil || code != 200 {
		return rssRun{}, fmt.Errorf("heap profile: %d %v", code, err)
	}
	return r, os.WriteFile(heapProfile, []byte(body), 0o644)
}

// waitReady waits until the scheduler's /readyz answers 200: its informers have synced
// every node.
func waitReady(ctx context.Context, p *localcluster.SchedulerProcess) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if code, _, err := p.Get(ctx, "/readyz", ""); err == nil && code == 200 {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("scheduler exited (code %d) before it was ready", p.ExitCode())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scheduler not ready within 2m")
		}
	}
}

// deletePods removes every pod of the namespace without grace (no kubelet runs to
// confirm a graceful deletion) and waits until none is left. One request per pod: a
// DeleteCollection of 10000 pods outlasts the API server's request timeout on a loaded
// machine.
func deletePods(ctx context.Context, c *localcluster.Cluster) error {
	pods := c.Client.CoreV1().Pods(rssNamespace)
	all, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	if err := parallel(len(all.Items), func(i int) error {
		err := pods.Delete(ctx, all.Items[i].Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}); err != nil {
		return fmt.Errorf("delete pods: %w", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		left, err := pods.List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		if len(left.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pods still present 5m after deleting them")
		}
		time.Sleep(time.Second)
	}
}

// rssNode is upstream's node-default template (scheduler_perf/templates/
// node-default.yaml): 4 cpu, 32Gi, 110 pods, Ready.
func rssNode(i int) *v1.Node {
	res := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse("4"),
		v1.ResourceMemory: resource.MustParse("32Gi"),
		v1.ResourcePods:   resource.MustParse("110"),
	}
	name := fmt.Sprintf("rss-node-%d", i)
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelHostname: name}},
		Status: v1.NodeStatus{
			Capacity:    res,
			Allocatable: res.DeepCopy(),
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
			Phase:       v1.NodeRunning,
		},
	}
}

// rssPod is upstream's pod-default template (scheduler_perf/templates/pod-default.yaml):
// Guaranteed, 100m and 500Mi, no PriorityClass, scheduled by the profile under test.
// At priority 0 berth's PriorityHeadroom leaves 25% of a node free, so rssPodsPerNode
// of them fit a node under berth's profile.
func rssPod(i int) *v1.Pod {
	res := v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("500Mi")}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: rssNamespace},
		Spec: v1.PodSpec{
			SchedulerName: manifests.SchedulerName,
			Containers: []v1.Container{{
				Name:      "pause",
				Image:     "registry.k8s.io/pause:3.10.2",
				Ports:     []v1.ContainerPort{{ContainerPort: 80}},
				Resources: v1.ResourceRequirements{Requests: res, Limits: res.DeepCopy()},
			}},
		},
	}
}

// mib is a mebibyte, the unit of the table.
const mib = 1 << 20

// labelsEverything selects every pod of the lister.
var labelsEverything = labels.Everything()

// parallel calls create(0..n-1) from a few goroutines, as a client creating objects
// in bulk would, and returns the first error.
func parallel(n int, create func(i int) error) error {
	const workers = 16
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := create(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// procStatus reads the kB figures of /proc/<pid>/status (VmHWM, VmRSS, ...) in bytes.
func procStatus(pid int) (map[string]float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		name, value, ok := strings.Cut(line, ":")
		fields := strings.Fields(value)
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		out[name] = kb * 1024
	}
	for _, want := range []string{"VmHWM", "VmRSS"} {
		if _, ok := out[want]; !ok {
			return nil, fmt.Errorf("/proc/%d/status has no %s", pid, want)
		}
	}
	return out, nil
}

// schedulerMetrics reads the unlabelled samples of the scheduler's /metrics.
func schedulerMetrics(ctx context.Context, p *localcluster.SchedulerProcess, token string) (map[string]float64, error) {
	code, body, err := p.Get(ctx, "/metrics", token)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("/metrics: %d", code)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	if _, ok := out["go_memstats_heap_inuse_bytes"]; !ok {
		return nil, fmt.Errorf("/metrics has no go_memstats_heap_inuse_bytes")
	}
	return out, nil
}

// rssTable is the medians per profile, their ratio, and every run, as Markdown.
func rssTable(runs []rssRun, nodes, pods int) string {
	figures := []struct {
		title string
		value func(rssRun) float64
		unit  float64
	}{
		{"peak RSS, VmHWM (MiB)", func(r rssRun) float64 { return r.hwm }, mib},
		{"RSS once all pods are bound, VmRSS (MiB)", func(r rssRun) float64 { return r.rss }, mib},
		{"peak heap in use, sampled every second (MiB)", func(r rssRun) float64 { return r.peakHeap }, mib},
		{"heap in use once all pods are bound (MiB)", func(r rssRun) float64 { return r.heap }, mib},
		{"first pod created to last pod bound (s)", func(r rssRun) float64 { return r.bind }, 1},
	}
	byProfile := func(name string, f func(rssRun) float64, unit float64) []float64 {
		var v []float64
		for _, r := range runs {
			if r.profile == name {
				v = append(v, f(r)/unit)
			}
		}
		return v
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n#### berth-scheduler process, %d nodes, %d pods (medians of %d default and %d berth run(s))\n\n",
		nodes, pods, len(byProfile("default", figures[0].value, 1)), len(byProfile("berth", figures[0].value, 1)))
	sb.WriteString("| figure | default profile | berth profile | berth/default |\n|---|---:|---:|---:|\n")
	for _, f := range figures {
		d, okD := median(byProfile("default", f.value, f.unit))
		b, okB := median(byProfile("berth", f.value, f.unit))
		fmt.Fprintf(&sb, "| %s | %s | %s | %s |\n", f.title, num(d, okD), num(b, okB), ratio(b, okB, d, okD))
	}
	sb.WriteString("\nPer run, in the order they ran (VmHWM MiB / peak heap MiB / seconds):\n\n")
	for i, r := range runs {
		fmt.Fprintf(&sb, "%d. %s: %.0f / %.0f / %.1f\n", i+1, r.profile, r.hwm/mib, r.peakHeap/mib, r.bind)
	}
	return sb.String()
}
