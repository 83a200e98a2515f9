package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the numeric uid:gid the image runs as: the conventional "nonroot" of
// distroless images, and what manifests/ and the chart set as runAsUser. Numeric, so
// the runtime needs no /etc/passwd to resolve it and can check runAsNonRoot.
const User = "65532:65532"

// Spec is what one image is built from.
type Spec struct {
	// Binary is the static executable on the build machine.
	Binary string
	// Entrypoint is where it goes in the image, and the image's entrypoint.
	Entrypoint string
	// OS and Arch are the platform the binary was built for.
	OS, Arch string
	// Created is the only timestamp in the image (config, history, every file).
	Created time.Time
	// Labels are the image config's labels (org.opencontainers.image.*).
	Labels map[string]string
	// ExposedPorts are documentation of the ports the program serves, e.g. "10259/tcp".
	ExposedPorts []string
}

// Build assembles the image on an empty base: one layer holding the binary, OCI media
// types, the entrypoint and the non-root user. It is a pure function of the spec and
// the binary's bytes.
func Build(s Spec) (v1.Image, error) {
	layerBytes, err := layerTar(s.Binary, s.Entrypoint, s.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.DefaultCompression), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}

	ports := map[string]struct{}{}
	for _, p := range s.ExposedPorts {
		ports[p] = struct{}{}
	}
	created := v1.Time{Time: s.Created.UTC()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: s.Arch,
		OS:           s.OS,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint:   []string{s.Entrypoint},
			User:         User,
			WorkingDir:   "/",
			Labels:       s.Labels,
			ExposedPorts: ports,
		},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "hack/image: COPY " + s.Entrypoint,
			Comment:   "the static binary; no base image",
		},
	})
}
