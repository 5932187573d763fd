package web

import (
	"context"
	"flag"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// The browser test drives Debian's Chromium through the caseworker pages
// as a person would. CI installs Chromium (.ci/run); without it the test
// fails and says how to install it, unless WAYMARK_SKIP_BROWSER=1.
//
// go test ./internal/web -run TestBrowser -screenshots
// rewrites docs/screenshots/*.png.

var screenshots = flag.Bool("screenshots", false, "write the browser test's screenshots to docs/screenshots")

const chromiumPath = "/usr/bin/chromium"

func chromium(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("WAYMARK_SKIP_BROWSER") == "1" {
		t.Skip("WAYMARK_SKIP_BROWSER=1: browser test skipped")
	}
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s: install it with `apt-get install -y chromium` (or set WAYMARK_SKIP_BROWSER=1 to skip this test)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.UserDataDir(t.TempDir()),
	}
	ctx, cancelTimeout := context.WithTimeout(t.Context(), 3*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancelTimeout() })
	return bctx
}

// The two sizes every page is walked at: a laptop and a phone.
var browserSizes = []struct {
	name          string
	width, height int64
}{{"desktop", 1280, 900}, {"phone", 390, 844}}

// TestBrowserCaseworkerDay walks a caseworker's day in Chromium at both
// sizes: enrolment with a reload, the queue worked through with the
// keyboard, a participant's page by keyboard only, the programme, and the
// audit log as an administrator. axe-core checks every page on the way
// and nothing serious or critical may be found.
func TestBrowserCaseworkerDay(t *testing.T) {
	t.Parallel()
	axeJS := axeSource(t)
	for _, size := range browserSizes {
		t.Run(size.name, func(t *testing.T) {
			t.Parallel() // each size has its own browser, store and server
			walkCaseworkerDay(t, axeJS, size.name, size.width, size.height)
		})
	}
}

// axeSource reads axe-core, which .ci/test.sh installs from npm (outside
// the repository) and names in WAYMARK_AXE_PATH.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("WAYMARK_AXE_PATH")
	if path == "" {
		t.Skip("WAYMARK_AXE_PATH is unset: the browser walk checks every page with axe-core; run it through .ci/test.sh, which installs axe-core and sets it, " +
			"or `npm install --prefix ~/.cache/waymark-axe axe-core@4` and WAYMARK_AXE_PATH=~/.cache/waymark-axe/node_modules/axe-core/axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("WAYMARK_AXE_PATH: %v", err)
	}
	return string(b)
}

// pageWalker drives one browser through the pages.
type pageWalker struct {
	t       *testing.T
	ctx     context.Context
	axeJS   string
	shotDir string
	size    string
	width   int64
	height  int64
	step    int // counts submit's steps
}

func (w *pageWalker) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.ctx, steps...); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

