package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/test/harness"
)

// The image's promises, as docs/operations.md states them.
const (
	imageEntrypoint = "/usr/local/bin/berth-scheduler"
	imageUser       = "65532:65532"
	imageUID        = 65532
)

var (
	imageOnce sync.Once
	imagePath string
	imageErr  error
)

// imageArchive is $BERTH_IMAGE (make test builds it), or the archive `make image`
// builds now, so the test checks what the Makefile produces.
func imageArchive(t *testing.T) string {
	t.Helper()
	imageOnce.Do(func() {
		if imagePath = os.Getenv("BERTH_IMAGE"); imagePath != "" {
			return
		}
		imagePath = repoPath("bin", "berth-scheduler-image.tar")
		imageErr = makeImage(imagePath)
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imagePath
}

// makeImage runs `make image` writing the archive to out.
func makeImage(out string) error {
	cmd := exec.Command("make", "-s", "-C", repoPath(), "image", "IMAGE_TAR="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make image: %w\n%s", err, b)
	}
	return nil
}

// openImage extracts the archive as docs/operations.md tells users to before
// `crane push DIR` (tar -xf) and reads it as the OCI image layout it is. It returns the
// image, its entry in index.json and its config.
func openImage(t *testing.T, archive string) (v1.Image, v1.Descriptor, *v1.ConfigFile) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", archive, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf %s: %v\n%s", archive, err, out)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("%s is not an OCI image layout: %v", archive, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].MediaType != types.OCIManifestSchema1 {
		t.Fatalf("index.json lists %+v, want one OCI image manifest", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return img, im.Manifests[0], cf
}

// layerEntries lists the headers of the image's only layer.
func layerEntries(t *testing.T, img v1.Image) []*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1: the binary on an empty base", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var headers []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return headers
		}
		if err != nil {
			t.Fatal(err)
		}
		headers = append(headers, h)
	}
}

// extractRootfs unpacks the image's filesystem into a new directory, owners and modes
// kept, as a container runtime does.
func extractRootfs(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	cmd := exec.Command("tar", "-x", "--same-owner", "-p", "-C", dir)
	cmd.Stdin = rc
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("extract the image's filesystem: %v\n%s", err, out)
	}
	return dir
}

func TestImageIsTheStaticBinaryOnAnEmptyBaseRunningAsNonRoot(t *testing.T) {
	img, desc, cf := openImage(t, imageArchive(t))

	c := cf.Config
	if c.User != imageUser {
		t.Errorf("user %q, want %q (numeric, non-root)", c.User, imageUser)
	}
	if len(c.Entrypoint) != 1 || c.Entrypoint[0] != imageEntrypoint || len(c.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want [%s] and no cmd", c.Entrypoint, c.Cmd, imageEntrypoint)
	}
	if cf.OS != "linux" || desc.Platform == nil || desc.Platform.Architecture != cf.Architecture {
		t.Errorf("config platform %s/%s, index.json platform %+v", cf.OS, cf.Architecture, desc.Platform)
	}
	for _, label := range []string{"org.opencontainers.image.source", "org.opencontainers.image.version", "io.berth.kube-scheduler.version"} {
		if c.Labels[label] == "" {
			t.Errorf("label %s missing; labels %v", label, c.Labels)
		}
	}

	// Exactly the binary and its directories, owned by root so uid 65532 cannot
	// replace it: no shell, no libc, nothing else.
	var names []string
	for _, h := range layerEntries(t, img) {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		base := filepath.Base(h.Name)
		for _, shell := range []string{"sh", "bash", "ash", "dash", "busybox"} {
			if base == shell {
				t.Errorf("the image holds a shell: %s", h.Name)
			}
		}
	}
	want := []string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/berth-scheduler"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("layer holds %q, want exactly %q", names, want)
	}

	root := extractRootfs(t, img)
	bin := filepath.Join(root, imageEntrypoint)
	if f, err := elf.Open(bin); err != nil {
		t.Errorf("entrypoint is not an ELF binary: %v", err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("entrypoint is dynamically linked; the image has no libc (build with CGO_ENABLED=0)")
			}
		}
		f.Close()
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "sh")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("/bin/sh in the image: %v", err)
	}

	// Run the entrypoint as a container would: the image's filesystem as root, the
	// image's user, an empty environment.
	cmd := exec.Command(imageEntrypoint, "--version")
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: imageUID, Gid: imageUID}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version in the image as %s: %v\n%s", imageEntrypoint, imageUser, err, out)
	}
	wantVersion := fmt.Sprintf("berth %s (kube-scheduler %s)", c.Labels["org.opencontainers.image.version"], c.Labels["io.berth.kube-scheduler.version"])
	if got := strings.TrimSpace(string(out)); got != wantVersion {
		t.Errorf("--version printed %q, the labels say %q", got, wantVersion)
	}
}

