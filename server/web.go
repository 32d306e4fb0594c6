package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

// webRoutes serves the browser app; unknown paths fall back to index.html
// so the app's own routes (/events/123) load it. With Config.DevWeb the
// files are read from Deps.Web on each request, uncached; otherwise they
// are prepared once (webAssets).
func (s *Server) webRoutes() {
	if s.deps.Web == nil {
		return
	}
	if !s.cfg.DevWeb {
		assets, err := newWebAssets(s.deps.Web)
		if err == nil {
			s.web = assets
			s.app.Use("/", assets.serve)
			return
		}
		s.log.Error("browser app: serving its files as they are, uncompressed", "err", err)
	}
	s.app.Use("/", filesystem.New(filesystem.Config{
		Root:         http.FS(s.deps.Web),
		Index:        "index.html",
		NotFoundFile: "index.html",
	}))
}

// webAssets is the browser app prepared at start: every file compressed
// ahead (gzip at once, brotli in the background; kept when smaller) so a
// request costs no compression, and
// served under /static/<version>/<path> with a year's immutable cache.
// version is a hash of all the files, so any change makes new URLs; a
// hash of the whole tree rather than per file because the ES modules import
// each other by relative paths, which then resolve under the same version
// with no rewriting of JavaScript. index.html, rewritten to point there, is
// revalidated on every load (no-cache, with an ETag).
type webAssets struct {
	version string
	files   map[string]*webFile // by path without the leading slash
	sorted  []*webFile          // the files but pages, in path order
	pages   []*webFile          // the .html files, rewritten
	index   *webFile
}

// webFile is one file in its encodings.
type webFile struct {
	contentType string
	etag        string
	raw, gz     []byte
	// br is set once the background compression finished (brotli at its
	// best level takes about a second for the whole app; until then gzip
	// is served). nil inside when brotli saves nothing.
	br atomic.Pointer[[]byte]
}

// encodingCache holds each content's encodings by its SHA-256, so a
// process compresses a file once however many servers it builds (tests
// build many).
var encodingCache sync.Map // [32]byte → *encodings

type encodings struct {
	gzOnce, brOnce sync.Once
	brDone         atomic.Bool
	gz, br         []byte // nil when not worth it
}

func encodingsOf(sum [32]byte) *encodings {
	v, _ := encodingCache.LoadOrStore(sum, &encodings{})
	return v.(*encodings)
}

// compressGzip returns b's gzip encoding, or nil when it saves little.
func compressGzip(sum [32]byte, b []byte) []byte {
	e := encodingsOf(sum)
	e.gzOnce.Do(func() {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := w.Write(b); err == nil && w.Close() == nil && worthIt(buf.Len(), len(b)) {
			e.gz = buf.Bytes()
		}
	})
	return e.gz
}

// brotliBestMax is the largest file compressed at brotli's best level,
// which costs about a second per 100 KB; larger files (a vendored bundle)
// get level 6, within a few percent of it at a small fraction of the CPU.
const brotliBestMax = 256 << 10

// compressBrotli returns b's brotli encoding, or nil when it saves little.
func compressBrotli(sum [32]byte, b []byte) []byte {
	e := encodingsOf(sum)
	e.brOnce.Do(func() {
		level := brotli.BestCompression
		if len(b) > brotliBestMax {
			level = 6
		}
		var buf bytes.Buffer
		w := brotli.NewWriterLevel(&buf, level)
		if _, err := w.Write(b); err == nil && w.Close() == nil && worthIt(buf.Len(), len(b)) {
			e.br = buf.Bytes()
		}
		e.brDone.Store(true)
	})
	return e.br
}

// worthIt: a compressed encoding is kept when it saves a tenth or more.
func worthIt(compressed, raw int) bool { return compressed < raw*9/10 }

