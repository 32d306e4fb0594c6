package realtime

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNoDomain: realtime knows topics and bytes; it imports no other
// Boxoffice package (seatmap, waitingroom, salestats, server, ...), so no
// domain type can creep back in. Tests may use internal/testkit.
func TestImportsNoDomain(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, "github.com/boxoffice/boxoffice/") {
				continue
			}
			if strings.HasSuffix(name, "_test.go") && (path == "github.com/boxoffice/boxoffice/internal/testkit" ||
				path == "github.com/boxoffice/boxoffice/realtime") {
				continue // the test kit, and realtime itself from an external test
			}
			t.Errorf("%s imports %s", name, path)
		}
	}
}
