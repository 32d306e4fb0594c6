// Package migrations holds the numbered SQL migrations, embedded in the
// binary so `boxoffice migrate` and `serve` need no files beside them.
package migrations

import "embed"

// FS holds the *.sql migrations in goose format, applied in file-name order.
//
//go:embed *.sql
var FS embed.FS
