package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Access that can be taken back: API tokens that expire and can be
// revoked, and accounts that can be disabled, enabled and deleted. Every
// change is audited. A disabled or deleted account's sessions and tokens
// stop at once: they are deleted, and every check refuses an account that
// is disabled or gone, so one that slipped through a race opens nothing.

// touchEvery is how often a token's last use is written: often enough to
// tell a live token from a forgotten one, rarely enough that a busy script
// does not write to the store on every call.
const touchEvery = time.Minute

// TokenIDLen is how many hex digits of a token's hash name it in lists
// and revocations: 48 bits, unique among an installation's tokens and no
// help to anyone guessing a token.
const TokenIDLen = 12

// TokenInfo describes an API token without the token.
type TokenInfo struct {
	ID         string // the first TokenIDLen hex digits of its hash
	AccountID  string
	Username   string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
}

// Expired says whether the token has stopped working at now.
func (t TokenInfo) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// CreateAPIToken makes a token for an account and returns it; it cannot
// be shown again. ttl > 0 makes it stop working after that long.
func (s *Service) CreateAPIToken(ctx context.Context, actor, accountID string, ttl time.Duration) (string, error) {
	a, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return "", fmt.Errorf("auth: API token: %w", err)
	}
	if a.Disabled {
		return "", ErrDisabled
	}
	token := "wm_" + NewToken()
	now := s.clock.Now()
	tok := store.APIToken{TokenHash: HashToken(token), AccountID: accountID, CreatedAt: now}
	detail := accountID + " token " + tok.TokenHash[:TokenIDLen]
	if ttl > 0 {
		tok.ExpiresAt = now.Add(ttl)
		detail += ", expires " + tok.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if err := s.store.PutAPIToken(ctx, tok); err != nil {
		return "", fmt.Errorf("auth: API token: %w", err)
	}
	return token, s.audit(ctx, actor, "api_token_created", detail)
}

// AuthenticateAPI returns the account an API token belongs to. A token
// that has expired, was made before the account's last password change,
// or whose account is disabled or gone, is refused as unknown.
func (s *Service) AuthenticateAPI(ctx context.Context, token string) (store.Account, error) {
	if !strings.HasPrefix(token, "wm_") {
		return store.Account{}, ErrBadToken
	}
	tok, err := s.store.GetAPIToken(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, ErrBadToken
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: API token: %w", err)
	}
	now := s.clock.Now()
	if !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt) {
		return store.Account{}, ErrBadToken
	}
	a, err := s.store.GetAccount(ctx, tok.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, ErrBadToken
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: API token account: %w", err)
	}
	if a.Disabled || tok.CreatedAt.Before(a.PasswordChangedAt) {
		return store.Account{}, ErrBadToken
	}
	if now.Sub(tok.LastUsedAt) >= touchEvery {
		// A failure here must not refuse a good call; a revocation racing
		// it stays a revocation (the store never revives a token).
		_ = s.store.TouchAPIToken(ctx, tok.TokenHash, now)
	}
	return a, nil
}

// ListTokens lists the API tokens of every account, or of one when
// accountID is not empty, by username and then oldest first.
func (s *Service) ListTokens(ctx context.Context, accountID string) ([]TokenInfo, error) {
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	var ids []string
	for _, a := range accts {
		if accountID == "" || a.ID == accountID {
			ids = append(ids, a.ID)
		}
	}
	all, err := s.store.APITokensOfMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	var out []TokenInfo
	for _, a := range accts {
		for _, t := range all[a.ID] {
			out = append(out, TokenInfo{ID: t.TokenHash[:min(TokenIDLen, len(t.TokenHash))], AccountID: a.ID, Username: a.Username,
				CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt})
		}
	}
	return out, nil
}

