// Package web holds the browser app: plain ES modules served by the binary,
// embedded so the binary needs no files beside it.
package web

import "embed"

// FS is the browser app's files; index.html is served at /.
//
//go:embed static
var FS embed.FS
