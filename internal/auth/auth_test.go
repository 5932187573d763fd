package auth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// cheap keeps argon2 fast under the race detector; one test uses the
// real parameters.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "correct horse battery"

func newService(t *testing.T, opts Options) (*Service, *clock.Fake, *bolt.Store) {
	t.Helper()
	clk := clock.NewFake(time.Now().Round(0))
	st, err := bolt.Open(filepath.Join(t.TempDir(), "w.db"), bolt.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if opts.Params == (Params{}) {
		opts.Params = cheap
	}
	return New(st, clk, opts), clk, st
}

func mustAccount(t *testing.T, s *Service, username string, role store.Role) store.Account {
	t.Helper()
	a, err := s.CreateAccount(t.Context(), "test", NewAccount{Username: username, Role: role, Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword(goodPassword, DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, goodPassword) {
		t.Fatalf("hash %q is not a PHC argon2id string with the default parameters", h)
	}
	for pw, want := range map[string]bool{goodPassword: true, "correct horse batterY": false, "": false} {
		ok, err := VerifyPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("verify %q = %v, %v; want %v", pw, ok, err, want)
		}
	}
	h2, _ := HashPassword(goodPassword, DefaultParams)
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	// Hashes keep their own parameters: one made cheaply still verifies.
	hc, _ := HashPassword(goodPassword, cheap)
	if ok, err := VerifyPassword(hc, goodPassword); !ok || err != nil {
		t.Errorf("verify with the hash's own parameters: %v, %v", ok, err)
	}
}

func TestMalformedOrCostlyHashesAreRefused(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$2a$10$abcdefghijklmnopqrstuv", // bcrypt is not what we wrote
		"$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 4 GiB
		"$argon2id$v=19$m=64,t=99,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if ok, err := VerifyPassword(h, "x"); ok || err == nil {
			t.Errorf("hash %q: ok %v, err %v; want refused", h, ok, err)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	for pw, ok := range map[string]bool{
		goodPassword:               true,
		"short":                    false,
		strings.Repeat(" ", 20):    false,
		"amira.k":                  false,
		"AMIRA.KHALIL":             false, // the username, differently cased
		strings.Repeat("é", 12):    true,  // characters, not bytes
		strings.Repeat("x", 257):   false,
		"ok password\xff\xfe12345": false,
	} {
		err := CheckPassword(pw, "amira.khalil")
		if (err == nil) != ok || err != nil && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("%q: err %v, want ok=%v", pw, err, ok)
		}
	}
}

func TestCreateAccountNormalisesAndRefusesDuplicates(t *testing.T) {
	s, _, st := newService(t, Options{})
	ctx := t.Context()
	a, err := s.CreateAccount(ctx, "cli", NewAccount{Username: "  Amira.K ", Role: store.RoleCaseworker, Password: goodPassword, ChildProtectionTrained: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.Username != "amira.k" || !a.ChildProtectionTrained || a.PasswordHash == goodPassword {
		t.Errorf("account = %+v", a)
	}
	if _, err := s.CreateAccount(ctx, "cli", NewAccount{Username: "AMIRA.k", Role: store.RoleAdmin, Password: goodPassword}); !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("duplicate username: %v", err)
	}
	for _, bad := range []NewAccount{
		{Username: "a", Role: store.RoleAdmin, Password: goodPassword},
		{Username: "sp ace", Role: store.RoleAdmin, Password: goodPassword},
		{Username: "ok", Role: "boss", Password: goodPassword},
		{Username: "ok", Role: store.RoleAdmin, Password: "short"},
	} {
		if _, err := s.CreateAccount(ctx, "cli", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	entries, _ := st.ListAudit(ctx, "", 0)
	if len(entries) != 1 || entries[0].Action != "account_created" || entries[0].Actor != "cli" {
		t.Errorf("audit = %+v, want one account_created by cli", entries)
	}
}

func TestLoginAndSession(t *testing.T) {
	s, _, st := newService(t, Options{})
	ctx := t.Context()
	a := mustAccount(t, s, "amira", store.RoleCaseworker)

	sess, err := s.Login(ctx, "Amira", goodPassword, "198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Token == "" || sess.CSRFToken == "" || sess.Token == sess.CSRFToken || sess.Account.ID != a.ID {
		t.Fatalf("session = %+v", sess)
	}
	// Only the token's hash is stored.
	if _, err := st.GetWebSession(ctx, sess.Token); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the raw token finds a stored session: %v", err)
	}
	got, err := s.Authenticate(ctx, sess.Token)
	if err != nil || got.Account.ID != a.ID || got.CSRFToken != sess.CSRFToken {
		t.Fatalf("authenticate = %+v, %v", got, err)
	}
	if !CSRFValid(got, sess.CSRFToken) || CSRFValid(got, "") || CSRFValid(got, sess.CSRFToken+"x") {
		t.Error("CSRF comparison is wrong")
	}

	for _, tc := range []struct{ user, pw string }{{"amira", "wrong password!"}, {"nobody", goodPassword}, {"", ""}} {
		if _, err := s.Login(ctx, tc.user, tc.pw, "198.51.100.7"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("login %q: %v, want ErrBadCredentials", tc.user, err)
		}
	}
	if _, err := s.Authenticate(ctx, "made-up"); !errors.Is(err, ErrNoSession) {
		t.Errorf("made-up token: %v", err)
	}

	if err := s.Logout(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrNoSession) {
		t.Errorf("after logout: %v", err)
	}
	entries, _ := st.ListAudit(ctx, "", 0)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if strings.Contains(e.Detail, goodPassword) || strings.Contains(e.Detail, "wrong password") || strings.Contains(e.Detail, sess.Token) {
			t.Errorf("audit entry holds a password or token: %+v", e)
		}
	}
	slices.Sort(actions) // one fake instant: the order among equal times is the store's
	if got := strings.Join(actions, " "); got != "account_created login login_failed login_failed login_failed logout" {
		t.Errorf("audit actions: %s", got)
	}
}

func TestSessionExpires(t *testing.T) {
	s, clk, _ := newService(t, Options{SessionTTL: time.Hour})
	mustAccount(t, s, "amira", store.RoleCaseworker)
	sess, err := s.Login(t.Context(), "amira", goodPassword, "a")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Minute)
	if _, err := s.Authenticate(t.Context(), sess.Token); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := s.Authenticate(t.Context(), sess.Token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("at expiry: %v, want ErrNoSession", err)
	}
}

func TestLoginLimitedPerAccountFromOneAddress(t *testing.T) {
	s, clk, _ := newService(t, Options{PairAttempts: 3, AddressAttempts: 100, AttemptWindow: 15 * time.Minute})
	mustAccount(t, s, "amira", store.RoleCaseworker)
	mustAccount(t, s, "bo", store.RoleCaseworker)
	ctx := t.Context()
	for i := range 3 {
		if _, err := s.Login(ctx, "amira", "wrong password!", "203.0.113.9"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	// Over the limit, even the right password from that address is
	// refused: a guesser must not learn when they hit it.
	if _, err := s.Login(ctx, "AMIRA", goodPassword, "203.0.113.9"); !errors.Is(err, ErrLimited) {
		t.Fatalf("fourth attempt: %v, want ErrLimited", err)
	}
	// The lockout hits only that account's guesses from that address.
	if _, err := s.Login(ctx, "bo", goodPassword, "203.0.113.9"); err != nil {
		t.Errorf("another account from the same address: %v", err)
	}
	if _, err := s.Login(ctx, "amira", goodPassword, "198.51.100.7"); err != nil {
		t.Errorf("the real person from their own address: %v", err)
	}
	clk.Advance(15 * time.Minute)
	if _, err := s.Login(ctx, "amira", goodPassword, "203.0.113.9"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestLoginPacedWhenOneAccountIsGuessedFromEverywhere(t *testing.T) {
	s, clk, st := newService(t, Options{AccountAttempts: 5, AccountPace: 5 * time.Second})
	a := mustAccount(t, s, "amira", store.RoleCaseworker)
	ctx := t.Context()
	for i := range 6 {
		if _, err := s.Login(ctx, "amira", "wrong password!", fmt.Sprintf("203.0.113.%d", i)); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if _, err := s.Login(ctx, "amira", goodPassword, "203.0.113.77"); !errors.Is(err, ErrPaced) {
		t.Fatalf("a second attempt within the pace: %v, want ErrPaced", err)
	}
	// The real person, a few seconds later, from their own address.
	clk.Advance(5 * time.Second)
	if _, err := s.Login(ctx, "amira", goodPassword, "198.51.100.7"); err != nil {
		t.Fatalf("the right password after the pace: %v", err)
	}
	entries, _ := st.ListAudit(ctx, "", 100)
	if n := countAction(entries, "login_limited"); n != 1 {
		t.Errorf("%d login_limited entries, want 1 (%+v)", n, entries)
	}
	for _, e := range entries {
		if e.Action == "login_limited" && e.Actor != a.ID {
			t.Errorf("the entry names %q, want the account", e.Actor)
		}
	}
}

// countingStore counts the writes a sign-in makes and keeps the counter
// names it is given.
type countingStore struct {
	Store
	mu       sync.Mutex
	writes   int
	counters []string
}

func (c *countingStore) Increment(ctx context.Context, key string, exp time.Time) (int, error) {
	c.mu.Lock()
	c.writes++
	c.counters = append(c.counters, key)
	c.mu.Unlock()
	return c.Store.Increment(ctx, key, exp)
}

func (c *countingStore) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Store.AppendAudit(ctx, e)
}

func TestLoginOverTheAddressLimitWritesNothing(t *testing.T) {
	_, clk, st := newService(t, Options{})
	cs := &countingStore{Store: st}
	s := New(cs, clk, Options{AddressAttempts: 4, Params: cheap})
	mustAccount(t, s, "amira", store.RoleCaseworker)
	ctx := t.Context()
	typed := "correct horse battery staple" // a password in the username box
	for i := range 4 {
		if _, err := s.Login(ctx, typed, "x", "203.0.113.9"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if _, err := s.Login(ctx, "amira", goodPassword, "203.0.113.9"); !errors.Is(err, ErrLimited) {
		t.Fatalf("over the limit: %v", err)
	}
	before := cs.writes
	for i := range 1000 {
		if _, err := s.Login(ctx, fmt.Sprintf("user%d", i), "x", "203.0.113.9"); !errors.Is(err, ErrLimited) {
			t.Fatalf("flood attempt %d: %v", i, err)
		}
	}
	if cs.writes != before {
		t.Errorf("1,000 attempts over the limit made %d writes, want none", cs.writes-before)
	}
	entries, _ := st.ListAudit(ctx, "", 100)
	if n := countAction(entries, "login_limited"); n != 1 {
		t.Errorf("%d login_limited entries, want one for the window", n)
	}
	for _, k := range cs.counters {
		if strings.Contains(k, "correct") || strings.Contains(k, "horse") || strings.Contains(k, "203.0.113") || strings.Contains(k, "amira") {
			t.Errorf("counter %q names what was typed", k)
		}
	}
	clk.Advance(15 * time.Minute)
	if _, err := s.Login(ctx, "amira", goodPassword, "203.0.113.9"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func countAction(entries []store.AuditEntry, action string) int {
	n := 0
	for _, e := range entries {
		if e.Action == action {
			n++
		}
	}
	return n
}

func TestLoginLimitedPerAddress(t *testing.T) {
	s, _, _ := newService(t, Options{AccountAttempts: 100, AddressAttempts: 4})
	mustAccount(t, s, "amira", store.RoleCaseworker)
	ctx := t.Context()
	for i := range 4 {
		if _, err := s.Login(ctx, "user"+string(rune('a'+i)), goodPassword, "203.0.113.9"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if _, err := s.Login(ctx, "amira", goodPassword, "203.0.113.9"); !errors.Is(err, ErrLimited) {
		t.Fatalf("fifth attempt from one address: %v, want ErrLimited", err)
	}
	if _, err := s.Login(ctx, "amira", goodPassword, "203.0.113.10"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestCurrentPasswordGuessesAreLimitedAndAudited(t *testing.T) {
	s, clk, st := newService(t, Options{PairAttempts: 3})
	ctx := t.Context()
	a := mustAccount(t, s, "amira", store.RoleCaseworker)
	for i := range 3 {
		if _, err := s.ChangePassword(ctx, a.ID, "a guess", "another good passphrase"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if _, err := s.ChangePassword(ctx, a.ID, goodPassword, "another good passphrase"); !errors.Is(err, ErrLimited) {
		t.Fatalf("over the limit: %v, want ErrLimited", err)
	}
	entries, _ := st.ListAudit(ctx, "", 100)
	if n := countAction(entries, "password_change_failed"); n != 3 {
		t.Errorf("%d password_change_failed entries, want 3", n)
	}
	if n := countAction(entries, "password_change_limited"); n != 1 {
		t.Errorf("%d password_change_limited entries, want 1", n)
	}
	clk.Advance(15 * time.Minute)
	if _, err := s.ChangePassword(ctx, a.ID, goodPassword, "another good passphrase"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestPasswordChangeEndsEverySession(t *testing.T) {
	s, clk, _ := newService(t, Options{})
	ctx := t.Context()
	a := mustAccount(t, s, "amira", store.RoleCaseworker)
	phone, _ := s.Login(ctx, "amira", goodPassword, "a")
	laptop, _ := s.Login(ctx, "amira", goodPassword, "b")
	clk.Advance(time.Second)

	if _, err := s.ChangePassword(ctx, a.ID, "not my password", "another good passphrase"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong current password: %v", err)
	}
	if _, err := s.ChangePassword(ctx, a.ID, goodPassword, "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("weak new password: %v", err)
	}
	if _, err := s.Authenticate(ctx, phone.Token); err != nil {
		t.Fatalf("a refused change ended a session: %v", err)
	}
	updated, err := s.ChangePassword(ctx, a.ID, goodPassword, "another good passphrase")
	if err != nil {
		t.Fatal(err)
	}
	for name, sess := range map[string]Session{"phone": phone, "laptop": laptop} {
		if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("%s session after password change: %v", name, err)
		}
	}
	fresh, err := s.StartSession(ctx, updated)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, fresh.Token); err != nil {
		t.Errorf("a session started after the change: %v", err)
	}
	if _, err := s.Login(ctx, "amira", goodPassword, "c"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password still works: %v", err)
	}
	if _, err := s.Login(ctx, "amira", "another good passphrase", "c"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	s, _, st := newService(t, Options{})
	ctx := t.Context()
	a := mustAccount(t, s, "amira", store.RoleCaseworker)
	tok, err := s.CreateAPIToken(ctx, "cli", a.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AuthenticateAPI(ctx, tok)
	if err != nil || got.ID != a.ID {
		t.Fatalf("authenticate API = %+v, %v", got, err)
	}
	stored, err := st.APITokensOf(ctx, a.ID)
	if err != nil || len(stored) != 1 || stored[0].TokenHash == tok || strings.Contains(stored[0].TokenHash, tok[3:]) {
		t.Fatalf("stored tokens = %+v, %v; want one, hashed", stored, err)
	}
	for _, bad := range []string{"", tok + "x", "wm_" + NewToken(), tok[3:]} {
		if _, err := s.AuthenticateAPI(ctx, bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if _, err := s.CreateAPIToken(ctx, "cli", "acct_missing", 0); err == nil {
		t.Error("a token for a missing account was made")
	}
}

func TestSetupOnceOnAFreshInstall(t *testing.T) {
	s, clk, _ := newService(t, Options{SetupTTL: time.Hour})
	ctx := t.Context()
	token, needed, err := s.SetupLink(ctx)
	if err != nil || !needed || token == "" {
		t.Fatalf("setup link = %q, %v, %v", token, needed, err)
	}
	expired, _, _ := s.SetupLink(ctx)
	clk.Advance(time.Hour)
	late, _, _ := s.SetupLink(ctx)
	if _, err := s.CompleteSetup(ctx, expired, NewAccount{Username: "admin", Password: goodPassword}); !errors.Is(err, ErrBadSetupToken) {
		t.Fatalf("expired link: %v", err)
	}
	if _, err := s.CompleteSetup(ctx, late, NewAccount{Username: "admin", Password: "short"}); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("weak password: %v", err)
	}
	if _, err := s.CompleteSetup(ctx, "made-up", NewAccount{Username: "admin", Password: goodPassword}); !errors.Is(err, ErrBadSetupToken) {
		t.Fatalf("made-up token: %v", err)
	}
	// Each start logs a new link; the older ones stop working.
	if _, err := s.CompleteSetup(ctx, token, NewAccount{Username: "admin", Password: goodPassword}); !errors.Is(err, ErrBadSetupToken) {
		t.Fatalf("an older link: %v", err)
	}
	// The weak password did not use the link up.
	a, err := s.CompleteSetup(ctx, late, NewAccount{Username: "Admin", Role: store.RoleCaseworker, Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != store.RoleAdmin || a.Username != "admin" {
		t.Errorf("first account = %+v, want an admin", a)
	}
	if _, err := s.CompleteSetup(ctx, token, NewAccount{Username: "second", Password: goodPassword}); !errors.Is(err, ErrSetupDone) {
		t.Errorf("a second setup: %v, want ErrSetupDone", err)
	}
	if _, needed, _ := s.SetupLink(ctx); needed {
		t.Error("a setup link is offered although an account exists")
	}
}
