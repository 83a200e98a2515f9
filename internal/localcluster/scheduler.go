package localcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	configv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/yaml"
)

// RenderSchedulerConfig reads a KubeSchedulerConfiguration (YAML), points its client
// connection at kubeconfig, applies mutate (may be nil) and writes the result to
// dir/scheduler-config.yaml. It is how berth-local and the tests run the shipped
// configuration against a local cluster.
func RenderSchedulerConfig(base []byte, dir, kubeconfig string, mutate func(*SchedulerConfig)) (string, error) {
	var cfg configv1.KubeSchedulerConfiguration
	if err := yaml.UnmarshalStrict(base, &cfg); err != nil {
		return "", fmt.Errorf("scheduler configuration: %w", err)
	}
	cfg.ClientConnection.Kubeconfig = kubeconfig
	if mutate != nil {
		mutate(&cfg)
	}
	out, err := yaml.Marshal(&cfg)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "scheduler-config.yaml")
	return path, os.WriteFile(path, out, 0o600)
}

// SchedulerConfig is the versioned (v1) KubeSchedulerConfiguration that
// RenderSchedulerConfig lets a caller edit.
type SchedulerConfig = configv1.KubeSchedulerConfiguration

// SchedulerProcess is a berth-scheduler binary running as its own process.
type SchedulerProcess struct {
	Cmd *exec.Cmd
	// SecurePort serves /livez, /readyz and /metrics over HTTPS on 127.0.0.1.
	SecurePort int
	// LogPath holds the process's stderr and stdout.
	LogPath string

	done chan struct{}
}

// RunScheduler starts binary with --config=configPath, serving /livez, /readyz and
// /metrics on a free loopback port and delegating the authentication and authorization
// of their callers to the cluster (its kubeconfig). args are appended, so they may also
// override those flags (e.g. "--authentication-kubeconfig=" another identity's, "-v=4").
// The process writes its log to a new berth-scheduler-*.log in Dir.
func (c *Cluster) RunScheduler(binary, configPath string, args ...string) (*SchedulerProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp(c.dir, "berth-scheduler-*.log")
	if err != nil {
		return nil, err
	}
	args = append([]string{
		"--config=" + configPath,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--authentication-kubeconfig=" + c.kubeconfig,
		"--authorization-kubeconfig=" + c.kubeconfig,
	}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &SchedulerProcess{Cmd: cmd, SecurePort: port, LogPath: logFile.Name(), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status stays in Cmd.ProcessState
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited is closed when the process has ended.
func (p *SchedulerProcess) Exited() <-chan struct{} { return p.done }

// ExitCode is the process's exit code once Exited is closed (-1 if killed by a signal).
func (p *SchedulerProcess) ExitCode() int { return p.Cmd.ProcessState.ExitCode() }

// Signal sends sig to the process.
func (p *SchedulerProcess) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Stop sends SIGTERM and waits up to timeout for the process to exit, then kills it.
// It reports whether the process exited on its own in time.
func (p *SchedulerProcess) Stop(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		_ = p.Cmd.Process.Kill()
		<-p.done
		return false
	}
}

// Log returns what the process has written so far.
func (p *SchedulerProcess) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Get fetches path from the secure port. The serving certificate is self-signed, so it
// is not verified; token (may be empty) is sent as a bearer token. It returns the status
// code and the body.
func (p *SchedulerProcess) Get(ctx context.Context, path, token string) (int, string, error) {
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed serving cert of a local process
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d%s", p.SecurePort, path), nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
