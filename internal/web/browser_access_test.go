package web

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestBrowserAdminDisablesACaseworker: in a real browser an administrator
// disables a caseworker from the Accounts page, sees the account marked
// disabled and the caseworker's person listed as having no active
// caseworker, and revokes a token.
func TestBrowserAdminDisablesACaseworker(t *testing.T) {
	t.Parallel()
	ctx := chromium(t)
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("P-42", e.carl)
	e.attentionItem(p, store.AttentionMissed)
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	w := &pageWalker{t: t, ctx: ctx}
	do, text := w.do, w.text
	do("open", chromedp.EmulateViewport(1280, 900))
	do("sign-in page", chromedp.Navigate(ts.URL+"/accounts"), chromedp.WaitVisible(chromedp.ID("username")))
	do("sign in",
		chromedp.SendKeys(chromedp.ID("username"), "ada"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("table.list")))
	disable := `form[action="/accounts/` + e.carl.ID + `/disable"] button`
	do("open carl's row", chromedp.Click(chromedp.CSS(`details:has(`+disable+`) summary`)), chromedp.WaitVisible(chromedp.CSS(disable)))
	do("disable carl", chromedp.Click(chromedp.CSS(disable)), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if n := text("p.notice"); !strings.Contains(n, "Account disabled") {
		t.Errorf("notice %q", n)
	}
	if table := text("table.list"); !strings.Contains(table, "disabled") {
		t.Errorf("the accounts table does not show carl disabled:\n%s", table)
	}
	if a, _ := e.st.GetAccount(t.Context(), e.carl.ID); !a.Disabled {
		t.Error("carl is not disabled in the store")
	}
	if dir := os.Getenv("WAYMARK_SHOT_DIR"); dir != "" { // to look at the page by eye
		do("open the rows", chromedp.Click(chromedp.CSS(`details:has(form[action="/accounts/`+e.carl.ID+`/enable"]) summary`)))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "accounts.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	do("queue", chromedp.Navigate(ts.URL+"/attention"), chromedp.WaitVisible(chromedp.CSS(`a[href="/attention?caseworker=none"]`)))
	do("people without a caseworker", chromedp.Click(chromedp.CSS(`p.notice a[href="/attention?caseworker=none"]`)), chromedp.WaitVisible(chromedp.CSS("ol.queue")))
	if q := text("ol.queue"); !strings.Contains(q, "P-42") {
		t.Errorf("the queue of people without a caseworker does not list P-42:\n%s", q)
	}

	do("own account", chromedp.Navigate(ts.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	do("revoke own token", chromedp.Click(chromedp.CSS(`form[action^="/tokens/"] button`)), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if toks, _ := e.st.APITokensOf(t.Context(), e.admin.ID); len(toks) != 0 {
		t.Errorf("the token is still there: %+v", toks)
	}
}
