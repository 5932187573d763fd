package bolt

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Caseworker accounts, their web sessions, API tokens and setup tokens.
// Token hashes are secrets of a kind (a stolen hash names a live session to
// whoever can read the file), so they stay out of errors, like link
// indexes.
var (
	bAccounts       = []byte("accounts")          // id → Account
	bAccountsByName = []byte("accounts_by_name")  // username → id
	bWebSessions    = []byte("web_sessions")      // token hash → WebSession
	bWebSessionsByA = []byte("web_sessions_by_a") // account id, token hash
	bAPITokens      = []byte("api_tokens")        // token hash → APIToken
	bAPITokensByA   = []byte("api_tokens_by_a")   // account id, time(created), token hash
	bSetupTokens    = []byte("setup_tokens")      // token hash → time(expires)
)

// The account buckets are created by Open with the others.
func init() {
	allBuckets = append(allBuckets, bAccounts, bAccountsByName, bWebSessions, bWebSessionsByA,
		bAPITokens, bAPITokensByA, bSetupTokens)
}

func checkAccount(a store.Account) error {
	return errors.Join(store.Need("account ID", a.ID), store.Need("account username", a.Username))
}

func (s *Store) CreateAccount(_ context.Context, a store.Account) error {
	if err := checkAccount(a); err != nil {
		return fmt.Errorf("bolt: create account: %w", err)
	}
	return s.update("create account "+a.ID, func(t *txn) error {
		accts, names := t.Bucket(bAccounts), t.Bucket(bAccountsByName)
		if accts.Get([]byte(a.ID)) != nil || names.Get([]byte(a.Username)) != nil {
			return store.ErrConflict
		}
		if err := names.Put([]byte(a.Username), []byte(a.ID)); err != nil {
			return err
		}
		return putJSON(accts, []byte(a.ID), a)
	})
}

