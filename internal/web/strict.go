package web

import (
	"mime"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// Malformed input is refused, never half-read. Go's form parsing keeps
// what it could read before a broken %-escape and Echo's FormValue drops
// the error, so "&x=hel%2" would act on the fields before it; these check
// the whole query and form first and answer 400 with nothing done.

// strictForm refuses a caseworker request whose query or form body does
// not parse, or a POST whose body is not a form.
func strictForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodPost {
			mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
			if err != nil || mt != echo.MIMEApplicationForm {
				return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the form as application/x-www-form-urlencoded")
			}
		}
		if err := r.ParseForm(); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "the form or address is malformed")
		}
		return next(c)
	}
}

// strictQuery refuses an API request whose query string does not parse,
// as docs/api.md promises ("?since=%ZZ" is 400, not "no since").
func strictQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := url.ParseQuery(c.Request().URL.RawQuery); err != nil {
			return apiFail(http.StatusBadRequest, codeBadRequest, "the query string is malformed")
		}
		return next(c)
	}
}
