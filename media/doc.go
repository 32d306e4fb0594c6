// Package media stores the images admins upload (an event's picture): it
// decodes what it is given with the standard library's decoders (JPEG, PNG,
// GIF) and golang.org/x/image's WebP, refuses anything else, scales it down
// to MaxWidth and stores a fresh JPEG named by its content's hash, so no
// byte the uploader chose is ever served and a name is cacheable for good.
//
// A Store is safe for concurrent use: files are written under a temporary
// name and renamed into place, and equal content gets the same name.
package media