// RevokeToken deletes the token whose ID (or a longer prefix of its hash)
// is id. When accountID is not empty, only that account's tokens are
// looked at: a caseworker revokes only their own.
func (s *Service) RevokeToken(ctx context.Context, actor, accountID, id string) error {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < TokenIDLen {
		return ErrNoSuchToken
	}
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return fmt.Errorf("auth: revoke token: %w", err)
	}
	for _, a := range accts {
		if accountID != "" && a.ID != accountID {
			continue
		}
		toks, err := s.store.APITokensOf(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("auth: revoke token: %w", err)
		}
		for _, t := range toks {
			if strings.HasPrefix(t.TokenHash, id) {
				if err := s.store.DeleteAPIToken(ctx, t.TokenHash); err != nil {
					return fmt.Errorf("auth: revoke token: %w", err)
				}
				return s.audit(ctx, actor, "api_token_revoked", a.ID+" token "+t.TokenHash[:TokenIDLen])
			}
		}
	}
	return ErrNoSuchToken
}

// endAccess ends every session and revokes every API token of an account
// and says how many tokens went.
func (s *Service) endAccess(ctx context.Context, accountID string) (int, error) {
	if err := s.store.DeleteWebSessionsOf(ctx, accountID); err != nil {
		return 0, fmt.Errorf("auth: end sessions of %s: %w", accountID, err)
	}
	toks, err := s.store.APITokensOf(ctx, accountID)
	if err != nil {
		return 0, fmt.Errorf("auth: tokens of %s: %w", accountID, err)
	}
	for _, t := range toks {
		if err := s.store.DeleteAPIToken(ctx, t.TokenHash); err != nil {
			return 0, fmt.Errorf("auth: revoke a token of %s: %w", accountID, err)
		}
	}
	return len(toks), nil
}

// EndAccess ends every session and revokes every API token of an account,
// as a change of role does: access given for one role must not carry
// over to another.
func (s *Service) EndAccess(ctx context.Context, actor, accountID, why string) error {
	n, err := s.endAccess(ctx, accountID)
	if err != nil {
		return err
	}
	return s.audit(ctx, actor, "access_ended", fmt.Sprintf("%s: every session ended, %d API tokens revoked (%s)", accountID, n, why))
}

// SetDisabled disables or enables an account. Disabling ends its
// sessions and revokes its tokens at once; enabling gives back neither
// (the person signs in again, and new tokens are made). The last active
// administrator cannot be disabled.
func (s *Service) SetDisabled(ctx context.Context, actor, accountID string, disabled bool) (store.Account, error) {
	a, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: account: %w", err)
	}
	if a.Disabled == disabled {
		return a, nil
	}
	if disabled {
		if err := s.keepAnAdmin(ctx, a); err != nil {
			return store.Account{}, err
		}
	}
	a.Disabled = disabled
	if err := s.store.UpdateAccount(ctx, a); err != nil {
		return store.Account{}, fmt.Errorf("auth: update account %s: %w", a.ID, err)
	}
	if !disabled {
		return a, s.audit(ctx, actor, "account_enabled", a.ID+" "+a.Username)
	}
	n, err := s.endAccess(ctx, a.ID)
	if err != nil {
		return store.Account{}, err
	}
	return a, s.audit(ctx, actor, "account_disabled", fmt.Sprintf("%s %s; every session ended, %d API tokens revoked", a.ID, a.Username, n))
}

// DeleteAccount deletes an account with its sessions and tokens. The
// audit log keeps what it did, under its ID. Its participants are left
// with no caseworker, which administrators see. The last active
// administrator cannot be deleted.
func (s *Service) DeleteAccount(ctx context.Context, actor, accountID string) error {
	a, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("auth: account: %w", err)
	}
	if err := s.keepAnAdmin(ctx, a); err != nil {
		return err
	}
	if err := s.store.DeleteAccount(ctx, a.ID); err != nil {
		return fmt.Errorf("auth: delete account %s: %w", a.ID, err)
	}
	return s.audit(ctx, actor, "account_deleted", a.ID+" "+a.Username+"; its sessions and API tokens with it")
}

// keepAnAdmin refuses to take away a, when a is the only active
// administrator.
func (s *Service) keepAnAdmin(ctx context.Context, a store.Account) error {
	if a.Role != store.RoleAdmin || a.Disabled {
		return nil
	}
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return fmt.Errorf("auth: accounts: %w", err)
	}
	for _, x := range accts {
		if x.ID != a.ID && x.Role == store.RoleAdmin && !x.Disabled {
			return nil
		}
	}
	return ErrLastAdmin
}
