package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func testSpec(t *testing.T, binary string) Spec {
	t.Helper()
	return Spec{
		Binary:       binary,
		Entrypoint:   "/usr/local/bin/berth-scheduler",
		OS:           "linux",
		Arch:         "amd64",
		Created:      time.Unix(1700000000, 0),
		Labels:       map[string]string{LabelVersion: "v0.1.0-test", LabelKubeVersion: "v1.37.2"},
		ExposedPorts: []string{"10259/tcp"},
	}
}

func TestBuildGivesTheSameDigestForTheSameInputs(t *testing.T) {
	spec := testSpec(t, fakeBinary(t, "binary", 0o755, time.Now()))
	digest := func(s Spec) v1.Hash {
		img, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := digest(spec)
	// Another copy of the binary, touched later: the same image.
	spec.Binary = fakeBinary(t, "binary", 0o755, time.Now().Add(time.Hour))
	if again := digest(spec); again != first {
		t.Errorf("rebuild gave %s, first build %s", again, first)
	}
	// Every input that should matter does.
	for name, change := range map[string]func(*Spec){
		"binary":  func(s *Spec) { s.Binary = fakeBinary(t, "other", 0o755, time.Now()) },
		"created": func(s *Spec) { s.Created = s.Created.Add(time.Second) },
		"label":   func(s *Spec) { s.Labels = map[string]string{LabelVersion: "v0.2.0"} },
		"arch":    func(s *Spec) { s.Arch = "arm64" },
	} {
		s := spec
		change(&s)
		if digest(s) == first {
			t.Errorf("changing the %s left the digest unchanged", name)
		}
	}
}

func TestBuildDescribesANonRootOCIImageOnAnEmptyBase(t *testing.T) {
	spec := testSpec(t, fakeBinary(t, "binary", 0o755, time.Now()))
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s, config %s: want OCI media types", m.MediaType, m.Config.MediaType)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("layers %+v: want one gzip OCI layer (no base image)", m.Layers)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	created := v1.Time{Time: spec.Created.UTC()}
	want := &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      created,
		History: []v1.History{{
			Created:   created,
			CreatedBy: "hack/image: COPY /usr/local/bin/berth-scheduler",
			Comment:   "the static binary; no base image",
		}},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: cf.RootFS.DiffIDs},
		Config: v1.Config{
			Entrypoint:   []string{"/usr/local/bin/berth-scheduler"},
			User:         "65532:65532",
			WorkingDir:   "/",
			Labels:       spec.Labels,
			ExposedPorts: map[string]struct{}{"10259/tcp": {}},
		},
	}
	if diff := cmp.Diff(want, cf); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("diff_ids %v, want one", cf.RootFS.DiffIDs)
	}
}