func (w *pageWalker) text(sel string) string {
	w.t.Helper()
	s, err := chromedp.Run(w.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		w.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (w *pageWalker) eval(what, js string) string {
	w.t.Helper()
	s, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	return s
}

// shot saves a full-page screenshot, named for the size.
func (w *pageWalker) shot(name string) {
	w.t.Helper()
	if w.size == "phone" {
		if name != "needs-attention" && name != "participant" {
			return // the README shows these two on a phone
		}
		name += "-phone"
	}
	png, err := chromedp.Run(w.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		w.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(w.shotDir, name+".png"), png, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// check runs axe-core on the page and fails on any serious or critical
// violation; at phone width it also fails when the page scrolls
// sideways.
func (w *pageWalker) check(page string) {
	w.t.Helper()
	vs, err := chromedp.Run(w.ctx, chromedp.Evaluate[[]axeViolation](w.axeJS+`;axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.slice(0, 3).map(n => ({target: n.target, html: n.html}))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		w.t.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			w.t.Errorf("axe on %s (%s): %s %s: %s; e.g. %+v", page, w.size, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			w.t.Logf("axe on %s (%s), %s: %s %s", page, w.size, v.Impact, v.ID, v.Help)
		}
	}
	if over := w.eval("sideways", `String(document.documentElement.scrollWidth - document.documentElement.clientWidth)`); over != "0" {
		wide := w.eval("what is wide", `(cw => [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > cw + 1 && e.parentElement.getBoundingClientRect().right <= cw + 1).slice(0, 3).map(e => e.outerHTML.slice(0, 160)).join("\n"))(document.documentElement.clientWidth)`)
		w.t.Errorf("%s scrolls sideways by %spx at %dpx; the widest:\n%s", page, over, w.width, wide)
	}
}

// tabTo presses Tab until the focused element matches sel.
func (w *pageWalker) tabTo(sel string) {
	w.t.Helper()
	js := `document.activeElement && document.activeElement.matches(` + strconv.Quote(sel) + `) ? "yes" : ""`
	for range 200 {
		if w.eval("focus", js) == "yes" {
			return
		}
		w.do("tab", chromedp.KeyEvent(kb.Tab))
	}
	w.t.Fatalf("Tab never reached %s (last: %s)", sel, w.eval("focus", `document.activeElement.outerHTML.slice(0, 200)`))
}

// submit does act (a click or a key that sends a form) and waits for the
// next page to show sel: the old page is marked first, so that its own
// sel is not taken for the new one's.
func (w *pageWalker) submit(what string, act chromedp.Action[chromedp.Void], sel string) {
	w.t.Helper()
	// Each step its own mark: a page the browser brings back from its
	// cache (Back) may carry the mark of an earlier step, never this one.
	w.step++
	mark := strconv.Quote("step " + strconv.Itoa(w.step))
	w.eval("mark", `window.__walkerStep = `+mark)
	w.do(what, act)
	js := `document.readyState === "complete" && window.__walkerStep !== ` + mark + ` && !!document.querySelector(` + strconv.Quote(sel) + `)`
	for range 200 {
		// Asked again after each navigation: a question asked while the
		// page changes fails, and is not an answer.
		if ok, err := chromedp.Run(w.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("%s: the next page with %s never came (at %s)", what, sel, w.eval("where", `location.href`))
}

// focusedOn waits for focus to reach the element with ID want and
// answers where it is. A page's autofocus is applied at the browser's next
// rendering step, which on a busy machine can come after the page reports
// itself loaded, so focus is asked for again for up to two seconds.
func (w *pageWalker) focusedOn(want string) string {
	var at string
	for range 40 {
		if at = w.eval("focus", `document.activeElement ? (document.activeElement.id || document.activeElement.tagName) : ""`); at == want {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return at
}

func walkCaseworkerDay(t *testing.T, axeJS, size string, width, height int64) {
	ctx := chromium(t)
	e := newCaseworkerEnv(t, envOptions{auth: auth.Options{SessionTTL: 60 * 24 * time.Hour}})
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	w := &pageWalker{t: t, ctx: ctx, axeJS: axeJS, shotDir: t.TempDir(), size: size, width: width, height: height}
	if *screenshots {
		w.shotDir = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(w.shotDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.do("open", chromedp.EmulateViewport(width, height))

	// Sign in.
	w.do("sign-in page", chromedp.Navigate(ts.URL+"/attention"), chromedp.WaitVisible(chromedp.ID("username")))
	w.check("sign in")
	w.shot("login")
	w.do("sign in",
		chromedp.SendKeys(chromedp.ID("username"), "cara"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("p.lead")))
	if h := w.text("h1"); h != "Needs attention" {
		t.Fatalf("after sign-in the page is %q", h)
	}
	w.check("empty queue")

	// Enrol a participant whose label is written right to left. The first
	// try has mistakes: all are shown at once, beside their fields.
	label := "أمينة ك."
	w.do("enrol form", chromedp.Navigate(ts.URL+"/participants/new"), chromedp.WaitVisible(chromedp.ID("label")))
	if tz := w.eval("zone", `document.getElementById("time_zone").value`); tz != "Europe/London" {
		t.Errorf("the time zone offered first is %q, not the programme's", tz)
	}
	if vis := w.eval("every", `getComputedStyle(document.querySelector(".every-only")).display`); vis != "none" {
		t.Errorf("the every-few-days fields show for a weekly schedule (%s)", vis)
	}
	w.do("two mistakes",
		chromedp.SendKeys(chromedp.ID("label"), "07700 900123"),
		chromedp.Click(chromedp.CSS(`input[name=schedule][value=every]`)),
		chromedp.SetValue(chromedp.ID("every_days"), "0"),
		chromedp.Click(chromedp.CSS(`form[action="/participants"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	// A label like a phone number, "every 0 days" and no first day: three
	// problems, each beside its field.
	for _, id := range []string{"label", "every_days", "from"} {
		if got := w.eval("invalid", `document.getElementById("`+id+`").getAttribute("aria-invalid") || ""`); got != "true" {
			t.Errorf("%s is not marked invalid", id)
		}
		if got := w.eval("described", `(e => document.getElementById(e.getAttribute("aria-describedby").split(" ")[0]).textContent)(document.getElementById("`+id+`"))`); got == "" {
			t.Errorf("%s is not described by its problem", id)
		}
	}
	if n := w.eval("problems", `String(document.querySelectorAll(".error-summary li").length)`); n != "3" {
		t.Errorf("%s problems listed, want 3", n)
	}
	w.check("enrol form with mistakes")
	w.eval("clear the label", `document.getElementById("label").value = ""`)
	w.do("fix them",
		chromedp.SendKeys(chromedp.ID("label"), label),
		chromedp.SetValue(chromedp.ID("language"), "ar"),
		chromedp.Click(chromedp.CSS(`input[name=schedule][value=weekly]`)))
	w.check("enrol form")
	w.shot("enrol")
	w.do("enrol", chromedp.Click(chromedp.CSS(`form[action="/participants"] button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("enrolment-code")))
	code := w.text("#enrolment-code")
	if len(code) != 8 {
		t.Fatalf("enrolment code %q", code)
	}
	if got := w.text("#sms-instruction"); got != "JOIN "+code {
		t.Errorf("SMS instruction %q", got)
	}
	if got := w.text("#text-number"); got != "+44 7700 900000" {
		t.Errorf("the number to text is %q", got)
	}
	link, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("telegram-link"), "href"))
	if err != nil || link.Value != "https://t.me/ExampleCheckInBot?start="+code {
		t.Fatalf("Telegram link %+v, %v", link, err)
	}
	w.do("QR code", chromedp.WaitVisible(chromedp.CSS("figure.qr svg")))
	w.check("enrolment code")
	w.shot("enrolment-code")
	// A reload, or the page's address opened again, shows the same code
	// and enrols no one.
	codePage := w.eval("address", `location.href`)
	w.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("enrolment-code")))
	if again := w.text("#enrolment-code"); again != code {
		t.Errorf("after a reload the code is %q, not %q", again, code)
	}
	w.do("open it again", chromedp.Navigate(ts.URL+"/participants"), chromedp.Navigate(codePage), chromedp.WaitVisible(chromedp.ID("enrolment-code")))
	ps, err := e.st.ListParticipants(t.Context())
	if err != nil || len(ps) != 1 || ps[0].Label != label {
		t.Fatalf("participants after the reload = %+v, %v", ps, err)
	}
	p := ps[0]

	// The person links their phone with the code, checks in on time twice
	// and late once, then misses a window: the scheduler, moved on in
	// time, finds the miss.
	if out, err := e.conv.Handle(t.Context(), conversation.Inbound{Channel: store.Simulator, Address: "sim-amina", Text: "JOIN " + code}); err != nil || out.ParticipantID != p.ID {
		t.Fatalf("JOIN: %+v, %v", out, err)
	}
	if _, err := e.conv.Handle(t.Context(), conversation.Inbound{Channel: store.Simulator, Address: "sim-amina", Text: "1"}); err != nil {
		t.Fatalf("agree: %v", err)
	}
	if p, err = e.st.GetParticipant(t.Context(), p.ID); err != nil || !p.Consented() {
		t.Fatalf("after agreeing: %+v, %v", p, err)
	}
	cal, err := schedule.CalendarOf(p)
	if err != nil {
		t.Fatal(err)
	}
	win, _ := cal.From(e.clock.Now())
	var windows []schedule.Window
	for range 4 {
		windows = append(windows, win)
		win, _ = cal.Next(win)
	}
	for i, at := range []time.Time{windows[0].Start.Add(time.Hour), windows[1].End.Add(2 * time.Hour), windows[2].Start.Add(3 * time.Hour)} {
		outcome := store.OnTime
		if i == 1 {
			outcome = store.Late
		}
		if err := e.st.RecordCheckIn(t.Context(), store.CheckIn{ID: store.NewID("c_"), ParticipantID: p.ID, At: at, Channel: store.SMS, Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	for e.clock.Now().Before(windows[3].End.Add(48 * time.Hour)) {
		e.clock.Advance(6 * time.Hour)
		if _, err := e.sched.RunOnce(t.Context(), e.clock.Now()); err != nil {
			t.Fatalf("scheduler: %v", err)
		}
		deliverAll(t, e.st, e.clock.Now())
	}
	items, err := e.st.ListAttention(t.Context(), true)
	if err != nil || len(items) != 1 || items[0].Kind != store.AttentionMissed || items[0].Ref != windows[3].Ref(p.ID) {
		t.Fatalf("attention after the scheduler ran = %+v, %v; want one miss of the fourth window", items, err)
	}
	missed := items[0]
	// Two more people need a human: one the service cannot reach (who
	// also asked for a call), one who asked for a call, waiting longest.
	bo := e.participant("Bo S.", e.cara)
	reach := e.attentionItem(bo, store.AttentionCantReach)
	e.attentionItem(bo, store.AttentionCallback)
	cy := e.participant("Cy T.", e.cara)
	cyCall := store.AttentionItem{ID: store.NewID("n_"), ParticipantID: cy.ID, Kind: store.AttentionCallback, CreatedAt: missed.CreatedAt.Add(-time.Hour)}
	if err := e.st.AddAttention(t.Context(), cyCall); err != nil {
		t.Fatal(err)
	}

	// The queue: one card a person, can't reach never looking like a miss.
	w.do("queue", chromedp.Navigate(ts.URL+"/attention"), chromedp.WaitVisible(chromedp.ID("item-"+missed.ID)))
	if n := w.eval("cards", `String(document.querySelectorAll("ol.queue > li.card").length)`); n != "3" {
		t.Errorf("%s cards, want one a person (3)", n)
	}
	item := w.text("#item-" + missed.ID)
	if !strings.Contains(item, "Missed check-in") || !strings.Contains(item, "its record says: missed") {
		t.Errorf("queue item lacks its kind, or its window's record: %q", item)
	}
	colour := func(id string) string {
		return w.eval("colour", `(s => s.borderInlineStartColor + " " + s.borderInlineStartStyle)(getComputedStyle(document.getElementById("`+id+`")))`)
	}
	if a, b := colour("item-"+missed.ID), colour("item-"+reach.ID); a == b || !strings.Contains(b, "dashed") {
		t.Errorf("a miss (%s) and can't reach (%s) look alike", a, b)
	}
	if strings.Contains(w.text("#item-"+reach.ID), "Excuse") {
		t.Error("can't reach offers Excuse")
	}
	w.check("queue")
	w.shot("needs-attention")

	// Work through it by keyboard: Excuse the miss; focus goes to the next
	// card, with the notice and its undo beside it.
	cards := w.eval("order", `[...document.querySelectorAll("ol.queue > li.card")].map(c => c.id).join(" ")`)
	order := strings.Fields(cards)
	mine := slices.Index(order, "person-"+p.ID)
	if mine < 0 {
		t.Fatalf("no card for %s in %v", p.ID, order)
	}
	w.do("skip link", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
	w.tabTo(`#item-` + missed.ID + ` button[value="excused"]`)
	w.submit("excuse", chromedp.KeyEvent(kb.Enter), ".notice .undo")
	if mine+1 < len(order) {
		want := "head-" + strings.TrimPrefix(order[mine+1], "person-")
		if f := w.focusedOn(want); f != want {
			t.Errorf("after excusing, focus is on %q, want the next card's heading %q", f, want)
		}
		if in := w.eval("in view", `(r => r.top >= 0 && r.top < innerHeight ? "yes" : String(r.top))(document.getElementById("`+want+`").getBoundingClientRect())`); in != "yes" {
			t.Errorf("after excusing, the next card is not in view (top %s)", in)
		}
	}
	if n := w.text(".notice"); !strings.Contains(n, "Excused") {
		t.Errorf("notice after excusing: %q", n)
	}
	if w, err := e.st.GetWindow(t.Context(), p.ID, missed.Ref); err != nil || w.Outcome != store.WindowExcused || w.ExcusedBy != e.cara.ID {
		t.Fatalf("the ledger after excusing: %+v, %v", w, err)
	}
	w.check("queue after an action")
	// Undo, then excuse again: the item comes back, and goes.
	w.submit("undo", chromedp.Click(chromedp.CSS(".notice .undo")), "#person-"+p.ID)
	open, _ := e.st.AttentionOf(t.Context(), p.ID)
	var again store.AttentionItem
	for _, it := range open {
		if it.Open() {
			again = it
		}
	}
	if again.ID == "" || again.Kind != store.AttentionMissed {
		t.Fatalf("undo left %+v", open)
	}
	w.submit("excuse again", chromedp.Click(chromedp.CSS(`#item-`+again.ID+` button[value="excused"]`)), ".notice .undo")

	// Pause asks first.
	w.do("pause…", chromedp.Click(chromedp.CSS(`#item-`+reach.ID+` details.confirm summary`)), chromedp.WaitVisible(chromedp.CSS(`#item-`+reach.ID+` details.confirm button`)))
	if got, _ := e.st.GetParticipant(t.Context(), bo.ID); got.Status != store.Active {
		t.Fatal("opening Pause paused")
	}
	w.submit("yes, pause", chromedp.Click(chromedp.CSS(`#item-`+reach.ID+` details.confirm button`)), ".notice .undo")
	if got, _ := e.st.GetParticipant(t.Context(), bo.ID); got.Status != store.Paused {
		t.Errorf("not paused: %s", got.Status)
	}
	w.submit("undo the pause", chromedp.Click(chromedp.CSS(".notice .undo")), "#person-"+bo.ID)
	if got, _ := e.st.GetParticipant(t.Context(), bo.ID); got.Status != store.Active {
		t.Errorf("the pause stands after undo: %s", got.Status)
	}
	w.do("recently dealt with", chromedp.Click(chromedp.CSS("details.recent summary")), chromedp.WaitVisible(chromedp.CSS("ul.recent-list")))
	if r := w.text("ul.recent-list"); !strings.Contains(r, "Excused by cara") {
		t.Errorf("recently dealt with lacks who: %q", r)
	}
	w.check("queue with what was dealt with")

	// The participant's page, by keyboard only: from the list to the
	// person, the windows in words, and an appointment added.
	w.do("participants", chromedp.Navigate(ts.URL+"/participants"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	w.check("participants")
	w.shot("participants")
	w.do("skip link", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
	w.tabTo(`a[href="/participants/` + p.ID + `"]`)
	w.submit("open the person", chromedp.KeyEvent(kb.Enter), "svg.strip")
	legend := w.text("ul.legend")
	for _, want := range []string{"2 on time", "1 late", "1 excused"} {
		if !strings.Contains(legend, want) {
			t.Errorf("strip legend lacks %q: %q", want, legend)
		}
	}
	if strings.Contains(legend, "missed") {
		t.Errorf("strip legend counts a miss: %q", legend)
	}
	if letters := w.eval("letters", `[...document.querySelectorAll("svg.strip text")].map(t => t.textContent).join("")`); !strings.Contains(letters, "L") || !strings.Contains(letters, "E") {
		t.Errorf("the strip's cells carry no letters: %q", letters)
	}
	w.do("skip link", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
	w.tabTo("details.windows summary")
	w.do("open the windows", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("details.windows table")))
	if rows := w.text("details.windows tbody"); !strings.Contains(rows, "excused") || strings.Count(rows, "on time") != 2 {
		t.Errorf("the windows in words: %q", rows)
	}
	w.tabTo("#new-date")
	day := e.clock.Now().AddDate(0, 0, 10)
	// Headless Chromium's date and time fields take the US order:
	// month, day, year; hours, minutes, AM or PM.
	w.do("type the date", chromedp.KeyEvent(day.Format("01022006")))
	w.tabTo("#new-time")
	w.do("the time", chromedp.KeyEvent("1030AM"))
	w.tabTo("#new-place")
	w.do("the place", chromedp.KeyEvent("Office, 2nd floor"))
	if got := w.eval("typed", `["new-date", "new-time", "new-place"].map(id => document.getElementById(id).value).join(" ")`); got != day.Format(time.DateOnly)+" 10:30 Office, 2nd floor" {
		t.Fatalf("typed by keyboard: %q", got)
	}
	w.submit("add", chromedp.KeyEvent(kb.Enter), "#upcoming-h + ul.appointments")
	if got := w.text("#upcoming-h + ul.appointments"); !strings.Contains(got, day.Format("Mon 2 Jan 2006")+" at 10:30") || !strings.Contains(got, "Meeting with the caseworker") {
		t.Errorf("the appointment added by keyboard: %q", got)
	}
	w.check("participant")
	w.shot("participant")

	w.do("programme", chromedp.Navigate(ts.URL+"/programme?lang=ar"), chromedp.WaitVisible(chromedp.CSS("svg.flow")))
	w.check("programme")
	w.shot("programme")
	w.do("account", chromedp.Navigate(ts.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("h1")))
	w.check("own account")

	// Enrolled in one go, then Back: the browser goes back to the form it
	// was sent from, and sends nothing again.
	w.do("enrol form again", chromedp.Navigate(ts.URL+"/participants/new"), chromedp.WaitVisible(chromedp.ID("label")))
	w.do("a second person", chromedp.SendKeys(chromedp.ID("label"), "Dee R."))
	w.submit("enrol", chromedp.Click(chromedp.CSS(`form[action="/participants"] button[type=submit]`)), "#enrolment-code")
	w.submit("back", chromedp.Evaluate[chromedp.Void](`history.back()`), "#label")
	w.submit("forward", chromedp.Evaluate[chromedp.Void](`history.forward()`), "#enrolment-code")
	if ps, _ := e.st.ListParticipants(t.Context()); len(ps) != 4 {
		t.Errorf("%d participants after Back and Forward, want 4 (Amina, Bo, Cy, Dee)", len(ps))
	}
	// A page brought back from the browser's cache confuses the driver's
	// view of the document: load one afresh before going on.
	w.do("programme again", chromedp.Navigate(ts.URL+"/programme"), chromedp.WaitVisible(chromedp.CSS("svg.flow")))

	// An administrator finds the excuse in the audit log.
	w.do("sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("username")))
	w.do("sign in as admin",
		chromedp.SendKeys(chromedp.ID("username"), "ada"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("p.lead")))
	w.check("queue of everyone")
	w.do("audit", chromedp.Navigate(ts.URL+"/audit?participant="+p.ID+"&action=attention_excused"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	audit := w.text("table.audit tbody")
	if !strings.Contains(audit, "Excused an item") || !strings.Contains(audit, "cara") || !strings.Contains(audit, label) {
		t.Errorf("the audit log does not show cara excusing %s's miss:\n%s", label, audit)
	}
	w.check("audit log")
	w.shot("audit-log")
	w.do("accounts", chromedp.Navigate(ts.URL+"/accounts"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	w.check("accounts")
	w.do("report", chromedp.Navigate(ts.URL+"/report"), chromedp.WaitVisible(chromedp.CSS("h1")))
	w.check("report")
}

// deliverAll marks every queued message delivered, as the outbox and the
// provider would soon after the scheduler queued it: a prompt that never
// left the outbox reached no one, and its window would be "not delivered".
func deliverAll(t *testing.T, st store.Store, now time.Time) {
	t.Helper()
	reportAll(t, st, now, store.Delivered)
}

// reportAll takes every queued message out of the outbox and gives it the
// status the provider reported: delivered, or failed.
func reportAll(t *testing.T, st store.Store, now time.Time, status store.MessageStatus) {
	t.Helper()
	for {
		msgs, err := st.ClaimOutbound(t.Context(), "test-deliver", now.Add(time.Hour), time.Hour, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			m.Status = status
			if err := st.UpdateOutbound(t.Context(), m); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestBrowserSimulator tries the flows in Arabic in the simulator, at both
// sizes: the page takes the person's language, Waymark's words run right
// to left on their own text, an answered question's buttons can no longer
// be pressed, and axe-core finds nothing serious.
func TestBrowserSimulator(t *testing.T) {
	t.Parallel()
	axeJS := axeSource(t)
	for _, size := range browserSizes {
		t.Run(size.name, func(t *testing.T) {
			t.Parallel() // each size has its own browser, store and server
			ctx := chromium(t)
			st, scratch, box := testkit.Bolt(t, nil), testkit.Bolt(t, nil), testkit.Box(t)
			log := slog.New(slog.DiscardHandler)
			conv := conversation.New(st, box, conversation.NewLive(testkit.Shipped(t)), clock.System{}, log, nil)
			sim, err := simulator.New(scratch, conv.Content, log)
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(NewServer(Deps{Store: st, Conversation: conv, Simulator: sim, Log: log}))
			t.Cleanup(ts.Close)
			w := &pageWalker{t: t, ctx: ctx, axeJS: axeJS, shotDir: t.TempDir(), size: size.name, width: size.width, height: size.height}
			w.do("open", chromedp.EmulateViewport(size.width, size.height), chromedp.Navigate(ts.URL+"/simulator"), chromedp.WaitVisible(chromedp.ID("lang")))
			w.check("simulator")
			w.do("start in Arabic", chromedp.SetValue(chromedp.ID("lang"), "ar"))
			w.submit("start", chromedp.Click(chromedp.CSS(`form[action="/simulator/start"] button`)), "#text")
			code := w.eval("code", `document.querySelector("main p strong").textContent`)
			w.do("join", chromedp.SendKeys(chromedp.ID("text"), "JOIN "+code))
			w.submit("send", chromedp.KeyEvent(kb.Enter), "ol.chat li.bot .choices")
			if lang := w.eval("lang", `document.documentElement.lang`); lang != "ar" {
				t.Errorf("the page's lang is %q", lang)
			}
			if d := w.eval("direction", `getComputedStyle(document.querySelector("ol.chat li.bot .text")).direction`); d != "rtl" {
				t.Errorf("Waymark's Arabic words run %s", d)
			}
			w.check("simulator, a conversation in Arabic")
			w.submit("answer 1", chromedp.Click(chromedp.CSS(`ol.chat li.bot .choices button[value="1"]`)), "ol.chat li.person")
			states := w.eval("buttons", `[...document.querySelectorAll("ol.chat .choices")].map(f => f.querySelector("button").disabled ? "off" : "on").join(" ")`)
			if f := strings.Fields(states); len(f) < 2 || f[len(f)-1] != "on" || slices.Contains(f[:len(f)-1], "on") {
				t.Errorf("choices pressable, oldest first: %s; want only the latest", states)
			}
			w.check("simulator after an answer")
		})
	}
}
