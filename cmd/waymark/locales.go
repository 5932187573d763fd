package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing/fstest"

	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
)

const localesUsage = `Usage:
  waymark locales export --lang ti [--format csv|xliff] [--out FILE]
      write what a translator of ti needs: each message with its English,
      the notes for translators, the placeholders that must stay and how
      many characters fit one SMS (to standard output without --out)
  waymark locales import --lang ti [--dry-run] FILE.csv|FILE.xlf
      read a translation back, refuse it with file:line if a placeholder
      is broken, run the checks of waymark check on it, and write
      ti.yaml into the locales folder (--locales or WAYMARK_LOCALES_DIR)
  waymark locales status
      a table of every language: messages translated, reviewed by a
      native speaker, and over their SMS limit

Each takes --flows DIR and --locales DIR like waymark check.
`

func localesCmd(env cmdEnv, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, localesUsage)
		return 2
	}
	switch args[0] {
	case "export":
		return localesExport(env, args[1:])
	case "import":
		return localesImport(env, args[1:])
	case "status":
		return localesStatus(env, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(env.stdout, localesUsage)
		return 0
	}
	fmt.Fprintf(env.stderr, "waymark locales: unknown command %q\n\n%s", args[0], localesUsage)
	return 2
}

// localesFlags are the flags every locales command takes.
type localesFlags struct {
	fl         *flag.FlagSet
	flowsDir   *string
	localesDir *string
	lang       *string
}

func newLocalesFlags(env cmdEnv, name string) localesFlags {
	fl := flag.NewFlagSet("locales "+name, flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	return localesFlags{
		fl:         fl,
		flowsDir:   fl.String("flows", env.getenv("WAYMARK_FLOWS_DIR"), "flows directory (default: the built-in flows)"),
		localesDir: fl.String("locales", env.getenv("WAYMARK_LOCALES_DIR"), "locales directory (default: the built-in locales)"),
		lang:       fl.String("lang", "", "the language, e.g. ti"),
	}
}

// translatorBundle loads the locales with the programme's own sample
// data (its name, phone and hours in lang), so that lengths are real.
func translatorBundle(f localesFlags, lang string) (*locale.Bundle, fs.FS, fs.FS, error) {
	flowsFS, localesFS := contentFS(*f.flowsDir, *f.localesDir)
	b, problems := locale.Load(localesFS)
	if b == nil || len(diag.Errors(problems)) > 0 && b.Languages() == nil {
		return nil, nil, nil, fmt.Errorf("the locales do not load: run waymark check")
	}
	if set, _ := flow.Load(flowsFS); set != nil {
		o := set.Programme.Organisation
		b.SetSampleData(map[string]any{"Org": o.NameIn(lang), "HelpPhone": o.Phone, "HelpHours": o.HoursIn(lang)})
	}
	return b, flowsFS, localesFS, nil
}

func localesExport(env cmdEnv, args []string) int {
	f := newLocalesFlags(env, "export")
	format := f.fl.String("format", "csv", "csv or xliff")
	out := f.fl.String("out", "", "file to write (default: standard output)")
	if err := f.fl.Parse(args); err != nil {
		return 2
	}
	if *f.lang == "" {
		fmt.Fprintln(env.stderr, "waymark locales export: give --lang, e.g. --lang ti")
		return 2
	}
	b, _, localesFS, err := translatorBundle(f, *f.lang)
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark locales export:", err)
		return 1
	}
	enSource, _ := fs.ReadFile(localesFS, "en.yaml")
	units, err := b.Units(*f.lang, enSource)
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark locales export:", err)
		return 1
	}
	var buf bytes.Buffer
	switch *format {
	case "csv":
		err = locale.WriteCSV(&buf, units)
	case "xliff", "xlf":
		err = locale.WriteXLIFF(&buf, *f.lang, units)
	default:
		fmt.Fprintf(env.stderr, "waymark locales export: --format %q: write csv or xliff\n", *format)
		return 2
	}
	if err == nil {
		err = writeOut(env.stdout, *out, buf.Bytes())
	}
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark locales export:", err)
		return 1
	}
	return 0
}

func writeOut(stdout io.Writer, file string, data []byte) error {
	if file == "" {
		_, err := stdout.Write(data)
		return err
	}
	return os.WriteFile(file, data, 0o644)
}

func localesImport(env cmdEnv, args []string) int {
	f := newLocalesFlags(env, "import")
	dry := f.fl.Bool("dry-run", false, "check only: write nothing")
	if err := f.fl.Parse(args); err != nil {
		return 2
	}
	if *f.lang == "" || f.fl.NArg() != 1 {
		fmt.Fprintln(env.stderr, "waymark locales import: give --lang and one file, e.g. --lang ti ti.csv")
		return 2
	}
	if *f.localesDir == "" && !*dry {
		fmt.Fprintln(env.stderr, "waymark locales import: give --locales DIR (or WAYMARK_LOCALES_DIR): the folder to write "+*f.lang+".yaml into")
		return 2
	}
	file := f.fl.Arg(0)
	b, flowsFS, localesFS, err := translatorBundle(f, *f.lang)
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark locales import:", err)
		return 1
	}
	yamlOut, report, err := importTranslation(b, flowsFS, localesFS, *f.lang, file, displayDir(*f.flowsDir, "flows"), displayDir(*f.localesDir, "locales"))
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark locales import:", err)
		return 1
	}
	if werr := report.Write(env.stdout, check.Output{}); werr != nil {
		fmt.Fprintln(env.stderr, "waymark locales import:", werr)
		return 1
	}
	if !report.OK() {
		fmt.Fprintf(env.stderr, "waymark locales import: %s refused: nothing written\n", file)
		return 1
	}
	if *dry {
		return 0
	}
	target := filepath.Join(*f.localesDir, *f.lang+".yaml")
	if err := os.WriteFile(target, yamlOut, 0o644); err != nil {
		fmt.Fprintln(env.stderr, "waymark locales import:", err)
		return 1
	}
	fmt.Fprintf(env.stdout, "wrote %s\n", target)
	return 0
}

