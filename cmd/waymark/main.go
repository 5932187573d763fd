// Command waymark is the whole service in one binary: serve, check, chat,
// keygen and version.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args, os.Getenv, os.Environ(), os.Stdin, os.Stdout, os.Stderr))
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `waymark: check-ins, reminders and information by SMS, WhatsApp and Telegram.

Usage:
  waymark serve [--addr :8080] [--data-dir ./data]   run the service
  waymark check [--flows DIR] [--locales DIR]         validate flows, programme.yaml and locales
  waymark whatsapp-templates [--flows DIR] [--locales DIR]
                                                      print the WhatsApp templates to have approved
  waymark locales export | import | status            what translators need, read back checked
  waymark chat [--lang es]                            talk to the flows in this terminal
  waymark telegram set-webhook | info                register the Telegram webhook, or show its status
  waymark users add | passwd | list                   caseworker accounts (waymark users for help)
  waymark tokens create --username NAME               print a new API token for an account, once
  waymark keygen                                      print a new WAYMARK_SECRET_KEY
  waymark rekey [--old-key-file F] [--new-key-file F] re-seal every stored address under a new key
  waymark export --participant ID                     print everything held about one person, as JSON
  waymark healthcheck [--ready]                       exit 0 if the local server answers /healthz (/readyz)
  waymark backup --to FILE [--data-dir DIR]           copy the embedded store, also while serve runs
  waymark version                                     print the version

Configuration comes from WAYMARK_* environment variables; see README.md.
`

// run is main without the process: testable, and it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	env := cmdEnv{getenv: getenv, environ: environ, stdin: stdin, stdout: stdout, stderr: stderr}
	switch args[1] {
	case "serve":
		return serve(ctx, env, args[2:])
	case "check":
		return runCheck(env, args[2:])
	case "whatsapp-templates":
		return whatsappTemplates(env, args[2:])
	case "locales":
		return localesCmd(env, args[2:])
	case "chat":
		return chat(ctx, env, args[2:])
	case "telegram":
		return telegramCmd(ctx, env, args[2:])
	case "users":
		return usersCmd(ctx, env, args[2:])
	case "tokens":
		return tokensCmd(ctx, env, args[2:])
	case "keygen":
		return keygen(env)
	case "rekey":
		return rekeyCmd(ctx, env, args[2:])
	case "export":
		return exportCmd(ctx, env, args[2:])
	case "healthcheck":
		return healthcheck(ctx, env, args[2:])
	case "backup":
		return backup(ctx, env, args[2:])
	case "version":
		fmt.Fprintln(stdout, "waymark", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "waymark: unknown command %q\n\n%s", args[1], usage)
	return 2
}

// cmdEnv is the process's surroundings, passed in so commands can be tested.
type cmdEnv struct {
	getenv  func(string) string
	environ []string
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
}
