package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"
)

// layerTar is the image's only layer, uncompressed: the directories leading to
// entrypoint and the binary at entrypoint, nothing else (no shell, no libc, no CA
// bundle, no /tmp; docs/operations.md says why none is needed). Every header is fixed,
// whatever the file's owner, mode and times on the build machine (uid/gid 0 so the
// non-root user cannot replace the binary, 0755, mtime = created), and entries come
// in one order, so the same binary always gives the same bytes and so the same digest.
func layerTar(binary, entrypoint string, created time.Time) ([]byte, error) {
	if !path.IsAbs(entrypoint) || path.Clean(entrypoint) != entrypoint || entrypoint == "/" {
		return nil, fmt.Errorf("entrypoint %q: want a clean absolute file path, e.g. /usr/local/bin/berth-scheduler", entrypoint)
	}
	f, err := os.Open(binary)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", binary)
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	header := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{
			Typeflag: typ,
			Name:     name,
			Mode:     mode,
			Size:     size,
			ModTime:  created,
			Format:   tar.FormatUSTAR, // no PAX records: nothing host-specific can slip in
		}
	}
	// Parents first, as a runtime extracting the layer expects: usr/, usr/local/, ...
	rel := strings.TrimPrefix(entrypoint, "/")
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/") + "/"
		if err := tw.WriteHeader(header(dir, tar.TypeDir, 0o755, 0)); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(header(rel, tar.TypeReg, 0o755, info.Size())); err != nil {
		return nil, err
	}
	if n, err := io.Copy(tw, f); err != nil {
		return nil, err
	} else if n != info.Size() {
		return nil, fmt.Errorf("%s changed while it was read", binary)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