const (
	webStaticPrefix = "/static/"
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// webRef matches the root-relative href and src attributes of index.html.
var webRef = regexp.MustCompile(`(href|src)="/([^"]+)"`)

func newWebAssets(fsys fs.FS) (*webAssets, error) {
	a := &webAssets{files: make(map[string]*webFile)}
	raw := make(map[string][]byte)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		raw[p] = b
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("server: read the browser app: %w", err)
	}
	names := make([]string, 0, len(raw))
	for p := range raw {
		names = append(names, p)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, p := range names {
		sum := sha256.Sum256(raw[p])
		fmt.Fprintf(h, "%s %x\n", p, sum)
	}
	a.version = hex.EncodeToString(h.Sum(nil))[:12]
	for _, p := range names {
		if path.Ext(p) == ".html" {
			continue // below, once rewritten
		}
		if a.files[p], err = newWebFile(p, raw[p]); err != nil {
			return nil, err
		}
		a.sorted = append(a.sorted, a.files[p])
	}
	if _, ok := raw["index.html"]; !ok {
		return nil, fmt.Errorf("server: the browser app has no index.html")
	}
	// The pages (index.html, api-docs.html) point at the versioned files
	// and are themselves revalidated on each load.
	for _, p := range names {
		if path.Ext(p) != ".html" {
			continue
		}
		page := webRef.ReplaceAllFunc(raw[p], func(m []byte) []byte {
			sub := webRef.FindSubmatch(m)
			if _, ok := raw[string(sub[2])]; !ok {
				return m // an app route like /orders, not a file
			}
			return fmt.Appendf(nil, `%s="%s%s/%s"`, sub[1], webStaticPrefix, a.version, sub[2])
		})
		if a.files[p], err = newWebFile(p, page); err != nil {
			return nil, err
		}
		a.pages = append(a.pages, a.files[p])
	}
	a.index = a.files["index.html"]
	go a.compressAll() // a second of CPU, once; it ends by itself
	return a, nil
}

func newWebFile(p string, b []byte) (*webFile, error) {
	sum := sha256.Sum256(b)
	f := &webFile{raw: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: mime.TypeByExtension(path.Ext(p))}
	if f.contentType == "" {
		f.contentType = http.DetectContentType(b)
	}
	f.gz = compressGzip(sum, b)
	if e := encodingsOf(sum); e.brDone.Load() {
		f.br.Store(&e.br) // compressed by an earlier server
	}
	return f, nil
}

// compressAll encodes every file with brotli, one after another, off the
// start path.
func (a *webAssets) compressAll() {
	for _, f := range append(a.pages, a.sorted...) {
		if f.br.Load() != nil {
			continue
		}
		br := compressBrotli(sha256.Sum256(f.raw), f.raw)
		f.br.Store(&br)
	}
}

// serve answers GET and HEAD: /static/<version>/<path> from the prepared
// files, other file paths uncached-but-revalidated (old links), and every
// other path with index.html (the app's routes).
func (a *webAssets) serve(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return c.Next()
	}
	p := strings.TrimPrefix(c.Path(), "/")
	cache := cacheRevalidate
	if rest, ok := strings.CutPrefix(c.Path(), webStaticPrefix); ok {
		version, file, _ := strings.Cut(rest, "/")
		f := a.files[file]
		if f == nil || path.Ext(file) == ".html" {
			return errRouteNotFound
		}
		if version == a.version {
			cache = cacheImmutable
		}
		// Another version (a node of the previous or next release, during
		// a rolling deploy): this node's file, not cached under that name.
		return a.send(c, f, cache)
	}
	if f := a.files[p]; f != nil && p != "index.html" {
		return a.send(c, f, cache)
	}
	return a.send(c, a.index, cache)
}

func (a *webAssets) send(c *fiber.Ctx, f *webFile, cache string) error {
	c.Set(fiber.HeaderCacheControl, cache)
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderETag, f.etag)
	if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	body := f.raw
	accept := c.Get(fiber.HeaderAcceptEncoding)
	switch {
	case f.brotli() != nil && acceptsEncoding(accept, "br"):
		c.Set(fiber.HeaderContentEncoding, "br")
		body = f.brotli()
	case f.gz != nil && acceptsEncoding(accept, "gzip"):
		c.Set(fiber.HeaderContentEncoding, "gzip")
		body = f.gz
	}
	return c.Send(body)
}

// brotli is the brotli encoding when it is ready and worth it.
func (f *webFile) brotli() []byte {
	if p := f.br.Load(); p != nil {
		return *p
	}
	return nil
}

// acceptsEncoding reports whether an Accept-Encoding header allows enc
// (listed without q=0).
func acceptsEncoding(header, enc string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), enc) {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
