//go:build ignore

// gen writes docs/api.md from server/openapi.json; `go generate ./docs`
// runs it in this folder.
package main

import (
	"log"
	"os"

	"github.com/boxoffice/boxoffice/docs"
)

func main() {
	spec, err := os.ReadFile("../" + docs.OpenAPIFile)
	if err != nil {
		log.Fatal(err)
	}
	page, err := docs.RenderAPI(spec)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("../"+docs.APIPage, page, 0o644); err != nil {
		log.Fatal(err)
	}
}
