package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	configv1alpha1 "sigs.k8s.io/kwok/pkg/apis/config/v1alpha1"
	"sigs.k8s.io/kwok/pkg/apis/internalversion"
	kwokclientset "sigs.k8s.io/kwok/pkg/client/clientset/versioned"
	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/controllers"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
)

// NodeSimulatorLogLevelEnv names the environment variable that sets the simulator's log
// level (debug, info, warn, error). Unset means warn: KWOK logs every patch and delete
// at info.
const NodeSimulatorLogLevelEnv = "BERTH_NODESIM_LOG_LEVEL"

// nodeSimulatorLabels is the pprof label every goroutine of the simulator carries.
var nodeSimulatorLabels = pprof.Labels("berth-localcluster", "node-simulator")

// nodeSimulatorUserAgent is what the simulator's requests show in API server logs.
const nodeSimulatorUserAgent = "berth-nodesim"

// nodeSimulatorPodCIDR is where simulated pods get their IPs when a node has no
// spec.podCIDR; KWOK's default /24 runs out after 254 pods.
const nodeSimulatorPodCIDR = "10.0.0.0/16"

// podDeleteAfterGraceStage replaces KWOK's fast pod-delete stage, which deletes a
// terminating pod at once. Like a kubelet, this one waits out the grace period: the API
// server sets metadata.deletionTimestamp to the time the grace period ends, and KWOK
// reads a delay whose durationFrom expression yields an RFC 3339 timestamp as "that
// timestamp minus now" (pkg/utils/lifecycle/value_duration_from.go). The timestamp is
// published truncated to whole seconds, i.e. up to 1s before the grace period really
// ends, so the expression adds one second: the pod goes between grace and grace+1s after
// the delete call, never before. A timestamp already past (an old terminating pod) gives
// a delay <= 0, which KWOK's delaying queue runs at once; a pod deleted with grace
// period 0 is removed by the API server itself. KWOK deletes with gracePeriodSeconds=0.
// A pod that still has finalizers stays, terminating, until they are removed, as with a
// real kubelet. (If the expression yielded nothing, durationMilliseconds, 0, would apply.)
const podDeleteAfterGraceStage = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: berth-pod-delete-after-grace-period
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  delay:
    durationMilliseconds: 0
    durationFrom:
      expressionFrom: '.metadata.deletionTimestamp | fromdateiso8601 + 1 | todateiso8601'
  next:
    delete: true
