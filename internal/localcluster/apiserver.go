package localcluster

import (
	"fmt"
	"net/url"

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
	// Client certificates and the front-proxy are for aggregated API servers, which
	// there are none of; clients authenticate with the cluster's token. (With them on,
	// the peer proxy expects a serving certificate the test server generated itself, and
	// the stable endpoint brings its own so that it survives a restart.)
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
