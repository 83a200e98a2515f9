package localcluster

import (
	"crypto/rand"
	"encoding/hex"
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
	certFile, keyFile, tokenFile := filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key"), filepath.Join(dir, "tokens.csv")
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(raw)
	for path, data := range map[string][]byte{
		certFile:  certPEM,
		keyFile:   keyPEM,
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