`

// nodeSimulatorStages are the KWOK stages the simulator plays:
//   - node-initialize (KWOK "fast"): a node that is not Ready gets Ready and the other
//     node conditions, phase Running, nodeInfo, and capacity/allocatable (kept if the
//     node was created with them, else 1k cpu, 1Ti memory, 1M pods);
//   - node-heartbeat (KWOK "heartbeat"): every 20-25s a Ready node's conditions get a
//     new lastHeartbeatTime, as a kubelet's status updates do;
//   - pod-ready (KWOK "fast"): a Pending pod that is not terminating becomes Running and
//     Ready, with startTime, Initialized/Ready/ContainersReady conditions, running
//     container statuses, completed init containers and pod IPs;
//   - berth-pod-delete-after-grace-period (ours, above).
//
// KWOK's pod-complete stage (Job pods finish at once) is left out: simulated pods run
// until deleted.
func nodeSimulatorStages() []string {
	return []string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeat,
		podfast.DefaultPodReady,
		podDeleteAfterGraceStage,
	}
}

// loadNodeSimulatorStages parses the stage documents with KWOK's own config loader,
// which converts the v1alpha1 Stage into KWOK's internal version, and groups them by the
// resource they act on, as the kwok binary does.
func loadNodeSimulatorStages() (map[internalversion.StageResourceRef][]*internalversion.Stage, error) {
	grouped := map[internalversion.StageResourceRef][]*internalversion.Stage{}
	for _, doc := range nodeSimulatorStages() {
		stage, err := config.UnmarshalWithType[*internalversion.Stage](doc)
		if err != nil {
			return nil, fmt.Errorf("load KWOK stage: %w", err)
		}
		grouped[stage.Spec.ResourceRef] = append(grouped[stage.Spec.ResourceRef], stage)
	}
	return grouped, nil
}

// startNodeSimulator runs KWOK's fake-kubelet node and pod controllers
// (sigs.k8s.io/kwok/pkg/kwok/controllers) in this process against the API server cfg
// reaches, in place of kubelets.
//
// It manages every node annotated KWOKNodeAnnotation=fake (what Node sets,
// and what kwokctl's kwok manages by default); other nodes and their pods are left
// alone. A managed node becomes Ready and keeps a fresh heartbeat; a pod bound to a
// managed node (spec.nodeName set) becomes Running and Ready with a startTime and
// container statuses; a terminating pod on a managed node is deleted when its grace
// period ends (metadata.deletionTimestamp, rounded up to the next second; see
// podDeleteAfterGraceStage), at once for grace period 0. See nodeSimulatorStages for
// the exact stages. Node leases are not used.
//
// The simulator needs no CRDs (its stages are built in), no admission plugins, and
// permission to get/list/watch and patch nodes and nodes/status, list/watch, delete and
// patch pods/status, and create events; cfg is typically cluster admin.
//
// Run one simulator per cluster: without leases, two would both act on every node.
//
// It runs until stop is called or ctx is done. stop cancels it, refuses further requests
// from it and waits (up to 10s) for its requests in flight to finish, so after stop
// returns the simulator no longer touches the API server and the control plane may be
// torn down. stop is safe to call more than once. Call stop before stopping the API
// server: while the server is gone the simulator's watches retry and log errors.
//
// KWOK's controller (v0.8.0) has no shutdown of its own. Cancelling its context ends
// its informers, workers and watches, but four goroutines per simulator stay, idle, for
// the rest of the process, and nothing outside KWOK can reach them:
//   - the node and the pod controller's delay queues each run a loop
//     (queue.(*weightDelayingQueue).loopWorker) that has no stop;
//   - the event broadcaster that Controller.init makes with record.NewBroadcaster() (no
//     context) and keeps in an unexported field, never shutting it down, runs its
//     dispatch loop and the watcher StartRecordingToSink started on it.
//
// They hold no connection and make no request. They carry nodeSimulatorLabels, and
// TestStopLeavesNoGoroutines fails if any other goroutine outlives the cluster.
func startNodeSimulator(ctx context.Context, cfg *rest.Config) (stop func(), err error) {
	if cfg == nil {
		return nil, errors.New("node simulator: nil rest.Config")
	}
	stages, err := loadNodeSimulatorStages()
	if err != nil {
		return nil, err
	}

	level := kwoklog.LevelWarn
	if s := os.Getenv(NodeSimulatorLogLevelEnv); s != "" {
		level, err = kwoklog.ParseLevel(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", NodeSimulatorLogLevelEnv, err)
		}
	}

	tracker := &requestTracker{idle: make(chan struct{})}
	restConfig := rest.CopyConfig(cfg)
	restConfig.UserAgent = nodeSimulatorUserAgent
	// Like the kwok binary: the simulator must keep up with whatever the test creates,
	// not queue behind client-side throttling.
	restConfig.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	restConfig.Wrap(tracker.wrap)

	clients, err := newNodeSimulatorClients(restConfig)
	if err != nil {
		return nil, fmt.Errorf("node simulator: %w", err)
	}

	simCtx, cancel := context.WithCancel(ctx)
	simCtx = kwoklog.NewContext(simCtx, kwoklog.NewLogger(os.Stderr, level).With("component", "berth-nodesim"))
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			tracker.close()
			select {
			case <-tracker.idle:
			case <-time.After(10 * time.Second):
			}
		})
	}

	if err := waitForAPIServer(simCtx, clients.typed); err != nil {
		stop()
		return nil, fmt.Errorf("node simulator: %w", err)
	}

	id, err := controllers.Identity()
	if err != nil {
		stop()
		return nil, fmt.Errorf("node simulator: %w", err)
	}

	// KWOK's defaults for what the simulator does not set itself (parallelism of the
	// stage players and of the pods-on-node resync), as the kwok binary gets them.
	defaults := &configv1alpha1.KwokConfiguration{}
	configv1alpha1.SetObjectDefaults_KwokConfiguration(defaults)
	opts := defaults.Options

	ctr, err := controllers.NewController(controllers.Config{
		Clock:         clock.RealClock{},
		DynamicClient: clients.dynamic,
		// KWOK reads OpenAPI v3 (/openapi/v3) through this to patch resources other
		// than nodes and pods; the discovery client's is the unversioned one it wants.
		RESTClient:                        clients.discovery.RESTClient(),
		RESTMapper:                        clients.mapper,
		ImpersonatingDynamicClient:        clients.impersonator,
		ImpersonatingTypedClient:          clients.impersonator,
		TypedClient:                       clients.typed,
		TypedKwokClient:                   clients.kwok,
		ManageNodesWithAnnotationSelector: KWOKNodeAnnotation + "=fake",
		CIDR:                              nodeSimulatorPodCIDR,
		LocalStages:                       stages,
		PodPlayStageParallelism:           opts.PodPlayStageParallelism,
		NodePlayStageParallelism:          opts.NodePlayStageParallelism,
		NodeLeaseParallelism:              opts.NodeLeaseParallelism,
		// 0 disables node leases: no lease objects, no handover delay when a new
		// simulator starts against the same cluster, every matching node is managed.
		NodeLeaseDurationSeconds:        0,
		PodsOnNodeSyncParallelism:       opts.PodsOnNodeSyncParallelism,
		EnablePodsOnNodeSyncListPager:   opts.EnablePodsOnNodeSyncListPager != nil && *opts.EnablePodsOnNodeSyncListPager,
		EnablePodsOnNodeSyncStreamWatch: opts.EnablePodsOnNodeSyncStreamWatch != nil && *opts.EnablePodsOnNodeSyncStreamWatch,
		ID:                              id,
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("node simulator: %w", err)
	}
	// Every goroutine KWOK starts carries nodeSimulatorLabels, so that a goroutine profile
	// shows which are the simulator's (see below).
	pprof.Do(simCtx, nodeSimulatorLabels, func(ctx context.Context) { err = ctr.Start(ctx) })
	if err != nil {
		stop()
		return nil, fmt.Errorf("node simulator: start KWOK controller: %w", err)
	}
	return stop, nil
}

// waitForAPIServer lists nodes until it works, as the kwok binary does before starting,
// so a wrong config or missing permission shows up as startNodeSimulator's error.
func waitForAPIServer(ctx context.Context, c kubernetes.Interface) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) ||
			apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) {
			return fmt.Errorf("list nodes: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("list nodes: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// nodeSimulatorClients are the clients KWOK's controller takes, built from one
// rest.Config (the kwok binary builds the same from a kubeconfig path with
// sigs.k8s.io/kwok/pkg/utils/client, which has no constructor from a rest.Config).
type nodeSimulatorClients struct {
	*clients
	kwok         kwokclientset.Interface
	impersonator *impersonatingClients
}

func newNodeSimulatorClients(cfg *rest.Config) (*nodeSimulatorClients, error) {
	c, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	c.typed = notFoundTolerantClientset{c.typed}
	// Only used by KWOK's own Stage clientset, which the controller consults when it is
	// given no local stages; ours always are.
	kwok, err := kwokclientset.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &nodeSimulatorClients{clients: c, kwok: kwok, impersonator: &impersonatingClients{cfg: cfg}}, nil
}

// notFoundTolerantClientset is the typed client KWOK gets. Deleting a pod that is
// already gone counts as done, as it does for a kubelet: otherwise every pod deleted with
// grace period 0 (which the API server removes itself while KWOK may already be acting
// on its terminating version) makes KWOK log a "failed to delete pod ... not found" error.
type notFoundTolerantClientset struct{ kubernetes.Interface }

func (c notFoundTolerantClientset) CoreV1() corev1client.CoreV1Interface {
	return notFoundTolerantCoreV1{c.Interface.CoreV1()}
}

type notFoundTolerantCoreV1 struct{ corev1client.CoreV1Interface }

func (c notFoundTolerantCoreV1) Pods(namespace string) corev1client.PodInterface {
	return notFoundTolerantPods{c.CoreV1Interface.Pods(namespace)}
}

type notFoundTolerantPods struct{ corev1client.PodInterface }

func (p notFoundTolerantPods) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	err := p.PodInterface.Delete(ctx, name, opts)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// impersonatingClients gives KWOK clients that act as another user, for stages that ask
// for impersonation (none of ours do). Clients are cached per identity.
type impersonatingClients struct {
	cfg *rest.Config

	mu      sync.Mutex
	clients map[string]*clients
}

// as returns the clients that act as ic.
func (c *impersonatingClients) as(ic rest.ImpersonationConfig) (*clients, error) {
	key := fmt.Sprintf("%q|%q|%q|%v", ic.UserName, ic.UID, ic.Groups, ic.Extra)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cli, ok := c.clients[key]; ok {
		return cli, nil
	}
	cfg := rest.CopyConfig(c.cfg)
	cfg.Impersonate = ic
	cli, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	if c.clients == nil {
		c.clients = map[string]*clients{}
	}
	c.clients[key] = cli
	return cli, nil
}

// ImpersonateDynamic implements sigs.k8s.io/kwok/pkg/utils/client.DynamicClientImpersonator.
func (c *impersonatingClients) ImpersonateDynamic(ic rest.ImpersonationConfig) (dynamic.Interface, error) {
	cli, err := c.as(ic)
	if err != nil {
		return nil, err
	}
	return cli.dynamic, nil
}

// ImpersonateTyped implements sigs.k8s.io/kwok/pkg/utils/client.TypedClientImpersonator.
func (c *impersonatingClients) ImpersonateTyped(ic rest.ImpersonationConfig) (kubernetes.Interface, error) {
	cli, err := c.as(ic)
	if err != nil {
		return nil, err
	}
	return cli.typed, nil
}

// errNodeSimulatorStopped fails requests the simulator's leftover goroutines make after
// stop.
var errNodeSimulatorStopped = errors.New("node simulator stopped")

// requestTracker counts the simulator's HTTP requests in flight so that stop can wait
// for them, and refuses new ones once closed.
type requestTracker struct {
	mu       sync.Mutex
	inflight int
	closed   bool
	idle     chan struct{} // closed once closed && inflight == 0
}

func (t *requestTracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.inflight++
	return true
}

func (t *requestTracker) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	if t.closed && t.inflight == 0 {
		close(t.idle)
	}
}

func (t *requestTracker) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	if t.inflight == 0 {
		close(t.idle)
	}
}

func (t *requestTracker) wrap(rt http.RoundTripper) http.RoundTripper {
	return &trackedRoundTripper{tracker: t, rt: rt}
}

type trackedRoundTripper struct {
	tracker *requestTracker
	rt      http.RoundTripper
}

// RoundTrip counts the request until its response headers arrive; a watch's open body
// is not counted, it ends with the simulator's context.
func (r *trackedRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if !r.tracker.begin() {
		return nil, errNodeSimulatorStopped
	}
	defer r.tracker.end()
	return r.rt.RoundTrip(req)
}

// WrappedRoundTripper lets client-go see through the wrapper (k8s.io/apimachinery's
// net.RoundTripperWrapper).
func (r *trackedRoundTripper) WrappedRoundTripper() http.RoundTripper { return r.rt }
