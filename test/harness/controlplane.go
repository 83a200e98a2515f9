// Package harness starts a real Kubernetes control plane in this process (embedded etcd
// and the upstream kube-apiserver) on loopback, simulates kubelets with KWOK, and builds
// the objects berth's tests need. Every test that touches the API server uses it; so does
// cmd/berth-local, the control plane behind `make run`.
package harness

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	apiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
)

// ControlPlane is an embedded etcd plus a kube-apiserver serving on 127.0.0.1.
type ControlPlane struct {
	// Config reaches the API server as a cluster admin (system:masters), through an
	// address, certificate and token that stay the same across API server restarts.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface

	dir       string
	stopEtcd  func()
	storage   *storagebackend.Config
	tb        *processTB
	apiserver *apiservertesting.TestServer
	endpoint  *stableEndpoint
	// extraFlags are Options.ExtraAPIServerFlags, kept for a restart.
	extraFlags []string
	stopOnce   sync.Once
	stopNodes  func()
}

// Options tune a control plane. The zero value is what berth's tests use.
type Options struct {
	// ExtraAPIServerFlags are appended to the kube-apiserver flags, e.g.
	// "--authorization-mode=RBAC".
	ExtraAPIServerFlags []string
	// LogOutput receives the control plane's logs (the API server's and everything
	// else that logs through klog in this process); nil discards them. etcd logs to
	// etcd.log in Dir.
	LogOutput io.Writer
	// SimulateNodes runs the KWOK node simulator (StartNodeSimulator) for the control
	// plane's lifetime, so nodes made with the Node builder become Ready and their pods
	// run and terminate as with kubelets.
	SimulateNodes bool
}

// apiServerFlags are the flags every harness API server gets. The ServiceAccount
// admission plugin wants a token controller that does not run here, and
// TaintNodesByCondition would put a not-ready taint on every new node before KWOK marks
// it Ready; neither is what the tests are about.
var apiServerFlags = []string{
	"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
	// As in a real cluster: identities get what RBAC grants them and nothing else. The
	// harness's own client is in system:masters.
	"--authorization-mode=RBAC",
}

// Start starts etcd and the API server and waits until the API server is healthy and
// has created the default namespace. Call Stop when done.
func Start(opts Options) (*ControlPlane, error) {
	dir, err := os.MkdirTemp("", "berth-controlplane-")
	if err != nil {
		return nil, err
	}
	out := opts.LogOutput
	if out == nil {
		out = io.Discard
	}
	redirectKlog(out)
	cp := &ControlPlane{dir: dir, tb: newProcessTB(out)}
	if cp.endpoint, err = newStableEndpoint(dir); err != nil {
		cp.Stop()
		return nil, err
	}
	if err := cp.startEtcd(); err != nil {
		cp.Stop()
		return nil, err
	}
	cp.extraFlags = opts.ExtraAPIServerFlags
	if err := cp.startAPIServer(cp.extraFlags); err != nil {
		cp.Stop()
		return nil, err
	}
	if opts.SimulateNodes {
		if cp.stopNodes, err = StartNodeSimulator(context.Background(), cp.Config); err != nil {
			cp.Stop()
			return nil, fmt.Errorf("node simulator: %w", err)
		}
	}
	return cp, nil
}

func (cp *ControlPlane) startEtcd() error {
	clientURL, stop, err := StartEtcd(cp.dir, "")
	if err != nil {
		return err
	}
	cp.stopEtcd = stop
	cp.storage = storagebackend.NewDefaultConfig("/registry", nil)
	cp.storage.Transport.ServerList = []string{clientURL}
	return nil
}

func (cp *ControlPlane) startAPIServer(extraFlags []string) error {
	opts := apiservertesting.NewDefaultTestServerOptions()
	// The invariant check scrapes apiserver metrics at teardown and reports through the
	// TB; it is for upstream's own apiserver tests, not ours.
	opts.DisableInvariantChecks = true
	// Client certificates and the front-proxy are for aggregated API servers, which the
	// harness has none of; clients authenticate with the harness's token. (With them on,
	// the peer proxy expects a serving certificate the test server generated itself, and
	// the harness brings its own so that it survives a restart.)
	opts.EnableCertAuth = false
	flags := append(append(append([]string{}, apiServerFlags...), cp.endpoint.flags...), extraFlags...)
	server, err := apiservertesting.StartTestServer(cp.tb, opts, flags, cp.storage)
	if err != nil {
		return fmt.Errorf("start kube-apiserver: %w", err)
	}
	cp.apiserver = &server
	u, err := url.Parse(server.ClientConfig.Host)
	if err != nil {
		return err
	}
	cp.endpoint.setBackend(u.Host)
	cp.Config = &rest.Config{
		Host:            cp.endpoint.URL(),
		BearerToken:     cp.endpoint.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.endpoint.certPEM},
		QPS:             1000,
		Burst:           10000,
	}
	cp.Client, err = kubernetes.NewForConfig(cp.Config)
	return err
}

// StopAPIServer stops the API server; etcd keeps running. Clients see connection
// errors until StartAPIServer.
func (cp *ControlPlane) StopAPIServer() {
	cp.endpoint.setBackend("")
	cp.apiserver.TearDownFn()
	cp.apiserver = nil
}

// StartAPIServer starts a new API server on the same etcd after StopAPIServer. Every
// object survives, and Config, Client and written kubeconfigs keep working: the address,
// serving certificate and admin token are the harness's, not the server's.
func (cp *ControlPlane) StartAPIServer() error {
	return cp.startAPIServer(cp.extraFlags)
}

// Stop tears down the API server and etcd and removes their files. Safe to call twice.
func (cp *ControlPlane) Stop() {
	cp.stopOnce.Do(func() {
		if cp.stopNodes != nil {
			cp.stopNodes() // before the API server it talks to
		}
		if cp.apiserver != nil {
			cp.apiserver.TearDownFn()
		}
		if cp.endpoint != nil {
			cp.endpoint.close()
		}
		if cp.stopEtcd != nil {
			cp.stopEtcd()
		}
		cp.tb.runCleanups()
		os.RemoveAll(cp.dir)
	})
}

// Dir is a scratch directory that lives as long as the control plane.
func (cp *ControlPlane) Dir() string { return cp.dir }

// WriteKubeconfig writes a kubeconfig for Config to path, for processes (berth-scheduler,
// kubectl) that reach the API server from outside this process.
func (cp *ControlPlane) WriteKubeconfig(path string) error {
	return WriteKubeconfig(cp.Config, path)
}

// WriteKubeconfig writes a kubeconfig file that reaches cfg's server with cfg's
// credentials.
func WriteKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["berth"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
		InsecureSkipTLSVerify:    cfg.Insecure,
		TLSServerName:            cfg.ServerName,
	}
	kc.AuthInfos["berth"] = &clientcmdapi.AuthInfo{
		Token:                 cfg.BearerToken,
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Impersonate:           cfg.Impersonate.UserName,
		ImpersonateGroups:     cfg.Impersonate.Groups,
	}
	kc.Contexts["berth"] = &clientcmdapi.Context{Cluster: "berth", AuthInfo: "berth"}
	kc.CurrentContext = "berth"
	return clientcmd.WriteToFile(*kc, path)
}

// WithTimeout is a context for one test step.
func WithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
