package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/telegram"
	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/metrics"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/programme"
	"github.com/waymark-atd/waymark/internal/retention"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/sms"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/internal/web"
)

func serve(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	addr := fl.String("addr", "", "listen address (overrides WAYMARK_ADDR)")
	dataDir := fl.String("data-dir", "", "embedded store directory (overrides WAYMARK_DATA_DIR)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	overrides := map[string]string{}
	if *addr != "" {
		overrides["WAYMARK_ADDR"] = *addr
	}
	if *dataDir != "" {
		overrides["WAYMARK_DATA_DIR"] = *dataDir
	}
	cfg, unknown, err := config.Load(env.getenv, env.environ, overrides)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark: configuration is not valid:\n%v\n", err)
		return 1
	}
	log := newLogger(env, cfg)
	for _, name := range unknown {
		log.Warn("unknown configuration variable ignored; check its spelling", "name", name)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		log.Error("cannot open the store", "err", err)
		return 1
	}
	defer st.Close()
	if err := runServer(ctx, cfg, log, st, clock.System{}); err != nil {
		log.Error("waymark stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(env cmdEnv, cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(env.stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(env.stderr, opts)
	}
	return protectLog(slog.New(h), cfg)
}

// runServer runs the service on an open store until ctx is done. The clock
// is injected so that end-to-end tests can move time (retries, expiry).
// It takes the whole store.Store, as openStore and the metrics wrapper do,
// because it is where every part is made and each is handed its own share.
func runServer(ctx context.Context, cfg config.Config, log *slog.Logger, st store.Store, clk clock.Clock) error {
	key, generated, err := cfg.Key()
	if err != nil {
		return err
	}
	log = protectLog(log, cfg, keySecret(key))
	if generated {
		log.Warn("no WAYMARK_SECRET_KEY: generated one into the data directory; back it up, since stored phone numbers cannot be read without it", "file", cfg.KeyFile())
	}
	box, err := seal.New(key)
	if err != nil {
		return err
	}
	if err := checkKey(ctx, st, box, keySource(cfg), generated); err != nil {
		return err
	}

	// Hot backups of the embedded store for `waymark backup`; offered
	// before the metrics wrap the store and hide its Backup method.
	defer offerBackups(cfg.DataDir, st, log)()

	// Every part below sees the store through the metrics, which count its
	// errors, the messages queued and the check-in outcomes.
	m := metrics.New(version)
	st = metrics.InstrumentStore(st, m)

	// The programme: the folders, or with the editor the version published
	// in the store (the folders are its starting version).
	var content *conversation.Content
	flowsFS, localesFS := contentFS(cfg.FlowsDir, cfg.LocalesDir)
	var programmes *programme.Service
	if cfg.ProgrammeEditor {
		programmes = programme.New(st, programme.Options{
			Files: func() (programme.Files, error) {
				f, l := contentFS(cfg.FlowsDir, cfg.LocalesDir)
				return programme.ReadFiles(f, l)
			},
			FlowsBase: flowsFS, Every: cfg.ProgrammePoll, Clock: clk, Log: log,
		})
		if _, err := programmes.Sync(ctx); err != nil {
			return err
		}
		content = programmes.Content()
	} else {
		var problems []diag.Problem
		content, problems = loadContent(flowsFS, localesFS)
		if content == nil {
			for _, p := range diag.Errors(problems) {
				log.Error("flows or locales are not valid", "problem", p.String())
			}
			return errors.New("flows or locales are not valid; run `waymark check`")
		}
	}

	live := conversation.NewLive(content)
	windows := schedule.NewLedger(st, live, clk, log)
	conv := conversation.New(st, box, live, clk, log, windows)

	deps := web.Deps{Store: st, Conversation: conv, Log: log, PublicURL: cfg.PublicURL, Metrics: m}
	senders := map[store.Channel]outbox.Sender{}
	providers := providerTransport()
	if cfg.TwilioAccountSID != "" {
		tw, err := twilio.NewSender(twilio.Config{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken,
			From: cfg.TwilioFrom, MessagingServiceSID: cfg.TwilioMessagingServiceSID,
			APIURL: cfg.TwilioAPIURL, PublicURL: cfg.PublicURL, MPS: cfg.TwilioMPS,
			SmartEncoded: cfg.TwilioSmartEncoded, ContentRetention: cfg.TwilioContentRetention,
			Transport: providers,
		})
		if err != nil {
			return err
		}
		senders[store.SMS], senders[store.WhatsApp] = tw, tw
	}
	// Whatever queues replies rings the bell (the channels' webhooks, when
	// a turn queued some); the dispatcher answers it between its polls.
	bell := outbox.NewBell()
	if cfg.TelegramToken != "" {
		tg, err := telegram.New(telegram.Options{
			Token: cfg.TelegramToken, APIURL: cfg.TelegramAPIURL, WebhookSecret: cfg.TelegramWebhookSecret,
			BotUsername: cfg.TelegramBotUsername, Conversation: conv, Store: st, Box: box, Clock: clk, Log: log,
			Wake: bell.Ring, HTTPClient: &http.Client{Transport: providers},
		})
		if err != nil {
			return err
		}
		senders[store.Telegram] = tg
		deps.Webhooks = append(deps.Webhooks, web.Webhook{Path: telegram.WebhookPath, Handler: tg.HandleWebhook})
	}
	opener := func(_ context.Context, l store.Link) (string, error) { return box.Open(string(l.Channel), l.Sealed) }
	scheduler := schedule.New(conv, windows, schedule.Options{Tick: cfg.SchedulerTick, Observe: m.SchedulerLag})
	// Up to sendsInFlight people's messages at once, claimed 50 or more at
	// a time as sends end (at most twice sendsInFlight held): rate budgets
	// still pace each sender, but one slow provider call holds up only its
	// person, and a backlog is sent by many sends side by side, which
	// share the store's round trips and commits.
	dispatcher := outbox.New(st, senders, opener, clk, log, outbox.Options{
		OptOutKinds: content.Flows.OptOutConfirmations(), Observer: m.Outbox(), Bell: bell,
		Concurrency: sendsInFlight, Batch: 50, MaxBatch: 2 * sendsInFlight,
		DoubtWait: cfg.OutboxDoubtWait,
		// A claim outlasts any send made under it: a send may take a
		// quarter of the lease, and at most 30 s.
		Lease: cfg.OutboxLease, SendTimeout: min(30*time.Second, cfg.OutboxLease/4),
		Segments: func(text string) int { _, n := sms.Segments(text); return n },
		Ledger:   scheduler,
	})
	if cfg.TwilioAccountSID != "" {
		// Made after the dispatcher, which records the delivery statuses
		// they receive and is woken when they queue a reply.
		hooks := &twilio.Webhooks{AuthToken: cfg.TwilioAuthToken, PublicURL: cfg.PublicURL, Conversation: conv, Log: log,
			Statuses: dispatcher, Wake: bell.Ring}
		voice := &twilio.Voice{Hooks: hooks, Calls: conv}
		deps.Webhooks = append(deps.Webhooks,
			web.Webhook{Path: twilio.InboundRoute, Handler: hooks.HandleInbound},
			web.Webhook{Path: twilio.StatusRoute, Handler: hooks.HandleStatus},
			web.Webhook{Path: twilio.VoiceRoute, Handler: voice.HandleCall},
			web.Webhook{Path: twilio.VoiceMenuRoute, Handler: voice.HandleMenu})
		deps.Audio = voice.HandleAudio
	}
	if cfg.SimulatorOn() {
		scratchDir, err := os.MkdirTemp("", "waymark-simulator-")
		if err != nil {
			return fmt.Errorf("simulator scratch store: %w", err)
		}
		defer os.RemoveAll(scratchDir)
		scratchFile := filepath.Join(scratchDir, "simulator.db")
		scratch, err := bolt.Open(scratchFile)
		if err != nil {
			return fmt.Errorf("simulator scratch store: %w", err)
		}
		defer scratch.Close()
		sim, err := simulator.New(scratch, conv.Content, log, simulator.Options{ScratchSize: func() int64 {
			fi, err := os.Stat(scratchFile)
			if err != nil {
				return 0
			}
			return fi.Size()
		}})
		if err != nil {
			return err
		}
		deps.Simulator = sim
	}
	// The sign-in counters are named by a hash keyed from the secret key,
	// the same in every process that shares the store.
	counterKey := []byte(box.Index("auth", "sign-in counters"))
	if err := withCaseworkers(ctx, cfg, log, st, clk, scheduler, counterKey, &deps); err != nil {
		return err
	}
	if programmes != nil {
		m.ProgrammeVersion(func() int { return programmes.Live().Number })
		deps.Programmes = programmes
		// The Programme page checks the version in use, not the folders.
		deps.CheckReport = func() check.Report {
			files, err := programmes.LiveFiles(context.Background())
			if err != nil {
				return check.Report{Problems: []diag.Problem{{Message: "the live programme version cannot be read: " + err.Error()}}}
			}
			return files.Check(flowsFS)
		}
	}
	srv := web.NewServer(deps)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	replan := make(chan struct{}, 1)
	replan <- struct{}{} // once at start: the programme may have changed while stopped
	// A new programme, from SIGHUP or a published version: conversations
	// continue on it (one on a node that is gone restarts politely), and
	// reminders are planned again for new offsets or quiet hours.
	use := func(c *conversation.Content) {
		conv.SetContent(c)
		dispatcher.SetOptOutKinds(c.Flows.OptOutConfirmations())
		select {
		case replan <- struct{}{}:
		default:
		}
	}
	if programmes != nil {
		programmes.OnSwitch(use)
	}
	reloadFolders := func() {
		if programmes != nil {
			// The folders win where they changed; otherwise nothing.
			if _, err := programmes.Sync(ctx); err != nil {
				log.Error("reload of the flows and locales folders", "err", err)
			}
			return
		}
		if c := reload(conv, cfg, log); c != nil {
			use(c)
		}
	}

	// Workers stop after the server: webhooks in flight may still enqueue.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	workers.Go(func() { reloadOnHangup(workCtx, hup, reloadFolders) })
	workers.Go(func() { dispatcher.Run(workCtx) })
	workers.Go(func() { scheduler.Run(workCtx) })
	workers.Go(func() { replanOnRequest(workCtx, st, scheduler, replan, log) })
	if programmes != nil {
		workers.Go(func() { programmes.Follow(workCtx) })
	}
	policy := func() flow.Retention { return conv.Content().Flows.Programme.Retention }
	workers.Go(func() { retention.New(st, clk, policy, log, retention.Options{}).Run(workCtx) })
	log.Info("retention", "keeps", retention.Describe(policy()))

	// Start-up parses the programme's files and versions into a heap about
	// twice what is kept; the collector would hold that garbage's pages
	// while the process idles, which for a small programme is most of the
	// time. Hand them back once, now.
	debug.FreeOSMemory()
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(cfg.Addr) }()
	log.Info("waymark serving", "addr", cfg.Addr, "store", storeKind(cfg), "simulator", cfg.SimulatorOn(), "channels", len(senders))
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && serveErr == nil {
		serveErr = fmt.Errorf("shutdown: %w", err)
	}
	// A send in progress finishes and is recorded; claimed messages not yet
	// started are handed back for another process or the next start.
	stopWork()
	workers.Wait()
	return serveErr
}

