package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/report"
	"github.com/waymark-atd/waymark/internal/store"
)

// The programme report (docs/report.md): the page, its CSV and the API
// call. Administrators see the whole programme or one caseload;
// caseworkers see their own caseload's. Every read is audited.

// reportDefaultWeeks is how far back the report looks by default.
const reportDefaultWeeks = 12

// reportMaxSpan bounds a report's dates: three years of weeks.
const reportMaxSpan = 3 * 366 * 24 * time.Hour

// reportOptions reads ?from=&to=&by=&caseworker= for account me, with the
// programme's settings.
func (s *Server) reportOptions(c echo.Context, me store.Account) (report.Options, error) {
	now := s.now().UTC()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from := to.AddDate(0, 0, -7*reportDefaultWeeks+1)
	var err error
	if v := strings.TrimSpace(c.QueryParam("to")); v != "" {
		if to, err = report.ParseDate(v); err != nil {
			return report.Options{}, invalid("to: use a date like 2026-03-31")
		}
	}
	if v := strings.TrimSpace(c.QueryParam("from")); v != "" {
		if from, err = report.ParseDate(v); err != nil {
			return report.Options{}, invalid("from: use a date like 2026-03-01")
		}
	}
	if to.Before(from) {
		return report.Options{}, invalid("from must not be after to")
	}
	if to.Sub(from) > reportMaxSpan {
		return report.Options{}, invalid("a report covers at most three years")
	}
	by := report.By(c.QueryParam("by"))
	switch by {
	case "":
		by = report.ByWeek
	case report.ByWeek, report.ByMonth:
	default:
		return report.Options{}, invalid("by: week or month")
	}
	cw := strings.TrimSpace(c.QueryParam("caseworker"))
	if !canSeeAll(me) {
		if cw != "" && cw != me.ID {
			return report.Options{}, forbidden("only an administrator can see another caseworker's report")
		}
		cw = me.ID
	}
	pr := s.programme()
	o := report.Options{From: from, To: to, By: by, Caseworker: cw, MinPeople: pr.Report.MinPeople,
		ShortWindow: pr.Report.ShortWindow.D(), SegmentPrice: pr.Report.SegmentPrice, Currency: pr.Report.Currency}
	if o.MinPeople < 2 {
		o.MinPeople = report.DefaultMinPeople
	}
	qs, err1 := flow.ParseClock(pr.QuietHours.Start)
	qe, err2 := flow.ParseClock(pr.QuietHours.End)
	if err1 == nil && err2 == nil {
		o.QuietStart, o.QuietEnd = qs, qe
	}
	return o, nil
}

// computeReport builds the report and records that account me read it.
func (s *Server) computeReport(c echo.Context, me store.Account, o report.Options, how string) (report.Report, error) {
	ctx := c.Request().Context()
	r, err := report.Compute(ctx, s.deps.Store, o)
	if err != nil {
		return report.Report{}, fmt.Errorf("web: report: %w", err)
	}
	scope := "programme"
	if o.Caseworker != "" {
		scope = "caseload " + o.Caseworker
	}
	detail := fmt.Sprintf("%s %s to %s by %s, %s", how, r.From.Format(time.DateOnly), r.To.Format(time.DateOnly), r.By, scope)
	if err := s.audit(ctx, me, "report_viewed", "", detail); err != nil {
		return report.Report{}, err
	}
	return r, nil
}

// apiReport is GET /api/v1/report.
func (s *Server) apiReport(c echo.Context) error {
	me := apiAccount(c)
	o, err := s.reportOptions(c, me)
	if err != nil {
		return err
	}
	r, err := s.computeReport(c, me, o, "api")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, r)
}

// apiReportCSV is GET /api/v1/report.csv.
func (s *Server) apiReportCSV(c echo.Context) error {
	me := apiAccount(c)
	o, err := s.reportOptions(c, me)
	if err != nil {
		return err
	}
	r, err := s.computeReport(c, me, o, "csv")
	if err != nil {
		return err
	}
	return s.sendReportCSV(c, r)
}

// reportCSVPage is GET /report.csv, the page's download.
func (s *Server) reportCSVPage(c echo.Context) error {
	me := session(c).Account
	o, err := s.reportOptions(c, me)
	if err != nil {
		return s.pageError(c, err)
	}
	r, err := s.computeReport(c, me, o, "csv")
	if err != nil {
		return err
	}
	return s.sendReportCSV(c, r)
}

