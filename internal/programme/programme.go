package programme

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/store"
)

// Store is what the programme keeps: its versions and draft, and the
// audit log every publish is written to.
type Store interface {
	store.Programmes
	AppendAudit(ctx context.Context, e store.AuditEntry) error
}

// How a version came to be (store.ProgrammeVersion.Source).
const (
	FromFiles    = "files"
	FromEditor   = "editor"
	FromRollback = "rollback"
)

// FilesActor is who publishes a version taken from the folders, in the
// history and the audit log.
const FilesActor = "system"

// Errors the editor's pages turn into plain words.
var (
	// ErrBroken refuses to publish a draft that `waymark check` finds an
	// error in.
	ErrBroken = refusal.New("programme", "the draft has errors: Check lists them")
	// ErrNoDraft means there is nothing to publish.
	ErrNoDraft = refusal.New("programme", "there is no draft")
	// ErrConflict refuses a draft whose files were also changed by a
	// version published after the draft began.
	ErrConflict = refusal.New("programme", "a version published since this draft began changed the same files")
	// ErrUnchanged means the draft was the live version already; it is
	// dropped and nothing is published.
	ErrUnchanged = refusal.New("programme", "the draft is the same as the live version")
	// ErrBusy means other publishers kept winning; try again.
	ErrBusy = refusal.New("programme", "others are publishing at the same time: try again")
)

// Options are the service's parts.
type Options struct {
	// Files reads the flows and locales folders: the starting version,
	// read again when SIGHUP asks.
	Files func() (Files, error)
	// FlowsBase is the flows folder, for what versions do not hold
	// (recorded messages); nil for none.
	FlowsBase fs.FS
	// Every is how often Follow asks the store for the live version
	// number: 2 s by default, so every process follows within seconds.
	Every time.Duration
	Clock clock.Clock
	Log   *slog.Logger
}

// Service settles which version runs, follows the live one, and keeps
// the draft.
type Service struct {
	st Store
	o  Options

	mu       sync.Mutex
	live     store.ProgrammeVersion // the version this process runs, without files
	content  *conversation.Content  // and its flows and words
	onSwitch func(*conversation.Content)
}

// OnSwitch sets what makes a new version's content the one this process
// runs (conversation Service.SetContent and whatever follows a reload).
func (s *Service) OnSwitch(fn func(*conversation.Content)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onSwitch = fn
}

// Content returns the flows and words of the version this process runs.
func (s *Service) Content() *conversation.Content {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.content
}

// New returns a Service over st.
func New(st Store, o Options) *Service {
	if o.Every <= 0 {
		o.Every = 2 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, o: o}
}

// Live returns the version this process runs (Number 0 before Sync).
func (s *Service) Live() store.ProgrammeVersion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// FlowsBase is the flows folder the versions are loaded over.
func (s *Service) FlowsBase() fs.FS { return s.o.FlowsBase }

// Sync decides which version runs, at start and on SIGHUP. The files win
// when they are newer than the live version, that is when they changed
// since the version was published (the version keeps the files' digest):
// the files that changed in the folders are put over the live version
// and published as the next one. Otherwise the live version in
// the store runs. Files that do not pass the check are never published;
// with nothing in the store either, Sync fails.
func (s *Service) Sync(ctx context.Context) (store.ProgrammeVersion, error) {
	files, err := s.o.Files()
	if err != nil {
		return store.ProgrammeVersion{}, err
	}
	digest := files.Digest()
	for range 5 {
		n, err := s.st.CurrentProgramme(ctx)
		if err != nil {
			return store.ProgrammeVersion{}, err
		}
		var cur store.ProgrammeVersion
		if n > 0 {
			if cur, err = s.st.GetProgramme(ctx, n); err != nil {
				return store.ProgrammeVersion{}, err
			}
			if cur.FilesDigest == digest {
				return cur, s.use(cur)
			}
		}
		content, problems := files.Load(s.o.FlowsBase)
		if content == nil {
			for _, p := range diag.Errors(problems) {
				s.o.Log.Error("the flows or locales files are not valid; they are not used", "problem", p.String())
			}
			if n == 0 {
				return store.ProgrammeVersion{}, errors.New("flows or locales are not valid; run `waymark check`")
			}
			s.o.Log.Warn("keeping the published programme version", "version", n)
			return cur, s.use(cur)
		}
		next, note := files, "the flows and locales folders"
		if n > 0 {
			next, content = s.filesOver(ctx, cur, files, content)
			note = "from the folders: " + Summary(Diff(cur.Files, next))
		}
		v, err := s.st.PublishProgramme(ctx, n, store.ProgrammeVersion{
			At: s.o.Clock.Now(), By: FilesActor, Source: FromFiles, Note: note, FilesDigest: digest, Files: next,
		})
		if errors.Is(err, store.ErrStale) {
			continue // another process published first: look again
		}
		if err != nil {
			return store.ProgrammeVersion{}, err
		}
		s.audit(ctx, FilesActor, v)
		s.o.Log.Info("programme version published from the files", "version", v.Number)
		s.switchTo(v, content)
		return v, nil
	}
	return store.ProgrammeVersion{}, ErrBusy
}