// importTranslation reads a translator's file and returns the locale file
// it makes, with the report of the checks waymark check makes on the
// locales with it in place. The report's problems include the file's own
// (broken placeholders, unknown IDs) at its lines.
func importTranslation(b *locale.Bundle, flowsFS, localesFS fs.FS, lang, file, flowsDir, localesDir string) ([]byte, check.Report, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, check.Report{}, err
	}
	var read []locale.Unit
	var problems []diag.Problem
	switch strings.ToLower(path.Ext(file)) {
	case ".csv":
		read, problems = locale.ReadCSV(bytes.NewReader(data), file)
	case ".xlf", ".xliff", ".xml":
		read, problems = locale.ReadXLIFF(bytes.NewReader(data), file)
	default:
		return nil, check.Report{}, errors.New(file + ": give a .csv or .xlf file")
	}
	enSource, _ := fs.ReadFile(localesFS, "en.yaml")
	english, err := b.Units(lang, enSource)
	if err != nil {
		return nil, check.Report{}, err
	}
	for i := range english {
		english[i].Text, english[i].Reviewed = "", false
	}
	merged, mp := locale.Merge(english, read, file)
	problems = append(problems, mp...)
	header := "# " + locale.Name(lang) + ".\n#\n# DRAFT: imported from a translator's file (waymark locales import);\n# a native speaker must review every message before use."
	if old, err := fs.ReadFile(localesFS, lang+".yaml"); err == nil {
		header = locale.Header(old)
	}
	out := locale.MarshalFile(header, merged)

	// The checks of waymark check, with the new file in place.
	overlay := fstest.MapFS{lang + ".yaml": &fstest.MapFile{Data: out}}
	names, _ := fs.Glob(localesFS, "*.yaml")
	for _, n := range names {
		if n != lang+".yaml" {
			d, _ := fs.ReadFile(localesFS, n)
			overlay[n] = &fstest.MapFile{Data: d}
		}
	}
	report := check.Run(check.Input{
		Flows: flowsFS, FlowsDir: flowsDir, Locales: overlay, LocalesDir: localesDir,
		LoadLocales: func(fsys fs.FS) (check.Catalog, []diag.Problem) {
			b, problems := locale.Load(fsys)
			if b == nil {
				return nil, problems
			}
			return b, problems
		},
	})
	// Only what concerns this language: its file, and any error (a flow
	// that needs a message the file lost).
	own := problems
	for _, p := range report.Problems {
		if !p.Warning || path.Base(p.File) == lang+".yaml" {
			own = append(own, p)
		}
	}
	report.Problems = own
	var costs []check.Cost
	for _, c := range report.Costs {
		if c.Lang == lang {
			costs = append(costs, c)
		}
	}
	report.Costs = costs
	return out, report, nil
}

// localesStatus prints, per language, how many messages are translated,
// how many a native speaker has reviewed, and how many are over their SMS
// limit (one segment for a language in Latin letters once folded, two
// for any other).
func localesStatus(env cmdEnv, args []string) int {
	f := newLocalesFlags(env, "status")
	if err := f.fl.Parse(args); err != nil {
		return 2
	}
	flowsFS, localesFS := contentFS(*f.flowsDir, *f.localesDir)
	rows, err := translationStatus(flowsFS, localesFS)
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark locales status:", err)
		return 1
	}
	writeStatus(env.stdout, rows)
	return 0
}

// writeStatus prints the rows as a Markdown table, for the README.
func writeStatus(w io.Writer, rows []check.Translation) {
	fmt.Fprintln(w, "| language | code | translated | reviewed by a native speaker | over the SMS limit |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		reviewed := fmt.Sprint(r.Reviewed)
		if r.Lang == locale.English {
			reviewed = "the reference"
		}
		fmt.Fprintf(w, "| %s | %s | %d of %d | %s | %d |\n", r.Name, r.Lang, r.Translated, r.Messages, reviewed, r.OverLimit)
	}
}

func translationStatus(flowsFS, localesFS fs.FS) ([]check.Translation, error) {
	b, _ := locale.Load(localesFS)
	if b == nil {
		return nil, errors.New("the locales do not load: run waymark check")
	}
	report := check.Run(check.Input{Flows: flowsFS, FlowsDir: "flows", Locales: localesFS, LocalesDir: "locales",
		LoadLocales: func(fs.FS) (check.Catalog, []diag.Problem) { return b, nil }})
	return report.Translations, nil
}
