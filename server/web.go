package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

// webRoutes serves the browser app; unknown paths fall back to index.html
// so the app's own routes (/events/123) load it.
func (s *Server) webRoutes() {
	if s.deps.Web == nil {
		return
	}
	s.app.Use("/", filesystem.New(filesystem.Config{
		Root:         http.FS(s.deps.Web),
		Index:        "index.html",
		NotFoundFile: "index.html",
		MaxAge:       60,
	}))
}