// filesOver returns the live version with the files that changed in the
// folders since they were last published put over it: an edit in the
// browser to a file the folders left alone stays. Where that mix does not
// pass the check, the folders win whole.
func (s *Service) filesOver(ctx context.Context, cur store.ProgrammeVersion, files Files, whole *conversation.Content) (Files, *conversation.Content) {
	last, err := s.lastFromFiles(ctx)
	if err != nil {
		s.o.Log.Warn("the folders' last version is not readable; the folders win whole", "err", err)
		return files, whole
	}
	merged := Files(cur.Files).Clone()
	for _, name := range unionNames(files, last.Files) {
		now, inNow := files[name]
		was, inWas := last.Files[name]
		if inNow == inWas && now == was {
			continue
		}
		if inNow {
			merged[name] = now
		} else {
			delete(merged, name)
		}
	}
	content, _ := merged.Load(s.o.FlowsBase)
	if content == nil {
		s.o.Log.Warn("the folders' changes do not fit the version edited in the browser; the folders win whole")
		return files, whole
	}
	return merged, content
}

// lastFromFiles returns the latest version taken from the folders.
func (s *Service) lastFromFiles(ctx context.Context) (store.ProgrammeVersion, error) {
	list, err := s.st.ListProgrammes(ctx)
	if err != nil {
		return store.ProgrammeVersion{}, err
	}
	for _, h := range list {
		if h.Source == FromFiles {
			return s.st.GetProgramme(ctx, h.Number)
		}
	}
	return store.ProgrammeVersion{}, fmt.Errorf("programme: no version from the folders: %w", store.ErrNotFound)
}

// Follow asks the store for the live version every Options.Every until
// ctx ends, and switches to a new one as soon as it appears.
func (s *Service) Follow(ctx context.Context) {
	t := time.NewTicker(s.o.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Poll(ctx); err != nil && ctx.Err() == nil {
			s.o.Log.Warn("following the published programme", "err", err)
		}
	}
}

// Poll switches to the live version if it is not the one running.
func (s *Service) Poll(ctx context.Context) error {
	n, err := s.st.CurrentProgramme(ctx)
	if err != nil || n == 0 || n == s.Live().Number {
		return err
	}
	v, err := s.st.GetProgramme(ctx, n)
	if err != nil {
		return err
	}
	return s.use(v)
}

// use loads a version and runs it, unless it runs already.
func (s *Service) use(v store.ProgrammeVersion) error {
	if v.Number == s.Live().Number {
		return nil
	}
	content, problems := Files(v.Files).Load(s.o.FlowsBase)
	if content == nil {
		// Published versions passed the check; one that fails here was
		// made by another build of Waymark. Keep what runs.
		for _, p := range diag.Errors(problems) {
			s.o.Log.Error("programme version refused; keeping the one in use", "version", v.Number, "problem", p.String())
		}
		s.mu.Lock()
		if s.live.Number == 0 {
			s.mu.Unlock()
			return fmt.Errorf("programme: version %d is not valid here", v.Number)
		}
		s.mu.Unlock()
		return nil
	}
	s.switchTo(v, content)
	return nil
}

func (s *Service) switchTo(v store.ProgrammeVersion, c *conversation.Content) {
	s.mu.Lock()
	if s.live.Number != 0 && v.Number <= s.live.Number {
		s.mu.Unlock()
		return // a later version is running already
	}
	h := v
	h.Files = nil
	s.live, s.content = h, c
	// Under the lock, so that two switches never reach the process in
	// the wrong order; fn only swaps pointers.
	if s.onSwitch != nil {
		s.onSwitch(c)
	}
	s.mu.Unlock()
	s.o.Log.Info("programme version in use", "version", v.Number, "source", v.Source)
}

