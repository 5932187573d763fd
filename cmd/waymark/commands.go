package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/redact"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

func keygen(env cmdEnv) int {
	fmt.Fprintln(env.stdout, seal.NewKey())
	return 0
}

// contentFlags parses the --flows and --locales flags a command reading
// the content takes, defaulting to WAYMARK_FLOWS_DIR and
// WAYMARK_LOCALES_DIR; false when they do not parse.
func contentFlags(env cmdEnv, name string, args []string) (flowsDir, localesDir *string, ok bool) {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	flowsDir = fl.String("flows", env.getenv("WAYMARK_FLOWS_DIR"), "flows directory (default: the built-in flows)")
	localesDir = fl.String("locales", env.getenv("WAYMARK_LOCALES_DIR"), "locales directory (default: the built-in locales)")
	return flowsDir, localesDir, fl.Parse(args) == nil
}

// check validates flows, programme.yaml and locales and prints what the
// messages of each language cost as SMS (every message's with --costs).
func runCheck(env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("check", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	flowsDir := fl.String("flows", env.getenv("WAYMARK_FLOWS_DIR"), "flows directory (default: the built-in flows)")
	localesDir := fl.String("locales", env.getenv("WAYMARK_LOCALES_DIR"), "locales directory (default: the built-in locales)")
	costs := fl.Bool("costs", false, "also print what every message costs as SMS, in every language")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	flowsFS, localesFS := contentFS(*flowsDir, *localesDir)
	report := check.Run(check.Input{
		Flows: flowsFS, FlowsDir: displayDir(*flowsDir, "flows"),
		Locales: localesFS, LocalesDir: displayDir(*localesDir, "locales"),
		LoadLocales: func(fsys fs.FS) (check.Catalog, []diag.Problem) {
			b, problems := locale.Load(fsys)
			if b == nil {
				return nil, problems
			}
			return b, problems
		},
	})
	if err := report.Write(env.stdout, check.Output{Costs: *costs}); err != nil {
		fmt.Fprintln(env.stderr, "waymark check:", err)
		return 1
	}
	if !report.OK() {
		return 1
	}
	return 0
}

// displayDir is how problems name a directory: as given, or the built-in
// one's name in the repository.
func displayDir(dir, builtin string) string {
	if dir == "" {
		return builtin
	}
	return dir
}

// chat runs the simulator in the terminal.
func chat(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("chat", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	lang := fl.String("lang", "", "language of the simulated person (default: the programme's)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	flowsFS, localesFS := contentFS(env.getenv("WAYMARK_FLOWS_DIR"), env.getenv("WAYMARK_LOCALES_DIR"))
	content, problems := loadContent(flowsFS, localesFS)
	if content == nil {
		for _, p := range diag.Errors(problems) {
			fmt.Fprintln(env.stderr, p)
		}
		return 1
	}
	dir, err := os.MkdirTemp("", "waymark-chat-")
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark chat:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	scratch, err := bolt.Open(filepath.Join(dir, "chat.db"))
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark chat:", err)
		return 1
	}
	defer scratch.Close()
	log := redact.Logger(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sim, err := simulator.New(scratch, func() *conversation.Content { return content }, log)
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark chat:", err)
		return 1
	}
	sess, err := sim.NewSession(ctx, *lang)
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark chat:", err)
		return 1
	}
	fmt.Fprintf(env.stdout, "Simulated person, enrolment code %s. Send \"JOIN %s\" to begin.\n", sess.Code, sess.Code)
	fmt.Fprintln(env.stdout, "Commands: /skip 6h (or 3d) moves time ahead, /quit ends. Nothing is sent to anyone.")
	in := bufio.NewScanner(env.stdin)
	in.Buffer(make([]byte, 64*1024), 1024*1024)
	for {
		fmt.Fprint(env.stdout, "> ")
		if !in.Scan() {
			fmt.Fprintln(env.stdout)
			return 0
		}
		line := in.Text()
		var replies []simulator.Reply
		switch {
		case line == "/quit":
			return 0
		case strings.HasPrefix(line, "/skip"):
			d, err := flow.ParseDuration(strings.TrimSpace(strings.TrimPrefix(line, "/skip")))
			if err == nil {
				replies, err = sess.Skip(ctx, d)
			}
			if err != nil {
				fmt.Fprintln(env.stdout, "  (skip by a duration between 1m and 60d, like /skip 6h)")
				continue
			}
			fmt.Fprintf(env.stdout, "  (it is now %s)\n", sess.Now().Format("Mon 2 Jan 15:04"))
		default:
			replies, err = sess.Send(ctx, line)
			if err != nil {
				fmt.Fprintln(env.stderr, "waymark chat:", err)
				return 1
			}
		}
		for _, r := range replies {
			for l := range strings.SplitSeq(r.Text, "\n") {
				fmt.Fprintln(env.stdout, "  "+l)
			}
		}
	}
}
