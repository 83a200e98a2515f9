package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/test/harness"
)

func TestVersionNamesBerthAndKubeScheduler(t *testing.T) {
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	if !strings.HasPrefix(got, "berth v") || !strings.Contains(got, "(kube-scheduler v1.37.2)") {
		t.Errorf("--version printed %q, want \"berth vX (kube-scheduler v1.37.2)\"", got)
	}
}

func TestSecurePortServesHealthAndMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ensureNodes(t, ctx)
	ns := newNamespace(t, ctx)
	p := startScheduler(t, nil)

	for _, path := range []string{"/livez", "/readyz"} {
		var code int
		var body string
		err := wait.PollUntilContextTimeout(ctx, harness.Poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			var err error
			code, body, err = p.Get(ctx, path, "")
			return err == nil && code == 200, nil
		})
		if err != nil {
			t.Fatalf("%s: last answer %d %q: %v", path, code, body, err)
		}
	}

	// Schedule one pod so the scheduling metrics have a sample.
	pod := harness.BestEffortPod(ns, "metrics-sample").Obj()
	createPod(t, ctx, pod)
	if _, err := cp.WaitForPod(ctx, ns, pod.Name, 30*time.Second, "bound", localcluster.IsBound); err != nil {
		t.Fatal(err)
	}
	code, body, err := p.Get(ctx, "/metrics", cp.Config.BearerToken)
	if err != nil || code != 200 {
		t.Fatalf("/metrics with an admin token: %d %v", code, err)
	}
	want := `scheduler_schedule_attempts_total{profile="berth-scheduler",result="scheduled"}`
	if !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if code, _, err := p.Get(ctx, "/metrics", ""); err != nil || (code != 401 && code != 403) {
		t.Errorf("/metrics without credentials answered %d (%v), want 401 or 403", code, err)
	}
}

func TestSIGTERMStopsPromptlyAndReleasesLease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A lease of its own, so the holder seen here can only be this process.
	const lease = "berth-sigterm-test"
	p := startScheduler(t, func(c *localcluster.SchedulerConfig) { c.LeaderElection.ResourceName = lease })

	leases := cp.Client.CoordinationV1().Leases(manifests.LeaseNamespace)
	var holder string
	err := wait.PollUntilContextTimeout(ctx, harness.Poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := leases.Get(ctx, lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, nil
		}
		holder = *l.Spec.HolderIdentity
		return holder != "", nil
	})
	if err != nil {
		t.Fatalf("berth-scheduler never took lease %s: %v", lease, err)
	}

	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10s after SIGTERM")
	}
	took := time.Since(start)
	t.Logf("exited %v after SIGTERM with code %d", took, p.ExitCode())
	if took > 5*time.Second {
		t.Errorf("took %v to exit after SIGTERM, want under 5s", took)
	}
	if p.ExitCode() != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", p.ExitCode())
	}
	l, err := leases.Get(ctx, lease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
		t.Errorf("lease still held by %q after SIGTERM (was %q): not released", *l.Spec.HolderIdentity, holder)
	}
}

// TestRunsOnAReadOnlyRootFilesystem backs the Deployment's readOnlyRootFilesystem: the
// binary runs in a mount namespace whose root is remounted read-only (as root can do
// here; no container runtime is needed), becomes leader and schedules a pod.
func TestRunsOnAReadOnlyRootFilesystem(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ensureNodes(t, ctx)
	ns := newNamespace(t, ctx)
	wrapper := filepath.Join(t.TempDir(), "read-only-root")
	script := "#!/bin/sh\nexec unshare --mount --propagation private sh -c 'mount -o remount,bind,ro / && exec \"$0\" \"$@\"' " + binary + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p := startSchedulerWith(t, wrapper, cp.Kubeconfig(), nil)
	pod := harness.BestEffortPod(ns, "read-only-root").Obj()
	createPod(t, ctx, pod)
	if _, err := cp.WaitForPod(ctx, ns, pod.Name, 30*time.Second, "bound", localcluster.IsBound); err != nil {
		t.Fatal(err)
	}
	if code, _, err := p.Get(ctx, "/readyz", ""); err != nil || code != 200 {
		t.Errorf("/readyz answered %d (%v)", code, err)
	}
}

// upstreamErrorLines are error lines that kube-scheduler v1.37.2 itself writes in a
// normal run, whatever the cluster and plugins: neither the user's doing nor berth's.
var upstreamErrorLines = []string{
	// On every start: k8s.io/component-base/metrics.Apply, which kube-scheduler's
	// options.Config calls, logs this at error level whenever
	// --allow-metric-labels-manifest is not given.
	"The manifest file is empty, ignoring.",
	// On SIGTERM of the leader: the legacy event broadcaster stops with the context
	// (events.NewEventBroadcasterAdapterWithContext in options.Config) before the leader
	// elector, which releases the lease on cancel (ReleaseOnCancel), records its
	// "stopped leading" event on it.
	`"Unable to record event (will not retry!)" err="broadcaster already stopped"`,
}

// TestSchedulerLogShowsNoErrorsOnTheLocalCluster keeps the local cluster complete enough
// that a user reading berth-scheduler's log (berth-local prints where it is) finds no
// error that is not theirs, from start through scheduling to SIGTERM: in particular the
// API server publishes kube-system/extension-apiserver-authentication, which the secure
// port's delegated authentication reads, and without which it logs an error every
// minute.
func TestSchedulerLogShowsNoErrorsOnTheLocalCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ensureNodes(t, ctx)
	ns := newNamespace(t, ctx)
	p := startScheduler(t, nil)
	pod := harness.BestEffortPod(ns, "log-check").Obj()
	createPod(t, ctx, pod)
	if _, err := cp.WaitForPod(ctx, ns, pod.Name, 30*time.Second, "bound", localcluster.IsBound); err != nil {
		t.Fatal(err)
	}
	if code, _, err := p.Get(ctx, "/metrics", cp.Config.BearerToken); err != nil || code != 200 {
		t.Fatalf("/metrics with an admin token: %d %v", code, err)
	}
	// The client CA and request-header controllers read that configmap through
	// informers whose sync upstream polls every 100ms. A SIGTERM before they report
	// synced makes each log "Unable to sync caches": a shutdown race, not a missing
	// configmap. Wait for every sync the log announced, so the stop below is the
	// normal one a user makes.
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		log := p.Log()
		waiting := strings.Count(log, `"Waiting for caches to sync"`)
		return waiting > 0 && strings.Count(log, `"Caches are synced"`) >= waiting, nil
	}); err != nil {
		t.Fatalf("berth-scheduler's informers did not all sync in 30s:\n%s", p.Log())
	}

	if !p.Stop(10 * time.Second) {
		t.Fatalf("berth-scheduler still running 10s after SIGTERM")
	}

	log := p.Log()
	if strings.Contains(log, `configmap \"extension-apiserver-authentication\" not found`) {
		t.Errorf("berth-scheduler did not find the API server's authentication configmap")
	}
	for _, line := range regexp.MustCompile(`(?m)^[EF]\d{4} .*$`).FindAllString(log, -1) {
		if !slices.ContainsFunc(upstreamErrorLines, func(known string) bool { return strings.Contains(line, known) }) {
			t.Errorf("error in berth-scheduler's log: %s", line)
		}
	}
}