func (s *Service) audit(ctx context.Context, actor string, v store.ProgrammeVersion) {
	err := s.st.AppendAudit(ctx, store.AuditEntry{
		ID: store.NewID("a_"), At: s.o.Clock.Now(), Actor: actor, Action: "programme_" + publishVerb(v.Source),
		Detail: fmt.Sprintf("version %d: %s", v.Number, v.Note),
	})
	if err != nil {
		s.o.Log.Error("audit of a programme version", "version", v.Number, "err", err)
	}
}

func publishVerb(source string) string {
	if source == FromRollback {
		return "rolled_back"
	}
	return "published"
}

// Draft returns the draft, or a new one on the live version (Revision 0,
// not yet saved) when there is none.
func (s *Service) Draft(ctx context.Context) (store.ProgrammeDraft, error) {
	d, err := s.st.GetProgrammeDraft(ctx)
	if !errors.Is(err, store.ErrNotFound) {
		return d, err
	}
	n, err := s.st.CurrentProgramme(ctx)
	if err != nil {
		return d, err
	}
	if n == 0 {
		return d, errors.New("programme: no published version yet")
	}
	v, err := s.st.GetProgramme(ctx, n)
	if err != nil {
		return d, err
	}
	return store.ProgrammeDraft{Basis: n, Files: v.Files}, nil
}

// Edit changes the draft with change, which is given a copy of the
// draft's files to change. Two administrators' edits never undo each
// other: when another edit lands first, change runs again on the draft
// as it is then.
func (s *Service) Edit(ctx context.Context, by string, change func(Files) error) (store.ProgrammeDraft, error) {
	for range 5 {
		d, err := s.Draft(ctx)
		if err != nil {
			return d, err
		}
		files := Files(d.Files).Clone()
		if err := change(files); err != nil {
			return d, err
		}
		d.Files, d.By, d.At = files, by, s.o.Clock.Now()
		saved, err := s.st.SaveProgrammeDraft(ctx, d)
		if errors.Is(err, store.ErrStale) {
			continue
		}
		return saved, err
	}
	return store.ProgrammeDraft{}, ErrBusy
}

// Discard drops the draft as it was read (revision).
func (s *Service) Discard(ctx context.Context, revision int) error {
	return s.st.DeleteProgrammeDraft(ctx, revision)
}

// Rebased returns the draft's files on the live version: the files the
// draft changed, over the live version's. A file that both changed is a
// conflict, named in the error.
func (s *Service) Rebased(ctx context.Context, d store.ProgrammeDraft) (Files, store.ProgrammeVersion, error) {
	n, err := s.st.CurrentProgramme(ctx)
	if err != nil {
		return nil, store.ProgrammeVersion{}, err
	}
	cur, err := s.st.GetProgramme(ctx, n)
	if err != nil {
		return nil, cur, err
	}
	if d.Basis == n {
		return Files(d.Files).Clone(), cur, nil
	}
	basis, err := s.st.GetProgramme(ctx, d.Basis)
	if err != nil {
		return nil, cur, err
	}
	merged := Files(cur.Files).Clone()
	var clash []string
	for _, name := range unionNames(d.Files, basis.Files) {
		mine, inMine := d.Files[name]
		was, inWas := basis.Files[name]
		if inMine == inWas && mine == was {
			continue // the draft left it alone
		}
		if now, inNow := cur.Files[name]; inNow != inWas || now != was {
			clash = append(clash, name)
			continue
		}
		if inMine {
			merged[name] = mine
		} else {
			delete(merged, name)
		}
	}
	if len(clash) > 0 {
		return nil, cur, ErrConflict.Detail("%s", strings.Join(clash, ", "))
	}
	return merged, cur, nil
}

func unionNames(a, b map[string]string) []string {
	m := map[string]bool{}
	for n := range a {
		m[n] = true
	}
	for n := range b {
		m[n] = true
	}
	return sortedKeys(m)
}

