// Package redis is Waymark's shared storage backend: several `waymark
// serve` processes keep their state in one Redis, a Sentinel-managed Redis
// or a Redis Cluster, and meet the same contract (storetest) as the
// embedded bolt store.
//
// # Naming the server
//
// Options come from the WAYMARK_REDIS_* settings:
//
//	WAYMARK_REDIS_URL=redis://[user:password@]host[:port][/db][?option=value]
//	WAYMARK_REDIS_URL=rediss://...                   TLS
//
// One host is a single Redis (port 6379 by default). The query takes
// go-redis's URL options, e.g. dial_timeout=3s, read_timeout=2s,
// pool_size=20.
//
// Sentinel: set WAYMARK_REDIS_SENTINEL_MASTER to the master's name; the
// URL's hosts, separated by commas, are then the sentinels (port 26379 by
// default), the URL's user and password authenticate to the master and to
// the sentinels, and the path picks the database:
//
//	WAYMARK_REDIS_URL=redis://:secret@sentinel-a:26379,sentinel-b:26379/0
//	WAYMARK_REDIS_SENTINEL_MASTER=waymark
//
// Cluster: set WAYMARK_REDIS_CLUSTER=1; the URL's hosts, separated by
// commas, are seed nodes (one is enough: the client discovers the rest; a
// managed cluster's single configuration endpoint works too). A cluster
// has no databases, so the URL has no path:
//
//	WAYMARK_REDIS_URL=redis://node-a:7000,node-b:7000
//	WAYMARK_REDIS_CLUSTER=1
//
// WAYMARK_REDIS_PREFIX (default "waymark:") starts every key, so that one
// Redis can hold several programmes or test runs; it may not contain a
// brace, because braces choose a key's cluster slot.
//
// # Layout and guarantees
//
// keys.go names every key and explains how the layout keeps each
// participant's data in one cluster slot and which steps are atomic; the
// multi-key steps are the Lua scripts in lua/. Production Redis should run
// with AOF and noeviction (deploy/redis.conf): evicting a key would lose a
// check-in or a queued message.
//
// Scripts, pipelines and reads by key of concurrent callers share
// pipelines to Redis (coalesce.go): under load a round trip carries
// several webhooks' commands, each caller still getting only its own
// answers.
//
// When Redis cannot be reached every method returns an error that matches
// store.ErrUnavailable, so that a webhook answers 5xx and the provider
// retries; the client reconnects by itself once Redis is back.
package redis

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

var _ store.Store = (*Store)(nil)

// DefaultPrefix starts every key unless Options.Prefix says otherwise.
const DefaultPrefix = "waymark:"

// Options name the Redis to use; see the package comment for the forms.
type Options struct {
	URL            string // redis:// or rediss://, one host or several separated by commas
	Prefix         string // starts every key; DefaultPrefix when empty
	SentinelMaster string // when set, the URL's hosts are sentinels watching this master
	Cluster        bool   // when set, the URL's hosts are Redis Cluster nodes
}

// Store is a store.Store kept in Redis. Safe for concurrent use by many
// goroutines and, through Redis, by many processes.
type Store struct {
	rdb goredis.UniversalClient
	k   keys
	// batches carries the scripts and pipelines of concurrent callers
	// to Redis together (coalesce.go).
	batches *coalescer

	closeOnce sync.Once
	closeErr  error
}

// Open connects to the Redis that opts names, checks that it answers and
// loads every Lua script into its script cache (on a cluster, into every
// master).
func Open(ctx context.Context, opts Options) (*Store, error) {
	uo, err := universalOptions(opts)
	if err != nil {
		return nil, err
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !validPrefix(prefix) {
		return nil, errors.New("redis: the key prefix may not contain { or }")
	}
	rdb := goredis.NewUniversalClient(uo)
	s := &Store{rdb: rdb, k: keys{prefix: prefix}, batches: newCoalescer(rdb)}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.rdb.Close()
		return nil, s.fail("open", err)
	}
	for _, sc := range scriptList {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			s.rdb.Close()
			return nil, s.fail("open: load scripts", err)
		}
	}
	// First: what follows reads the participants' records.
	if err := s.migratePeople(ctx); err != nil {
		s.rdb.Close()
		return nil, s.fail("open: move each person's record and hints into their person hash", err)
	}
	if err := s.ensureCaseloads(ctx); err != nil {
		s.rdb.Close()
		return nil, s.fail("open: build the caseload index", err)
	}
	if err := s.ensureTally(ctx); err != nil {
		s.rdb.Close()
		return nil, s.fail("open: count who has open attention items", err)
	}
	if err := s.migrateDue(ctx); err != nil {
		s.rdb.Close()
		return nil, s.fail("open: move due items into their people's slots", err)
	}
	return s, nil
}

