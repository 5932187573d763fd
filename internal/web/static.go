package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// Static files: read from the embedded assets once, each with a name that
// carries a hash of its content (caseworker.3f2a9c1d.css), so that pages
// link to a name browsers may keep for a year and a new release links to
// a new one. The plain name still works, revalidated by ETag. Text files
// are gzipped once, up front, for browsers that accept it: a slow phone
// line carries a quarter of the bytes.

type staticFile struct {
	name, stamped, etag, contentType string
	plain, gz                        []byte
}

type staticFiles struct {
	byName  map[string]*staticFile // both the plain and the stamped name
	stamped map[string]string      // plain name → stamped name
}

var loadStatic = sync.OnceValue(func() *staticFiles {
	sf := &staticFiles{byName: map[string]*staticFile{}, stamped: map[string]string{}}
	err := fs.WalkDir(Assets(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Assets(), p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:4])
		ext := path.Ext(p)
		f := &staticFile{name: p, stamped: strings.TrimSuffix(p, ext) + "." + h + ext, etag: `"` + h + `"`, plain: b,
			contentType: mime.TypeByExtension(ext)}
		if f.contentType == "" {
			f.contentType = http.DetectContentType(b)
		}
		if compressible(f.contentType) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(b)
			_ = zw.Close()
			if buf.Len() < len(b) {
				f.gz = buf.Bytes()
			}
		}
		sf.byName[f.name], sf.byName[f.stamped], sf.stamped[f.name] = f, f, f.stamped
		return nil
	})
	if err != nil {
		panic(err) // the assets are embedded: they cannot be missing
	}
	return sf
})

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.Contains(contentType, "svg") ||
		strings.Contains(contentType, "javascript") || strings.Contains(contentType, "json")
}

// assetPath is the address a page links a static file by: its stamped
// name.
func assetPath(name string) string {
	if h, ok := loadStatic().stamped[name]; ok {
		return "/static/" + h
	}
	return "/static/" + name
}

// serveStatic answers /static/<name> and /favicon.ico.
func serveStatic(c echo.Context) error {
	name := c.Param("*")
	if c.Path() == "/favicon.ico" {
		name = "favicon.svg"
	}
	f, ok := loadStatic().byName[name]
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", f.etag)
	if name == f.stamped {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := f.plain
	if f.gz != nil && acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	return c.Blob(http.StatusOK, f.contentType, body)
}

// acceptsGzip reads Accept-Encoding as browsers send it ("gzip, deflate,
// br"); a q of 0 refuses.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") || strings.TrimSpace(enc) == "*" {
			return strings.ReplaceAll(params, " ", "") != "q=0"
		}
	}
	return false
}
