package localcluster

import (
	"context"
	"fmt"
	"net/url"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	apiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
)

// apiServerFlags are the flags every local API server gets. The ServiceAccount admission
// plugin wants a token controller that does not run here, and TaintNodesByCondition
// would put a not-ready taint on every new node before KWOK marks it Ready; neither is
// what berth is about.
var apiServerFlags = []string{
	"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
	// As in a real cluster: identities get what RBAC grants them and nothing else. The
	// cluster's own client is in system:masters.
	"--authorization-mode=RBAC",
}

// Where a kube-apiserver publishes its client CA and request-header settings for
// components that delegate authentication to it (kube-scheduler's secure port).
const (
	authenticationConfigMapNamespace = metav1.NamespaceSystem
	authenticationConfigMapName      = "extension-apiserver-authentication"
)

// apiServer is one running kube-apiserver and the testing.TB adapter it was started with.
type apiServer struct {
	server apiservertesting.TestServer
	tb     *testServerTB
}

// startAPIServer starts a kube-apiserver on the cluster's etcd with upstream's test server
// (the whole kube-apiserver, configured by flags, in this process) and points the stable
// endpoint at it.
func (c *Cluster) startAPIServer() error {
	opts := apiservertesting.NewDefaultTestServerOptions()
	// The invariant check scrapes apiserver metrics at teardown and reports through the
	// TB; it is for upstream's own apiserver tests.
	opts.DisableInvariantChecks = true
	// EnableCertAuth would make the test server generate a new client CA and front-proxy
	// CA on every start, so each restart would add other CAs to what the API server
	// publishes for delegated authentication; and it would point the peer proxy at a
	// serving certificate the test server generates only when given none. The stable
	// endpoint brings its own serving certificate, client CA and request-header flags,
	// the same across restarts.
	opts.EnableCertAuth = false
	flags := append(append(append([]string{}, apiServerFlags...), c.endpoint.flags...), c.extraFlags...)
	tb := newTestServerTB(c.logOutput)
	server, err := tb.startTestServer(opts, flags, c.storage)
	if err != nil {
		tb.runCleanups()
		return fmt.Errorf("start kube-apiserver: %w", err)
	}
	c.apiserver = &apiServer{server: server, tb: tb}
	u, err := url.Parse(server.ClientConfig.Host)
	if err != nil {
		return err
	}
	c.endpoint.setBackend(u.Host)
	return c.waitForAuthenticationConfigMap()
}

// waitForAuthenticationConfigMap waits until the API server has published its client CA
// in kube-system/extension-apiserver-authentication, which it does shortly after it
// reports healthy. A scheduler started before that would log, once a minute, that the
// configmap is missing.
func (c *Cluster) waitForAuthenticationConfigMap() error {
	err := wait.PollUntilContextTimeout(context.Background(), poll, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := c.Client.CoreV1().ConfigMaps(authenticationConfigMapNamespace).Get(ctx, authenticationConfigMapName, metav1.GetOptions{})
		return err == nil && cm.Data["client-ca-file"] != "" && cm.Data["requestheader-client-ca-file"] != "", nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver did not publish %s/%s: %w", authenticationConfigMapNamespace, authenticationConfigMapName, err)
	}
	return nil
}

// StopAPIServer stops the API server; etcd keeps running. Clients see connection errors
// until StartAPIServer.
func (c *Cluster) StopAPIServer() {
	if c.apiserver == nil {
		return
	}
	c.endpoint.setBackend("")
	c.apiserver.server.TearDownFn()
	c.apiserver.tb.runCleanups()
	c.apiserver = nil
}

// StartAPIServer starts a new API server on the same etcd after StopAPIServer. Every
// object survives, and Config, Client and the kubeconfig keep working: the address,
// serving certificate and admin token are the cluster's, not the server's.
func (c *Cluster) StartAPIServer() error {
	return c.startAPIServer()
}