// The manifests run the image as built: its name, its user, its entrypoint.
func TestManifestsRunTheImageAsBuilt(t *testing.T) {
	_, desc, _ := openImage(t, imageArchive(t))
	objs := decodeObjects(t, kustomizeManifests(t))
	d := objs[objectKey{"Deployment", "berth-system", "berth-scheduler"}]
	if d == nil {
		t.Fatal("manifests/ have no Deployment berth-system/berth-scheduler")
	}
	var deploy appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Object, &deploy); err != nil {
		t.Fatal(err)
	}
	ps := deploy.Spec.Template.Spec
	if ps.SecurityContext == nil || ptr.Deref(ps.SecurityContext.RunAsUser, 0) != imageUID || ptr.Deref(ps.SecurityContext.RunAsGroup, 0) != imageUID {
		t.Errorf("runAsUser/runAsGroup %v/%v, the image's user is %s", ps.SecurityContext.RunAsUser, ps.SecurityContext.RunAsGroup, imageUser)
	}
	c := ps.Containers[0]
	if len(c.Command) != 0 {
		t.Errorf("the container overrides the image's entrypoint with %q", c.Command)
	}
	want, err := name.ParseReference(desc.Annotations["io.containerd.image.name"])
	if err != nil {
		t.Fatalf("index.json's image name: %v", err)
	}
	got, err := name.ParseReference(c.Image)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != want.Name() {
		t.Errorf("manifests/ deploy %s, make image builds %s", got.Name(), want.Name())
	}
}

// docs/operations.md pins the image by digest with a kustomize overlay of manifests/.
func TestKustomizeOverlayPinsTheImageByDigest(t *testing.T) {
	_, desc, _ := openImage(t, imageArchive(t))
	overlay := t.TempDir()
	base, err := filepath.Rel(overlay, repoPath("manifests"))
	if err != nil {
		t.Fatal(err)
	}
	kustomization := fmt.Sprintf("resources:\n- %s\nimages:\n- name: berth-scheduler\n  newName: registry.example.com/berth/berth-scheduler\n  digest: %s\n", base, desc.Digest)
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := harness.Kustomize(overlay)
	if err != nil {
		t.Fatalf("kustomize build of the overlay: %v", err)
	}
	d := decodeObjects(t, out)[objectKey{"Deployment", "berth-system", "berth-scheduler"}]
	if d == nil {
		t.Fatal("the overlay has no Deployment berth-system/berth-scheduler")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	want := "registry.example.com/berth/berth-scheduler@" + desc.Digest.String()
	if got := containers[0].(map[string]any)["image"]; got != want {
		t.Errorf("image %v, want %s", got, want)
	}
}

func TestImageDigestIsReproducible(t *testing.T) {
	first := imageArchive(t)
	again := filepath.Join(t.TempDir(), "again.tar")
	if err := makeImage(again); err != nil {
		t.Fatal(err)
	}
	_, d1, _ := openImage(t, first)
	_, d2, _ := openImage(t, again)
	if d1.Digest != d2.Digest {
		t.Errorf("two builds of the same tree: %s, then %s (unless the tree or HEAD changed in between)", d1.Digest, d2.Digest)
	}
	b1, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("two builds of the same tree wrote different archives")
	}
	t.Logf("image %s, archive %d bytes", d1.Digest, len(b1))
}

// podFiles are what the kubelet mounts into berth-scheduler's container: the
// ConfigMap at /etc/berth and the ServiceAccount's token and CA.
type podFiles struct {
	config                   []byte // scheduler-config.yaml
	token, caCert, namespace []byte
}

// startImageScheduler runs the image's entrypoint the way a kubelet runs the
// Deployment's container: the image's filesystem as root, read-only, user 65532, the
// ConfigMap and the ServiceAccount's credentials mounted where Kubernetes mounts them,
// an environment holding only the in-cluster variables, and args as the Deployment
// gives them. Only the network is the host's, so the API server is at 127.0.0.1.
func startImageScheduler(t *testing.T, img v1.Image, files podFiles, args []string) *localcluster.SchedulerProcess {
	t.Helper()
	root := extractRootfs(t, img)
	api, err := url.Parse(cp.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	for dir, content := range map[string]map[string][]byte{
		"etc/berth": {"scheduler-config.yaml": files.config},
		"var/run/secrets/kubernetes.io/serviceaccount": {"token": files.token, "ca.crt": files.caCert, "namespace": files.namespace},
		"proc": nil,
	} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range content {
			if err := os.WriteFile(filepath.Join(root, dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Private mounts: the root read-only, /proc as a runtime mounts it; then chroot
	// with a clean environment as the image's user.
	chroot, err := exec.LookPath("chroot") // env -i clears PATH
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "in-image")
	script := fmt.Sprintf(`#!/bin/sh
exec unshare --mount --propagation private sh -c '
  root="$0"; shift
  mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" && mount -t proc proc "$root/proc" &&
  exec env -i KUBERNETES_SERVICE_HOST=%s KUBERNETES_SERVICE_PORT=%s %s --userspec=%s "$root" %s "$@"' %s "$@"
`, api.Hostname(), api.Port(), chroot, imageUser, imageEntrypoint, root)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// RunScheduler's own --config and delegation flags name host paths; the
	// Deployment's args and empty delegation kubeconfigs (= in-cluster) come after
	// them and win.
	args = append([]string{"--authentication-kubeconfig=", "--authorization-kubeconfig="}, args...)
	return runScheduler(t, wrapper, "/etc/berth/scheduler-config.yaml", args...)
}

// serviceAccountToken is a token of the ServiceAccount from the TokenRequest API, as
// the kubelet projects it into the pod.
func serviceAccountToken(t *testing.T, ctx context.Context, ns, name string) string {
	t.Helper()
	tr, err := cp.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", ns, name, err)
	}
	return tr.Status.Token
}
