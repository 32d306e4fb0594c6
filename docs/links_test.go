package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestLinksResolve walks every Markdown file of the repository and fails
// on a relative link whose file, or whose #heading, does not exist, or
// that leaves the repository.
func TestLinksResolve(t *testing.T) {
	repo := os.DirFS("..")
	var files []string
	err := fs.WalkDir(repo, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "bin") {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"README.md", "docs/architecture.md", "docs/operations.md", "docs/api.md",
		"docs/money.md", "docs/ledger.md", "docs/security.md"} {
		if !slices.Contains(files, must) {
			t.Errorf("%s is missing", must)
		}
	}
	for _, problem := range checkLinks(repo, files) {
		t.Error(problem)
	}
}

// TestCheckLinks shows the checker catches each kind of bad link and lets
// the good ones through.
func TestCheckLinks(t *testing.T) {
	repo := fstest.MapFS{
		"README.md": {Data: []byte("# Box office\n\n" +
			"[ok](docs/a.md) [ok](docs/a.md#the-hold-path) [ok](#box-office) [ok](https://example.com/x.md)\n" +
			"[ok](docs/) `[not a link](nowhere.md)`\n" +
			"```\n[not a link](nowhere.md)\n```\n" +
			"[gone](docs/gone.md) [bad heading](docs/a.md#no-such) [out](../elsewhere/x.md) [abs](/docs/a.md)\n" +
			"[ref]: docs/missing.md\n")},
		"docs/a.md": {Data: []byte("# A\n\n## The `hold` path\n\n[up](../README.md#box-office) [self](#a)\n")},
	}
	got := checkLinks(repo, []string{"README.md", "docs/a.md"})
	want := []string{
		"README.md:8: docs/gone.md: no such file",
		"README.md:8: docs/a.md#no-such: no heading with that anchor in docs/a.md",
		"README.md:8: ../elsewhere/x.md: points outside the repository",
		"README.md:8: /docs/a.md: absolute path; link relative to the file",
		"README.md:9: docs/missing.md: no such file",
	}
	if !slices.Equal(got, want) {
		t.Errorf("checkLinks:\n got %q\nwant %q", got, want)
	}
}

var (
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
	heading    = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	scheme     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// checkLinks returns one line per bad link in files (paths in repo).
func checkLinks(repo fs.FS, files []string) []string {
	var problems []string
	anchors := map[string][]string{}
	anchorsOf := func(file string) []string {
		if a, ok := anchors[file]; ok {
			return a
		}
		a := headingAnchors(repo, file)
		anchors[file] = a
		return a
	}
	for _, file := range files {
		data, err := fs.ReadFile(repo, file)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		forEachLine(data, func(n int, line string) {
			var targets []string
			line = codeSpan.ReplaceAllString(line, "")
			for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
				targets = append(targets, m[1])
			}
			if m := refLink.FindStringSubmatch(line); m != nil {
				targets = append(targets, m[1])
			}
			for _, target := range targets {
				if why := checkTarget(repo, file, target, anchorsOf); why != "" {
					problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", file, n, target, why))
				}
			}
		})
	}
	return problems
}

func checkTarget(repo fs.FS, file, target string, anchorsOf func(string) []string) string {
	if scheme.MatchString(target) {
		return "" // a URL: not a file of ours
	}
	if strings.HasPrefix(target, "/") {
		return "absolute path; link relative to the file"
	}
	p, frag, _ := strings.Cut(target, "#")
	dest := file
	if p != "" {
		dest = path.Join(path.Dir(file), p)
	}
	if dest == ".." || strings.HasPrefix(dest, "../") {
		return "points outside the repository"
	}
	if _, err := fs.Stat(repo, dest); err != nil {
		return "no such file"
	}
	if frag != "" && strings.HasSuffix(dest, ".md") && !slices.Contains(anchorsOf(dest), frag) {
		return "no heading with that anchor in " + dest
	}
	return ""
}

// headingAnchors lists the anchors GitHub makes for a file's headings; a
// repeated heading gets -1, -2, ... after its first use.
func headingAnchors(repo fs.FS, file string) []string {
	data, err := fs.ReadFile(repo, file)
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]int{}
	forEachLine(data, func(_ int, line string) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			return
		}
		a := Slug(m[1])
		if n := seen[a]; n > 0 {
			seen[a]++
			a = fmt.Sprintf("%s-%d", a, n)
		} else {
			seen[a] = 1
		}
		out = append(out, a)
	})
	return out
}

// forEachLine calls fn with each line outside fenced code blocks and its
// 1-based number.
func forEachLine(data []byte, fn func(n int, line string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	fence := ""
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")) {
			fence = trimmed[:3]
			continue
		}
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		fn(n, line)
	}
}
