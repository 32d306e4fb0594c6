package media

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif" // registers the decoder image.Decode uses
	"image/jpeg"
	_ "image/png" // registers the decoder image.Decode uses
	"os"
	"path/filepath"
	"regexp"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the decoder image.Decode uses

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// Limits of an upload.
const (
	// MaxBytes is the largest file accepted (a phone photo is 3–6 MB).
	MaxBytes = 10 << 20
	// MaxPixels refuses a small file that would decode to a huge bitmap
	// (a "decompression bomb"): 50 megapixels is 200 MB of RGBA.
	MaxPixels = 50_000_000
	// MaxWidth is the width images are scaled down to: wide enough for a
	// page's hero image on a high-density screen.
	MaxWidth = 1600
	// jpegQuality of the stored JPEG.
	jpegQuality = 85
)

// Errors of an upload.
var (
	ErrNotImage = apperr.E(apperr.Invalid, "not_an_image", "the file is not a JPEG, PNG, GIF or WebP image")
	ErrTooLarge = apperr.E(apperr.TooLarge, "image_too_large", "the image is too large")
	ErrNotFound = apperr.E(apperr.NotFound, "not_found", "no such file")
)

// Store keeps images as files in Dir (created on first write).
type Store struct {
	Dir string
}

// namePattern is what Put names files: a hash and the extension. Open takes
// nothing else, so a request can never name a path outside Dir.
var namePattern = regexp.MustCompile(`^[0-9a-f]{32}\.jpg$`)

// Put decodes an uploaded image, scales it to at most MaxWidth wide, and
// stores it re-encoded as JPEG. It returns the stored file's name.
func (s *Store) Put(data []byte) (string, error) {
	if len(data) > MaxBytes {
		return "", ErrTooLarge.With("max_bytes", MaxBytes)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", ErrNotImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", ErrNotImage
	}
	if cfg.Width*cfg.Height > MaxPixels || cfg.Width > 20000 || cfg.Height > 20000 {
		return "", ErrTooLarge.With("max_pixels", MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", ErrNotImage
	}
	out, err := encode(scale(img))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(out)
	name := hex.EncodeToString(sum[:16]) + ".jpg"
	if err := s.write(name, out); err != nil {
		return "", err
	}
	return name, nil
}

// scale draws img onto an opaque white canvas at most MaxWidth wide
// (transparent parts of a PNG become white, as JPEG has no alpha).
func scale(img image.Image) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > MaxWidth {
		h = max(1, h*MaxWidth/w)
		w = MaxWidth
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, b, xdraw.Over, nil)
	return dst
}

func encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, fmt.Errorf("media: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// write stores a file atomically: a reader sees the whole file or none.
func (s *Store) write(name string, data []byte) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("media: create %s: %w", s.Dir, err)
	}
	path := filepath.Join(s.Dir, name)
	if _, err := os.Stat(path); err == nil {
		return nil // same content, already stored
	}
	tmp, err := os.CreateTemp(s.Dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("media: store: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("media: store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("media: store: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("media: store: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("media: store: %w", err)
	}
	return nil
}

// Open returns a stored file's bytes; a name Put did not make, or a file
// that is gone, is ErrNotFound.
func (s *Store) Open(name string) ([]byte, error) {
	if !namePattern.MatchString(name) {
		return nil, ErrNotFound
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("media: read %s: %w", name, err)
	}
	return b, nil
}
