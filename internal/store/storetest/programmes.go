package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/waymark-atd/waymark/internal/store"
)

func version(by, words string) store.ProgrammeVersion {
	return store.ProgrammeVersion{
		At: at(0), By: by, Source: "editor", Note: "words changed", FilesDigest: "sha256:abc",
		Files: map[string]string{"flows/menu.yaml": "id: menu\n", "locales/ar.yaml": words},
	}
}

var programmeTests = []namedTest{
	{"NoneAtFirst", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		n, err := s.CurrentProgramme(ctx)
		must(t, "current", err)
		if n != 0 {
			t.Fatalf("CurrentProgramme on an empty store = %d, want 0", n)
		}
		list, err := s.ListProgrammes(ctx)
		must(t, "list", err)
		if len(list) != 0 {
			t.Fatalf("ListProgrammes on an empty store = %d versions", len(list))
		}
		_, err = s.GetProgramme(ctx, 1)
		mustBe(t, "get missing version", err, store.ErrNotFound)
		_, err = s.GetProgrammeDraft(ctx)
		mustBe(t, "get missing draft", err, store.ErrNotFound)
	}},
	{"PublishNumbersAndKeeps", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		v1, err := s.PublishProgramme(ctx, 0, version("files", "a: \"مرحبا\"\n"))
		must(t, "publish 1", err)
		v2, err := s.PublishProgramme(ctx, 1, version("acc_1", "a: \"أهلا\"\n"))
		must(t, "publish 2", err)
		if v1.Number != 1 || v2.Number != 2 {
			t.Fatalf("numbers = %d, %d; want 1, 2", v1.Number, v2.Number)
		}
		n, err := s.CurrentProgramme(ctx)
		must(t, "current", err)
		mustSame(t, "current", n, 2)
		got, err := s.GetProgramme(ctx, 1)
		must(t, "get 1", err)
		mustSame(t, "version 1", got, v1)
		got, err = s.GetProgramme(ctx, 2)
		must(t, "get 2", err)
		mustSame(t, "version 2", got, v2)
		list, err := s.ListProgrammes(ctx)
		must(t, "list", err)
		if len(list) != 2 || list[0].Number != 2 || list[1].Number != 1 {
			t.Fatalf("ListProgrammes = %+v, want versions 2 then 1", list)
		}
		for _, h := range list {
			if h.Files != nil {
				t.Fatalf("ListProgrammes gave the files of version %d", h.Number)
			}
			if h.By == "" || h.Source == "" || h.At.IsZero() || h.Note == "" || h.FilesDigest == "" {
				t.Fatalf("ListProgrammes lost a header field: %+v", h)
			}
		}
	}},
	{"PublishRefusesAStaleBasis", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		_, err := s.PublishProgramme(ctx, 0, version("files", "a: one\n"))
		must(t, "publish 1", err)
		for _, basis := range []int{0, 2, 7} {
			_, err = s.PublishProgramme(ctx, basis, version("acc_1", "a: two\n"))
			mustBe(t, fmt.Sprintf("publish on basis %d", basis), err, store.ErrStale)
		}
		n, err := s.CurrentProgramme(ctx)
		must(t, "current", err)
		mustSame(t, "current after refusals", n, 1)
		_, err = s.GetProgramme(ctx, 2)
		mustBe(t, "refused version", err, store.ErrNotFound)
	}},
	{"PublishRefusesBadInput", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		bad := []store.ProgrammeVersion{
			{At: at(0), By: "acc_1", Source: "editor"},
			{At: at(0), Source: "editor", Files: map[string]string{"flows/a.yaml": "x"}},
			{At: at(0), By: "acc_1", Files: map[string]string{"flows/a.yaml": "x"}},
			{By: "acc_1", Source: "editor", Files: map[string]string{"flows/a.yaml": "x"}},
		}
		for i, v := range bad {
			_, err := s.PublishProgramme(ctx, 0, v)
			mustFail(t, fmt.Sprintf("bad version %d", i), err)
		}
		_, err := s.PublishProgramme(ctx, -1, version("acc_1", "a: b\n"))
		mustFail(t, "negative basis", err)
		n, err := s.CurrentProgramme(ctx)
		must(t, "current", err)
		mustSame(t, "current after bad input", n, 0)
	}},
	{"ConcurrentPublishersOneWins", func(t *testing.T, s store.Store) {
		// Two administrators (or processes) publishing from the same
		// version: exactly one becomes the next version; the other learns
		// that it must look again.
		ctx := ctxOf(t)
		_, err := s.PublishProgramme(ctx, 0, version("files", "a: one\n"))
		must(t, "publish 1", err)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.PublishProgramme(ctx, 1, version(fmt.Sprintf("acc_%d", i), fmt.Sprintf("a: %d\n", i)))
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("publishers %d and %d both won", won, i)
				}
				won = i
			case !errors.Is(err, store.ErrStale):
				t.Fatalf("publisher %d: %v, want ErrStale", i, err)
			}
		}
		if won < 0 {
			t.Fatalf("no publisher won")
		}
		v, err := s.GetProgramme(ctx, 2)
		must(t, "get 2", err)
		mustSame(t, "the winner's words", v.Files["locales/ar.yaml"], fmt.Sprintf("a: %d\n", won))
		cur, err := s.CurrentProgramme(ctx)
		must(t, "current", err)
		mustSame(t, "current", cur, 2)
	}},
	{"DraftRevisions", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		d := store.ProgrammeDraft{Basis: 1, At: at(0), By: "acc_1", Files: map[string]string{"locales/ar.yaml": "a: b\n"}}
		saved, err := s.SaveProgrammeDraft(ctx, d)
		must(t, "save new", err)
		mustSame(t, "revision after first save", saved.Revision, 1)
		got, err := s.GetProgrammeDraft(ctx)
		must(t, "get", err)
		mustSame(t, "draft", got, saved)

		// A save from what was read before another save is refused.
		_, err = s.SaveProgrammeDraft(ctx, d)
		mustBe(t, "save from revision 0 over 1", err, store.ErrStale)
		next := saved
		next.Files = map[string]string{"locales/ar.yaml": "a: c\n"}
		saved2, err := s.SaveProgrammeDraft(ctx, next)
		must(t, "save from revision 1", err)
		mustSame(t, "revision", saved2.Revision, 2)
		_, err = s.SaveProgrammeDraft(ctx, next)
		mustBe(t, "save from revision 1 again", err, store.ErrStale)
		got, err = s.GetProgrammeDraft(ctx)
		must(t, "get", err)
		mustSame(t, "draft after the refusal", got.Files["locales/ar.yaml"], "a: c\n")

		mustBe(t, "delete at an old revision", s.DeleteProgrammeDraft(ctx, 1), store.ErrStale)
		must(t, "delete", s.DeleteProgrammeDraft(ctx, 2))
		_, err = s.GetProgrammeDraft(ctx)
		mustBe(t, "get deleted", err, store.ErrNotFound)
		must(t, "delete again", s.DeleteProgrammeDraft(ctx, 2))
		_, err = s.SaveProgrammeDraft(ctx, d)
		must(t, "a new draft after the delete", err)
	}},
	{"DraftRefusesBadInput", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for i, d := range []store.ProgrammeDraft{
			{At: at(0), By: "acc_1"},
			{At: at(0), Files: map[string]string{"a": "b"}},
			{By: "acc_1", Files: map[string]string{"a": "b"}},
			{At: at(0), By: "acc_1", Revision: -1, Files: map[string]string{"a": "b"}},
		} {
			_, err := s.SaveProgrammeDraft(ctx, d)
			mustFail(t, fmt.Sprintf("bad draft %d", i), err)
		}
		_, err := s.GetProgrammeDraft(ctx)
		mustBe(t, "nothing saved", err, store.ErrNotFound)
	}},
}
