package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/web"
)

// Caseworker accounts from the command line, and their wiring into serve.

const usersUsage = `Usage:
  waymark users add --username NAME --role admin|caseworker [--child-protection-trained]
                                      add an account; the password is read from standard input
  waymark users passwd --username NAME
                                      set a new password (from standard input); ends its sessions
  waymark users list                  list the accounts
  waymark tokens create --username NAME
                                      make an API token for the account; it is printed once

The commands open the store as waymark serve does (WAYMARK_DATA_DIR or
WAYMARK_REDIS_URL). The embedded store serves one process: stop waymark serve
first, or use Redis.
`

func usersCmd(ctx context.Context, env cmdEnv, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, usersUsage)
		return 2
	}
	switch args[0] {
	case "add":
		return usersAdd(ctx, env, args[1:])
	case "passwd":
		return usersPasswd(ctx, env, args[1:])
	case "list":
		return usersList(ctx, env, args[1:])
	}
	fmt.Fprintf(env.stderr, "waymark users: unknown command %q\n\n%s", args[0], usersUsage)
	return 2
}

func tokensCmd(ctx context.Context, env cmdEnv, args []string) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(env.stderr, usersUsage)
		return 2
	}
	fl := flag.NewFlagSet("tokens create", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	username := fl.String("username", "", "the account the token acts as")
	if err := fl.Parse(args[1:]); err != nil {
		return 2
	}
	return withAccounts(ctx, env, "tokens", func(st store.Store, au *auth.Service) error {
		a, err := accountNamed(ctx, st, *username)
		if err != nil {
			return err
		}
		tok, err := au.CreateAPIToken(ctx, "cli", a.ID)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stderr, "API token for "+a.Username+" (shown once; only its hash is kept). Send it as: Authorization: Bearer <token>")
		fmt.Fprintln(env.stdout, tok)
		return nil
	})
}