// universalOptions turns Options into go-redis options, refusing what
// cannot work (a cluster with a database, sentinel and cluster at once).
func universalOptions(opts Options) (*goredis.UniversalOptions, error) {
	if opts.URL == "" {
		return nil, errors.New("redis: no URL")
	}
	if opts.SentinelMaster != "" && opts.Cluster {
		return nil, errors.New("redis: a Sentinel master and Cluster mode cannot be used together")
	}
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		// The URL may hold a password: never repeat it.
		return nil, errors.New("redis: the URL is not a redis:// or rediss:// URL with a host")
	}
	defaultPort := "6379"
	if opts.SentinelMaster != "" {
		defaultPort = "26379"
	}
	var addrs []string
	for h := range strings.SplitSeq(u.Host, ",") {
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), defaultPort)
		}
		addrs = append(addrs, h)
	}
	if len(addrs) == 0 {
		return nil, errors.New("redis: the URL names no host")
	}
	if opts.Cluster && strings.Trim(u.Path, "/") != "" && strings.Trim(u.Path, "/") != "0" {
		return nil, errors.New("redis: a cluster has no databases: drop the path from the URL")
	}
	if len(addrs) > 1 && !opts.Cluster && opts.SentinelMaster == "" {
		return nil, errors.New("redis: several hosts need WAYMARK_REDIS_CLUSTER or WAYMARK_REDIS_SENTINEL_MASTER")
	}

	// go-redis parses one host's URL with all its query options; parse a
	// copy naming the first host and carry the result over.
	one := *u
	one.Host = addrs[0]
	if opts.Cluster {
		one.Path = ""
	}
	o, err := goredis.ParseURL(one.String())
	if err != nil {
		return nil, fmt.Errorf("redis: the URL's options: %w", stripURL(err, opts.URL, one.String()))
	}
	uo := &goredis.UniversalOptions{
		Addrs:                 addrs,
		ClientName:            o.ClientName,
		DB:                    o.DB,
		Protocol:              o.Protocol,
		Username:              o.Username,
		Password:              o.Password,
		MaxRetries:            o.MaxRetries,
		MinRetryBackoff:       o.MinRetryBackoff,
		MaxRetryBackoff:       o.MaxRetryBackoff,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		ContextTimeoutEnabled: true,
		PoolFIFO:              o.PoolFIFO,
		PoolSize:              o.PoolSize,
		PoolTimeout:           o.PoolTimeout,
		MinIdleConns:          o.MinIdleConns,
		MaxIdleConns:          o.MaxIdleConns,
		MaxActiveConns:        o.MaxActiveConns,
		ConnMaxIdleTime:       o.ConnMaxIdleTime,
		ConnMaxLifetime:       o.ConnMaxLifetime,
		TLSConfig:             o.TLSConfig,
		IsClusterMode:         opts.Cluster,
		MasterName:            opts.SentinelMaster,
	}
	if opts.SentinelMaster != "" {
		uo.SentinelUsername, uo.SentinelPassword = o.Username, o.Password
	}
	if uo.TLSConfig != nil && len(addrs) > 1 {
		// Each node is verified by its own name, not the first host's.
		uo.TLSConfig.ServerName = ""
	}
	return uo, nil
}

// stripURL keeps a parse error from repeating a URL, which may hold a
// password.
func stripURL(err error, urls ...string) error {
	msg := err.Error()
	for _, u := range urls {
		msg = strings.ReplaceAll(msg, u, "<url>")
	}
	return errors.New(msg)
}

// Close closes the connections. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.rdb.Close(); err != nil {
			s.closeErr = fmt.Errorf("redis: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping reports whether Redis answers; it is the readiness check.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.fail("ping", err)
	}
	return nil
}

// fail wraps err with the operation's name; errors that mean Redis cannot
// be used right now (no connection, a timeout, a cluster or replica that is
// down or loading) also match store.ErrUnavailable.
func (s *Store) fail(op string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("redis: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; Redis may be fine
	}
	if _, ok := errors.AsType[goredis.Error](err); ok {
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "TRYAGAIN", "BUSY ", "NOREPLICAS", "MOVED", "ASK"} {
			if goredis.HasErrorPrefix(err, p) {
				return true
			}
		}
		return false
	}
	// Anything else is the connection: refused, reset, timed out, pool
	// exhausted, client closed.
	return true
}

//go:embed lua/*.lua lua/lib/*.lua
var luaFiles embed.FS

