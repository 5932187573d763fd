package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// bindJSON decodes a JSON body strictly: unknown fields, trailing data,
// invalid UTF-8 and bodies over the route's limit are each a clear 4xx.
func bindJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large")
		}
		if he, ok := errors.AsType[*echo.HTTPError](err); ok {
			return he
		}
		return echo.NewHTTPError(http.StatusBadRequest, "could not read request body")
	}
	if !utf8.Valid(body) {
		return echo.NewHTTPError(http.StatusBadRequest, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "invalid JSON: "+jsonProblem(err))
	}
	if dec.More() {
		return echo.NewHTTPError(http.StatusBadRequest, "invalid JSON: trailing data")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error"
	case errors.As(err, &typ):
		return "wrong type for field " + typ.Field
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	if msg := err.Error(); len(msg) < 80 && len(msg) > 0 {
		return msg // e.g. `json: unknown field "x"`: names a field, not a value
	}
	return "malformed"
}
