package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeBinary writes content to a file with the given mode and modification time, as a
// build machine might leave it.
func fakeBinary(t *testing.T, content string, mode os.FileMode, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "berth-scheduler")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is filtered by umask
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

type entry struct {
	Name    string
	Type    byte
	Mode    int64
	UID     int
	GID     int
	ModTime time.Time
	Body    string
}

func readTar(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.UTC(), string(body)})
	}
}

func TestLayerHoldsOnlyTheBinaryAndItsDirectoriesWithFixedHeaders(t *testing.T) {
	created := time.Unix(1700000000, 0).UTC()
	bin := fakeBinary(t, "ELF...", 0o700, time.Now())
	got, err := layerTar(bin, "/usr/local/bin/berth-scheduler", created)
	if err != nil {
		t.Fatal(err)
	}
	want := []entry{
		{"usr/", tar.TypeDir, 0o755, 0, 0, created, ""},
		{"usr/local/", tar.TypeDir, 0o755, 0, 0, created, ""},
		{"usr/local/bin/", tar.TypeDir, 0o755, 0, 0, created, ""},
		{"usr/local/bin/berth-scheduler", tar.TypeReg, 0o755, 0, 0, created, "ELF..."},
	}
	if diff := cmp.Diff(want, readTar(t, got)); diff != "" {
		t.Errorf("layer (-want +got):\n%s", diff)
	}
}

func TestLayerBytesDependOnlyOnTheBinaryContentAndCreated(t *testing.T) {
	created := time.Unix(0, 0)
	a := fakeBinary(t, "same bytes", 0o755, time.Unix(1, 0))
	b := fakeBinary(t, "same bytes", 0o700, time.Now()) // other mode, mtime, path
	la, err := layerTar(a, "/usr/local/bin/berth-scheduler", created)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := layerTar(b, "/usr/local/bin/berth-scheduler", created)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(la, lb) {
		t.Errorf("two binaries with the same content gave different layers")
	}
	c := fakeBinary(t, "other bytes", 0o755, time.Unix(1, 0))
	lc, err := layerTar(c, "/usr/local/bin/berth-scheduler", created)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(la, lc) {
		t.Errorf("two different binaries gave the same layer")
	}
}

func TestLayerRejectsABadEntrypointOrBinary(t *testing.T) {
	bin := fakeBinary(t, "x", 0o755, time.Now())
	for _, tc := range []struct{ name, binary, entrypoint string }{
		{"relative entrypoint", bin, "usr/local/bin/berth-scheduler"},
		{"unclean entrypoint", bin, "/usr/local/../bin/berth-scheduler"},
		{"root as entrypoint", bin, "/"},
		{"missing binary", filepath.Join(t.TempDir(), "absent"), "/berth-scheduler"},
		{"directory as binary", t.TempDir(), "/berth-scheduler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := layerTar(tc.binary, tc.entrypoint, time.Unix(0, 0)); err == nil {
				t.Errorf("layerTar(%q, %q) succeeded, want an error", tc.binary, tc.entrypoint)
			}
		})
	}
}
