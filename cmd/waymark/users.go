package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/programme"
	"github.com/waymark-atd/waymark/internal/refusal"
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
                                      set a new password (from standard input); ends its sessions and tokens
  waymark users list                  list the accounts
  waymark users disable --username NAME
                                      stop the account at once: its sessions end, its API tokens are revoked
  waymark users enable --username NAME
                                      let a disabled account sign in again (it needs new tokens)
  waymark users delete --username NAME
                                      delete the account with its sessions and tokens; the audit log stays
  waymark tokens create --username NAME [--expires 90d]
                                      make an API token for the account; it is printed once
  waymark tokens list [--username NAME]
                                      list API tokens: ID, account, made, expires, last used
  waymark tokens revoke --id ID       revoke one token (its ID from waymark tokens list)
  waymark tokens revoke --username NAME --all
                                      revoke every token of the account

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
	case "disable", "enable", "delete":
		return usersAccess(ctx, env, args[0], args[1:])
	}
	fmt.Fprintf(env.stderr, "waymark users: unknown command %q\n\n%s", args[0], usersUsage)
	return 2
}

func tokensCmd(ctx context.Context, env cmdEnv, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, usersUsage)
		return 2
	}
	switch args[0] {
	case "create":
		return tokensCreate(ctx, env, args[1:])
	case "list":
		return tokensList(ctx, env, args[1:])
	case "revoke":
		return tokensRevoke(ctx, env, args[1:])
	}
	fmt.Fprintf(env.stderr, "waymark tokens: unknown command %q\n\n%s", args[0], usersUsage)
	return 2
}

func tokensCreate(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("tokens create", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	username := fl.String("username", "", "the account the token acts as")
	expires := fl.String("expires", "", "stop working after this long, e.g. 90d or 12h; empty for never")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	var ttl time.Duration
	if *expires != "" {
		d, err := flow.ParseDuration(*expires)
		if err != nil || d <= 0 {
			fmt.Fprintf(env.stderr, "waymark tokens create: --expires %q: give a duration such as 90d or 12h\n", *expires)
			return 2
		}
		ttl = d
	}
	return withAccounts(ctx, env, "tokens", func(st store.Accounts, au *auth.Service) error {
		a, err := accountNamed(ctx, st, *username)
		if err != nil {
			return err
		}
		tok, err := au.CreateAPIToken(ctx, "cli", a.ID, ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stderr, "API token for "+a.Username+" (shown once; only its hash is kept; its ID is "+auth.HashToken(tok)[:auth.TokenIDLen]+"). Send it as: Authorization: Bearer <token>")
		fmt.Fprintln(env.stdout, tok)
		return nil
	})
}

func tokensList(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("tokens list", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	username := fl.String("username", "", "only this account's tokens")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	return withAccounts(ctx, env, "tokens", func(st store.Accounts, au *auth.Service) error {
		var id string
		if *username != "" {
			a, err := accountNamed(ctx, st, *username)
			if err != nil {
				return err
			}
			id = a.ID
		}
		toks, err := au.ListTokens(ctx, id)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tCREATED\tEXPIRES\tLAST USED")
		for _, t := range toks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Username, day(t.CreatedAt, ""), tokenExpiry(t, now), day(t.LastUsedAt, "never"))
		}
		return tw.Flush()
	})
}

