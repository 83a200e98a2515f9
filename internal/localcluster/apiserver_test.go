package localcluster

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAPIServerPublishesItsAuthenticationConfigAcrossRestarts checks what components that
// delegate authentication (berth-scheduler's secure port) read: the API server itself
// publishes kube-system/extension-apiserver-authentication with a client CA and the
// request-header settings, and a restarted API server publishes the same.
func TestAPIServerPublishesItsAuthenticationConfigAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	c, err := Start(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	get := func() map[string]string {
		t.Helper()
		cm, err := c.Client.CoreV1().ConfigMaps(authenticationConfigMapNamespace).Get(ctx, authenticationConfigMapName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data
	}
	before := get()
	for _, key := range []string{"client-ca-file", "requestheader-client-ca-file"} {
		block, _ := pem.Decode([]byte(before[key]))
		if block == nil {
			t.Fatalf("%s: no PEM certificate in %q", key, before[key])
		}
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil || !ca.IsCA {
			t.Errorf("%s: not a CA certificate (%v)", key, err)
		}
	}
	for key, want := range map[string]string{
		"requestheader-allowed-names":        `["front-proxy-client"]`,
		"requestheader-username-headers":     `["X-Remote-User"]`,
		"requestheader-group-headers":        `["X-Remote-Group"]`,
		"requestheader-extra-headers-prefix": `["X-Remote-Extra-"]`,
	} {
		if before[key] != want {
			t.Errorf("%s = %q, want %q", key, before[key], want)
		}
	}

	c.StopAPIServer()
	if err := c.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	after := get()
	for key, value := range before {
		if after[key] != value {
			t.Errorf("after a restart %s = %q, was %q", key, after[key], value)
		}
	}
}
