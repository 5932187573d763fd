package programme

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/locales"
)

func shipped(t *testing.T) Files { return shippedB(t) }

func shippedB(t testing.TB) Files {
	t.Helper()
	f, err := ReadFiles(flows.FS, locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func openStore(t *testing.T) *bolt.Store {
	t.Helper()
	st, err := openBench(t)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openBench(t testing.TB) (*bolt.Store, error) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "waymark.db"))
	if err == nil {
		t.Cleanup(func() { st.Close() })
	}
	return st, err
}

// folders stands for the flows and locales folders on disk: tests change
// them as an organisation would between two SIGHUPs.
type folders struct {
	mu    sync.Mutex
	files Files
}

func (f *folders) read() (Files, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.files.Clone(), nil
}

func (f *folders) set(name, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[name] = text
}

func newService(t *testing.T, st Store, dir *folders) *Service {
	t.Helper()
	return New(st, Options{Files: dir.read, FlowsBase: flows.FS, Clock: clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), Every: 10 * time.Millisecond})
}

func words(c *conversation.Content, lang, id string) string {
	return c.Locale.Render(lang, id, map[string]any{})
}

func mustNo(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestSyncPublishesTheFoldersOnceAndTheyWinWhenNewer(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	dir := &folders{files: shipped(t)}
	s := newService(t, st, dir)
	v, err := s.Sync(ctx)
	mustNo(t, "first sync", err)
	if v.Number != 1 || v.Source != FromFiles || v.By != FilesActor {
		t.Fatalf("first version = %+v, want 1 from the files", v)
	}
	// A second process with the same folders publishes nothing.
	other := newService(t, st, dir)
	v, err = other.Sync(ctx)
	mustNo(t, "second process", err)
	if v.Number != 1 || other.Live().Number != 1 || other.Content() == nil {
		t.Fatalf("second process runs %d, want 1", other.Live().Number)
	}

	// An edit in the browser to Arabic, then the folders change English
	// only: the folders win for en.yaml, the Arabic edit stays.
	_, err = s.Edit(ctx, "acc_admin", func(f Files) error {
		text, err := SetMessage(f[Locale("ar")], "common.restarted", "", "نص جديد", false)
		f[Locale("ar")] = text
		return err
	})
	mustNo(t, "edit", err)
	v, _, err = s.Publish(ctx, "acc_admin")
	mustNo(t, "publish", err)
	if v.Number != 2 {
		t.Fatalf("published %d, want 2", v.Number)
	}
	en, err := SetMessage(dir.files[Locale("en")], "common.restarted", "", "We changed our messages.", false)
	mustNo(t, "change en", err)
	dir.set(Locale("en"), en)
	v, err = s.Sync(ctx)
	mustNo(t, "sync after the folders changed", err)
	if v.Number != 3 || v.Source != FromFiles || !strings.Contains(v.Note, "locales/en") {
		t.Fatalf("after the folders changed: %+v, want version 3 from the files naming locales/en", v)
	}
	c := s.Content()
	if got := words(c, "en", "common.restarted"); got != "We changed our messages." {
		t.Errorf("English = %q, want the folders' words", got)
	}
	if got := words(c, "ar", "common.restarted"); got != "نص جديد" {
		t.Errorf("Arabic = %q, want the browser's words kept", got)
	}

	// Broken folders are never published; the published version stays.
	dir.set(Flow("menu"), "id: menu\nstart: nowhere\nnodes: {}\n")
	v, err = s.Sync(ctx)
	mustNo(t, "sync with broken folders", err)
	if n, _ := st.CurrentProgramme(ctx); n != 3 || v.Number != 3 {
		t.Fatalf("broken folders made version %d", n)
	}
}

func TestABrokenDraftIsNeverPublished(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	s := newService(t, st, &folders{files: shipped(t)})
	_, err := s.Sync(ctx)
	mustNo(t, "sync", err)
	breakages := map[string]func(Files) error{
		"a node that is not there": func(f Files) error {
			text, err := SetValue(f[Flow("menu")], []string{"start"}, Scalar("nowhere"))
			f[Flow("menu")] = text
			return err
		},
		"a grace period in words": func(f Files) error {
			text, err := SetValue(f[ProgrammeFile], []string{"checkin", "grace_period"}, Scalar("three days"))
			f[ProgrammeFile] = text
			return err
		},
		"a placeholder left open in Arabic": func(f Files) error {
			text, err := SetMessage(f[Locale("ar")], "consent.reask", "", "هل توافق على رسائل {{.Org؟", false)
			f[Locale("ar")] = text
			return err
		},
		"a message missing in one language": func(f Files) error {
			text, err := SetValue(f[Flow("info")], []string{"nodes", "rights", "send"}, Scalar("info.nowhere"))
			f[Flow("info")] = text
			f[Locale("en")] += "info.nowhere: \"Only in English.\"\n"
			return err
		},
		"a language offered without its file": func(f Files) error {
			delete(f, Locale("ti"))
			return nil
		},
	}
	for name, breakIt := range breakages {
		t.Run(name, func(t *testing.T) {
			d, err := s.Edit(ctx, "acc_admin", breakIt)
			mustNo(t, "edit", err)
			report, err := s.Check(ctx)
			mustNo(t, "check", err)
			if report.OK() {
				t.Fatalf("check passed a draft with %s", name)
			}
			_, report, err = s.Publish(ctx, "acc_admin")
			if !errors.Is(err, ErrBroken) || report.OK() {
				t.Fatalf("publish = %v, want ErrBroken with the report", err)
			}
			if n, _ := st.CurrentProgramme(ctx); n != 1 {
				t.Fatalf("a broken draft became version %d", n)
			}
			mustNo(t, "discard", s.Discard(ctx, d.Revision))
		})
	}
}

func TestTwoProcessesFollowEachOthersPublishAndRollback(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st := openStore(t)
	dir := &folders{files: shipped(t)}
	a, b := newService(t, st, dir), newService(t, st, dir)
	_, err := a.Sync(ctx)
	mustNo(t, "a", err)
	_, err = b.Sync(ctx)
	mustNo(t, "b", err)
	var switched sync.WaitGroup
	switched.Add(1)
	var once sync.Once
	b.OnSwitch(func(*conversation.Content) { once.Do(switched.Done) })
	go b.Follow(ctx)

	_, err = a.Edit(ctx, "acc_admin", func(f Files) error {
		text, err := SetValue(f[ProgrammeFile], []string{"checkin", "grace_period"}, Number("2d"))
		f[ProgrammeFile] = text
		return err
	})
	mustNo(t, "edit", err)
	v, _, err := a.Publish(ctx, "acc_admin")
	mustNo(t, "publish", err)
	switched.Wait()
	if got := b.Content().Flows.Programme.CheckIn.GracePeriod; time.Duration(got) != 48*time.Hour || b.Live().Number != v.Number {
		t.Fatalf("process b runs version %d with grace %s, want %d with 48h", b.Live().Number, got, v.Number)
	}
	if _, err := st.GetProgrammeDraft(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the published draft is still there: %v", err)
	}

	r, err := a.Rollback(ctx, "acc_admin", 1)
	mustNo(t, "rollback", err)
	if r.Number != 3 || r.Source != FromRollback {
		t.Fatalf("rollback = %+v, want version 3", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.Live().Number != 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := b.Content().Flows.Programme.CheckIn.GracePeriod; time.Duration(got) != 24*time.Hour {
		t.Fatalf("after the rollback b has grace %s, want 24h", got)
	}
	list, err := st.ListProgrammes(ctx)
	mustNo(t, "list", err)
	if len(list) != 3 || list[1].Note != "programme: checkin.grace_period" && !strings.Contains(list[1].Note, "flows/programme") {
		t.Errorf("history = %+v", list)
	}
	entries, err := st.ListAudit(ctx, "", 0)
	mustNo(t, "audit", err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" by "+e.Actor)
	}
	for _, want := range []string{"programme_published by system", "programme_published by acc_admin", "programme_rolled_back by acc_admin"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("audit log lacks %q: %q", want, actions)
		}
	}
}

func TestADraftOnAnOlderVersionIsRebasedOrRefused(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	dir := &folders{files: shipped(t)}
	s := newService(t, st, dir)
	_, err := s.Sync(ctx)
	mustNo(t, "sync", err)
	setAr := func(f Files) error {
		text, err := SetMessage(f[Locale("ar")], "common.restarted", "", "نص جديد", false)
		f[Locale("ar")] = text
		return err
	}
	_, err = s.Edit(ctx, "acc_1", setAr)
	mustNo(t, "edit", err)
	// Meanwhile the folders change another file: the draft goes over it.
	en, _ := SetMessage(dir.files[Locale("en")], "common.restarted", "", "Sorry, we changed our messages.", false)
	dir.set(Locale("en"), en)
	_, err = s.Sync(ctx)
	mustNo(t, "sync", err)
	v, _, err := s.Publish(ctx, "acc_1")
	mustNo(t, "publish a draft on an older version", err)
	if got := words(s.Content(), "en", "common.restarted"); got != "Sorry, we changed our messages." {
		t.Errorf("the rebase lost the folders' change: %q", got)
	}
	if got := words(s.Content(), "ar", "common.restarted"); got != "نص جديد" {
		t.Errorf("the rebase lost the draft's change: %q", got)
	}

	// Now both change Arabic: refused, naming the file, nothing lost.
	_, err = s.Edit(ctx, "acc_1", func(f Files) error {
		text, err := SetMessage(f[Locale("ar")], "common.too_long", "", "طويل", false)
		f[Locale("ar")] = text
		return err
	})
	mustNo(t, "edit", err)
	ar, _ := SetMessage(v.Files[Locale("ar")], "common.restarted", "", "غير ذلك", false)
	dir.set(Locale("ar"), ar)
	_, err = s.Sync(ctx)
	mustNo(t, "sync", err)
	_, _, err = s.Publish(ctx, "acc_1")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "locales/ar.yaml") {
		t.Fatalf("publish over a clash = %v, want ErrConflict naming locales/ar.yaml", err)
	}
	if _, err := st.GetProgrammeDraft(ctx); err != nil {
		t.Fatalf("the refused draft was lost: %v", err)
	}
}

