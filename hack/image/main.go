// Command image builds berth's container image without a container engine: the static
// binary on an empty base, as an OCI image, written to a tar that `docker load`,
// containerd, skopeo and crane read (see WriteArchive). Same binary and flags, same
// digest: the only timestamp is --created (SOURCE_DATE_EPOCH) and every tar header is
// fixed. `make image` runs it; docs/operations.md describes the result.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// OCI annotation keys used as image labels
// (https://github.com/opencontainers/image-spec/blob/main/annotations.md), and berth's
// own for the Kubernetes release it embeds.
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelSource      = "org.opencontainers.image.source"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelCreated     = "org.opencontainers.image.created"
	LabelKubeVersion = "io.berth.kube-scheduler.version"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	var (
		binary      = fs.String("binary", "", "static linux executable to put in the image (required)")
		out         = fs.String("out", "", "tar file to write (required)")
		ref         = fs.String("tag", "", "image name and tag recorded in the archive, e.g. berth-scheduler:v0.1.0 (required)")
		entrypoint  = fs.String("entrypoint", "", "path of the binary in the image (default /usr/local/bin/<binary's name>)")
		arch        = fs.String("arch", "", "GOARCH the binary was built for (required)")
		version     = fs.String("version", "", "berth's version, label "+LabelVersion+" (required)")
		kubeVersion = fs.String("kube-version", "", "Kubernetes version the binary embeds, label "+LabelKubeVersion+" (required)")
		revision    = fs.String("revision", "", "source commit, label "+LabelRevision+" (omitted when empty)")
		source      = fs.String("source", "https://github.com/berth-sched/berth", "source repository, label "+LabelSource)
		description = fs.String("description", "berth: kube-scheduler with priority- and QoS-aware plugins, run as a second scheduler", "label "+LabelDescription)
		ports       = fs.String("expose", "10259/tcp", "comma-separated ports the program serves, recorded in the config")
		epoch       = fs.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time in seconds since the epoch, the image's only timestamp (default $SOURCE_DATE_EPOCH, else 0)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	for flagName, v := range map[string]string{"binary": *binary, "out": *out, "tag": *ref, "arch": *arch, "version": *version, "kube-version": *kubeVersion} {
		if v == "" {
			return fmt.Errorf("--%s is required", flagName)
		}
	}
	tag, err := name.NewTag(*ref)
	if err != nil {
		return fmt.Errorf("--tag: %w", err)
	}
	created := time.Unix(0, 0).UTC()
	if *epoch != "" {
		sec, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil || sec < 0 {
			return fmt.Errorf("--created (SOURCE_DATE_EPOCH) %q: want seconds since the epoch, >= 0", *epoch)
		}
		created = time.Unix(sec, 0).UTC()
	}
	if *entrypoint == "" {
		*entrypoint = "/usr/local/bin/" + filepath.Base(*binary)
	}
	title := filepath.Base(*entrypoint)
	labels := map[string]string{
		LabelTitle:       title,
		LabelDescription: *description,
		LabelSource:      *source,
		LabelVersion:     *version,
		LabelCreated:     created.Format(time.RFC3339),
		LabelKubeVersion: *kubeVersion,
	}
	if *revision != "" {
		labels[LabelRevision] = *revision
	}
	var exposed []string
	for _, p := range strings.Split(*ports, ",") {
		if p = strings.TrimSpace(p); p != "" {
			exposed = append(exposed, p)
		}
	}

	img, err := Build(Spec{
		Binary: *binary, Entrypoint: *entrypoint, OS: "linux", Arch: *arch,
		Created: created, Labels: labels, ExposedPorts: exposed,
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := WriteArchive(w, img, tag, created); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s@%s linux/%s %d bytes\n", *out, tag.String(), digest, *arch, info.Size())
	return nil
}
