package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/test/harness"
)

// metricLine reads one sample of /metrics: `name{labels} value`.
func metricValue(body, name, labels string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{"+labels+"} ") {
			v, err := strconv.ParseFloat(strings.TrimPrefix(line, name+"{"+labels+"} "), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// TestMetricsCountRejectionsByRuleAndVictimsByPriorityClass runs berth's recommended
// profile and makes each berth filter reject a pod and a pod preempt another, then
// reads the binary's /metrics: each rejection counted under its configured rule, the
// victim under its QoS class and PriorityClass. The dashboard of manifests/monitoring
// must query only metrics the binary exposes.
func TestMetricsCountRejectionsByRuleAndVictimsByPriorityClass(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := newNamespace(t, ctx)
	// A pool node reserved for critical pods, and a plain node for preemption.
	pool := harness.Node("e2e-metrics-pool", "4", "8Gi", 20, "").Label("e2e", "metrics-pool").
		Taints([]v1.Taint{{Key: "berth.io/reserved", Value: "yes", Effect: v1.TaintEffectNoSchedule}}).Obj()
	plain := harness.Node("e2e-metrics-plain", "4", "8Gi", 20, "").Label("e2e", "metrics-plain").Obj()
	for _, n := range []*v1.Node{pool, plain} {
		if _, err := cp.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cp.Client.CoreV1().Nodes().Delete(context.Background(), n.Name, metav1.DeleteOptions{}) })
	}
	if err := harness.EnsurePriorityClasses(ctx, cp.Client,
		harness.PriorityClass("e2e-metrics-low", 100, ""), harness.PriorityClass("e2e-metrics-high", 10000, ""),
		harness.PriorityClass("e2e-metrics-critical", 1000000, "")); err != nil {
		t.Fatal(err)
	}
	p := startScheduler(t, nil)
	pin := func(pod *v1.Pod, class, node string) *v1.Pod {
		pod.Spec.PriorityClassName = class
		pod.Spec.NodeSelector = map[string]string{"e2e": node}
		pod.Spec.Tolerations = []v1.Toleration{{Key: "berth.io/reserved", Operator: v1.TolerationOpExists}}
		pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
		return pod
	}
	rejected := []*v1.Pod{
		// PriorityTaints: the pool's taint tolerated below the rule's minPriority.
		pin(harness.BestEffortPod(ns, "copies-the-toleration").Obj(), "e2e-metrics-low", "metrics-pool"),
		// PriorityHeadroom: more cpu than the 75 percent a pod below 1000 may take.
		pin(harness.GuaranteedPod(ns, "wants-the-reserve", harness.Resources{v1.ResourceCPU: "3500m", v1.ResourceMemory: "1Gi"}).Obj(), "e2e-metrics-low", "metrics-plain"),
		// QoSPlacement: a memory limit beyond 150 percent of the node's 8Gi.
		pin(harness.BurstablePod(ns, "limit-too-high", harness.Resources{v1.ResourceMemory: "1Gi"}, harness.Resources{v1.ResourceMemory: "16Gi"}).Obj(), "e2e-metrics-critical", "metrics-pool"),
	}
	for _, pod := range rejected {
		createPod(t, ctx, pod)
		if _, err := harness.WaitForEvent(ctx, cp.Client, ns, pod.Name, "FailedScheduling", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// Preemption: a high pod needs the low pod's cpu on the plain node.
	low := pin(harness.GuaranteedPod(ns, "victim", harness.Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "1Gi"}).Obj(), "e2e-metrics-low", "metrics-plain")
	createPod(t, ctx, low)
	if _, err := cp.WaitForPod(ctx, ns, low.Name, time.Minute, "running", localcluster.IsRunning); err != nil {
		t.Fatal(err)
	}
	high := pin(harness.GuaranteedPod(ns, "preemptor", harness.Resources{v1.ResourceCPU: "2", v1.ResourceMemory: "1Gi"}).Obj(), "e2e-metrics-high", "metrics-plain")
	createPod(t, ctx, high)
	if _, err := cp.WaitForPod(ctx, ns, high.Name, time.Minute, "bound after preempting", localcluster.IsBound); err != nil {
		t.Fatal(err)
	}

	code, body, err := p.Get(ctx, "/metrics", cp.Config.BearerToken)
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, w := range []struct{ name, labels string }{
		{"berth_plugin_rejections_total", `plugin="PriorityTaints",rule="berth.io/reserved=*"`},
		{"berth_plugin_rejections_total", `plugin="PriorityHeadroom",rule="cpu<1000"`},
		{"berth_plugin_rejections_total", `plugin="QoSPlacement",rule="memory-limit-overcommit"`},
	} {
		// Each pod was tried on its one node at least once (retries add more).
		if v, ok := metricValue(body, w.name, w.labels); !ok || v < 1 {
			t.Errorf("/metrics: %s{%s} = %v (present %v), want at least 1", w.name, w.labels, v, ok)
		}
	}
	if v, ok := metricValue(body, "berth_preemption_victims_total", `priority_class="e2e-metrics-low",qos_class="Guaranteed"`); !ok || v != 1 {
		t.Errorf(`/metrics: berth_preemption_victims_total{priority_class="e2e-metrics-low",qos_class="Guaranteed"} = %v (present %v), want 1`, v, ok)
	}
	if strings.Contains(body, "berth_plugin_rejections_total{") && regexp.MustCompile(`berth_plugin_rejections_total\{[^}]*(e2e-metrics|`+ns+`)`).MatchString(body) {
		t.Errorf("a rejection label names a node or a pod: labels must come from the configuration only")
	}
	checkDashboard(t, body)
}

// kustomizeWithMonitoring builds manifests/ with the monitoring component, as an
// operator's overlay would.
func kustomizeWithMonitoring(t *testing.T) []byte {
	t.Helper()
	overlay := t.TempDir()
	rel := func(path string) string {
		r, err := filepath.Rel(overlay, path) // kustomize takes bases by relative path only
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	kustomization := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s\ncomponents:\n- %s\n",
		rel(repoPath("manifests")), rel(repoPath("manifests", "monitoring")))
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kustomization), 0o600); err != nil {
		t.Fatal(err)
	}
	docs, err := harness.Kustomize(overlay)
	if err != nil {
		t.Fatalf("kustomize with the monitoring component: %v", err)
	}
	return docs
}

