package server_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestFuzzOpenAPI sends random requests, valid and invalid, to every
// operation of openapi.json on a running server: random callers (admin,
// owner, stranger, anonymous, forged), path parameters (real ids of the
// world's objects, ids of the wrong kind, junk), query parameters and
// bodies made from the operation's schema and then broken. Every answer
// must be a status the operation documents (not only through its default
// response), never a 5xx, and match the document (contractTransport).
//
// It is seeded and bounded: FUZZ_SEED (default 1) and FUZZ_REQUESTS per
// operation (default 30) reproduce or lengthen a run.
func TestFuzzOpenAPI(t *testing.T) {
	fuzzOpenAPI(t, false)
}

// TestFuzzOpenAPINulBytes: the same with a NUL byte in every generated
// string, which Postgres refuses in text.
func TestFuzzOpenAPINulBytes(t *testing.T) {
	fuzzOpenAPI(t, true)
}

func fuzzOpenAPI(t *testing.T, nul bool) {
	seed, n := envInt(t, "FUZZ_SEED", 1), envInt(t, "FUZZ_REQUESTS", 30)
	t.Logf("FUZZ_SEED=%d FUZZ_REQUESTS=%d", seed, n)
	w := newWorld(t, envOpts{live: liveCfg()})
	f := &fuzzer{w: w, g: &valueGen{rnd: rand.New(rand.NewPCG(uint64(seed), 0x0b0c5)), w: w, all: true, nul: nul}}
	type finding struct {
		example string
		count   int
	}
	found := map[string]*finding{}
	ops := operations(t, w.e)
	total := 0
	for _, o := range ops {
		for range n {
			method, path, who, body, headers := f.request(o)
			r := w.e.do(method, path, who, body, headers...)
			total++
			if f.documented(o, r.status) && r.status < 500 {
				continue
			}
			key := fmt.Sprintf("%s → %d", o, r.status)
			if found[key] == nil {
				b, _ := json.Marshal(body)
				found[key] = &finding{example: fmt.Sprintf("%s %s body %.300s → %.300s", method, path, b, r.body)}
			}
			found[key].count++
		}
	}
	// Methods no operation of the path has: a 4xx in the error shape
	// (contractTransport checks the shape of answers to unknown routes).
	doc, _ := loadContract(t)
	for _, o := range ops {
		item := doc.Paths.Find(fiberParam.ReplaceAllString(o.path, "{$1}"))
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if item.GetOperation(m) != nil {
				continue
			}
			_, path, who, _, _ := f.request(o)
			if r := w.e.do(m, path, who, `{}`); r.status < 400 || r.status > 499 {
				t.Errorf("%s %s, which is no operation: %d %.200s, want a 4xx", m, path, r.status, r.body)
			}
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Errorf("%s, undocumented or a server error (%d times), e.g. %s", k, found[k].count, found[k].example)
	}
	t.Logf("%d requests over %d operations", total, len(ops))
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}

type fuzzer struct {
	w *world
	g *valueGen
}

func (f *fuzzer) pick(n int) int { return f.g.rnd.IntN(n) }

// documented: the operation lists the status itself.
func (f *fuzzer) documented(o operation, status int) bool {
	return o.op.Responses.Value(strconv.Itoa(status)) != nil
}

// junk are path and query values no handler expects.
var junk = []string{"0", "-1", "1", "99999999999999999999", "9223372036854775807", "1e3", "0x10", "abc",
	"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "%00", "%25", "..%2F..%2Fetc",
	"%E2%82%AC", "%F0%9F%8E%9F", "%C3%A9t%C3%A9", "%20", "%27%3B--", strings.Repeat("9", 300), strings.Repeat("a", 2000)}

func (f *fuzzer) request(o operation) (method, path, who string, body any, headers []string) {
	method = o.method
	w := f.w
	switch f.pick(6) {
	case 0:
		who = w.admin
	case 1, 2:
		who = w.owner
	case 3:
		who = w.other
	case 4:
		who = "forged-" + strconv.Itoa(f.pick(1e6))
	}
	path = fiberParam.ReplaceAllStringFunc(o.path, func(m string) string {
		switch f.pick(3) {
		case 0:
			return url.PathEscape(w.ids[m[1:]])
		case 1: // a real id of another kind
			kinds := []string{"event", "hold", "payment", "order", "ticket", "transfer", "listing", "venue"}
			return url.PathEscape(w.ids[kinds[f.pick(len(kinds))]])
		}
		return junk[f.pick(len(junk))]
	})
	q := url.Values{}
	for _, p := range o.op.Parameters {
		if p.Value.In != "query" || f.pick(3) == 0 {
			continue
		}
		if f.pick(2) == 0 && p.Value.Schema != nil {
			q.Set(p.Value.Name, fmt.Sprint(f.g.valid(p.Value.Schema.Value, p.Value.Name, 0)))
		} else {
			v, _ := url.PathUnescape(junk[f.pick(len(junk))])
			q.Set(p.Value.Name, v)
		}
	}
	if f.pick(5) == 0 {
		q.Set("zz", "1")
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	for _, p := range o.op.Parameters {
		if p.Value.In == "header" && f.pick(2) == 0 {
			nul := f.g.nul
			f.g.nul = false // a client cannot send one in a header
			headers = append(headers, p.Value.Name, f.g.str(&openapi3.Schema{}))
			f.g.nul = nul
		}
	}
	if who != "" && f.pick(4) == 0 {
		// The browser's way: the session cookie, from the site or not.
		origins := []string{"http://app.test", "https://evil.example", "null", ""}
		headers = append(headers, "Cookie", "bo_session="+who, "Origin", origins[f.pick(len(origins))])
		who = ""
	}
	if s := o.bodySchema(); s != nil {
		body = f.body(s)
	} else if o.unsafe() && f.pick(4) == 0 {
		body = `{"zz":1}`
	}
	return method, path, who, body, headers
}

// body is a valid body for s, or one broken in one of several ways.
func (f *fuzzer) body(s *openapi3.Schema) any {
	v := f.g.valid(s, "", 0)
	switch f.pick(10) {
	case 0, 1, 2, 3:
		return v
	case 4:
		return []string{`{`, `[]`, `null`, `"x"`, `1e999`, `{"a":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 201), "\xff\xfe\x00", ``}[f.pick(8)]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		m["zz"] = 1
		return m
	}
	name := names[f.pick(len(names))]
	switch f.pick(6) {
	case 0:
		delete(m, name)
	case 1:
		m[name] = wrongType(s.Properties[name].Value)
	case 2:
		m[name] = []any{nil, -1, 0, 1 << 62, -(1 << 62), 1.5, 1e300, "", strings.Repeat("é", 300), "\u202e\u0301", "𝕏\t\r\n", true, map[string]any{}}[f.pick(13)]
	case 3:
		m["zz_"+name] = m[name]
	case 4:
		m[name] = f.g.valid(s.Properties[name].Value, "", 0)
	default:
		m[name] = strings.Repeat("9", 40)
	}
	return m
}
