package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeTestArchive builds the test image and writes its archive to a file.
func writeTestArchive(t *testing.T) (v1.Image, string) {
	t.Helper()
	spec := testSpec(t, fakeBinary(t, "binary", 0o755, time.Now()))
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteArchive(&buf, img, name.MustParseReference("berth-scheduler:v0.1.0-test").(name.Tag), spec.Created); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return img, p
}

// untar extracts the archive into a new directory, as `tar -xf` would.
func untar(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("entry %q escapes the archive", h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// extractedLayout writes the test image's archive, extracts it as `tar -xf` would and
// opens it as an OCI image layout; it returns the layout and the built image's digest.
func extractedLayout(t *testing.T) (v1.ImageIndex, v1.Hash) {
	t.Helper()
	img, archive := writeTestArchive(t)
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(untar(t, archive))
	if err != nil {
		t.Fatal(err)
	}
	return idx, want
}

func TestArchiveIsAnOCILayoutWithTheImageDigest(t *testing.T) {
	idx, want := extractedLayout(t)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != want {
		t.Fatalf("index.json lists %+v, want the one image %s", im.Manifests, want)
	}
	d := im.Manifests[0]
	if got := d.Annotations[annotationContainerdName]; got != "index.docker.io/library/berth-scheduler:v0.1.0-test" {
		t.Errorf("%s = %q", annotationContainerdName, got)
	}
	if got := d.Annotations[annotationRefName]; got != "v0.1.0-test" {
		t.Errorf("%s = %q", annotationRefName, got)
	}
	if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != "amd64" {
		t.Errorf("platform %+v, want linux/amd64", d.Platform)
	}
	// Every blob is there and matches its digest (layout.Image reads them back).
	read, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := read.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := l.Digest(); got != d {
			t.Errorf("layer blob hashes to %s, manifest says %s", got, d)
		}
	}
}

// `docker load` and `crane push FILE` read manifest.json: the same config and layers.
func TestArchiveIsADockerSaveArchiveOfTheSameConfigAndLayers(t *testing.T) {
	img, archive := writeTestArchive(t)
	tag := name.MustParseReference("berth-scheduler:v0.1.0-test").(name.Tag)
	loaded, err := tarball.ImageFromPath(archive, &tag)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range []struct {
		what string
		get  func(v1.Image) (v1.Hash, error)
	}{
		{"config", func(i v1.Image) (v1.Hash, error) { return i.ConfigName() }},
		{"layer", func(i v1.Image) (v1.Hash, error) {
			ls, err := i.Layers()
			if err != nil || len(ls) != 1 {
				return v1.Hash{}, errors.Join(err, errors.New("want one layer"))
			}
			return ls[0].Digest()
		}},
	} {
		want, err := pair.get(img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pair.get(loaded)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("manifest.json's %s is %s, want %s", pair.what, got, want)
		}
	}
}

// crane push DIR (DIR = the extracted archive) is layout.ImageIndexFromPath + remote.Write:
// the registry stores the very manifest, so a digest pinned from `make image` holds.
func TestPushingTheExtractedLayoutKeepsTheDigest(t *testing.T) {
	idx, want := extractedLayout(t)
	fromLayout, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(u.Host + "/berth/berth-scheduler:v0.1.0-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, fromLayout); err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != want {
		t.Errorf("registry holds %s, make image printed %s", desc.Digest, want)
	}
}

func TestArchiveBytesAreReproducible(t *testing.T) {
	_, a := writeTestArchive(t)
	_, b := writeTestArchive(t)
	ba, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ba, bb) {
		t.Errorf("two archives of the same inputs differ")
	}
}
