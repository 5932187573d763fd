// Package auth keeps caseworker accounts: passwords hashed with argon2id,
// server-side sessions with a per-session CSRF token, API tokens, sign-in
// limits per account and per client address, and the one-time link that
// sets up the first administrator. Tokens are random; only their SHA-256
// is stored, so a copy of the store opens no session.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/store"
)

// Store is what auth keeps: accounts and their tokens, counters for the
// sign-in limits, and the audit log every account change is written to.
type Store interface {
	store.Accounts
	store.Counters
	store.Audit
}

// Errors callers tell apart. Messages are safe to show a person.
var (
	ErrBadCredentials = refusal.New("auth", "wrong username or password")
	ErrLimited        = refusal.New("auth", "too many sign-in attempts; wait a quarter of an hour and try again")
	ErrPaced          = refusal.New("auth", "many sign-in attempts at this account; wait a few seconds and try again")
	ErrNoSession      = refusal.New("auth", "not signed in, or the session has ended")
	ErrBadToken       = refusal.New("auth", "unknown API token")
	ErrBadUsername    = refusal.New("auth", "username not accepted: use 2 to 64 of a-z 0-9 . _ -")
	ErrUsernameTaken  = refusal.New("auth", "that username is taken")
	ErrBadRole        = refusal.New("auth", "role must be admin or caseworker")
	ErrSetupDone      = refusal.New("auth", "setup is done: an account exists already")
	ErrBadSetupToken  = refusal.New("auth", "this setup link has been used or has expired; restart waymark for a new one")
	ErrDisabled       = refusal.New("auth", "this account is disabled; ask an administrator")
	ErrLastAdmin      = refusal.New("auth", "Waymark needs at least one active administrator: make or enable another one first")
	ErrNoSuchToken    = refusal.New("auth", "no API token with that ID (waymark tokens list shows them)")
)

// Options tune a Service; zero values take the defaults.
type Options struct {
	SessionTTL time.Duration // how long a sign-in lasts; 12h
	SetupTTL   time.Duration // how long a setup link works; 24h
	Params     Params        // argon2id cost; DefaultParams
	// Sign-in limits (limits.go), each counted in AttemptWindow. Every
	// attempt counts, right or wrong, so a guesser learns nothing from an
	// attempt over a limit.
	PairAttempts    int           // 10 for one username from one address
	AddressAttempts int           // 50 from one address: an office shares one
	AccountAttempts int           // 30 for one username from all addresses; then AccountPace
	AccountPace     time.Duration // 5s: one attempt per account per pace once AccountAttempts is passed
	AttemptWindow   time.Duration // 15m
	// CounterKey keys the hashes that name the counters, so that neither a
	// typed username (perhaps a password in the wrong box) nor an address
	// is ever a key in the store. Processes sharing a store must share it;
	// empty means a random key of this process's own.
	CounterKey []byte
}

func (o Options) withDefaults() Options {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.SetupTTL <= 0 {
		o.SetupTTL = 24 * time.Hour
	}
	if o.Params == (Params{}) {
		o.Params = DefaultParams
	}
	if o.PairAttempts <= 0 {
		o.PairAttempts = 10
	}
	if o.AccountAttempts <= 0 {
		o.AccountAttempts = 30
	}
	if o.AccountPace <= 0 {
		o.AccountPace = 5 * time.Second
	}
	if len(o.CounterKey) == 0 {
		o.CounterKey = []byte(NewToken())
	}
	if o.AddressAttempts <= 0 {
		o.AddressAttempts = 50
	}
	if o.AttemptWindow <= 0 {
		o.AttemptWindow = 15 * time.Minute
	}
	return o
}

// Service signs caseworkers in and out. Safe for concurrent use.
type Service struct {
	store Store
	clock clock.Clock
	opts  Options
	// hashing bounds concurrent argon2 runs: each takes Params.Memory, and
	// a burst of sign-ins must not take the machine's memory.
	hashing chan struct{}

	dummyOnce sync.Once
	dummy     string

	limited limitedAddresses
}

// New returns a Service over st.
func New(st Store, clk clock.Clock, opts Options) *Service {
	return &Service{store: st, clock: clk, opts: opts.withDefaults(), hashing: make(chan struct{}, 2)}
}

// SessionTTL is how long a sign-in lasts.
func (s *Service) SessionTTL() time.Duration { return s.opts.SessionTTL }

// Session is a signed-in browser: the cookie's token (shown to the
// browser only), its CSRF token and the account.
type Session struct {
	Token     string
	CSRFToken string
	Account   store.Account
	ExpiresAt time.Time
}

// NormalizeUsername lower-cases and trims a username and checks its form.
func NormalizeUsername(username string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(username))
	if len(u) < 2 || len(u) > 64 {
		return "", ErrBadUsername
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "", ErrBadUsername
		}
	}
	return u, nil
}

