package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func encoded(t testing.TB, format string, w, h int, fill color.Color) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, fill)
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "gif":
		err = gif.Encode(&buf, img, nil)
	default:
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPut: images are stored as fresh JPEGs no wider than MaxWidth, named
// by content; a transparent PNG turns white, not black; what is not an
// image, or would decode to too many pixels, is refused.
func TestPut(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "media")}
	for _, tt := range []struct {
		format        string
		w, h          int
		wantW, wantH  int
		fill          color.Color
		wantLightness uint8
	}{
		{"png", 2000, 100, 1600, 80, color.NRGBA{0, 0, 0, 0}, 250}, // transparent → white
		{"jpeg", 640, 480, 640, 480, color.NRGBA{10, 10, 10, 255}, 0},
		{"gif", 100, 50, 100, 50, color.NRGBA{255, 255, 255, 255}, 250},
	} {
		name, err := s.Put(encoded(t, tt.format, tt.w, tt.h, tt.fill))
		if err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		b, err := s.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		img, format, err := image.Decode(bytes.NewReader(b))
		if err != nil || format != "jpeg" || img.Bounds().Dx() != tt.wantW || img.Bounds().Dy() != tt.wantH {
			t.Errorf("%s %dx%d stored as %s %v, want a %dx%d jpeg (%v)", tt.format, tt.w, tt.h, format, img.Bounds(), tt.wantW, tt.wantH, err)
			continue
		}
		r, _, _, _ := img.At(tt.wantW/2, tt.wantH/2).RGBA()
		if got := uint8(r >> 8); (tt.wantLightness > 128) != (got > 128) {
			t.Errorf("%s: middle pixel red %d, want near %d", tt.format, got, tt.wantLightness)
		}
	}
	again, _ := s.Put(encoded(t, "gif", 100, 50, color.White))
	if files, _ := os.ReadDir(s.Dir); len(files) != 3 {
		t.Errorf("%d files after 4 puts of 3 images (%s again)", len(files), again)
	}
	for name, data := range map[string][]byte{
		"text":      []byte("hello"),
		"svg":       []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`),
		"truncated": encoded(t, "png", 50, 50, color.Black)[:60],
		"empty":     nil,
	} {
		if _, err := s.Put(data); !errors.Is(err, ErrNotImage) {
			t.Errorf("%s: %v, want ErrNotImage", name, err)
		}
	}
	// 20,001 × 1: a tiny file whose width alone is refused.
	if _, err := s.Put(encoded(t, "png", 20001, 1, color.Black)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a 20001-pixel-wide image: %v, want ErrTooLarge", err)
	}
	if _, err := s.Put(make([]byte, MaxBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a file over MaxBytes: %v, want ErrTooLarge", err)
	}
	for _, name := range []string{"../store.go", "x.jpg", "", "0123456789abcdef0123456789abcdef.jpg"} {
		if _, err := s.Open(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q): %v, want ErrNotFound", name, err)
		}
	}
}

// FuzzPut: no input makes Put panic, and whatever it stores is a JPEG
// within the limits.
func FuzzPut(f *testing.F) {
	f.Add(encoded(f, "png", 4, 3, color.Black))
	f.Add(encoded(f, "gif", 2, 2, color.White))
	f.Add(encoded(f, "jpeg", 5, 5, color.Black))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	s := &Store{Dir: f.TempDir()}
	f.Fuzz(func(t *testing.T, data []byte) {
		name, err := s.Put(data)
		if err != nil {
			return
		}
		b, err := s.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil || format != "jpeg" || cfg.Width > MaxWidth {
			t.Fatalf("stored %s %dx%d: %v", format, cfg.Width, cfg.Height, err)
		}
	})
}
