package docs

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestNoOutsideDocuments fails when a file of the repository refers to a
// design document that is not in it: the repository's own docs/ pages say
// what those once said. (The pattern is assembled so this file does not
// match itself.)
func TestNoOutsideDocuments(t *testing.T) {
	outside := regexp.MustCompile(`\b(` + "DESIGN" + `|` + "API" + `)\.md\b|\.\./` + "shared")
	repo := os.DirFS("..")
	err := fs.WalkDir(repo, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "bin") {
				return fs.SkipDir
			}
			return nil
		}
		data, err := fs.ReadFile(repo, p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d refers to %s, which is not in the repository: point at a page of docs/ instead", p, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
