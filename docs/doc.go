// Package docs holds the project's documentation pages (the Markdown files
// beside this one) and the code that keeps them true: RenderAPI writes
// api.md from the server's OpenAPI document (`go generate ./docs`), and the
// package's tests fail when api.md is stale, when a relative link in a
// Markdown file points at a file or heading that does not exist, or when a
// file refers to a design document kept outside the repository.
//
// It reads server/openapi.json from disk rather than importing server, since
// nothing may import server. It has no state and no concurrency.
package docs

//go:generate go run gen.go
