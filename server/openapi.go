package server

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDoc is the HTTP contract of API.md as OpenAPI 3, kept beside the
// routes; TestOpenAPICoversRoutes fails when a registered route is missing.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI: GET /api/openapi.json.
func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPIDoc)
}