func usersAdd(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("users add", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	username := fl.String("username", "", "2 to 64 of a-z 0-9 . _ -")
	role := fl.String("role", "", "admin or caseworker")
	trained := fl.Bool("child-protection-trained", false, "the caseworker is trained in child protection (may hold children's cases)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	r, err := auth.ParseRole(*role)
	if err != nil || *username == "" {
		fmt.Fprintln(env.stderr, "waymark users add: give --username NAME and --role admin or caseworker")
		return 2
	}
	return withAccounts(ctx, env, "users", func(st store.Store, au *auth.Service) error {
		pw, err := readPassword(env)
		if err != nil {
			return err
		}
		a, err := au.CreateAccount(ctx, "cli", auth.NewAccount{Username: *username, Role: r, Password: pw, ChildProtectionTrained: *trained})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "added %s (%s) as %s\n", a.Username, a.ID, a.Role)
		return nil
	})
}

func usersPasswd(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("users passwd", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	username := fl.String("username", "", "the account")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	return withAccounts(ctx, env, "users", func(st store.Store, au *auth.Service) error {
		a, err := accountNamed(ctx, st, *username)
		if err != nil {
			return err
		}
		pw, err := readPassword(env)
		if err != nil {
			return err
		}
		if _, err := au.SetPassword(ctx, "cli", a.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "password of %s changed; its sessions have ended\n", a.Username)
		return nil
	})
}

func usersList(ctx context.Context, env cmdEnv, args []string) int {
	if len(args) > 0 {
		fmt.Fprint(env.stderr, usersUsage)
		return 2
	}
	return withAccounts(ctx, env, "users", func(st store.Store, _ *auth.Service) error {
		accts, err := st.ListAccounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tCHILD PROTECTION\tCREATED\tID")
		for _, a := range accts {
			trained := "no"
			if a.ChildProtectionTrained {
				trained = "trained"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Username, a.Role, trained, a.CreatedAt.UTC().Format("2006-01-02"), a.ID)
		}
		return tw.Flush()
	})
}

// withAccounts opens the store as serve does and runs fn, turning errors
// into a message and an exit code.
func withAccounts(ctx context.Context, env cmdEnv, cmd string, fn func(store.Store, *auth.Service) error) int {
	cfg, _, err := config.Load(env.getenv, env.environ, nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark %s: configuration is not valid:\n%v\n", cmd, err)
		return 1
	}
	st, err := openStore(ctx, cfg)
	if errors.Is(err, bolt.ErrInUse) {
		fmt.Fprintf(env.stderr, "waymark %s: the data file in %s is in use by a running waymark serve: stop it first (or use Redis, which many processes share)\n", cmd, cfg.DataDir)
		return 1
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark %s: cannot open the store: %v\n", cmd, err)
		return 1
	}
	defer st.Close()
	if err := fn(st, auth.New(st, clock.System{}, auth.Options{SessionTTL: cfg.SessionTTL})); err != nil {
		fmt.Fprintf(env.stderr, "waymark %s: %s\n", cmd, strings.TrimPrefix(err.Error(), "auth: "))
		return 1
	}
	return 0
}

func accountNamed(ctx context.Context, st store.Store, username string) (store.Account, error) {
	u, err := auth.NormalizeUsername(username)
	if err != nil {
		return store.Account{}, errors.New("give --username NAME of an existing account")
	}
	a, err := st.AccountByUsername(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return a, fmt.Errorf("no account named %s (waymark users list shows them)", u)
	}
	return a, err
}

// readPassword reads one line from standard input. A terminal echoes it,
// so say how to avoid that.
func readPassword(env cmdEnv) (string, error) {
	if f, ok := env.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			io.WriteString(env.stderr, "Password, then Enter. It shows as you type; to hide it, pipe it in:\n  read -rs PW; printf '%s\\n' \"$PW\" | waymark users ...\n")
		}
	}
	line, err := bufio.NewReader(io.LimitReader(env.stdin, auth.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

// withCaseworkers wires accounts, the caseworker pages and the API into
// serve, and on a fresh install logs the one-time link that makes the
// first administrator. The link holds a token: it works once, for a day,
// and only while there is no account.
func withCaseworkers(ctx context.Context, cfg config.Config, log *slog.Logger, st store.Store, clk clock.Clock, sched *schedule.Scheduler, deps *web.Deps) error {
	nets, err := cfg.TrustedProxyNets()
	if err != nil {
		return err
	}
	au := auth.New(st, clk, auth.Options{SessionTTL: cfg.SessionTTL})
	deps.Auth, deps.Clock, deps.TelegramBot, deps.TrustedProxies = au, clk, cfg.TelegramBotUsername, nets
	if sched != nil {
		deps.Replan, deps.Excuse, deps.Windows = sched.Replan, sched.Excuse, sched.History
	}
	deps.CheckReport = func() check.Report { return checkReport(cfg.FlowsDir, cfg.LocalesDir) }
	token, needed, err := au.SetupLink(ctx)
	if err != nil {
		return fmt.Errorf("caseworker setup: %w", err)
	}
	if needed {
		base := cfg.PublicURL
		if base == "" {
			host := cfg.Addr
			if strings.HasPrefix(host, ":") {
				host = "localhost" + host
			}
			base = "http://" + host
		}
		log.Warn("no caseworker accounts yet: open this link once, within a day, to make the first administrator (or run waymark users add)",
			"setup_link", base+"/setup?token="+token, "expires", clk.Now().Add(24*time.Hour).UTC().Format(time.RFC3339))
	}
	return nil
}

// checkReport runs `waymark check` for the Programme page.
func checkReport(flowsDir, localesDir string) check.Report {
	flowsFS, localesFS := contentFS(flowsDir, localesDir)
	return check.Run(check.Input{
		Flows: flowsFS, FlowsDir: displayDir(flowsDir, "flows"),
		Locales: localesFS, LocalesDir: displayDir(localesDir, "locales"),
		LoadLocales: func(fsys fs.FS) (check.Catalog, []diag.Problem) {
			b, problems := locale.Load(fsys)
			if b == nil {
				return nil, problems
			}
			return b, problems
		},
	})
}
