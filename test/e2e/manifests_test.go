package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/test/harness"
)

func repoPath(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", ".."}, parts...)...)
}

// kustomizeManifests is `kustomize build manifests/`.
func kustomizeManifests(t *testing.T) []byte {
	t.Helper()
	yaml, err := harness.Kustomize(repoPath("manifests"))
	if err != nil {
		t.Fatalf("kustomize build manifests/: %v", err)
	}
	return yaml
}

// installManifests applies `kustomize build manifests/` to the API server, as
// `kubectl apply -k manifests/ --server-side` would.
func installManifests(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := cp.Apply(ctx, kustomizeManifests(t)); err != nil {
		t.Fatalf("API server rejected the manifests: %v", err)
	}
}

func TestManifestsAreAcceptedAndThePodTemplateIsAdmitted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	installManifests(t, ctx)
	// The examples for users too (berth-local applies the demo pods).
	for _, name := range []string{"priorityclasses.yaml", "workloads.yaml"} {
		data, err := os.ReadFile(repoPath("manifests", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cp.Apply(ctx, data); err != nil {
			t.Fatalf("API server rejected manifests/examples/%s: %v", name, err)
		}
	}

	d, err := cp.Client.AppsV1().Deployments(manifests.LeaseNamespace).Get(ctx, "berth-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkDeployment(t, d)

	created := admitPodTemplate(t, ctx, d)
	if created.Spec.Priority == nil || *created.Spec.Priority < 2000000000 {
		t.Errorf("pod priority %v, want system-cluster-critical's", created.Spec.Priority)
	}
	if created.Status.QOSClass != v1.PodQOSGuaranteed {
		t.Errorf("berth-scheduler's own pod has QoS %s, want Guaranteed", created.Status.QOSClass)
	}
}

// admitPodTemplate puts the Deployment's pod template through pod admission and
// validation (dry run), since no controller manager runs here to turn the Deployment
// into pods: this is where a priority class the namespace may not use or a bad
// securityContext would fail. It returns the pod as the API server would store it.
func admitPodTemplate(t *testing.T, ctx context.Context, d *appsv1.Deployment) *v1.Pod {
	t.Helper()
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "template-check", Namespace: d.Namespace, Labels: d.Spec.Template.Labels},
		Spec:       d.Spec.Template.Spec,
	}
	created, err := cp.Client.CoreV1().Pods(d.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatalf("the Deployment's pod template is not admitted: %v", err)
	}
	return created
}

func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	spec := d.Spec.Template.Spec
	if ptr.Deref(d.Spec.Replicas, 0) != 2 {
		t.Errorf("replicas %d, want 2", ptr.Deref(d.Spec.Replicas, 0))
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy %s, want RollingUpdate", d.Spec.Strategy.Type)
	}
	// The ServiceAccount is named as the Deployment: berth-scheduler from manifests/,
	// the release's full name from the chart.
	if spec.ServiceAccountName != d.Name || spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("serviceAccountName %q priorityClassName %q, want %q and system-cluster-critical", spec.ServiceAccountName, spec.PriorityClassName, d.Name)
	}
	psc := spec.SecurityContext
	if psc == nil || !ptr.Deref(psc.RunAsNonRoot, false) || ptr.Deref(psc.RunAsUser, 0) != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != v1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, user 65532, seccomp RuntimeDefault", psc)
	}
	c := spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) || ptr.Deref(sc.AllowPrivilegeEscalation, true) ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container securityContext %+v: want read-only root, no privilege escalation, drop ALL", sc)
	}
	for _, p := range []*v1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Scheme != v1.URISchemeHTTPS {
			t.Errorf("probe %+v: want an HTTPS GET on the secure port", p)
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/livez" {
		t.Errorf("liveness probe path %s, want /livez", c.LivenessProbe.HTTPGet.Path)
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe path %s, want /readyz", c.ReadinessProbe.HTTPGet.Path)
	}
}

