package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The contract: openapi.json, loaded once per test binary and checked by
// kin-openapi. Every response a test receives through env.client passes
// through contractTransport, so each test of the package also proves that
// the document describes what the server really answers.
var contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadContract(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	contract.once.Do(func() {
		raw, err := os.ReadFile("openapi.json")
		if err != nil {
			contract.err = err
			return
		}
		// An order's calendar file is text kin-openapi does not know:
		// checked as a string, like CSV.
		openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.FileBodyDecoder)
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(raw)
		if err != nil {
			contract.err = fmt.Errorf("load openapi.json: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			contract.err = fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			contract.err = fmt.Errorf("route openapi.json: %w", err)
			return
		}
		contract.doc, contract.router = doc, router
	})
	if contract.err != nil {
		t.Fatal(contract.err)
	}
	return contract.doc, contract.router
}

// contractTransport validates each response against openapi.json: its
// status must be documented for the operation and its body must match the
// schema of that status. A failure fails the test that sent the request.
// Paths outside /api and the documented operations (the browser app's
// pages) are not part of the contract and pass through unchecked.
type contractTransport struct {
	t    testing.TB
	next http.RoundTripper
}

// contractClient is an HTTP client whose responses are checked against
// openapi.json; benchmarks get a plain client (validation costs CPU the
// figures should not include).
func contractClient(t testing.TB, next http.RoundTripper) *http.Client {
	if _, ok := t.(*testing.B); ok {
		return &http.Client{Timeout: 30 * time.Second, Transport: next}
	}
	loadContract(t)
	return &http.Client{Timeout: 30 * time.Second, Transport: &contractTransport{t: t, next: next}}
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(req)
	if err != nil || res.StatusCode == http.StatusSwitchingProtocols {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read the body: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err := checkContract(req, res.StatusCode, res.Header, body); err != nil {
		c.t.Errorf("contract: %s %s → %d %.300s:\n%v", req.Method, req.URL.RequestURI(), res.StatusCode, body, err)
	}
	return res, nil
}

// maxValidatedBody is the largest response body checked against its schema.
const maxValidatedBody = 1 << 20

// checkContract checks one response against the document.
func checkContract(req *http.Request, status int, header http.Header, body []byte) error {
	if req.Method == http.MethodHead {
		return nil
	}
	if header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("gzip body: %w", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("gzip body: %w", err)
		}
		header = header.Clone()
		header.Del("Content-Encoding")
	}
	route, params, err := contract.router.FindRoute(req)
	if err != nil {
		if !strings.HasPrefix(req.URL.Path, "/api/") {
			return nil // a page of the browser app
		}
		// No such operation: the answer must still be an error in the
		// documented shape (404 unknown route, 405 wrong method).
		if status < 400 {
			return fmt.Errorf("no operation in openapi.json for a %d answer: %w", status, err)
		}
		return checkErrorBody(header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}},
	}
	// A stadium's seat map is 6 MB, which takes kin-openapi seconds under
	// -race: past maxValidatedBody only the status is checked. The same
	// schemas are proven on the small venues of the other tests.
	in.Options.ExcludeResponseBody = len(body) > maxValidatedBody
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return err
	}
	if status >= 400 {
		// Each error status refers to the one error schema; a response
		// documented without it would let any body through.
		return checkErrorBody(header, body)
	}
	return nil
}

// checkErrorBody checks a body against the shared Error schema.
func checkErrorBody(header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("error answered as %q, want application/json", ct)
	}
	schema := contract.doc.Components.Schemas["Error"].Value
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("error body is not JSON: %w", err)
	}
	return schema.VisitJSON(v, openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails())
}

