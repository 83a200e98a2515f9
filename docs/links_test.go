// Package docs holds berth's documentation; its test keeps every reference in it
// pointing at something that exists.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// markdownLink is a link target: [text](target).
	markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// fileMention is a path in running text or code: docs/simulator.md,
	// `manifests/base/scheduler-config.yaml`.
	fileMention = regexp.MustCompile(`([A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)+\.(?:md|ya?ml|go|json|csv|svg))`)
)

// TestDocumentReferencesResolve checks every relative link and every repository file
// named in README.md and docs/*.md: a reader who follows one finds the file.
// Links to other sites are not fetched (no network in CI); files that commands create
// (under bin/, results directories, a reader's own files) are not repository paths.
func TestDocumentReferencesResolve(t *testing.T) {
	root := ".."
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, filepath.Join(root, "README.md"))
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(doc)
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
				target, _, _ := strings.Cut(m[1], "#")
				if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				if _, err := os.Stat(filepath.Join(dir, target)); err != nil {
					t.Errorf("%s:%d: link to %s, which does not exist", doc, i+1, m[1])
				}
			}
			for _, m := range fileMention.FindAllStringSubmatch(line, -1) {
				path := m[1]
				if !repositoryPath(path) {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, path)); err != nil {
					t.Errorf("%s:%d: names %s, which does not exist", doc, i+1, path)
				}
			}
		}
	}
}

// repositoryPath tells a path of this repository (it starts with one of its top-level
// directories) from an example path of a reader's (results/, my-config.yaml).
func repositoryPath(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	switch first {
	case "bin", "":
		return false
	}
	info, err := os.Stat(filepath.Join("..", first))
	return err == nil && info.IsDir()
}