// reportCSV is every table of the report, one figure a line: section,
// figure, period, value, share, and "hidden" where a figure is hidden.
func reportCSV(r report.Report) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"section", "figure", "period", "from", "to", "value", "share", "hidden", "cost"})
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	for _, sec := range r.Sections {
		for _, row := range sec.Rows {
			for i, cell := range row.Cells {
				p := r.Periods[i]
				hidden := ""
				if cell.Hidden {
					hidden = "fewer than " + strconv.Itoa(r.MinPeople) + " people"
				}
				_ = w.Write([]string{sec.Key, row.Key, p.Label, p.From.Format(time.DateOnly), p.To.Format(time.DateOnly),
					num(cell.Value), num(cell.Share), hidden, num(cell.Cost)})
			}
			if row.Total != nil {
				_ = w.Write([]string{sec.Key, row.Key, "total of periods shown", r.From.Format(time.DateOnly), r.To.Format(time.DateOnly),
					num(row.Total.Value), num(row.Total.Share), "", num(row.Total.Cost)})
			}
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

func (s *Server) sendReportCSV(c echo.Context, r report.Report) error {
	body, err := reportCSV(r)
	if err != nil {
		return fmt.Errorf("web: report csv: %w", err)
	}
	name := "report-" + r.From.Format("20060102") + "-" + r.To.Format("20060102") + "-" + string(r.By) + ".csv"
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", body)
}

// The page.

type reportView struct {
	page
	R           report.Report
	From, To    string // the form's dates as asked
	By          string
	Caseworker  string
	Caseworkers []store.Account // for an administrator's choice
	Query       template.URL    // the same report, for the CSV link
	Outcomes    template.HTML   // the stacked bars
	Burden      template.HTML   // the line of messages per person
	Fewer       string          // "fewer than 10"
	Retention   string          // how far back sent messages go
	Tables      []reportTable
}

// reportTable is a section of the report as the page writes it.
type reportTable struct {
	Key, Title, About string
	Rows              []reportTableRow
}

type reportTableRow struct {
	Label string
	Cells []reportTableCell
	Total string
}

type reportTableCell struct {
	Text   string
	Hidden bool
}

// tablesOf writes every figure as text: a count with its share, a
// median, segments with their cost, or "fewer than 10".
func tablesOf(r report.Report, fewer string) []reportTable {
	text := func(row report.Row, c report.Cell) reportTableCell {
		switch {
		case c.Hidden:
			return reportTableCell{Text: fewer, Hidden: true}
		case c.Value == nil:
			return reportTableCell{Text: "–"}
		}
		t := trimFloat(*c.Value)
		if c.Share != nil {
			t += fmt.Sprintf(" (%s%%)", trimFloat(100**c.Share))
		}
		if c.Cost != nil && *c.Value > 0 {
			t += fmt.Sprintf(", %s %.2f", r.Currency, *c.Cost)
		}
		return reportTableCell{Text: t}
	}
	var out []reportTable
	for _, s := range r.Sections {
		t := reportTable{Key: s.Key, Title: s.Title, About: s.About}
		for _, row := range s.Rows {
			tr := reportTableRow{Label: row.Label}
			for _, c := range row.Cells {
				tr.Cells = append(tr.Cells, text(row, c))
			}
			if row.Total != nil {
				tr.Total = text(row, *row.Total).Text
			}
			t.Rows = append(t.Rows, tr)
		}
		out = append(out, t)
	}
	return out
}

func (s *Server) reportPage(c echo.Context) error {
	me := session(c).Account
	o, err := s.reportOptions(c, me)
	if err != nil {
		if _, ok := errors.AsType[*opError](err); ok {
			return s.pageError(c, err)
		}
		return err
	}
	r, err := s.computeReport(c, me, o, "page")
	if err != nil {
		return err
	}
	v := reportView{page: s.page(c, "Programme report", "report"), R: r,
		From: o.From.Format(time.DateOnly), To: o.To.Format(time.DateOnly), By: string(r.By), Caseworker: c.QueryParam("caseworker"),
		Fewer: "fewer than " + strconv.Itoa(r.MinPeople)}
	q := url.Values{}
	for _, k := range []string{"from", "to", "by", "caseworker"} {
		if val := strings.TrimSpace(c.QueryParam(k)); val != "" {
			q.Set(k, val)
		}
	}
	v.Query = template.URL(q.Encode()) // each value escaped by Encode
	if canSeeAll(me) {
		_, accts, err := s.accountNames(c.Request().Context())
		if err != nil {
			return err
		}
		v.Caseworkers = accts
	}
	v.Tables = tablesOf(r, v.Fewer)
	v.Outcomes = outcomeBars(r, v.Fewer)
	v.Burden = burdenLine(r)
	v.Retention = fmt.Sprintf("%d days", flow.Days(s.programme().Retention.SentMessages.D()))
	return s.render(c, http.StatusOK, "report", v)
}