// serviceAccountConfig is a client config that authenticates as the manifests'
// ServiceAccount with a real token from the TokenRequest API.
func serviceAccountConfig(t *testing.T, ctx context.Context) *rest.Config {
	t.Helper()
	cfg := rest.AnonymousClientConfig(cp.Config)
	cfg.BearerToken = serviceAccountToken(t, ctx, manifests.LeaseNamespace, "berth-scheduler")
	return cfg
}

func TestManifestRBACIsEnoughToScheduleAndPreemptAndNoMore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	installManifests(t, ctx)
	saConfig := serviceAccountConfig(t, ctx)
	saKubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(saConfig, saKubeconfig); err != nil {
		t.Fatal(err)
	}

	// No more: the identity may not read Secrets nor create Pods.
	sa := kubernetes.NewForConfigOrDie(saConfig)
	if _, err := sa.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("berth-scheduler listing Secrets: got %v, want Forbidden", err)
	}
	probe := harness.BestEffortPod(manifests.LeaseNamespace, "rbac-probe").Obj()
	if _, err := sa.CoreV1().Pods(probe.Namespace).Create(ctx, probe, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("berth-scheduler creating a Pod: got %v, want Forbidden", err)
	}

	// Enough: run the binary as that identity with the shipped configuration (lease
	// berth-system/berth-scheduler), its secure port delegating to the API server as that
	// identity too, and make it schedule and preempt.
	p := startSchedulerWith(t, binary, saKubeconfig, nil,
		"--authentication-kubeconfig="+saKubeconfig, "--authorization-kubeconfig="+saKubeconfig, "-v=2")

	ns := newNamespace(t, ctx)
	// 4 CPUs: under the shipped PriorityHeadroom rules the priority-10 pod may use 3 and
	// the priority-1000 pod 3.6, so each fits alone and the second must preempt the first.
	node := harness.Node("e2e-rbac-node", "4", "8Gi", 10, "").Obj()
	if _, err := cp.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.CoreV1().Nodes().Delete(context.Background(), node.Name, metav1.DeleteOptions{}) })
	// Only this node may take the test's pods, whatever other nodes exist.
	pin := func(p *v1.Pod, class string) *v1.Pod {
		p.Spec.PriorityClassName = class
		p.Spec.NodeSelector = map[string]string{v1.LabelHostname: node.Name}
		p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
		return p
	}
	if err := harness.EnsurePriorityClasses(ctx, cp.Client,
		harness.PriorityClass("e2e-low", 10, ""), harness.PriorityClass("e2e-high", 1000, "")); err != nil {
		t.Fatal(err)
	}
	low := pin(harness.GuaranteedPod(ns, "low", harness.Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "1Gi"}).Obj(), "e2e-low")
	createPod(t, ctx, low)
	if _, err := cp.WaitForPod(ctx, ns, low.Name, 60*time.Second, "running", localcluster.IsRunning); err != nil {
		t.Fatal(err)
	}
	high := pin(harness.GuaranteedPod(ns, "high", harness.Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "1Gi"}).Obj(), "e2e-high")
	createPod(t, ctx, high)
	if _, err := cp.WaitForPod(ctx, ns, high.Name, 60*time.Second, "bound after preempting", localcluster.IsBound); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().Pods(ns).Get(ctx, low.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("victim still present after preemption: %v", err)
	}
	// The preemption shows in berth's own metrics on the binary's /metrics.
	code, body, err := p.Get(ctx, "/metrics", cp.Config.BearerToken)
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{
		`berth_preemption_attempts_total{result="nominated"} 1`,
		`berth_preemption_victims_total{priority_class="e2e-low",qos_class="Guaranteed"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if forbidden := regexp.MustCompile(`(?m)^.*(is forbidden|Forbidden).*$`).FindAllString(p.Log(), 5); len(forbidden) > 0 {
		t.Errorf("berth-scheduler was refused requests it needs:\n%s", strings.Join(forbidden, "\n"))
	}
}
