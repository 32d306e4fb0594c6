package server

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDoc is the HTTP contract as OpenAPI 3, kept beside the routes.
// TestOpenAPIMatchesRoutes fails when a route and an operation differ, and
// every server test validates the responses it gets against it.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI: GET /api/openapi.json.
func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPIDoc)
}
