package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The account contract. Decisions pinned down here:
//
//   - Usernames are compared exactly; internal/auth normalises them first.
//   - A web session or setup token whose expiry has passed on the wall clock
//     is gone, like every expiry without a "now" argument.
//   - Deleting a session, an API token or the sessions of an account that
//     has none is not an error.

func account(id, username string) store.Account {
	return store.Account{
		ID: id, Username: username, Role: store.RoleCaseworker,
		PasswordHash:           "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		ChildProtectionTrained: true,
		CreatedAt:              at(0), PasswordChangedAt: at(time.Hour),
	}
}

func webSession(hash, accountID string, expires time.Time) store.WebSession {
	return store.WebSession{TokenHash: hash, AccountID: accountID, CSRFToken: "csrf-" + hash, CreatedAt: at(0), ExpiresAt: expires}
}

func accountIDs(as []store.Account) []string {
	return ids(as, func(a store.Account) string { return a.ID })
}

var accountTests = []namedTest{
	{"CreateGetByIDAndUsername", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		a := account("acct_1", "amira")
		must(t, "create", s.CreateAccount(ctx, a))
		got, err := s.GetAccount(ctx, "acct_1")
		must(t, "get", err)
		mustSame(t, "account", got, a)
		got, err = s.AccountByUsername(ctx, "amira")
		must(t, "by username", err)
		mustSame(t, "account by username", got, a)
		_, err = s.GetAccount(ctx, "acct_missing")
		mustBe(t, "get missing", err, store.ErrNotFound)
		_, err = s.AccountByUsername(ctx, "nobody")
		mustBe(t, "missing username", err, store.ErrNotFound)
		_, err = s.AccountByUsername(ctx, "AMIRA")
		mustBe(t, "usernames are exact", err, store.ErrNotFound)
	}},
	{"CreateRefusesTakenIDOrUsername", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "create", s.CreateAccount(ctx, account("acct_1", "amira")))
		mustBe(t, "same ID", s.CreateAccount(ctx, account("acct_1", "other")), store.ErrConflict)
		mustBe(t, "same username", s.CreateAccount(ctx, account("acct_2", "amira")), store.ErrConflict)
		_, err := s.AccountByUsername(ctx, "other")
		mustBe(t, "refused create left no username", err, store.ErrNotFound)
		list, err := s.ListAccounts(ctx)
		must(t, "list", err)
		mustIDs(t, "accounts", accountIDs(list), []string{"acct_1"})
	}},
	{"UpdateRenamesAndKeepsUsernamesUnique", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "create", s.CreateAccount(ctx, account("acct_1", "amira")))
		must(t, "create", s.CreateAccount(ctx, account("acct_2", "bo")))
		a := account("acct_1", "amira.k")
		a.Role, a.ChildProtectionTrained, a.PasswordChangedAt = store.RoleAdmin, false, at(2*time.Hour)
		a.TimeZone = "America/Mexico_City"
		must(t, "rename", s.UpdateAccount(ctx, a))
		got, err := s.AccountByUsername(ctx, "amira.k")
		must(t, "new name", err)
		mustSame(t, "renamed", got, a)
		_, err = s.AccountByUsername(ctx, "amira")
		mustBe(t, "old name freed", err, store.ErrNotFound)
		must(t, "old name usable again", s.CreateAccount(ctx, account("acct_3", "amira")))

		mustBe(t, "taking another's username", s.UpdateAccount(ctx, account("acct_2", "amira.k")), store.ErrConflict)
		got, err = s.GetAccount(ctx, "acct_2")
		must(t, "get", err)
		mustSame(t, "refused update changed nothing", got, account("acct_2", "bo"))
		mustBe(t, "update missing", s.UpdateAccount(ctx, account("acct_9", "zed")), store.ErrNotFound)
		_, err = s.AccountByUsername(ctx, "zed")
		mustBe(t, "refused update left no username", err, store.ErrNotFound)
	}},
	{"ListOrderedByUsername", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, a := range []store.Account{account("acct_1", "zoe"), account("acct_2", "amira"), account("acct_3", "mo")} {
			must(t, "create", s.CreateAccount(ctx, a))
		}
		list, err := s.ListAccounts(ctx)
		must(t, "list", err)
		mustIDs(t, "by username", accountIDs(list), []string{"acct_2", "acct_3", "acct_1"})
		mustSame(t, "listed record", list[0], account("acct_2", "amira"))
	}},
	{"EmptyAccountRefused", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		mustFail(t, "no ID", s.CreateAccount(ctx, account("", "amira")))
		mustFail(t, "no username", s.CreateAccount(ctx, account("acct_1", "")))
		list, err := s.ListAccounts(ctx)
		must(t, "list", err)
		mustIDs(t, "nothing stored", accountIDs(list), nil)
	}},
	{"WebSessionRoundTripAndDelete", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		ws := webSession("h1", "acct_1", wallNow().Add(time.Hour))
		must(t, "put", s.PutWebSession(ctx, ws))
		got, err := s.GetWebSession(ctx, "h1")
		must(t, "get", err)
		mustSame(t, "session", got, ws)
		mustBe(t, "same hash again", s.PutWebSession(ctx, webSession("h1", "acct_2", wallNow().Add(time.Hour))), store.ErrConflict)
		must(t, "delete", s.DeleteWebSession(ctx, "h1"))
		_, err = s.GetWebSession(ctx, "h1")
		mustBe(t, "deleted", err, store.ErrNotFound)
		must(t, "delete again", s.DeleteWebSession(ctx, "h1"))
		_, err = s.GetWebSession(ctx, "h_missing")
		mustBe(t, "missing", err, store.ErrNotFound)
		mustFail(t, "no hash", s.PutWebSession(ctx, webSession("", "acct_1", wallNow().Add(time.Hour))))
		mustFail(t, "no account", s.PutWebSession(ctx, webSession("h2", "", wallNow().Add(time.Hour))))
	}},
	{"WebSessionExpires", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		deadline := wallNow().Add(150 * time.Millisecond)
		must(t, "put short", s.PutWebSession(ctx, webSession("h_short", "acct_1", deadline)))
		must(t, "put long", s.PutWebSession(ctx, webSession("h_long", "acct_1", wallNow().Add(time.Hour))))
		_, err := s.GetWebSession(ctx, "h_short")
		must(t, "before expiry", err)
		sleepPast(deadline)
		_, err = s.GetWebSession(ctx, "h_short")
		mustBe(t, "after expiry", err, store.ErrNotFound)
		// Signing in again prunes expired sessions and keeps live ones.
		must(t, "put another", s.PutWebSession(ctx, webSession("h_new", "acct_1", wallNow().Add(time.Hour))))
		_, err = s.GetWebSession(ctx, "h_long")
		must(t, "live session kept", err)
		// An expired hash can be used again, as it is gone.
		must(t, "reuse expired hash", s.PutWebSession(ctx, webSession("h_short", "acct_1", wallNow().Add(time.Hour))))
	}},
	{"DeleteWebSessionsOfOneAccountOnly", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		later := wallNow().Add(time.Hour)
		for _, ws := range []store.WebSession{webSession("a1", "acct_1", later), webSession("a2", "acct_1", later), webSession("b1", "acct_2", later)} {
			must(t, "put", s.PutWebSession(ctx, ws))
		}
		must(t, "revoke", s.DeleteWebSessionsOf(ctx, "acct_1"))
		for _, h := range []string{"a1", "a2"} {
			_, err := s.GetWebSession(ctx, h)
			mustBe(t, "revoked "+h, err, store.ErrNotFound)
		}
		_, err := s.GetWebSession(ctx, "b1")
		must(t, "other account's session", err)
		must(t, "revoke none", s.DeleteWebSessionsOf(ctx, "acct_9"))
		must(t, "sign in after revocation", s.PutWebSession(ctx, webSession("a3", "acct_1", later)))
		_, err = s.GetWebSession(ctx, "a3")
		must(t, "new session", err)
	}},
	{"APITokens", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		t1 := store.APIToken{TokenHash: "t1", AccountID: "acct_1", CreatedAt: at(2 * time.Hour)}
		t0 := store.APIToken{TokenHash: "t0", AccountID: "acct_1", CreatedAt: at(time.Hour)}
		tb := store.APIToken{TokenHash: "tb", AccountID: "acct_2", CreatedAt: at(0)}
		for _, tok := range []store.APIToken{t1, t0, tb} {
			must(t, "put", s.PutAPIToken(ctx, tok))
		}
		got, err := s.GetAPIToken(ctx, "t1")
		must(t, "get", err)
		mustSame(t, "token", got, t1)
		mustBe(t, "same hash", s.PutAPIToken(ctx, store.APIToken{TokenHash: "t1", AccountID: "acct_2", CreatedAt: at(0)}), store.ErrConflict)
		list, err := s.APITokensOf(ctx, "acct_1")
		must(t, "list", err)
		mustIDs(t, "oldest first", ids(list, func(x store.APIToken) string { return x.TokenHash }), []string{"t0", "t1"})
		must(t, "delete", s.DeleteAPIToken(ctx, "t0"))
		must(t, "delete again", s.DeleteAPIToken(ctx, "t0"))
		_, err = s.GetAPIToken(ctx, "t0")
		mustBe(t, "deleted", err, store.ErrNotFound)
		list, err = s.APITokensOf(ctx, "acct_1")
		must(t, "list", err)
		mustIDs(t, "after delete", ids(list, func(x store.APIToken) string { return x.TokenHash }), []string{"t1"})
		must(t, "another of acct_1", s.PutAPIToken(ctx, store.APIToken{TokenHash: "t2", AccountID: "acct_1", CreatedAt: at(3 * time.Hour)}))
		many, err := s.APITokensOfMany(ctx, []string{"acct_1", "acct_2", "acct_none"})
		must(t, "tokens of many", err)
		hashes := func(ts []store.APIToken) []string {
			return ids(ts, func(x store.APIToken) string { return x.TokenHash })
		}
		mustIDs(t, "many: acct_1's, oldest first", hashes(many["acct_1"]), []string{"t1", "t2"})
		mustIDs(t, "many: acct_2's", hashes(many["acct_2"]), []string{"tb"})
		if len(many["acct_none"]) != 0 || len(many) != 2 {
			t.Fatalf("tokens of many: %v", many)
		}
		mustFail(t, "no hash", s.PutAPIToken(ctx, store.APIToken{AccountID: "acct_1"}))
	}},
	{"SetupTokenWorksOnceAndExpires", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutSetupToken(ctx, "s1", wallNow().Add(time.Hour)))
		mustBe(t, "unknown", s.TakeSetupToken(ctx, "s9"), store.ErrNotFound)
		must(t, "take", s.TakeSetupToken(ctx, "s1"))
		mustBe(t, "take twice", s.TakeSetupToken(ctx, "s1"), store.ErrNotFound)

		deadline := wallNow().Add(150 * time.Millisecond)
		must(t, "put short", s.PutSetupToken(ctx, "s3", deadline))
		sleepPast(deadline)
		mustBe(t, "expired", s.TakeSetupToken(ctx, "s3"), store.ErrNotFound)
		mustFail(t, "no hash", s.PutSetupToken(ctx, "", wallNow().Add(time.Hour)))
	}},
	{"NewSetupTokenReplacesTheLast", func(t *testing.T, s store.Store) {
		// Every start without an account logs a link: only the newest works.
		ctx := ctxOf(t)
		must(t, "put", s.PutSetupToken(ctx, "s1", wallNow().Add(time.Hour)))
		must(t, "put another", s.PutSetupToken(ctx, "s2", wallNow().Add(time.Hour)))
		mustBe(t, "the older link", s.TakeSetupToken(ctx, "s1"), store.ErrNotFound)
		must(t, "the newer link", s.TakeSetupToken(ctx, "s2"))
	}},
	{"DisabledAccountRoundTrips", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		a := account("acct_1", "amira")
		must(t, "create", s.CreateAccount(ctx, a))
		a.Disabled = true
		must(t, "disable", s.UpdateAccount(ctx, a))
		got, err := s.AccountByUsername(ctx, "amira")
		must(t, "get", err)
		mustSame(t, "disabled", got, a)
	}},
	{"DeleteAccountTakesItsSessionsAndTokens", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		later := wallNow().Add(time.Hour)
		must(t, "create", s.CreateAccount(ctx, account("acct_1", "amira")))
		must(t, "create", s.CreateAccount(ctx, account("acct_2", "bo")))
		for _, ws := range []store.WebSession{webSession("a1", "acct_1", later), webSession("a2", "acct_1", later), webSession("b1", "acct_2", later)} {
			must(t, "put session", s.PutWebSession(ctx, ws))
		}
		for _, tok := range []store.APIToken{
			{TokenHash: "ta", AccountID: "acct_1", CreatedAt: at(0)},
			{TokenHash: "tb", AccountID: "acct_2", CreatedAt: at(0)},
		} {
			must(t, "put token", s.PutAPIToken(ctx, tok))
		}
		must(t, "delete", s.DeleteAccount(ctx, "acct_1"))
		_, err := s.GetAccount(ctx, "acct_1")
		mustBe(t, "account", err, store.ErrNotFound)
		_, err = s.AccountByUsername(ctx, "amira")
		mustBe(t, "username", err, store.ErrNotFound)
		for _, h := range []string{"a1", "a2"} {
			_, err := s.GetWebSession(ctx, h)
			mustBe(t, "session "+h, err, store.ErrNotFound)
		}
		_, err = s.GetAPIToken(ctx, "ta")
		mustBe(t, "token", err, store.ErrNotFound)
		toks, err := s.APITokensOf(ctx, "acct_1")
		must(t, "tokens of", err)
		mustIDs(t, "tokens left", ids(toks, func(x store.APIToken) string { return x.TokenHash }), nil)
		_, err = s.GetWebSession(ctx, "b1")
		must(t, "other account's session", err)
		_, err = s.GetAPIToken(ctx, "tb")
		must(t, "other account's token", err)
		list, err := s.ListAccounts(ctx)
		must(t, "list", err)
		mustIDs(t, "accounts", accountIDs(list), []string{"acct_2"})
		mustBe(t, "delete again", s.DeleteAccount(ctx, "acct_1"), store.ErrNotFound)
		must(t, "username free again", s.CreateAccount(ctx, account("acct_3", "amira")))
	}},
	{"APITokenExpiryAndLastUse", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		tok := store.APIToken{TokenHash: "t1", AccountID: "acct_1", CreatedAt: at(0), ExpiresAt: at(48 * time.Hour)}
		must(t, "put", s.PutAPIToken(ctx, tok))
		must(t, "touch", s.TouchAPIToken(ctx, "t1", at(time.Hour)))
		must(t, "touch earlier", s.TouchAPIToken(ctx, "t1", at(time.Minute)))
		got, err := s.GetAPIToken(ctx, "t1")
		must(t, "get", err)
		tok.LastUsedAt = at(time.Hour)
		mustSame(t, "last use moves forward only", got, tok)
		list, err := s.APITokensOf(ctx, "acct_1")
		must(t, "list", err)
		mustSame(t, "listed", list, []store.APIToken{tok})
		must(t, "revoke", s.DeleteAPIToken(ctx, "t1"))
		mustBe(t, "touch after revocation", s.TouchAPIToken(ctx, "t1", at(2*time.Hour)), store.ErrNotFound)
		_, err = s.GetAPIToken(ctx, "t1")
		mustBe(t, "still revoked", err, store.ErrNotFound)
	}},
	{"TouchNeverRevivesARevokedToken", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for i := range 20 {
			h := fmt.Sprintf("t%d", i)
			must(t, "put", s.PutAPIToken(ctx, store.APIToken{TokenHash: h, AccountID: "acct_1", CreatedAt: at(0)}))
			var wg sync.WaitGroup
			for j := range 4 {
				wg.Go(func() {
					_ = s.TouchAPIToken(ctx, h, at(time.Duration(j+1)*time.Minute))
				})
			}
			must(t, "revoke", s.DeleteAPIToken(ctx, h))
			wg.Wait()
			_, err := s.GetAPIToken(ctx, h)
			mustBe(t, "revoked "+h, err, store.ErrNotFound)
		}
	}},
}