func (s *Store) GetAccount(_ context.Context, id string) (store.Account, error) {
	var a store.Account
	err := s.view("get account "+id, func(t *txn) error {
		ok, err := getJSON(t.Bucket(bAccounts), []byte(id), &a)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	return a, err
}

// A username is not personal data of a participant, but it may be a
// caseworker's name: it stays out of errors too.

func (s *Store) AccountByUsername(_ context.Context, username string) (store.Account, error) {
	var a store.Account
	err := s.view("account by username", func(t *txn) error {
		id := t.Bucket(bAccountsByName).Get([]byte(username))
		if id == nil {
			return store.ErrNotFound
		}
		ok, err := getJSON(t.Bucket(bAccounts), id, &a)
		return orMissingIndex(err, ok)
	})
	return a, err
}

func (s *Store) UpdateAccount(_ context.Context, a store.Account) error {
	if err := checkAccount(a); err != nil {
		return fmt.Errorf("bolt: update account: %w", err)
	}
	return s.update("update account "+a.ID, func(t *txn) error {
		accts, names := t.Bucket(bAccounts), t.Bucket(bAccountsByName)
		var old store.Account
		ok, err := getJSON(accts, []byte(a.ID), &old)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		if store.LosesTraining(old, a) {
			if err := t.checkNoChildrenOf(a.ID); err != nil {
				return err
			}
		}
		if old.Username != a.Username {
			if names.Get([]byte(a.Username)) != nil {
				return store.ErrConflict
			}
			if err := names.Delete([]byte(old.Username)); err != nil {
				return err
			}
			if err := names.Put([]byte(a.Username), []byte(a.ID)); err != nil {
				return err
			}
		}
		return putJSON(accts, []byte(a.ID), a)
	})
}

func (s *Store) ListAccounts(_ context.Context) ([]store.Account, error) {
	var out []store.Account
	err := s.view("list accounts", func(t *txn) error {
		accts := t.Bucket(bAccounts)
		// accounts_by_name is ordered by username.
		return t.Bucket(bAccountsByName).ForEach(func(_, id []byte) error {
			var a store.Account
			ok, err := getJSON(accts, id, &a)
			if err := orMissingIndex(err, ok); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

func (s *Store) DeleteAccount(_ context.Context, id string) error {
	return s.update("delete account "+id, func(t *txn) error {
		accts := t.Bucket(bAccounts)
		var a store.Account
		ok, err := getJSON(accts, []byte(id), &a)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		if err := t.Bucket(bAccountsByName).Delete([]byte(a.Username)); err != nil {
			return err
		}
		if err := t.deleteWebSessionsOf(id); err != nil {
			return err
		}
		pfx := idPrefix(id)
		tokByA := t.Bucket(bAPITokensByA)
		for _, k := range prefixKeys(tokByA, pfx) {
			if err := t.Bucket(bAPITokens).Delete(k[len(pfx)+timeKeyLen:]); err != nil {
				return err
			}
			if err := tokByA.Delete(k); err != nil {
				return err
			}
		}
		return accts.Delete([]byte(id))
	})
}

// Web sessions. Bolt has no TTL: an expired session is refused on read,
// deleted when read, and an account's expired sessions are dropped each
// time it signs in, so they cannot pile up.

func (s *Store) PutWebSession(_ context.Context, ws store.WebSession) error {
	if err := errors.Join(store.Need("session token hash", ws.TokenHash), store.Need("session account ID", ws.AccountID)); err != nil {
		return fmt.Errorf("bolt: put web session: %w", err)
	}
	return s.update("put web session of "+ws.AccountID, func(t *txn) error {
		b, byA := t.Bucket(bWebSessions), t.Bucket(bWebSessionsByA)
		if b.Get([]byte(ws.TokenHash)) != nil {
			return store.ErrConflict
		}
		pfx := idPrefix(ws.AccountID)
		for _, k := range prefixKeys(byA, pfx) {
			var old store.WebSession
			ok, err := getJSON(b, k[len(pfx):], &old)
			if err != nil {
				return err
			}
			if !ok || !old.ExpiresAt.After(t.now) {
				if err := t.deleteWebSession(k[len(pfx):]); err != nil {
					return err
				}
				if err := byA.Delete(k); err != nil {
					return err
				}
			}
		}
		if err := putJSON(b, []byte(ws.TokenHash), ws); err != nil {
			return err
		}
		return byA.Put(key(pfx, []byte(ws.TokenHash)), nil)
	})
}

func (s *Store) GetWebSession(_ context.Context, tokenHash string) (store.WebSession, error) {
	var ws store.WebSession
	var expired bool
	err := s.view("get web session", func(t *txn) error {
		ok, err := getJSON(t.Bucket(bWebSessions), []byte(tokenHash), &ws)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		expired = !ws.ExpiresAt.After(t.now)
		return nil
	})
	if err != nil {
		return store.WebSession{}, err
	}
	if expired {
		if err := s.DeleteWebSession(context.Background(), tokenHash); err != nil {
			return store.WebSession{}, err
		}
		return store.WebSession{}, fmt.Errorf("bolt: get web session: %w", store.ErrNotFound)
	}
	return ws, nil
}

func (s *Store) DeleteWebSession(_ context.Context, tokenHash string) error {
	return s.update("delete web session", func(t *txn) error { return t.deleteWebSession([]byte(tokenHash)) })
}

func (t *txn) deleteWebSession(hash []byte) error {
	b := t.Bucket(bWebSessions)
	var old store.WebSession
	ok, err := getJSON(b, hash, &old)
	if err != nil || !ok {
		return err
	}
	if err := t.Bucket(bWebSessionsByA).Delete(key(idPrefix(old.AccountID), hash)); err != nil {
		return err
	}
	return b.Delete(hash)
}

func (s *Store) DeleteWebSessionsOf(_ context.Context, accountID string) error {
	return s.update("delete web sessions of "+accountID, func(t *txn) error { return t.deleteWebSessionsOf(accountID) })
}

func (t *txn) deleteWebSessionsOf(accountID string) error {
	pfx := idPrefix(accountID)
	byA := t.Bucket(bWebSessionsByA)
	for _, k := range prefixKeys(byA, pfx) {
		if err := t.Bucket(bWebSessions).Delete(k[len(pfx):]); err != nil {
			return err
		}
		if err := byA.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// API tokens.

func apiTokenIndexKey(tok store.APIToken) []byte {
	return key(idPrefix(tok.AccountID), timeKey(tok.CreatedAt), []byte(tok.TokenHash))
}

func (s *Store) PutAPIToken(_ context.Context, tok store.APIToken) error {
	if err := errors.Join(store.Need("API token hash", tok.TokenHash), store.Need("API token account ID", tok.AccountID)); err != nil {
		return fmt.Errorf("bolt: put API token: %w", err)
	}
	return s.update("put API token of "+tok.AccountID, func(t *txn) error {
		b := t.Bucket(bAPITokens)
		if b.Get([]byte(tok.TokenHash)) != nil {
			return store.ErrConflict
		}
		if err := putJSON(b, []byte(tok.TokenHash), tok); err != nil {
			return err
		}
		return t.Bucket(bAPITokensByA).Put(apiTokenIndexKey(tok), nil)
	})
}

func (s *Store) GetAPIToken(_ context.Context, tokenHash string) (store.APIToken, error) {
	var tok store.APIToken
	err := s.view("get API token", func(t *txn) error {
		ok, err := getJSON(t.Bucket(bAPITokens), []byte(tokenHash), &tok)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	return tok, err
}

func (s *Store) APITokensOf(_ context.Context, accountID string) ([]store.APIToken, error) {
	var out []store.APIToken
	err := s.view("API tokens of "+accountID, func(t *txn) error {
		pfx := idPrefix(accountID)
		b := t.Bucket(bAPITokens)
		for _, k := range prefixKeys(t.Bucket(bAPITokensByA), pfx) {
			var tok store.APIToken
			ok, err := getJSON(b, k[len(pfx)+timeKeyLen:], &tok)
			if err := orMissingIndex(err, ok); err != nil {
				return err
			}
			out = append(out, tok)
		}
		return nil
	})
	// Same instant: any order is allowed, but keep it stable.
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, err
}

// APITokensOfMany reads each account's tokens as APITokensOf does: bolt's
// reads are local, so one call each costs nothing to speak of.
func (s *Store) APITokensOfMany(ctx context.Context, accountIDs []string) (map[string][]store.APIToken, error) {
	out := make(map[string][]store.APIToken, len(accountIDs))
	for _, id := range accountIDs {
		toks, err := s.APITokensOf(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(toks) > 0 {
			out[id] = toks
		}
	}
	return out, nil
}

func (s *Store) DeleteAPIToken(_ context.Context, tokenHash string) error {
	return s.update("delete API token", func(t *txn) error {
		b := t.Bucket(bAPITokens)
		var old store.APIToken
		ok, err := getJSON(b, []byte(tokenHash), &old)
		if err != nil || !ok {
			return err
		}
		if err := t.Bucket(bAPITokensByA).Delete(apiTokenIndexKey(old)); err != nil {
			return err
		}
		return b.Delete([]byte(tokenHash))
	})
}

func (s *Store) TouchAPIToken(_ context.Context, tokenHash string, at time.Time) error {
	return s.update("touch API token", func(t *txn) error {
		b := t.Bucket(bAPITokens)
		var tok store.APIToken
		ok, err := getJSON(b, []byte(tokenHash), &tok)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		if !at.After(tok.LastUsedAt) {
			return nil
		}
		tok.LastUsedAt = at
		return putJSON(b, []byte(tokenHash), tok)
	})
}

// Setup tokens. A new one replaces every earlier one, so the bucket holds
// at most one and only the link logged last works.

func (s *Store) PutSetupToken(_ context.Context, tokenHash string, expiresAt time.Time) error {
	if err := store.Need("setup token hash", tokenHash); err != nil {
		return fmt.Errorf("bolt: put setup token: %w", err)
	}
	if expiresAt.IsZero() {
		return errors.New("bolt: put setup token: expiry: required field is empty")
	}
	return s.update("put setup token", func(t *txn) error {
		b := t.Bucket(bSetupTokens)
		var doomed [][]byte
		err := b.ForEach(func(k, _ []byte) error {
			doomed = append(doomed, append([]byte(nil), k...))
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return b.Put([]byte(tokenHash), timeKey(expiresAt))
	})
}

func (s *Store) TakeSetupToken(_ context.Context, tokenHash string) error {
	var live bool
	err := s.update("take setup token", func(t *txn) error {
		b := t.Bucket(bSetupTokens)
		v := b.Get([]byte(tokenHash))
		if v == nil {
			return nil
		}
		live = len(v) == timeKeyLen && parseTimeKey(v).After(t.now)
		return b.Delete([]byte(tokenHash)) // used or expired: gone either way
	})
	if err == nil && !live {
		err = fmt.Errorf("bolt: take setup token: %w", store.ErrNotFound)
	}
	return err
}
