package docs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIPageUpToDate fails when docs/api.md is not what the generator
// makes from server/openapi.json, so the page cannot drift from the
// document the server publishes.
func TestAPIPageUpToDate(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join("..", OpenAPIFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := RenderAPI(spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", APIPage))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with %s: run `go generate ./docs` and commit the result\n%s",
			APIPage, OpenAPIFile, firstDifference(string(want), string(got)))
	}
}

// TestRenderAPI checks the renderer on a small document: the parts a
// reader relies on appear, with links to the schemas they name.
func TestRenderAPI(t *testing.T) {
	spec := `{"openapi": "3.0.3", "info": {"title": "T", "version": "1", "description": "Desc."},
	 "paths": {
	  "/api/things/{thing}": {
	   "parameters": [{"name": "thing", "in": "path", "required": true, "schema": {"type": "string"}}],
	   "put": {"summary": "replace a thing", "security": [{"bearer": []}],
	    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
	    "responses": {"200": {"description": "ok"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
	  "/ws": {"get": {"summary": "Socket", "responses": {"101": {"description": "switching"}}}}},
	 "components": {
	  "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
	  "schemas": {
	   "Thing": {"type": "object", "additionalProperties": false, "required": ["size"], "properties": {
	     "size": {"type": "integer", "minimum": 1, "maximum": 8},
	     "kind": {"type": "string", "enum": ["a", "b"]},
	     "parts": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string", "description": "a | b"}}}}}},
	   "Error": {"type": "object", "properties": {"error": {"type": "object"}}}},
	  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}`
	out, err := RenderAPI([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	page := string(out)
	for _, want := range []string{
		"# HTTP API\n",
		"- `/api/things`: [PUT /api/things/{thing}](#put-apithingsthing)\n",
		"- `/ws`: [GET /ws](#get-ws)\n",
		"### `PUT /api/things/{thing}`\n\nReplace a thing.\n",
		"- Authentication: `bearer`\n",
		"- Parameter `thing` (path, string, required)\n",
		"- Body (required): `application/json` [Thing](#thing)\n",
		"  - `200`: ok\n  - `404`, `409`: error, `application/json` [Error](#error)\n",
		"| `size` | integer | yes | 1 to 8 |\n",
		"| `kind` | string |  | one of `a`, `b` |\n",
		"| `parts[].n` | string |  | a \\| b |\n",
		"Other fields are refused.",
		"- `bearer`: HTTP `Authorization: Bearer <token>`\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q; page:\n%s", want, page)
		}
	}
	again, _ := RenderAPI([]byte(spec))
	if !bytes.Equal(out, again) {
		t.Error("two renderings of one document differ")
	}
	for _, bad := range []string{``, `[]`, `{"info": {}}`, `{"openapi": "3.0.3"} {}`} {
		if _, err := RenderAPI([]byte(bad)); err == nil {
			t.Errorf("RenderAPI(%q): no error", bad)
		}
	}
}

// firstDifference shows the first line where two texts differ.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference at line %d:\n-want %s\n+got  %s", i+1, wl, gl)
		}
	}
	return ""
}