func day(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func tokenExpiry(t auth.TokenInfo, now time.Time) string {
	switch {
	case t.ExpiresAt.IsZero():
		return "never"
	case t.Expired(now):
		return "expired " + day(t.ExpiresAt, "")
	}
	return day(t.ExpiresAt, "")
}

func tokensRevoke(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("tokens revoke", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	id := fl.String("id", "", "the token's ID, from waymark tokens list")
	username := fl.String("username", "", "with --all: the account whose tokens to revoke")
	all := fl.Bool("all", false, "revoke every token of --username")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if (*id == "") == !*all || (*all && *username == "") {
		fmt.Fprintln(env.stderr, "waymark tokens revoke: give --id ID, or --username NAME --all")
		return 2
	}
	return withAccounts(ctx, env, "tokens", func(st store.Accounts, au *auth.Service) error {
		if *all {
			a, err := accountNamed(ctx, st, *username)
			if err != nil {
				return err
			}
			toks, err := au.ListTokens(ctx, a.ID)
			if err != nil {
				return err
			}
			for _, t := range toks {
				if err := au.RevokeToken(ctx, "cli", a.ID, t.ID); err != nil {
					return err
				}
			}
			fmt.Fprintf(env.stdout, "revoked %d API tokens of %s\n", len(toks), a.Username)
			return nil
		}
		if err := au.RevokeToken(ctx, "cli", "", *id); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "revoked API token %s\n", strings.ToLower(strings.TrimSpace(*id)))
		return nil
	})
}

func usersAccess(ctx context.Context, env cmdEnv, verb string, args []string) int {
	fl := flag.NewFlagSet("users "+verb, flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	username := fl.String("username", "", "the account")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	return withAccounts(ctx, env, "users", func(st store.Accounts, au *auth.Service) error {
		a, err := accountNamed(ctx, st, *username)
		if err != nil {
			return err
		}
		switch verb {
		case "delete":
			if err := au.DeleteAccount(ctx, "cli", a.ID); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "deleted %s (%s); its participants have no caseworker until an administrator assigns one\n", a.Username, a.ID)
		case "disable":
			if _, err := au.SetDisabled(ctx, "cli", a.ID, true); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "disabled %s: its sessions have ended and its API tokens are revoked\n", a.Username)
		default:
			if _, err := au.SetDisabled(ctx, "cli", a.ID, false); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "enabled %s\n", a.Username)
		}
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
	return withAccounts(ctx, env, "users", func(st store.Accounts, au *auth.Service) error {
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
	return withAccounts(ctx, env, "users", func(st store.Accounts, au *auth.Service) error {
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
		fmt.Fprintf(env.stdout, "password of %s changed; its sessions have ended and its API tokens are revoked\n", a.Username)
		return nil
	})
}

func usersList(ctx context.Context, env cmdEnv, args []string) int {
	if len(args) > 0 {
		fmt.Fprint(env.stderr, usersUsage)
		return 2
	}
	return withAccounts(ctx, env, "users", func(st store.Accounts, _ *auth.Service) error {
		accts, err := st.ListAccounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tCHILD PROTECTION\tSTATE\tCREATED\tID")
		for _, a := range accts {
			trained := "no"
			if a.ChildProtectionTrained {
				trained = "trained"
			}
			state := "active"
			if a.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Username, a.Role, trained, state, a.CreatedAt.UTC().Format("2006-01-02"), a.ID)
		}
		return tw.Flush()
	})
}

// withAccounts opens the store as serve does and runs fn, turning errors
// into a message and an exit code.
func withAccounts(ctx context.Context, env cmdEnv, cmd string, fn func(store.Accounts, *auth.Service) error) int {
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
		// A refusal is said in its own words; anything else with its
		// context, for the administrator at the console.
		msg, ok := refusal.Message(err)
		if !ok {
			msg = err.Error()
		}
		fmt.Fprintf(env.stderr, "waymark %s: %s\n", cmd, msg)
		return 1
	}
	return 0
}

func accountNamed(ctx context.Context, st store.Accounts, username string) (store.Account, error) {
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
func withCaseworkers(ctx context.Context, cfg config.Config, log *slog.Logger, st auth.Store, clk clock.Clock, sched *schedule.Scheduler, counterKey []byte, deps *web.Deps) error {
	nets, err := cfg.TrustedProxyNets()
	if err != nil {
		return err
	}
	au := auth.New(st, clk, auth.Options{SessionTTL: cfg.SessionTTL, CounterKey: counterKey})
	deps.Auth, deps.Clock, deps.TelegramBot, deps.TrustedProxies = au, clk, cfg.TelegramBotUsername, nets
	deps.TextNumber = cfg.TwilioFrom
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
		log.Warn("no caseworker accounts yet: open this link once, within a day, to make the first administrator (or run waymark users add); it replaces any link logged before",
			"setup_link", base+"/setup?token="+token, "expires", clk.Now().Add(24*time.Hour).UTC().Format(time.RFC3339))
	}
	return nil
}

// checkReport runs `waymark check` for the Programme page.
func checkReport(flowsDir, localesDir string) check.Report {
	flowsFS, localesFS := contentFS(flowsDir, localesDir)
	return programme.CheckFolders(flowsFS, displayDir(flowsDir, "flows"), localesFS, displayDir(localesDir, "locales"))
}
