package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// Static files are linked by a hashed name, cached for a year, gzipped
// for browsers that take it and revalidated by ETag; the favicon is
// served.
func TestStaticFilesAreCacheableAndCompressed(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	page := e.browser().get("/login").Body.String()
	m := regexp.MustCompile(`href="(/static/caseworker\.[0-9a-f]{8}\.css)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page does not link the stylesheet by a hashed name:\n%.800s", page)
	}
	get := func(path string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		return rec
	}
	rec := get(m[1], map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	mustStatus(t, "hashed stylesheet", rec, http.StatusOK)
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control %q", cc)
	}
	if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("not gzipped: %v", rec.Header())
	}
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	css, _ := io.ReadAll(zr)
	plain := get("/static/caseworker.css", nil)
	if !bytes.Equal(css, plain.Body.Bytes()) || plain.Header().Get("Content-Encoding") != "" || !strings.HasPrefix(plain.Header().Get("Content-Type"), "text/css") {
		t.Error("the gzipped and plain stylesheets differ, or the plain one is encoded")
	}
	if rec.Body.Len()*2 > len(css) {
		t.Errorf("gzip saves little: %d of %d bytes", rec.Body.Len(), len(css))
	}
	if cc := plain.Header().Get("Cache-Control"); cc != "public, no-cache" {
		t.Errorf("plain name Cache-Control %q", cc)
	}
	mustStatus(t, "revalidated", get("/static/caseworker.css", map[string]string{"If-None-Match": plain.Header().Get("ETag")}), http.StatusNotModified)
	fav := get("/favicon.ico", nil)
	mustStatus(t, "favicon", fav, http.StatusOK)
	if !strings.HasPrefix(fav.Header().Get("Content-Type"), "image/svg+xml") {
		t.Errorf("favicon type %q", fav.Header().Get("Content-Type"))
	}
	mustStatus(t, "a directory", get("/static/", nil), http.StatusNotFound)
	mustStatus(t, "a missing file", get("/static/nothing.css", nil), http.StatusNotFound)
}