// TestOpenAPIMatchesRoutes: every route in Fiber's table is an operation of
// openapi.json and every operation is a registered route, so neither can
// change without the other.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, envOpts{metrics: true})
	doc, _ := loadContract(t)
	served := e.do("GET", "/api/openapi.json", "", nil)
	if raw, _ := os.ReadFile("openapi.json"); !bytes.Equal(served.body, raw) {
		t.Errorf("GET /api/openapi.json does not serve openapi.json")
	}
	param := regexp.MustCompile(`:(\w+)`)
	registered := map[string]bool{}
	for _, r := range e.srv.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" || strings.HasSuffix(r.Path, "/*") || r.Path == "/api/" || r.Path == "/" {
			continue // implicit HEADs, middleware, the browser app's files
		}
		op := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		registered[op] = true
		path := doc.Paths.Find(param.ReplaceAllString(r.Path, "{$1}"))
		if path == nil || path.GetOperation(r.Method) == nil {
			t.Errorf("route %s is not in openapi.json", op)
		}
	}
	if len(registered) < 40 {
		t.Errorf("only %d routes seen; the route walk is broken", len(registered))
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if op := method + " " + path; !registered[op] {
				t.Errorf("openapi.json documents %s, which is not a route", op)
			}
		}
	}
}

// TestOpenAPIResponsesHaveSchemas: every operation documents the schema of
// its success answers (except those without a body) and every error status
// refers to the one Error schema, which has the shape errors.go writes.
func TestOpenAPIResponsesHaveSchemas(t *testing.T) {
	doc, _ := loadContract(t)
	noBody := []string{"101", "204", "304"}
	errRef := "#/components/responses/Error"
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.Responses.Default() == nil || op.Responses.Default().Ref != errRef {
				t.Errorf("%s: default response is not %s", name, errRef)
			}
			ok := 0
			for status, r := range op.Responses.Map() {
				switch {
				case status == "default":
				case status[0] == '4' || status[0] == '5':
					if r.Ref != errRef && !(path == "/readyz" && status == "503") {
						t.Errorf("%s %s: error response is not %s", name, status, errRef)
					}
				case slices.Contains(noBody, status):
					ok++
					if len(r.Value.Content) != 0 {
						t.Errorf("%s %s: documents a body", name, status)
					}
				default:
					ok++
					if len(r.Value.Content) == 0 {
						t.Errorf("%s %s: no response schema", name, status)
					}
					for ct, mt := range r.Value.Content {
						if mt.Schema == nil {
							t.Errorf("%s %s %s: no response schema", name, status, ct)
							continue
						}
						for _, where := range openObjects(mt.Schema, "", map[*openapi3.Schema]bool{}) {
							t.Errorf("%s %s: the object at %q lists its properties but allows others: say additionalProperties false, so a new field cannot slip out undocumented", name, status, where)
						}
					}
				}
			}
			if ok == 0 {
				t.Errorf("%s: no success response", name)
			}
		}
	}
}

// openObjects lists the objects of a schema that name properties without
// refusing others.
func openObjects(ref *openapi3.SchemaRef, at string, seen map[*openapi3.Schema]bool) []string {
	s := ref.Value
	if s == nil || seen[s] {
		return nil
	}
	seen[s] = true
	var out []string
	if len(s.Properties) > 0 && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) {
		out = append(out, at)
	}
	for name, p := range s.Properties {
		out = append(out, openObjects(p, at+"/"+name, seen)...)
	}
	if s.Items != nil {
		out = append(out, openObjects(s.Items, at+"/[]", seen)...)
	}
	for _, sub := range s.AllOf {
		out = append(out, openObjects(sub, at, seen)...)
	}
	if s.AdditionalProperties.Schema != nil {
		out = append(out, openObjects(s.AdditionalProperties.Schema, at+"/*", seen)...)
	}
	return out
}

// TestContractCatchesDrift: the validating transport fails on a body that
// does not match the document, on an undocumented status and on an error
// body in another shape, so a passing suite means something.
func TestContractCatchesDrift(t *testing.T) {
	loadContract(t)
	get := func(path string) *http.Request {
		req, _ := http.NewRequest("GET", "http://app.test"+path, nil)
		return req
	}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name   string
		req    *http.Request
		status int
		body   string
		ok     bool
	}{
		{"good health", get("/healthz"), 200, `{"status":"ok"}`, true},
		{"good error", get("/api/events/1"), 404, `{"error":{"code":"event_not_found","message":"no such event","request_id":"r1"}}`, true},
		{"unknown field", get("/healthz"), 200, `{"status":"ok","uptime":3}`, false},
		{"wrong type", get("/api/me"), 200, `{"id":"1","email":"a@b","name":"A","role":7}`, false},
		{"missing field", get("/api/me"), 200, `{"id":"1","email":"a@b","name":"A"}`, false},
		{"error without message", get("/api/events/1"), 404, `{"error":{"code":"event_not_found"}}`, false},
		{"error in another shape", get("/api/events/1"), 404, `{"message":"not found"}`, false},
		{"error from an unknown route", get("/api/nope"), 404, `not found`, false},
		{"success from an unknown route", get("/api/nope"), 200, `{}`, false},
	}
	for _, c := range cases {
		err := checkContract(c.req, c.status, jsonCT, []byte(c.body))
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.name, err, c.ok)
		}
	}
	var se *openapi3filter.ResponseError
	err := checkContract(get("/api/me"), 200, jsonCT, []byte(`[]`))
	if !errors.As(err, &se) {
		t.Errorf("array for an object: %v, want a ResponseError", err)
	}
}
