package web

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserEditorWords drives the Words page in Chromium: the count
// follows the typing (editor.js), a placeholder dropped from an Arabic
// message is refused with the words kept, and the flow page draws the
// new words. With -screenshots it rewrites docs/screenshots/editor-*.png.
func TestBrowserEditorWords(t *testing.T) {
	t.Parallel()
	ctx := chromium(t)
	e := newEditorEnv(t)
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	shotDir := t.TempDir()
	if *screenshots {
		shotDir = filepath.Join("..", "..", "docs", "screenshots")
	}
	w := &pageWalker{t: t, ctx: ctx}
	do, text := w.do, w.text
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shotDir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do("sign in", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), e.admin.Username), chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Sections]`)))

	do("words", chromedp.Navigate(ts.URL+"/programme/editor/words?lang=ar&group=consent"), chromedp.WaitVisible(chromedp.ID("t-m-consent-reask")))
	before := text("#c-m-consent-reask")
	// One Latin letter more does not change the encoding; the count does.
	do("type", chromedp.SendKeys(chromedp.ID("t-m-consent-reask"), " OK"))
	after := text("#c-m-consent-reask")
	if before == after || !strings.Contains(after, "as you type") || !strings.Contains(after, "UCS-2") {
		t.Errorf("count before %q, after typing %q", before, after)
	}
	shot("editor-words")
	do("drop the placeholder", chromedp.SetValue(chromedp.ID("t-m-consent-reask"), "هل توافق على تلقي رسائلنا؟"),
		chromedp.Click(chromedp.CSS(`#m-consent-reask button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#m-consent-reask p.error`)))
	if got := text("#m-consent-reask p.error"); !strings.Contains(got, "{{.Org}}") {
		t.Errorf("refusal: %q", got)
	}
	kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("t-m-consent-reask")))
	if err != nil || kept != "هل توافق على تلقي رسائلنا؟" {
		t.Errorf("the typed words were lost: %q %v", kept, err)
	}

	do("flow", chromedp.Navigate(ts.URL+"/programme/editor/flows/info?lang=ar"), chromedp.WaitVisible(chromedp.CSS(".diagram svg")))
	if got := text(".diagram"); !strings.Contains(got, "ماذا تريد أن تعرف؟") {
		t.Errorf("the flow page does not show the Arabic words people receive: %q", got)
	}
	shot("editor-flow")
	do("editor", chromedp.Navigate(ts.URL+"/programme/editor"), chromedp.WaitVisible(chromedp.ID("history")))
	shot("editor")
}
