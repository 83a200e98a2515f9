// Package localcluster runs a Kubernetes control plane inside this process, on loopback,
// for a program or test that needs a real API server but has no cluster: embedded etcd,
// upstream's kube-apiserver behind an address that survives its restarts, KWOK's
// simulated kubelets, and berth-scheduler binaries as child processes.
//
// cmd/berth-local (`make run`) is built on it; test/harness adds what only tests use
// (object builders, waits, the in-process scheduler) on top of it. Nothing here imports
// a berth test package.
package localcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// File names in Options.Dir.
const (
	// KubeconfigFile reaches the API server as cluster admin; Start writes it once.
	KubeconfigFile = "kubeconfig"
	// LogFile receives the control plane's logs unless Options.LogOutput is set.
	LogFile = "controlplane.log"
)

// Options configure Start. The zero value is a cluster without simulated nodes, its
// files in a new temporary directory.
type Options struct {
	// Dir receives what a user may read: the kubeconfig, the control plane's log and
	// each scheduler's configuration and log. It is created if missing and left in place
	// by Stop. Empty means a new temporary directory (see Cluster.Dir).
	Dir string
	// LogOutput receives the control plane's logs: the API server's and everything else
	// that logs through klog in this process (klog's output is process-wide, so the
	// cluster started last gets it). Nil means Dir/controlplane.log. etcd logs to a
	// scratch directory that Stop removes.
	LogOutput io.Writer
	// SimulateNodes runs the KWOK node simulator for the cluster's lifetime, so nodes
	// made with Node become Ready and their pods run and terminate as with kubelets.
	// One simulator per cluster: two would both act on every node.
	SimulateNodes bool
	// ExtraAPIServerFlags are appended to the kube-apiserver flags.
	ExtraAPIServerFlags []string
}

// Cluster is an embedded etcd plus a kube-apiserver serving on 127.0.0.1, and the node
// simulator if asked for.
type Cluster struct {
	// Config reaches the API server as a cluster admin (system:masters), through an
	// address, certificate and token that stay the same across API server restarts.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface

	dir        string
	kubeconfig string
	logOutput  io.Writer
	logFile    *os.File // the log Start opened, if it did
	// scratch holds etcd's data, the endpoint's certificate and token: nothing a user
	// reads, and nothing that must outlive the cluster.
	scratch    string
	endpoint   *stableEndpoint
	stopEtcd   func()
	storage    *storagebackend.Config
	apiserver  *apiServer
	extraFlags []string
	clients    *clients
	stopNodes  func()
	stopOnce   sync.Once
}

// Start starts etcd and the API server, waits until the API server is healthy, has
// created the default namespace and published its authentication configuration, starts
// the node simulator if asked, and writes the kubeconfig. Call Stop when done. On error
// Start has stopped what it started, and the error names the control plane's log.
func Start(opts Options) (_ *Cluster, err error) {
	c := &Cluster{dir: opts.Dir, extraFlags: opts.ExtraAPIServerFlags, logOutput: opts.LogOutput}
	defer func() {
		if err != nil {
			c.Stop()
			if c.logFile != nil {
				err = fmt.Errorf("%w (control plane log: %s)", err, c.logFile.Name())
			}
		}
	}()
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "berth-localcluster-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	if c.logOutput == nil {
		if c.logFile, err = os.Create(filepath.Join(c.dir, LogFile)); err != nil {
			return nil, err
		}
		c.logOutput = c.logFile
	}
	redirectKlog(c.logOutput)
	if c.scratch, err = os.MkdirTemp("", "berth-controlplane-"); err != nil {
		return nil, err
	}
	if c.endpoint, err = newStableEndpoint(c.scratch); err != nil {
		return nil, err
	}
	c.Config = c.endpoint.clientConfig()
	if c.clients, err = newClients(c.Config); err != nil {
		return nil, err
	}
	c.Client = c.clients.typed
	if err := c.startEtcd(); err != nil {
		return nil, err
	}
	if err := c.startAPIServer(); err != nil {
		return nil, err
	}
	if opts.SimulateNodes {
		if c.stopNodes, err = startNodeSimulator(context.Background(), c.Config); err != nil {
			return nil, fmt.Errorf("node simulator: %w", err)
		}
	}
	c.kubeconfig = filepath.Join(c.dir, KubeconfigFile)
	if err := WriteKubeconfig(c.Config, c.kubeconfig); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startEtcd() error {
	clientURL, stop, err := StartEtcd(c.scratch, "")
	if err != nil {
		return err
	}
	c.stopEtcd = stop
	c.storage = storagebackend.NewDefaultConfig("/registry", nil)
	c.storage.Transport.ServerList = []string{clientURL}
	return nil
}

// Stop stops the node simulator, the API server and etcd, in that order, and removes
// their scratch files; Dir stays. Safe to call twice.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		if c.stopNodes != nil {
			c.stopNodes() // before the API server it talks to
		}
		c.StopAPIServer()
		if c.endpoint != nil {
			c.endpoint.close()
		}
		if c.stopEtcd != nil {
			c.stopEtcd()
		}
		if c.scratch != "" {
			os.RemoveAll(c.scratch)
		}
		if c.logFile != nil {
			c.logFile.Close()
		}
	})
}

// Dir is Options.Dir, or the temporary directory Start made; it outlives the cluster.
func (c *Cluster) Dir() string { return c.dir }

// Kubeconfig is the path of the kubeconfig Start wrote: cluster admin, valid across API
// server restarts, for processes (berth-scheduler, kubectl) outside this one.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// AddNodes creates nodes (see Node for ones the simulator manages).
func (c *Cluster) AddNodes(ctx context.Context, nodes ...*v1.Node) error {
	for _, n := range nodes {
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
	}
	return nil
}

// EnsureNamespace creates namespace name unless it exists.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string) error {
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
