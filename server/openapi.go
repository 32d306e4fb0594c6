package server

import (
	_ "embed"
	"io/fs"

	"github.com/gofiber/fiber/v2"
)

// openAPIDoc is the HTTP contract as OpenAPI 3, kept beside the routes.
// TestOpenAPIMatchesRoutes fails when a route and an operation differ,
// every server test validates the responses it gets against it, and
// docs/api.md is generated from it (`go generate ./docs`).
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI: GET /api/openapi.json.
func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPIDoc)
}

// apiDocsPage is the web app's file that renders openapi.json with the
// vendored Swagger UI.
const apiDocsPage = "api-docs.html"

// apiDocs: GET /api/docs, the interactive API reference, served from the
// browser app's files so that -dev serves it from disk like the rest.
func (s *Server) apiDocs(c *fiber.Ctx) error {
	if s.deps.Web == nil {
		return errRouteNotFound
	}
	if s.web != nil { // the page pointing at the versioned files
		if f := s.web.files[apiDocsPage]; f != nil {
			return s.web.send(c, f, cacheRevalidate)
		}
	}
	page, err := fs.ReadFile(s.deps.Web, apiDocsPage)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(page)
}