func TestExportHoldsTheSameFiles(t *testing.T) {
	files := shipped(t)
	b, err := Export(files)
	mustNo(t, "export", err)
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	mustNo(t, "read zip", err)
	got := Files{}
	for _, f := range z.File {
		r, err := f.Open()
		mustNo(t, "open "+f.Name, err)
		text, _ := io.ReadAll(r)
		r.Close()
		got[f.Name] = string(text)
	}
	if got.Digest() != files.Digest() {
		t.Fatalf("the export differs from the files: %d files, want %d", len(got), len(files))
	}
	if _, ok := got["flows/programme.yaml"]; !ok {
		t.Fatalf("no flows/programme.yaml in the export: %v", got.Names())
	}
}

func TestDiffReadsAsMessagesAndLines(t *testing.T) {
	old := shipped(t)
	next := old.Clone()
	next[Locale("ar")], _ = SetMessage(old[Locale("ar")], "common.restarted", "", "نص جديد", false)
	next[ProgrammeFile], _ = SetValue(old[ProgrammeFile], []string{"checkin", "grace_period"}, Number("2d"))
	cs := Diff(old, next)
	if len(cs) != 2 {
		t.Fatalf("%d changes, want 2: %+v", len(cs), cs)
	}
	ar, prog := cs[1], cs[0]
	if ar.File != Locale("ar") || len(ar.Messages) != 1 || ar.Messages[0].ID != "common.restarted" || ar.Messages[0].New != "نص جديد" {
		t.Errorf("Arabic change = %+v", ar)
	}
	var plus, minus []string
	for _, l := range prog.Lines {
		switch l.Op {
		case '+':
			plus = append(plus, l.Text)
		case '-':
			minus = append(minus, l.Text)
		}
	}
	if fmt.Sprint(minus) != "[  grace_period: 1d]" || fmt.Sprint(plus) != "[  grace_period: 2d]" {
		t.Errorf("programme.yaml lines: - %q + %q", minus, plus)
	}
	if s := Summary(cs); s != "flows/programme; locales/ar: common.restarted" {
		t.Errorf("summary = %q", s)
	}
}
