// Package programme keeps the programme (flows, programme.yaml and the
// locale files) as numbered versions in the store, so that every process
// sharing the store runs the same one: the files in the flows and locales
// folders are the starting version, an administrator's edits go into a
// draft, a draft that passes `waymark check` is published, and every
// process switches to the new version within seconds.
package programme

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/locale"
)

// Files is a whole programme: "flows/<name>.yaml" and
// "locales/<lang>.yaml" to their text, as the folders hold them.
type Files map[string]string

// The two folders a programme's files live in.
const (
	FlowsDir   = "flows"
	LocalesDir = "locales"
)

// maxFileBytes bounds one file read from a folder: a programme file is a
// few kilobytes; anything far larger is a mistake, not a programme.
const maxFileBytes = 1 << 20

// ReadFiles reads the *.yaml files at the top of the two folders.
// Anything else there (recorded messages in flows/audio/) stays with the
// folder and is not part of a version.
func ReadFiles(flowsFS, localesFS fs.FS) (Files, error) {
	out := Files{}
	for _, d := range []struct {
		dir  string
		fsys fs.FS
	}{{FlowsDir, flowsFS}, {LocalesDir, localesFS}} {
		names, err := fs.Glob(d.fsys, "*.yaml")
		if err != nil {
			return nil, fmt.Errorf("programme: list %s: %w", d.dir, err)
		}
		for _, n := range names {
			f, err := d.fsys.Open(n)
			if err != nil {
				return nil, fmt.Errorf("programme: read %s/%s: %w", d.dir, n, err)
			}
			b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("programme: read %s/%s: %w", d.dir, n, err)
			}
			if len(b) > maxFileBytes {
				return nil, fmt.Errorf("programme: %s/%s is larger than %d bytes", d.dir, n, maxFileBytes)
			}
			out[d.dir+"/"+n] = string(b)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("programme: no flow or locale files")
	}
	return out, nil
}

// Digest names the files' contents: equal files, equal digests.
func (f Files) Digest() string {
	h := sha256.New()
	for _, n := range f.Names() {
		fmt.Fprintf(h, "%d:%s\n%d:", len(n), n, len(f[n]))
		io.WriteString(h, f[n])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Names returns the file names, sorted.
func (f Files) Names() []string { return slices.Sorted(maps.Keys(f)) }

// Clone returns a copy that can be changed without changing f.
func (f Files) Clone() Files { return maps.Clone(f) }

// Locale returns the name of lang's locale file.
func Locale(lang string) string { return LocalesDir + "/" + lang + ".yaml" }

// ProgrammeFile is the name of programme.yaml among the files.
const ProgrammeFile = FlowsDir + "/programme.yaml"

// Flow returns the name of a flow's file.
func Flow(id string) string { return FlowsDir + "/" + id + ".yaml" }

// FS returns the files as the two folders the loaders read. Whatever a
// version does not hold (flows/audio/) is read from flowsBase, the flows
// folder on disk; nil for none.
func (f Files) FS(flowsBase fs.FS) (flows, locales fs.FS) {
	fl, lo := fstest.MapFS{}, fstest.MapFS{}
	now := time.Time{}
	for n, text := range f {
		dir, name := path.Split(n)
		file := &fstest.MapFile{Data: []byte(text), Mode: 0o444, ModTime: now}
		switch strings.TrimSuffix(dir, "/") {
		case FlowsDir:
			fl[name] = file
		case LocalesDir:
			lo[name] = file
		}
	}
	return overlay{top: fl, base: flowsBase}, lo
}

// overlay serves the version's top-level *.yaml files over a folder on
// disk whose own top-level *.yaml files are hidden: a flow deleted in a
// version stays deleted.
type overlay struct {
	top  fstest.MapFS
	base fs.FS
}

func ownFile(name string) bool {
	return !strings.Contains(name, "/") && strings.HasSuffix(name, ".yaml")
}

func (o overlay) Open(name string) (fs.File, error) {
	if ownFile(name) || name == "." || o.base == nil {
		return o.top.Open(name)
	}
	return o.base.Open(name)
}

func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		if o.base == nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
		}
		return fs.ReadDir(o.base, name)
	}
	out, err := fs.ReadDir(o.top, ".")
	if err != nil {
		return nil, err
	}
	if o.base != nil {
		below, err := fs.ReadDir(o.base, ".")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range below {
			if !ownFile(e.Name()) {
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Load loads and validates the files as a running process would use
// them; nil and the problems when they hold an error.
func (f Files) Load(flowsBase fs.FS) (*conversation.Content, []diag.Problem) {
	fl, lo := f.FS(flowsBase)
	return conversation.LoadContent(fl, lo)
}

// Check runs the whole of `waymark check` on the files.
func (f Files) Check(flowsBase fs.FS) check.Report {
	fl, lo := f.FS(flowsBase)
	return CheckFolders(fl, FlowsDir, lo, LocalesDir)
}

// CheckFolders runs `waymark check` on two folders, naming them as given
// in every problem.
func CheckFolders(flowsFS fs.FS, flowsDir string, localesFS fs.FS, localesDir string) check.Report {
	return check.Run(check.Input{
		Flows: flowsFS, FlowsDir: flowsDir,
		Locales: localesFS, LocalesDir: localesDir,
		LoadLocales: func(fsys fs.FS) (check.Catalog, []diag.Problem) {
			b, problems := locale.Load(fsys)
			if b == nil {
				return nil, problems
			}
			return b, problems
		},
	})
}
