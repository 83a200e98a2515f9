package localcluster

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
)

// stableEndpoint is what clients of the local API server see: one loopback address, one
// serving certificate and one admin token that survive an API server restart, the way a
// load balancer address and a cluster CA outlive any one kube-apiserver process of a
// real control plane. The address is a plain TCP forwarder (TLS passes through
// untouched) to whichever API server currently runs.
//
// The CA that signed the serving certificate is also the API server's client CA and
// request-header CA, so that the API server publishes, as a kubeadm-built one does, a
// complete kube-system/extension-apiserver-authentication configmap. Components that
// delegate authentication to the API server (berth-scheduler's secure port) read it, and
// log an error every minute while it is missing. The CA's key is not kept: no client
// certificate can be issued, so the two flags admit nobody; clients use the token.
type stableEndpoint struct {
	listener net.Listener
	certPEM  []byte // serving cert followed by the CA that signed it
	token    string

	// flags make an API server serve the certificate and accept the token.
	flags []string

	mu      sync.Mutex
	backend string
	conns   map[net.Conn]struct{}
}

func newStableEndpoint(dir string) (*stableEndpoint, error) {
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	// GenerateSelfSignedCertKey returns the serving certificate followed by its CA.
	caPEM, err := lastPEMBlock(certPEM)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	certFile, keyFile, caFile, tokenFile := filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key"), filepath.Join(dir, "ca.crt"), filepath.Join(dir, "tokens.csv")
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(raw)
	for path, data := range map[string][]byte{
		certFile:  certPEM,
		keyFile:   keyPEM,
		caFile:    caPEM,
		tokenFile: []byte(token + ",berth-admin,berth-admin,system:masters\n"),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &stableEndpoint{
		listener: l,
		certPEM:  certPEM,
		token:    token,
		flags: []string{
			"--tls-cert-file=" + certFile,
			"--tls-private-key-file=" + keyFile,
			"--token-auth-file=" + tokenFile,
			"--client-ca-file=" + caFile,
			"--requestheader-client-ca-file=" + caFile,
			// The names and headers kubeadm configures for the front proxy. With the
			// client CA the same as the request-header CA, the API server requires
			// allowed names, so that a client certificate cannot assert other users.
			"--requestheader-allowed-names=front-proxy-client",
			"--requestheader-username-headers=X-Remote-User",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		},
		conns: map[net.Conn]struct{}{},
	}
	go e.serve()
	return e, nil
}

// URL is the address clients use.
func (e *stableEndpoint) URL() string { return "https://" + e.listener.Addr().String() }

// clientConfig reaches the endpoint as cluster admin.
func (e *stableEndpoint) clientConfig() *rest.Config {
	return &rest.Config{
		Host:            e.URL(),
		BearerToken:     e.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: e.certPEM},
		QPS:             1000,
		Burst:           10000,
	}
}

// lastPEMBlock is the last PEM block of data, re-encoded.
func lastPEMBlock(data []byte) ([]byte, error) {
	var last *pem.Block
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		last = block
	}
	if last == nil {
		return nil, errors.New("no PEM block")
	}
	return pem.EncodeToMemory(last), nil
}

// setBackend points new connections at addr (host:port) and drops the open ones, which
// belong to the previous API server.
func (e *stableEndpoint) setBackend(addr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.backend = addr
	for c := range e.conns {
		c.Close()
	}
}

func (e *stableEndpoint) close() {
	e.listener.Close()
	e.setBackend("")
}

func (e *stableEndpoint) serve() {
	for {
		client, err := e.listener.Accept()
		if err != nil {
			return // listener closed
		}
		go e.forward(client)
	}
}

func (e *stableEndpoint) forward(client net.Conn) {
	e.mu.Lock()
	backend := e.backend
	e.mu.Unlock()
	if backend == "" {
		client.Close()
		return
	}
	server, err := net.Dial("tcp", backend)
	if err != nil {
		client.Close()
		return
	}
	e.track(client, server)
	defer e.untrack(client, server)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	<-done
}

func (e *stableEndpoint) track(conns ...net.Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range conns {
		e.conns[c] = struct{}{}
	}
}

func (e *stableEndpoint) untrack(conns ...net.Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range conns {
		delete(e.conns, c)
	}
}