// Scripts, one per file in lua/. Run uses EVALSHA and falls back to EVAL
// when Redis has lost its script cache (a restart, SCRIPT FLUSH), which
// also caches the script again; send does the same for the scripts it
// sends in a pipeline.
var (
	scriptList = map[string]*goredis.Script{}

	luaTurn              = script("turn", "person")
	luaOutboxHint        = script("outbox_hint")
	luaOutboxDrop        = script("outbox_drop")
	luaOutboxPlace       = script("outbox_place")
	luaOutboxReplace     = script("outbox_replace")
	luaOutboxSent        = script("outbox_sent", "leave")
	luaOutboxSending     = script("outbox_sending")
	luaOutboxSettle      = script("outbox_settle")
	luaOutboxGate        = script("outbox_gate")
	luaOutboxLeave       = script("outbox_leave", "leave")
	luaOutboxWake        = script("outbox_wake")
	luaClaim             = script("claim")
	luaPdueTake          = script("pdue_take")
	luaPdueClaim         = script("pdue_claim", "pdue")
	luaPdueUnclaim       = script("pdue_unclaim", "pdue")
	luaPdueSettle        = script("pdue_settle", "pdue")
	luaPdueStep          = script("pdue_step", "pdue")
	luaAttentionHint     = script("attention_hint", "tally")
	luaAttentionClose    = script("attention_close", "tally")
	luaAttentionBuild    = script("attention_tally_build")
	luaHintDrop          = script("hint_drop", "tally")
	luaAuditAdd          = script("audit_add")
	luaAuditPurge        = script("audit_purge")
	luaAuditArchive      = script("audit_archive")
	luaSwap              = script("swap")
	luaLeaseAcquire      = script("lease_acquire")
	luaLeaseRelease      = script("lease_release")
	luaRateReserve       = script("rate_reserve")
	luaCounterIncr       = script("counter_incr", "count")
	luaBeginSend         = script("begin_send", "count", "person")
	luaDeleteOwned       = script("delete_owned")
	luaLinkSeen          = script("link_seen")
	luaPersonMove        = script("person_move", "person")
	luaLinkedTurn        = script("linked_turn", "person")
	luaParticipantUpdate = script("participant_update", "person")
	luaLinkUnreachable   = script("link_unreachable")
	luaChildClaim        = script("child_claim")
	luaChildRelease      = script("child_release")
	luaProgrammePublish  = script("programme_publish")
	luaProgrammeDraft    = script("programme_draft")
)

// script loads lua/<name>.lua, after the files of lua/lib it names: a
// Lua script sent to Redis is one chunk, so shared functions are
// prepended rather than required.
func script(name string, libs ...string) *goredis.Script {
	var src []byte
	for _, lib := range append(libs, "") {
		file := path.Join("lua", name+".lua")
		if lib != "" {
			file = path.Join("lua", "lib", lib+".lua")
		}
		b, err := luaFiles.ReadFile(file)
		if err != nil {
			panic("redis: missing script " + file)
		}
		src = append(src, b...)
	}
	sc := goredis.NewScript(string(src))
	scriptList[name] = sc
	return sc
}

// run runs a script; all its keys must share one slot. It shares a
// pipeline with other callers' calls (coalesce.go).
func (s *Store) run(ctx context.Context, sc *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	return s.send(ctx, []call{{sc: sc, keys: keys, args: args}})[0]
}

// call is one command of a pipeline: a script run (sc set, with keys and
// args), or a plain command (args alone, the command's name first).
type call struct {
	sc   *goredis.Script
	keys []string
	args []any
}

// pipeline sends calls in one round trip per node, each node's in order,
// shared with other callers' calls (coalesce.go). Every call's answer is in
// its Cmd, in the order of calls; the error is the first failure, a
// missing key (goredis.Nil) not counted.
func (s *Store) pipeline(ctx context.Context, calls []call) ([]*goredis.Cmd, error) {
	cmds := s.send(ctx, calls)
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, goredis.Nil) {
			return cmds, err
		}
	}
	return cmds, nil
}

// send sends calls through the coalescer and returns one Cmd per call.
// EVALSHA in a pipeline cannot fall back to EVAL, so a script call that
// Redis answered with NOSCRIPT (it has lost its script cache, and the call
// did not run) is run again on its own, which loads the script.
func (s *Store) send(ctx context.Context, calls []call) []*goredis.Cmd {
	cmds := s.batches.do(ctx, calls)
	for i, c := range calls {
		if c.sc != nil && goredis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
			cmds[i] = c.sc.Run(ctx, s.rdb, c.keys, c.args...)
		}
	}
	return cmds
}

// ms is t in Unix milliseconds, rounded up so that an expiry never comes
// early.
func ms(t time.Time) int64 {
	m := t.UnixMilli()
	if t.Sub(time.UnixMilli(m)) > 0 {
		m++
	}
	return m
}
