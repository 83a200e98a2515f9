package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	berthsim "github.com/berth-sched/berth/cmd/berth-sim/app"
	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/test/harness"
)

// explainLive runs `berth-sim explain --kubeconfig ... --json` as a user would and
// returns its attempts.
func explainLive(t *testing.T, ctx context.Context, kubeconfig, pod string) ([]sim.Attempt, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := berthsim.NewCommand(&berthsim.Options{Out: &out, Err: &errOut})
	cmd.SetArgs([]string{"explain", "--kubeconfig", kubeconfig, "--pod", pod, "--json"})
	if err := cmd.ExecuteContext(ctx); err != nil {
		return nil, err
	}
	var got struct {
		Attempts []sim.Attempt `json:"attempts"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("explain --json: %v\n%s", err, out.String())
	}
	return got.Attempts, nil
}

// explainKubeconfig is a kubeconfig of a new ServiceAccount bound to exactly what
// manifests/explain grants: berth-sim explain's documented access, nothing more.
func explainKubeconfig(t *testing.T, ctx context.Context) string {
	t.Helper()
	yamlDocs, err := harness.Kustomize(repoPath("manifests", "explain"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Apply(ctx, yamlDocs); err != nil {
		t.Fatalf("apply manifests/explain: %v", err)
	}
	ns := newNamespace(t, ctx)
	sa := &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "explainer", Namespace: ns}}
	if _, err := cp.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: ns}}
	if _, err := cp.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "explainer-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "berth-explain"},
		Subjects:   subject,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cp.Client.RbacV1().ClusterRoleBindings().Delete(context.Background(), "explainer-"+ns, metav1.DeleteOptions{})
	})
	tr, err := cp.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(cp.Config)
	cfg.BearerToken = tr.Status.Token
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExplainRoleIsReadOnlyAndCoversWhatExplainReads: the ClusterRole grants get, list
// and watch and nothing else, on exactly the resources berth-sim explain reads.
func TestExplainRoleIsReadOnlyAndCoversWhatExplainReads(t *testing.T) {
	data, err := os.ReadFile(repoPath("manifests", "explain", "clusterrole.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		if v := slices.Clone(r.Verbs); !slices.Equal(sortStrings(v), []string{"get", "list", "watch"}) {
			t.Errorf("rule %v grants %v, want exactly get, list, watch", r.Resources, r.Verbs)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				granted[g+"/"+res] = true
			}
		}
	}
	want := map[string]bool{}
	for _, r := range sim.ClusterReads {
		want[r.Group+"/"+r.Resource] = true
		if !granted[r.Group+"/"+r.Resource] {
			t.Errorf("explain reads %s/%s (%s), which the ClusterRole does not grant", r.Group, r.Resource, r.Why)
		}
	}
	for g := range granted {
		if !want[g] {
			t.Errorf("the ClusterRole grants %s, which explain does not read", g)
		}
	}
}

func sortStrings(s []string) []string { sort.Strings(s); return s }

var fitErrorRE = regexp.MustCompile(`^0/\d+ nodes are available: (.*?)\.(?: preemption: .*)?$`)

// TestExplainLiveGivesTheSchedulersReasonsForAPendingPod: for a pod berth-scheduler
// could not place, explain (with only manifests/explain's access) rejects every node
// for the reasons the scheduler's FailedScheduling event counts.
func TestExplainLiveGivesTheSchedulersReasonsForAPendingPod(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ensureNodes(t, ctx)
	kubeconfig := explainKubeconfig(t, ctx)
	ns := newNamespace(t, ctx)
	startScheduler(t, nil)
	// 3.8 of a 4-cpu node: above what PriorityHeadroom leaves pods below 1000000, and
	// on nodes already holding pods, more than is free.
	pod := harness.BurstablePod(ns, "too-big", harness.Resources{v1.ResourceCPU: "3800m"}, nil).Obj()
	createPod(t, ctx, pod)
	t.Cleanup(func() {
		// Pending for good: gone before a later test's nodes could take it.
		_ = cp.Client.CoreV1().Pods(ns).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	})
	ev, err := harness.WaitForEvent(ctx, cp.Client, ns, pod.Name, "FailedScheduling", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m := fitErrorRE.FindStringSubmatch(strings.TrimSpace(ev.Message))
	if m == nil {
		t.Fatalf("FailedScheduling message %q is not upstream's FitError", ev.Message)
	}
	want := map[string]int{}
	for _, part := range strings.Split(m[1], ", ") {
		n, reason, _ := strings.Cut(part, " ")
		c, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("reason %q in %q", part, ev.Message)
		}
		want[reason] += c
	}
	attempts, err := explainLive(t, ctx, kubeconfig, ns+"/"+pod.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) == 0 {
		t.Fatal("explain made no attempt")
	}
	got := map[string]int{}
	for _, n := range attempts[0].Nodes {
		if n.Feasible {
			t.Errorf("explain finds %s feasible, the scheduler found no node", n.Node)
		}
		for _, r := range n.Reasons {
			got[r]++
		}
	}
	if !mapsEqual(got, want) {
		t.Errorf("explain's rejections %v, the scheduler's event %v (%q)", got, want, ev.Message)
	}
}

// TestExplainLiveChoosesTheNodeBerthChose: on nodes of distinct sizes (no two score
// alike), a pod berth-scheduler has just placed is explained, as if pending, onto the
// node it is on.
func TestExplainLiveChoosesTheNodeBerthChose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kubeconfig := explainKubeconfig(t, ctx)
	ns := newNamespace(t, ctx)
	var names []string
	for i, cpu := range []string{"6", "10", "14"} {
		// Tainted, so that only this test's pod may land there: a pod another test left
		// pending would otherwise take a node while the test runs.
		n := harness.Node("explain-"+strconv.Itoa(i), cpu, strconv.Itoa(8+4*i)+"Gi", 20, "").
			Label("explain", "yes").Taints([]v1.Taint{{Key: "e2e-explain", Effect: v1.TaintEffectNoSchedule}}).Obj()
		if _, err := cp.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, n.Name)
		t.Cleanup(func() { _ = cp.Client.CoreV1().Nodes().Delete(context.Background(), n.Name, metav1.DeleteOptions{}) })
	}
	// Every node Ready before the scheduler starts, so that it places the pod knowing
	// all three, as explain will.
	for _, n := range names {
		if err := waitNodesReady(ctx, []*v1.Node{{ObjectMeta: metav1.ObjectMeta{Name: n}}}); err != nil {
			t.Fatal(err)
		}
	}
	startScheduler(t, nil)
	pod := harness.GuaranteedPod(ns, "placed", harness.Resources{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).
		NodeSelector(map[string]string{"explain": "yes"}).Toleration("e2e-explain").Obj()
	createPod(t, ctx, pod)
	bound, err := cp.WaitForPod(ctx, ns, pod.Name, time.Minute, "bound", localcluster.IsBound)
	if err != nil {
		t.Fatal(err)
	}
	attempts, err := explainLive(t, ctx, kubeconfig, ns+"/"+pod.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) == 0 || attempts[0].Best == "" {
		t.Fatalf("explain chose no node: %+v", attempts)
	}
	a := attempts[0]
	if len(a.Ties) > 0 {
		t.Fatalf("the scenario has tied scores (%v): it cannot tell the nodes apart", a.Ties)
	}
	if a.Best != bound.Spec.NodeName || a.Outcome.Node != bound.Spec.NodeName {
		t.Errorf("berth placed the pod on %s; explain's best node %s, its outcome %s (nodes %v)", bound.Spec.NodeName, a.Best, a.Outcome.Node, names)
	}

	// The report as a person reads it.
	var out bytes.Buffer
	cmd := berthsim.NewCommand(&berthsim.Options{Out: &out, Err: &out})
	cmd.SetArgs([]string{"explain", "--kubeconfig", kubeconfig, "--pod", ns + "/" + pod.Name, "--top", "3"})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Cluster https://127.0.0.1:",
		"configuration berth.",
		ns + "/placed is bound to " + bound.Spec.NodeName + "; explained as if it were pending now.",
		"live cluster: pod " + ns + "/placed (priority 0, QoS Guaranteed, profile berth-scheduler), 1 attempt(s)",
		"Attempt 1 at 0:00:00.000: bound to " + bound.Spec.NodeName,
		"Best-scored node: " + bound.Spec.NodeName + ", by ",
		"PriorityPlacement", "TOTAL",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