// reloadOnHangup reloads the programme's folders at each SIGHUP until ctx
// ends. It is one of runServer's workers, so that it ends with the server:
// a reload must never land in a service that has stopped.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, reloadFolders func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reloadFolders()
		}
	}
}

// reload swaps in new flows and locales if, and only if, they pass the same
// validation as `waymark check`, and returns them; otherwise the running
// set stays, and it returns nil.
func reload(conv *conversation.Service, cfg config.Config, log *slog.Logger) *conversation.Content {
	flowsFS, localesFS := contentFS(cfg.FlowsDir, cfg.LocalesDir)
	content, problems := loadContent(flowsFS, localesFS)
	if content == nil {
		for _, p := range diag.Errors(problems) {
			log.Error("reload refused; keeping the flows in use", "problem", p.String())
		}
		return nil
	}
	conv.SetContent(content)
	log.Info("flows and locales reloaded", "flows", len(content.Flows.Flows), "languages", len(content.Locale.Languages()))
	return content
}

// replanOnRequest re-plans every participant's reminders at start and after
// each reload, so that new offsets or quiet hours apply at once. One process
// at a time does it (a lease), since the plan is the same whoever makes it.
func replanOnRequest(ctx context.Context, st store.Leases, sch *schedule.Scheduler, requests <-chan struct{}, log *slog.Logger) {
	owner := store.NewID("replan_")
	for {
		select {
		case <-ctx.Done():
			return
		case <-requests:
		}
		ok, err := st.AcquireLease(ctx, "schedule:replan-all", owner, 10*time.Minute)
		if err != nil || !ok {
			continue // another process is at it, or the store is away: its next start or reload will do
		}
		failed, err := sch.ReplanAll(ctx)
		if err != nil || failed > 0 {
			log.Warn("re-planning reminders", "failed", failed, "err", err)
		}
		_ = st.ReleaseLease(context.WithoutCancel(ctx), "schedule:replan-all", owner)
	}
}

func storeKind(cfg config.Config) string {
	if cfg.RedisURL != "" {
		return "redis"
	}
	return "embedded"
}

func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if cfg.RedisURL != "" {
		return redisstore.Open(ctx, redisstore.Options{
			URL: cfg.RedisURL, Prefix: cfg.RedisPrefix,
			SentinelMaster: cfg.RedisSentinelMaster, Cluster: cfg.RedisCluster,
		})
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return bolt.Open(filepath.Join(cfg.DataDir, "waymark.db"))
}

// sendsInFlight is how many provider calls the outbox makes at once at
// most.
const sendsInFlight = 64

// providerTransport carries the outbox's calls to the providers. It keeps
// a connection open for each send in flight: the default keeps two a
// host, and would open and close the others call after call.
func providerTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = sendsInFlight
	return t
}
