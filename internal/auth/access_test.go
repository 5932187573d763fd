package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

func TestDisablingAnAccountStopsItAtOnce(t *testing.T) {
	s, _, st := newService(t, Options{})
	ctx := t.Context()
	mustAccount(t, s, "admin", store.RoleAdmin)
	a := mustAccount(t, s, "amira", store.RoleCaseworker)
	sess, err := s.Login(ctx, "amira", goodPassword, "a")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateAPIToken(ctx, "cli", a.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetDisabled(ctx, "acct_admin", a.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrNoSession) {
		t.Errorf("session of a disabled account: %v", err)
	}
	if _, err := s.AuthenticateAPI(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("token of a disabled account: %v", err)
	}
	if _, err := s.Login(ctx, "amira", goodPassword, "a"); !errors.Is(err, ErrDisabled) {
		t.Errorf("sign-in of a disabled account: %v", err)
	}
	if _, err := s.CreateAPIToken(ctx, "cli", a.ID, 0); !errors.Is(err, ErrDisabled) {
		t.Errorf("a new token for a disabled account: %v", err)
	}
	if toks, _ := st.APITokensOf(ctx, a.ID); len(toks) != 0 {
		t.Errorf("tokens kept: %d", len(toks))
	}
	if _, err := s.SetDisabled(ctx, "acct_admin", a.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "amira", goodPassword, "a"); err != nil {
		t.Errorf("sign-in after enabling: %v", err)
	}
	if _, err := s.AuthenticateAPI(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("enabling brought a revoked token back: %v", err)
	}
	entries, _ := st.ListAudit(ctx, "", 100)
	for _, action := range []string{"account_disabled", "account_enabled", "login_refused"} {
		if countAction(entries, action) != 1 {
			t.Errorf("no single %s entry in the audit log", action)
		}
	}
}

func TestTheLastActiveAdministratorStays(t *testing.T) {
	s, _, _ := newService(t, Options{})
	ctx := t.Context()
	admin := mustAccount(t, s, "admin", store.RoleAdmin)
	if _, err := s.SetDisabled(ctx, "cli", admin.ID, true); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("disabling the only administrator: %v", err)
	}
	if err := s.DeleteAccount(ctx, "cli", admin.ID); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("deleting the only administrator: %v", err)
	}
	other := mustAccount(t, s, "admin2", store.RoleAdmin)
	if _, err := s.SetDisabled(ctx, "cli", other.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, "cli", admin.ID); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("a disabled administrator does not count: %v", err)
	}
}

func TestDeletingAnAccountEndsItsAccess(t *testing.T) {
	s, _, st := newService(t, Options{})
	ctx := t.Context()
	mustAccount(t, s, "admin", store.RoleAdmin)
	a := mustAccount(t, s, "amira", store.RoleCaseworker)
	sess, _ := s.Login(ctx, "amira", goodPassword, "a")
	tok, _ := s.CreateAPIToken(ctx, "cli", a.ID, 0)
	if err := s.DeleteAccount(ctx, "cli", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrNoSession) {
		t.Errorf("session: %v", err)
	}
	if _, err := s.AuthenticateAPI(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("token: %v", err)
	}
	entries, _ := st.ListAudit(ctx, "", 100)
	if countAction(entries, "account_deleted") != 1 || countAction(entries, "login") != 1 {
		t.Errorf("the audit log lost the account's history: %+v", entries)
	}
}

func TestTokensExpireAreRevokedAndShowTheirLastUse(t *testing.T) {
	s, clk, _ := newService(t, Options{})
	ctx := t.Context()
	a := mustAccount(t, s, "amira", store.RoleCaseworker)
	b := mustAccount(t, s, "bo", store.RoleCaseworker)
	short, err := s.CreateAPIToken(ctx, "cli", a.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	long, _ := s.CreateAPIToken(ctx, "cli", a.ID, 0)
	bos, _ := s.CreateAPIToken(ctx, "cli", b.ID, 0)
	used := clk.Now()
	if _, err := s.AuthenticateAPI(ctx, short); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTokens(ctx, a.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	byID := map[string]TokenInfo{}
	for _, ti := range list {
		byID[ti.ID] = ti
	}
	shortInfo := byID[HashToken(short)[:TokenIDLen]]
	if !shortInfo.LastUsedAt.Equal(used) || !shortInfo.ExpiresAt.Equal(used.Add(time.Hour)) || shortInfo.Username != "amira" {
		t.Errorf("short token listed as %+v", shortInfo)
	}
	if li := byID[HashToken(long)[:TokenIDLen]]; !li.LastUsedAt.IsZero() || !li.ExpiresAt.IsZero() {
		t.Errorf("unused token listed as %+v", li)
	}
	clk.Advance(time.Hour)
	if _, err := s.AuthenticateAPI(ctx, short); !errors.Is(err, ErrBadToken) {
		t.Errorf("expired token: %v", err)
	}
	// A caseworker revokes only their own tokens.
	if err := s.RevokeToken(ctx, a.ID, a.ID, HashToken(bos)[:TokenIDLen]); !errors.Is(err, ErrNoSuchToken) {
		t.Errorf("revoking another's token: %v", err)
	}
	if err := s.RevokeToken(ctx, "cli", "", HashToken(long)[:6]); !errors.Is(err, ErrNoSuchToken) {
		t.Errorf("a short ID: %v", err)
	}
	if err := s.RevokeToken(ctx, "cli", "", HashToken(long)[:TokenIDLen]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPI(ctx, long); !errors.Is(err, ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := s.AuthenticateAPI(ctx, bos); err != nil {
		t.Errorf("another account's token: %v", err)
	}
}

func TestPasswordChangeAndRoleChangeEndTokens(t *testing.T) {
	s, clk, _ := newService(t, Options{})
	ctx := t.Context()
	a := mustAccount(t, s, "amira", store.RoleAdmin)
	tok, _ := s.CreateAPIToken(ctx, "cli", a.ID, 0)
	clk.Advance(time.Second)
	if _, err := s.SetPassword(ctx, "cli", a.ID, "another good passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPI(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("token after a password change: %v", err)
	}
	tok2, _ := s.CreateAPIToken(ctx, "cli", a.ID, 0)
	if err := s.EndAccess(ctx, "cli", a.ID, "role changed"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPI(ctx, tok2); !errors.Is(err, ErrBadToken) {
		t.Errorf("token after a role change: %v", err)
	}
}