// ParseRole reads "admin" or "caseworker".
func ParseRole(s string) (store.Role, error) {
	switch r := store.Role(strings.ToLower(strings.TrimSpace(s))); r {
	case store.RoleAdmin, store.RoleCaseworker:
		return r, nil
	}
	return "", ErrBadRole
}

// NewAccount is what CreateAccount needs.
type NewAccount struct {
	Username               string
	Role                   store.Role
	Password               string
	ChildProtectionTrained bool
}

// CreateAccount adds an account. actor is who did it (an account ID,
// "cli" or "setup"), for the audit log.
func (s *Service) CreateAccount(ctx context.Context, actor string, n NewAccount) (store.Account, error) {
	username, err := NormalizeUsername(n.Username)
	if err != nil {
		return store.Account{}, err
	}
	if _, err := ParseRole(string(n.Role)); err != nil {
		return store.Account{}, err
	}
	if err := CheckPassword(n.Password, username); err != nil {
		return store.Account{}, err
	}
	hash, err := s.hash(ctx, n.Password)
	if err != nil {
		return store.Account{}, err
	}
	now := s.clock.Now()
	a := store.Account{
		ID: store.NewID("acct_"), Username: username, Role: n.Role, PasswordHash: hash,
		ChildProtectionTrained: n.ChildProtectionTrained, CreatedAt: now, PasswordChangedAt: now,
	}
	if err := s.store.CreateAccount(ctx, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Account{}, ErrUsernameTaken
		}
		return store.Account{}, fmt.Errorf("auth: create account: %w", err)
	}
	detail := string(a.Role)
	if a.ChildProtectionTrained {
		detail += ", child protection trained"
	}
	return a, s.audit(ctx, actor, "account_created", a.ID+" "+a.Username+" ("+detail+")")
}

// Login checks a username and password from a client address and starts
// a session. The limits (limits.go) are counted before the password is
// checked; a client over its address's limit costs no store write and no
// hash at all.
func (s *Service) Login(ctx context.Context, username, password, addr string) (Session, error) {
	u, uerr := NormalizeUsername(username)
	if uerr != nil {
		u = "?invalid"
	}
	if err := s.countAttempt(ctx, u, addr); err != nil {
		return Session{}, err
	}
	a, err := s.store.AccountByUsername(ctx, u)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Session{}, fmt.Errorf("auth: find account: %w", err)
	}
	found := err == nil && uerr == nil
	hash := a.PasswordHash
	if !found {
		hash = s.dummyHash() // the same work, so timing tells nothing
	}
	ok, err := s.verify(ctx, hash, password)
	if err != nil && found {
		return Session{}, fmt.Errorf("auth: account %s: %w", a.ID, err)
	}
	if !found || !ok {
		actor := "unknown"
		if found {
			actor = a.ID
		}
		// The username typed is not recorded: it may be a password typed
		// in the wrong box.
		_ = s.audit(ctx, actor, "login_failed", "")
		return Session{}, ErrBadCredentials
	}
	if a.Disabled {
		// Said only to whoever knows the password.
		_ = s.audit(ctx, a.ID, "login_refused", "account disabled")
		return Session{}, ErrDisabled
	}
	sess, err := s.StartSession(ctx, a)
	if err != nil {
		return Session{}, err
	}
	return sess, s.audit(ctx, a.ID, "login", "")
}

// StartSession signs an account in on a new session.
func (s *Service) StartSession(ctx context.Context, a store.Account) (Session, error) {
	now := s.clock.Now()
	token, csrf := NewToken(), NewToken()
	ws := store.WebSession{TokenHash: HashToken(token), AccountID: a.ID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	if err := s.store.PutWebSession(ctx, ws); err != nil {
		return Session{}, fmt.Errorf("auth: start session: %w", err)
	}
	return Session{Token: token, CSRFToken: csrf, Account: a, ExpiresAt: ws.ExpiresAt}, nil
}

// Authenticate returns the session a cookie's token names. A session that
// has expired, or began before the account's last password change, is
// over: ErrNoSession.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, ErrNoSession
	}
	ws, err := s.store.GetWebSession(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("auth: session: %w", err)
	}
	now := s.clock.Now()
	if !now.Before(ws.ExpiresAt) {
		_ = s.store.DeleteWebSession(ctx, ws.TokenHash)
		return Session{}, ErrNoSession
	}
	a, err := s.store.GetAccount(ctx, ws.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("auth: session account: %w", err)
	}
	if ws.CreatedAt.Before(a.PasswordChangedAt) || a.Disabled {
		return Session{}, ErrNoSession
	}
	return Session{Token: token, CSRFToken: ws.CSRFToken, Account: a, ExpiresAt: ws.ExpiresAt}, nil
}

// Logout ends the session a token names; an unknown token is fine.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if ws, err := s.store.GetWebSession(ctx, HashToken(token)); err == nil {
		_ = s.audit(ctx, ws.AccountID, "logout", "")
	}
	if err := s.store.DeleteWebSession(ctx, HashToken(token)); err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	return nil
}

