package web

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the API's contract (OpenAPI 3.1), written by hand
// beside the handlers. The API tests check every request and answer they
// make against it (openapi_test.go), so the two cannot drift apart.
//
//go:embed openapi.json
var openAPIDocument []byte

// apiOpenAPI is GET /api/v1/openapi.json: public, as the contract holds
// nothing about anyone and tools fetch it before they hold a token.
func (s *Server) apiOpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