// TestMonitoringComponentApplies builds manifests/ with the monitoring component, as an
// overlay would, and applies it to the API server. The ServiceMonitor's CRD belongs to
// the Prometheus Operator, which this cluster does not run: the test installs a stand-in
// CRD of that group, kind and version with an open schema, so the apply checks the
// object's identity and the API server's validation of everything else, not the
// operator's schema. It also checks that the Service selects berth-scheduler's pods and
// the ServiceMonitor selects the Service, by port name.
func TestMonitoringComponentApplies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	installServiceMonitorCRD(t, ctx)
	objs, err := cp.Apply(ctx, kustomizeWithMonitoring(t))
	if err != nil {
		t.Fatalf("the API server refused the monitoring component: %v", err)
	}
	kinds := map[string]map[string]any{}
	var deploymentLabels map[string]string
	for _, o := range objs {
		kinds[o.GetKind()+"/"+o.GetName()] = o.Object
		if o.GetKind() == "Deployment" {
			deploymentLabels, _, _ = unstructuredStringMap(o.Object, "spec", "template", "metadata", "labels")
		}
	}
	for _, want := range []string{"Service/berth-scheduler-metrics", "ServiceMonitor/berth-scheduler", "ConfigMap/berth-scheduler-dashboard", "ClusterRole/berth-scheduler-metrics-reader"} {
		if kinds[want] == nil {
			t.Errorf("the component did not create %s", want)
		}
	}
	svc, err := cp.Client.CoreV1().Services("berth-system").Get(ctx, "berth-scheduler-metrics", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range svc.Spec.Selector {
		if deploymentLabels[k] != v {
			t.Errorf("the Service selects %s=%s, which berth-scheduler's pods do not carry (%v)", k, v, deploymentLabels)
		}
	}
	monitorSelector, _, _ := unstructuredStringMap(kinds["ServiceMonitor/berth-scheduler"], "spec", "selector", "matchLabels")
	for k, v := range monitorSelector {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, which the Service does not carry (%v)", k, v, svc.Labels)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https" || svc.Spec.Ports[0].TargetPort.StrVal != "https" {
		t.Errorf("the Service's port %+v: want https, targeting the container's https port", svc.Spec.Ports)
	}
	cm, err := cp.Client.CoreV1().ConfigMaps("berth-system").Get(ctx, "berth-scheduler-dashboard", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels["grafana_dashboard"] != "1" || !json.Valid([]byte(cm.Data["berth-scheduler.json"])) {
		t.Errorf("dashboard ConfigMap: labels %v, berth-scheduler.json valid JSON: %v", cm.Labels, json.Valid([]byte(cm.Data["berth-scheduler.json"])))
	}
}

func unstructuredStringMap(obj map[string]any, path ...string) (map[string]string, bool, error) {
	cur := any(obj)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[p]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, false, nil
	}
	out := map[string]string{}
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out, true, nil
}

// installServiceMonitorCRD installs a stand-in for the Prometheus Operator's CRD.
func installServiceMonitorCRD(t *testing.T, ctx context.Context) {
	t.Helper()
	c, err := apiextensionsclient.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "servicemonitors.monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "servicemonitors", Singular: "servicemonitor", Kind: "ServiceMonitor", ListKind: "ServiceMonitorList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
	if _, err := c.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("ServiceMonitor CRD not established: %v", err)
	}
}

var metricNameRE = regexp.MustCompile(`\b((?:scheduler|berth)_[a-z_]+)`)

// checkDashboard: manifests/monitoring's dashboard parses, and every metric its panels
// query is one the running binary exposes.
func checkDashboard(t *testing.T, metrics string) {
	t.Helper()
	data, err := os.ReadFile(repoPath("manifests", "monitoring", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	if len(d.Panels) == 0 {
		t.Fatal("dashboard.json has no panels")
	}
	for _, panel := range d.Panels {
		for _, target := range panel.Targets {
			for _, m := range metricNameRE.FindAllString(target.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !strings.Contains(metrics, "# TYPE "+base+" ") {
					t.Errorf("panel %q queries %s, which berth-scheduler does not expose", panel.Title, m)
				}
			}
		}
	}
}