// ChangePassword checks the current password, sets the new one and ends
// every session of the account, this one too; the caller may start a
// fresh one.
func (s *Service) ChangePassword(ctx context.Context, accountID, current, next string) (store.Account, error) {
	a, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: change password: %w", err)
	}
	// Whoever holds a session may guess the password behind it here, so
	// these guesses are limited and audited like sign-ins.
	n, err := s.store.Increment(ctx, "pwchange:"+a.ID, s.clock.Now().Add(s.opts.AttemptWindow))
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: count password attempts: %w", err)
	}
	if n > s.opts.PairAttempts {
		if n == s.opts.PairAttempts+1 {
			_ = s.audit(ctx, a.ID, "password_change_limited", fmt.Sprintf("%d wrong current passwords; refused for a while", s.opts.PairAttempts))
		}
		return store.Account{}, ErrLimited
	}
	ok, err := s.verify(ctx, a.PasswordHash, current)
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: change password of %s: %w", a.ID, err)
	}
	if !ok {
		_ = s.audit(ctx, a.ID, "password_change_failed", "wrong current password")
		return store.Account{}, ErrBadCredentials
	}
	return s.SetPassword(ctx, a.ID, a.ID, next)
}

// SetPassword sets an account's password without the current one (an
// administrator's reset, or the command line) and ends its sessions.
func (s *Service) SetPassword(ctx context.Context, actor, accountID, password string) (store.Account, error) {
	a, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: set password: %w", err)
	}
	if err := CheckPassword(password, a.Username); err != nil {
		return store.Account{}, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return store.Account{}, err
	}
	a.PasswordHash, a.PasswordChangedAt = hash, s.clock.Now()
	if err := s.store.UpdateAccount(ctx, a); err != nil {
		return store.Account{}, fmt.Errorf("auth: set password of %s: %w", a.ID, err)
	}
	n, err := s.endAccess(ctx, a.ID)
	if err != nil {
		return store.Account{}, err
	}
	return a, s.audit(ctx, actor, "password_changed", fmt.Sprintf("%s %s; every session ended, %d API tokens revoked", a.ID, a.Username, n))
}

// SetupLink makes a one-time token for the first administrator when there
// is no account yet; needed is false otherwise.
func (s *Service) SetupLink(ctx context.Context) (token string, needed bool, err error) {
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return "", false, fmt.Errorf("auth: setup: %w", err)
	}
	if len(accts) > 0 {
		return "", false, nil
	}
	token = NewToken()
	if err := s.store.PutSetupToken(ctx, HashToken(token), s.clock.Now().Add(s.opts.SetupTTL)); err != nil {
		return "", false, fmt.Errorf("auth: setup: %w", err)
	}
	return token, true, nil
}

// CompleteSetup uses a setup token once to create the first
// administrator. The form is checked before the token is used, so a
// mistyped password does not waste the link.
func (s *Service) CompleteSetup(ctx context.Context, token string, n NewAccount) (store.Account, error) {
	n.Role = store.RoleAdmin
	username, err := NormalizeUsername(n.Username)
	if err != nil {
		return store.Account{}, err
	}
	if err := CheckPassword(n.Password, username); err != nil {
		return store.Account{}, err
	}
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: setup: %w", err)
	}
	if len(accts) > 0 {
		return store.Account{}, ErrSetupDone
	}
	if token == "" {
		return store.Account{}, ErrBadSetupToken
	}
	if err := s.store.TakeSetupToken(ctx, HashToken(token)); errors.Is(err, store.ErrNotFound) {
		return store.Account{}, ErrBadSetupToken
	} else if err != nil {
		return store.Account{}, fmt.Errorf("auth: setup: %w", err)
	}
	return s.CreateAccount(ctx, "setup", n)
}

// CSRFValid compares a form's token with the session's in constant time.
func CSRFValid(sess Session, formToken string) bool {
	return sess.CSRFToken != "" && subtle.ConstantTimeCompare([]byte(sess.CSRFToken), []byte(formToken)) == 1
}

// NewToken returns 256 random bits, base64url without padding.
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is the stored form of a token: hex SHA-256. Tokens carry 256
// random bits, so a fast hash is enough; no salt is needed.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s *Service) audit(ctx context.Context, actor, action, detail string) error {
	err := s.store.AppendAudit(ctx, store.AuditEntry{ID: store.NewID("a_"), At: s.clock.Now(), Actor: actor, Action: action, Detail: detail})
	if err != nil {
		return fmt.Errorf("auth: audit %s: %w", action, err)
	}
	return nil
}

func (s *Service) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashing }()
	return HashPassword(password, s.opts.Params)
}

func (s *Service) verify(ctx context.Context, hash, password string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.hashing }()
	return VerifyPassword(hash, password)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dummyHash is a hash of nothing in particular, checked against when the
// username is unknown.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := HashPassword(NewToken(), s.opts.Params)
		if err != nil {
			panic(err)
		}
		s.dummy = h
	})
	return s.dummy
}
