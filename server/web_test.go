package server_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/web"
)

var versionRef = regexp.MustCompile(`src="/static/([0-9a-f]+)/js/app/main\.js"`)

// webGet requests path from a server over fsys and returns the response
// with its body decoded.
func webGet(t *testing.T, srv *server.Server, path string, headers ...string) (status int, header map[string]string, body string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r io.Reader = res.Body
	switch res.Header.Get("Content-Encoding") {
	case "br":
		r = brotli.NewReader(res.Body)
	case "gzip":
		if r, err = gzip.NewReader(res.Body); err != nil {
			t.Fatal(err)
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("GET %s: read the %q body: %v", path, res.Header.Get("Content-Encoding"), err)
	}
	header = map[string]string{}
	for _, k := range []string{"Cache-Control", "Content-Encoding", "Content-Type", "Etag", "Vary"} {
		header[k] = res.Header.Get(k)
	}
	return res.StatusCode, header, string(b)
}

// waitBrotli waits until the brotli encoding of the app's files is ready
// (compressed once per process, in the background).
func waitBrotli(t *testing.T, srv *server.Server, path string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, h, _ := webGet(t, srv, path, "Accept-Encoding", "br"); h["Content-Encoding"] == "br" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no brotli encoding after 2 minutes", path)
		}
	}
}

// TestWebAssets: index.html points at the app's files under a content
// version and is revalidated on each load; the files there are compressed
// and cached for a year; a change to any file changes the version.
func TestWebAssets(t *testing.T) {
	js := "export const x = 1;\n" + strings.Repeat("// a comment that compresses well\n", 50)
	fsys := fstest.MapFS{
		"index.html":       {Data: []byte(`<link rel="stylesheet" href="/css/app.css"><script type="module" src="/js/app/main.js"></script><a href="/orders">Orders</a>`)},
		"css/app.css":      {Data: []byte(strings.Repeat("body { margin: 0 }\n", 50))},
		"js/app/main.js":   {Data: []byte("import { x } from './api.js';\n" + js)},
		"js/app/api.js":    {Data: []byte(js)},
		"js/pow-worker.js": {Data: []byte("x")},
	}
	srv := server.New(server.Config{}, server.Deps{Web: fsys})
	status, h, index := webGet(t, srv, "/")
	m := versionRef.FindStringSubmatch(index)
	if status != 200 || m == nil || !strings.Contains(index, `href="/static/`+m[1]+`/css/app.css"`) || !strings.Contains(index, `href="/orders"`) {
		t.Fatalf("GET /: %d %s", status, index)
	}
	if h["Cache-Control"] != "no-cache" || !strings.HasPrefix(h["Content-Type"], "text/html") {
		t.Errorf("GET / headers %v: want no-cache HTML", h)
	}
	v := m[1]
	waitBrotli(t, srv, "/static/"+v+"/js/app/main.js")
	if status, h, _ := webGet(t, srv, "/", "If-None-Match", h["Etag"]); status != 304 {
		t.Errorf("GET / with its ETag: %d %v, want 304", status, h)
	}

	for _, tc := range []struct{ path, accept, wantEnc, wantCache, wantBody string }{
		{"/static/" + v + "/js/app/main.js", "gzip, deflate, br", "br", "public, max-age=31536000, immutable", string(fsys["js/app/main.js"].Data)},
		{"/static/" + v + "/js/app/api.js", "gzip", "gzip", "public, max-age=31536000, immutable", js},
		{"/static/" + v + "/js/app/api.js", "br;q=0, gzip;q=0", "", "public, max-age=31536000, immutable", js},
		{"/static/" + v + "/js/pow-worker.js", "br", "", "public, max-age=31536000, immutable", "x"}, // too small to gain
		{"/static/0123456789ab/js/app/api.js", "br", "br", "no-cache", js},                           // another node's version
		{"/js/app/api.js", "br", "br", "no-cache", js},                                               // an old link
		{"/events/12", "", "", "no-cache", index},                                                    // an app route
	} {
		status, h, body := webGet(t, srv, tc.path, "Accept-Encoding", tc.accept)
		if status != 200 || h["Content-Encoding"] != tc.wantEnc || h["Cache-Control"] != tc.wantCache || body != tc.wantBody {
			t.Errorf("GET %s (Accept-Encoding %q): %d %v, body %.40q; want encoding %q, cache %q", tc.path, tc.accept, status, h, body, tc.wantEnc, tc.wantCache)
		}
		if tc.wantEnc != "" && h["Vary"] != "Accept-Encoding" {
			t.Errorf("GET %s: Vary %q", tc.path, h["Vary"])
		}
	}
	if status, _, _ := webGet(t, srv, "/static/"+v+"/js/missing.js"); status != 404 {
		t.Errorf("a missing file under the version: %d, want 404", status)
	}

	fsys["js/app/api.js"] = &fstest.MapFile{Data: []byte(js + "// changed\n")}
	_, _, index2 := webGet(t, server.New(server.Config{}, server.Deps{Web: fsys}), "/")
	if m2 := versionRef.FindStringSubmatch(index2); m2 == nil || m2[1] == v {
		t.Errorf("after a change: %s, want a version other than %s", index2, v)
	}
}

// TestWebAssetsOfTheApp: the real app's index.html names its script and
// stylesheet under the version, and both are served from there.
func TestWebAssetsOfTheApp(t *testing.T) {
	app, err := fs.Sub(web.FS, "static")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{}, server.Deps{Web: app})
	_, _, index := webGet(t, srv, "/")
	m := versionRef.FindStringSubmatch(index)
	if m != nil {
		waitBrotli(t, srv, "/static/"+m[1]+"/js/app/main.js")
	}
	if m == nil || !strings.Contains(index, `href="/static/`+m[1]+`/css/app.css"`) {
		t.Fatalf("index.html does not point at versioned files:\n%s", index)
	}
	for _, p := range []string{"/js/app/main.js", "/css/app.css", "/js/app/pages/event.js", "/js/pow-worker.js"} {
		want, _ := fs.ReadFile(app, p[1:])
		if status, _, body := webGet(t, srv, "/static/"+m[1]+p, "Accept-Encoding", "br"); status != 200 || !bytes.Equal([]byte(body), want) {
			t.Errorf("GET /static/%s%s: %d", m[1], p, status)
		}
	}
}