// Check runs `waymark check` on the draft as it would be published.
func (s *Service) Check(ctx context.Context) (check.Report, error) {
	d, err := s.Draft(ctx)
	if err != nil {
		return check.Report{}, err
	}
	files, _, err := s.Rebased(ctx, d)
	if err != nil {
		return check.Report{}, err
	}
	return files.Check(s.o.FlowsBase), nil
}

// Publish makes the draft the live version, if `waymark check` finds no
// error in it, and switches this process to it at once; the others
// follow within seconds. The draft is dropped unless it changed
// meanwhile. The report comes back either way.
func (s *Service) Publish(ctx context.Context, by string) (store.ProgrammeVersion, check.Report, error) {
	for range 5 {
		d, err := s.st.GetProgrammeDraft(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return store.ProgrammeVersion{}, check.Report{}, ErrNoDraft
		}
		if err != nil {
			return store.ProgrammeVersion{}, check.Report{}, err
		}
		files, cur, err := s.Rebased(ctx, d)
		if err != nil {
			return store.ProgrammeVersion{}, check.Report{}, err
		}
		report := files.Check(s.o.FlowsBase)
		content, _ := files.Load(s.o.FlowsBase)
		if !report.OK() || content == nil {
			return store.ProgrammeVersion{}, report, ErrBroken
		}
		changes := Diff(cur.Files, files)
		if len(changes) == 0 {
			if err := s.st.DeleteProgrammeDraft(ctx, d.Revision); err != nil && !errors.Is(err, store.ErrStale) {
				return cur, report, err
			}
			return cur, report, ErrUnchanged
		}
		v, err := s.st.PublishProgramme(ctx, cur.Number, store.ProgrammeVersion{
			At: s.o.Clock.Now(), By: by, Source: FromEditor, Note: Summary(changes), FilesDigest: cur.FilesDigest, Files: files,
		})
		if errors.Is(err, store.ErrStale) {
			continue
		}
		if err != nil {
			return v, report, err
		}
		if err := s.st.DeleteProgrammeDraft(ctx, d.Revision); err != nil && !errors.Is(err, store.ErrStale) {
			s.o.Log.Warn("dropping the published draft", "err", err)
		}
		s.audit(ctx, by, v)
		s.switchTo(v, content)
		return v, report, nil
	}
	return store.ProgrammeVersion{}, check.Report{}, ErrBusy
}

// Rollback publishes an earlier version again as the next one, so that
// the history keeps both, and switches this process to it.
func (s *Service) Rollback(ctx context.Context, by string, number int) (store.ProgrammeVersion, error) {
	old, err := s.st.GetProgramme(ctx, number)
	if err != nil {
		return old, err
	}
	content, problems := Files(old.Files).Load(s.o.FlowsBase)
	if content == nil {
		return old, ErrBroken.Detail("version %d no longer passes the check (%d errors)", number, len(diag.Errors(problems)))
	}
	for range 5 {
		n, err := s.st.CurrentProgramme(ctx)
		if err != nil {
			return old, err
		}
		cur, err := s.st.GetProgramme(ctx, n)
		if err != nil {
			return old, err
		}
		v, err := s.st.PublishProgramme(ctx, n, store.ProgrammeVersion{
			At: s.o.Clock.Now(), By: by, Source: FromRollback, Note: fmt.Sprintf("back to version %d", number),
			FilesDigest: cur.FilesDigest, Files: old.Files,
		})
		if errors.Is(err, store.ErrStale) {
			continue
		}
		if err != nil {
			return v, err
		}
		s.audit(ctx, by, v)
		s.switchTo(v, content)
		return v, nil
	}
	return store.ProgrammeVersion{}, ErrBusy
}

// Export writes files as a zip of the flows/ and locales/ folders, the
// same files the folders hold, to manage the programme in git again.
func Export(files Files) ([]byte, error) {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, n := range files.Names() {
		w, err := z.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: time.Unix(0, 0).UTC()})
		if err != nil {
			return nil, fmt.Errorf("programme: export %s: %w", n, err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			return nil, fmt.Errorf("programme: export %s: %w", n, err)
		}
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("programme: export: %w", err)
	}
	return b.Bytes(), nil
}

// LiveFiles returns the files of the version this process runs.
func (s *Service) LiveFiles(ctx context.Context) (Files, error) {
	v, err := s.st.GetProgramme(ctx, s.Live().Number)
	if err != nil {
		return nil, err
	}
	return v.Files, nil
}
