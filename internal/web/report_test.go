package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/report"
	"github.com/waymark-atd/waymark/internal/store"
)

// reportScene is two caseloads of twelve people with a daily window over
// the last three weeks, all kept on time but one, which one person
// missed: enough people to show the programme's figures, and one miss
// that must never show.
func reportScene(t *testing.T) (*cwEnv, []store.Participant) {
	t.Helper()
	e := newCaseworkerEnv(t, envOptions{})
	now := e.clock.Now()
	day0 := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC).AddDate(0, 0, -21)
	var people []store.Participant
	for i := range 24 {
		cw := e.cara
		if i%2 == 1 {
			cw = e.carl
		}
		p := e.participant(fmt.Sprintf("Person %02d", i), cw)
		people = append(people, p)
		var turn store.Turn
		turn.ParticipantID = p.ID
		for d := range 20 {
			opens := day0.AddDate(0, 0, d)
			w := store.Window{Ref: fmt.Sprintf("win:%s:%d", p.ID, opens.Unix()), ParticipantID: p.ID, OpensAt: opens, ClosesAt: opens.Add(12 * time.Hour),
				GraceEndsAt: opens.Add(36 * time.Hour), Outcome: store.WindowOnTime, DecidedAt: opens.Add(36 * time.Hour), UpdatedAt: opens.Add(36 * time.Hour)}
			c := store.CheckIn{ID: fmt.Sprintf("c_%s_%d", p.ID, d), ParticipantID: p.ID, At: opens.Add(time.Hour), Channel: store.SMS, Outcome: store.OnTime}
			if i == 3 && d == 10 {
				w.Outcome = store.WindowMissed
			} else {
				w.CheckInID = c.ID
				turn.CheckIns = append(turn.CheckIns, c)
			}
			turn.Windows = append(turn.Windows, w)
		}
		if err := e.st.ApplyTurn(t.Context(), turn); err != nil {
			t.Fatal(err)
		}
	}
	return e, people
}

func TestAPIReport(t *testing.T) {
	t.Parallel()
	e, people := reportScene(t)
	from := e.clock.Now().AddDate(0, 0, -21).Format(time.DateOnly)
	to := e.clock.Now().Format(time.DateOnly)
	q := "?from=" + from + "&to=" + to + "&by=week"

	rec := e.api(e.admin, "GET", "/api/v1/report"+q, nil)
	mustStatus(t, "admin report", rec, http.StatusOK)
	body := rec.Body.String()
	for _, p := range people {
		if strings.Contains(body, p.ID) || strings.Contains(body, p.Label) {
			t.Fatalf("the report names a person: %s", p.ID)
		}
	}
	r := decodeJSON[report.Report](t, rec)
	if r.MinPeople != 10 || r.Caseworker != "" || len(r.Periods) < 3 {
		t.Fatalf("report %+v", r)
	}
	var sawWindows, sawMissedHidden bool
	for _, s := range r.Sections {
		for _, row := range s.Rows {
			for _, c := range row.Cells {
				if row.Key == "windows" && c.Value != nil && *c.Value > 0 {
					sawWindows = true
				}
				if row.Key == "missed" && c.Value != nil && *c.Value > 0 {
					t.Errorf("one person's miss is shown: %+v", row)
				}
				if row.Key == "missed" && c.Hidden {
					sawMissedHidden = true
				}
			}
		}
	}
	if !sawWindows || !sawMissedHidden {
		t.Errorf("windows shown %v, the miss hidden %v", sawWindows, sawMissedHidden)
	}

	// A caseworker gets their own caseload, and only theirs.
	mine := decodeJSON[report.Report](t, e.api(e.cara, "GET", "/api/v1/report"+q, nil))
	if mine.Caseworker != e.cara.ID {
		t.Errorf("caseworker's report is of %q", mine.Caseworker)
	}
	apiErr(t, "another caseload", e.api(e.cara, "GET", "/api/v1/report"+q+"&caseworker="+e.carl.ID, nil), http.StatusForbidden, codeForbidden)
	apiErr(t, "bad by", e.api(e.admin, "GET", "/api/v1/report?by=day", nil), http.StatusUnprocessableEntity, codeInvalid)
	apiErr(t, "bad from", e.api(e.admin, "GET", "/api/v1/report?from=last+week", nil), http.StatusUnprocessableEntity, codeInvalid)
	apiErr(t, "backwards", e.api(e.admin, "GET", "/api/v1/report?from=2026-03-01&to=2026-02-01", nil), http.StatusUnprocessableEntity, codeInvalid)
	carl := decodeJSON[report.Report](t, e.api(e.admin, "GET", "/api/v1/report"+q+"&caseworker="+e.carl.ID, nil))
	if carl.Caseworker != e.carl.ID {
		t.Errorf("admin's caseload report is of %q", carl.Caseworker)
	}

	// CSV: every table, hidden figures in words.
	rec = e.api(e.admin, "GET", "/api/v1/report.csv"+q, nil)
	mustStatus(t, "csv", rec, http.StatusOK)
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil || strings.Join(rows[0], ",") != "section,figure,period,from,to,value,share,hidden,cost" {
		t.Fatalf("csv %v %v", rows[:1], err)
	}
	hidden := 0
	for _, row := range rows[1:] {
		if row[1] == "missed" && row[7] == "fewer than 10 people" {
			hidden++
		}
		if row[1] == "missed" && row[5] != "" && row[5] != "0" {
			t.Errorf("csv shows the miss: %v", row)
		}
	}
	if hidden == 0 {
		t.Errorf("csv marks no hidden miss")
	}

	// Every read is in the audit log, and says what was read.
	entries, _ := e.st.ListAudit(t.Context(), "", 0)
	reads := 0
	for _, en := range entries {
		if en.Action == "report_viewed" {
			reads++
			if en.ParticipantID != "" {
				t.Errorf("a report read names a participant: %+v", en)
			}
		}
	}
	if reads != 4 {
		t.Errorf("%d report reads audited, want 4 (admin, cara, admin for carl, csv)", reads)
	}
}

func TestReportPage(t *testing.T) {
	t.Parallel()
	e, people := reportScene(t)
	for _, who := range []store.Account{e.admin, e.cara} {
		b := e.signedIn(who)
		rec := b.get("/report?by=week")
		mustStatus(t, who.Username+" report page", rec, http.StatusOK)
		body := rec.Body.String()
		for _, want := range []string{`<svg class="report-chart"`, "Is reporting working?", "Burden on the person", "fewer than 10", `href="/report.csv?by=week"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %q", who.Username, want)
			}
		}
		if strings.Contains(body, "<script") || strings.Contains(body, " style=") {
			t.Errorf("inline script or style, which the CSP forbids")
		}
		for _, p := range people {
			if strings.Contains(body, p.Label) {
				t.Errorf("the page names %s", p.Label)
			}
		}
		mustStatus(t, "page csv", b.get("/report.csv?by=month"), http.StatusOK)
	}
	admin := e.signedIn(e.admin).get("/report").Body.String()
	if !strings.Contains(admin, `<option value="`+e.carl.ID+`"`) {
		t.Errorf("an administrator cannot choose a caseload")
	}
	mustStatus(t, "caseworker asks for another", e.signedIn(e.cara).get("/report?caseworker="+e.carl.ID), http.StatusForbidden)
}
