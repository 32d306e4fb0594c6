package server_test

import (
	"io"
	"io/fs"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/web"
)

// TestAPIDocsPage checks the interactive reference at /api/docs: an HTML
// page whose every script and stylesheet is a file the server serves (the
// vendored Swagger UI and our starter), with no inline script or style, so
// it runs under a Content-Security-Policy of 'self'.
func TestAPIDocsPage(t *testing.T) {
	static, err := fs.Sub(web.FS, "static")
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Config{}, server.Deps{Web: static}).App()
	get := func(path string) (int, string, string) {
		t.Helper()
		res, err := app.Test(httptest.NewRequest("GET", path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(body)
	}
	code, ctype, page := get("/api/docs")
	if code != 200 || !strings.HasPrefix(ctype, "text/html") {
		t.Fatalf("GET /api/docs: %d %q", code, ctype)
	}
	if regexp.MustCompile(`<script(\s[^>]*)?>[^<\s]`).MatchString(page) || strings.Contains(page, "<style") || strings.Contains(page, " style=") {
		t.Errorf("the page has inline script or style, which a 'self' CSP refuses:\n%s", page)
	}
	refs := regexp.MustCompile(`<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	want := map[string]bool{"/vendor/swagger-ui/swagger-ui-bundle.js": false, "/vendor/swagger-ui/swagger-ui.css": false, "/js/api-docs.js": false}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("the page loads %s from outside the site", ref)
			continue
		}
		if _, ok := want[ref]; ok {
			want[ref] = true
		}
		if code, _, body := get(ref); code != 200 || len(body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", ref, code, len(body))
		}
	}
	for ref, seen := range want {
		if !seen {
			t.Errorf("the page does not load %s", ref)
		}
	}
	if _, _, starter := get("/js/api-docs.js"); !strings.Contains(starter, "'/api/openapi.json'") {
		t.Errorf("api-docs.js does not render /api/openapi.json:\n%s", starter)
	}
	if code, _, _ := get("/api/openapi.json"); code != 200 {
		t.Errorf("GET /api/openapi.json: %d", code)
	}
	for _, f := range []string{"LICENSE", "NOTICE", "VERSION"} {
		if _, err := fs.Stat(static, "vendor/swagger-ui/"+f); err != nil {
			t.Errorf("the vendored Swagger UI lacks %s: %v", f, err)
		}
	}
}
