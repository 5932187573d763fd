package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// Caseworker accounts live in one slot, {accounts} (see keys.go). A token
// hash names a live session or API token, so like a link index it stays out
// of errors; so does a username, which may be a caseworker's name.

var (
	luaAccountPut    = script("account_put")
	luaAccountDelete = script("account_delete")
	luaIndexedPut    = script("indexed_put")
	luaStringSwap    = script("string_swap")
	luaSetupTake     = script("setup_take")
)

func checkAccount(a store.Account) error {
	return errors.Join(store.Need("account ID", a.ID), store.Need("account username", a.Username))
}

func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	return s.putAccount(ctx, "create", a)
}

func (s *Store) UpdateAccount(ctx context.Context, a store.Account) error {
	return s.putAccount(ctx, "update", a)
}

func (s *Store) putAccount(ctx context.Context, mode string, a store.Account) error {
	if err := checkAccount(a); err != nil {
		return fmt.Errorf("redis: %s account: %w", mode, err)
	}
	op := mode + " account " + a.ID
	doc, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	ak := s.k.accounts()
	if mode == "update" && !a.ChildProtectionTrained {
		if err := s.settleChildClaims(ctx, a.ID); err != nil {
			return s.fail(op, err)
		}
	}
	n, err := s.run(ctx, luaAccountPut, []string{ak.records(), ak.byName(), ak.childrenOf(a.ID)}, mode, a.ID, a.Username, doc).Int()
	switch {
	case err != nil:
		return s.fail(op, err)
	case n == -2:
		return fmt.Errorf("redis: %s: %w", op, store.ErrChildProtection)
	case n == 0:
		return fmt.Errorf("redis: %s: %w", op, store.ErrConflict)
	case n < 0:
		return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	}
	return nil
}

func (s *Store) GetAccount(ctx context.Context, id string) (store.Account, error) {
	var a store.Account
	doc, err := s.rdb.HGet(ctx, s.k.accounts().records(), id).Bytes()
	if err == nil {
		err = json.Unmarshal(doc, &a)
	}
	if err != nil {
		return store.Account{}, s.wrapGet("get account "+id, err)
	}
	return a, nil
}

func (s *Store) AccountByUsername(ctx context.Context, username string) (store.Account, error) {
	id, err := s.rdb.HGet(ctx, s.k.accounts().byName(), username).Result()
	if err != nil {
		return store.Account{}, s.wrapGet("account by username", err)
	}
	return s.GetAccount(ctx, id)
}

func (s *Store) ListAccounts(ctx context.Context) ([]store.Account, error) {
	docs, err := s.rdb.HVals(ctx, s.k.accounts().records()).Result()
	if err != nil {
		return nil, s.fail("list accounts", err)
	}
	out := make([]store.Account, 0, len(docs))
	for _, doc := range docs {
		var a store.Account
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			return nil, fmt.Errorf("redis: list accounts: %w", err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b store.Account) int {
		if a.Username < b.Username {
			return -1
		}
		if a.Username > b.Username {
			return 1
		}
		return 0
	})
	return out, nil
}

// DeleteAccount reads the account's two indexes, then deletes everything
// in one script that first checks the indexes still hold as many entries
// (a session or token made meanwhile sends it round again). A session or
// token missed all the same opens nothing: internal/auth refuses any whose
// account is gone.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	op := "delete account " + id
	ak := s.k.accounts()
	for range 10 {
		sessions, err := s.rdb.ZRange(ctx, ak.sessionsOf(id), 0, -1).Result()
		if err != nil {
			return s.fail(op, err)
		}
		tokens, err := s.rdb.ZRange(ctx, ak.apiTokensOf(id), 0, -1).Result()
		if err != nil {
			return s.fail(op, err)
		}
		keys := []string{ak.records(), ak.byName(), ak.sessionsOf(id), ak.apiTokensOf(id)}
		for _, h := range sessions {
			keys = append(keys, ak.session(h))
		}
		for _, m := range tokens {
			keys = append(keys, ak.apiToken(memberID(m)))
		}
		keys = append(keys, ak.childrenOf(id))
		n, err := s.run(ctx, luaAccountDelete, keys, id, len(sessions), len(tokens)).Int()
		switch {
		case err != nil:
			return s.fail(op, err)
		case n < 0:
			return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		case n == 1:
			return nil
		}
	}
	return fmt.Errorf("redis: %s: %w", op, store.ErrConflict)
}

// Web sessions expire by themselves (PEXPIREAT). The account's index of
// them is a hint, pruned of sessions that have gone each time the account
// signs in.

func (s *Store) PutWebSession(ctx context.Context, ws store.WebSession) error {
	if err := errors.Join(store.Need("session token hash", ws.TokenHash), store.Need("session account ID", ws.AccountID),
		store.NeedTime("session expiry", ws.ExpiresAt)); err != nil {
		return fmt.Errorf("redis: put web session: %w", err)
	}
	op := "put web session of " + ws.AccountID
	doc, err := json.Marshal(ws)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	ak := s.k.accounts()
	index := ak.sessionsOf(ws.AccountID)
	if err := s.pruneSessions(ctx, index); err != nil {
		return s.fail(op, err)
	}
	n, err := s.run(ctx, luaIndexedPut, []string{ak.session(ws.TokenHash), index}, doc, ws.TokenHash, ms(ws.ExpiresAt)).Int()
	if err != nil {
		return s.fail(op, err)
	}
	if n == 0 {
		return fmt.Errorf("redis: %s: %w", op, store.ErrConflict)
	}
	return nil
}

// pruneSessions drops index entries whose session has expired.
func (s *Store) pruneSessions(ctx context.Context, index string) error {
	hashes, err := s.rdb.ZRange(ctx, index, 0, -1).Result()
	if err != nil || len(hashes) == 0 {
		return err
	}
	ak := s.k.accounts()
	exists := make([]*goredis.IntCmd, len(hashes))
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, h := range hashes {
			exists[i] = p.Exists(ctx, ak.session(h))
		}
		return nil
	}); err != nil {
		return err
	}
	var gone []any
	for i, h := range hashes {
		if exists[i].Val() == 0 {
			gone = append(gone, h)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return s.rdb.ZRem(ctx, index, gone...).Err()
}

func (s *Store) GetWebSession(ctx context.Context, tokenHash string) (store.WebSession, error) {
	var ws store.WebSession
	if err := s.getJSON(ctx, s.k.accounts().session(tokenHash), &ws); err != nil {
		return store.WebSession{}, s.wrapGet("get web session", err)
	}
	return ws, nil
}

func (s *Store) DeleteWebSession(ctx context.Context, tokenHash string) error {
	ak := s.k.accounts()
	old, err := s.rdb.GetDel(ctx, ak.session(tokenHash)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return s.fail("delete web session", err)
	}
	var ws store.WebSession
	if json.Unmarshal([]byte(old), &ws) == nil && ws.AccountID != "" {
		if err := s.rdb.ZRem(ctx, ak.sessionsOf(ws.AccountID), tokenHash).Err(); err != nil {
			return s.fail("delete web session", err)
		}
	}
	return nil
}

// DeleteWebSessionsOf deletes the account's sessions and their index in
// one DEL (one slot). A session made between the read and the DEL would
// outlive it; internal/auth refuses any session older than the account's
// last password change, so that one is dead all the same.
func (s *Store) DeleteWebSessionsOf(ctx context.Context, accountID string) error {
	op := "delete web sessions of " + accountID
	ak := s.k.accounts()
	index := ak.sessionsOf(accountID)
	hashes, err := s.rdb.ZRange(ctx, index, 0, -1).Result()
	if err != nil {
		return s.fail(op, err)
	}
	keys := []string{index}
	for _, h := range hashes {
		keys = append(keys, ak.session(h))
	}
	if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// API tokens.

func (s *Store) PutAPIToken(ctx context.Context, tok store.APIToken) error {
	if err := errors.Join(store.Need("API token hash", tok.TokenHash), store.Need("API token account ID", tok.AccountID)); err != nil {
		return fmt.Errorf("redis: put API token: %w", err)
	}
	op := "put API token of " + tok.AccountID
	doc, err := json.Marshal(tok)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	ak := s.k.accounts()
	n, err := s.run(ctx, luaIndexedPut, []string{ak.apiToken(tok.TokenHash), ak.apiTokensOf(tok.AccountID)},
		doc, member(tok.CreatedAt, tok.TokenHash), 0).Int()
	if err != nil {
		return s.fail(op, err)
	}
	if n == 0 {
		return fmt.Errorf("redis: %s: %w", op, store.ErrConflict)
	}
	return nil
}

func (s *Store) GetAPIToken(ctx context.Context, tokenHash string) (store.APIToken, error) {
	var tok store.APIToken
	if err := s.getJSON(ctx, s.k.accounts().apiToken(tokenHash), &tok); err != nil {
		return store.APIToken{}, s.wrapGet("get API token", err)
	}
	return tok, nil
}

// APITokensOfMany reads every account's token list in one pipeline and
// the tokens in one MGET (they share the accounts' slot).
func (s *Store) APITokensOfMany(ctx context.Context, accountIDs []string) (map[string][]store.APIToken, error) {
	const op = "API tokens of many"
	ak := s.k.accounts()
	lists := make([]*goredis.StringSliceCmd, len(accountIDs))
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range accountIDs {
			lists[i] = p.ZRange(ctx, ak.apiTokensOf(id), 0, -1)
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(op, err)
	}
	var keys []string
	var owners []string
	for i, l := range lists {
		for _, m := range l.Val() {
			keys = append(keys, ak.apiToken(memberID(m)))
			owners = append(owners, accountIDs[i])
		}
	}
	out := map[string][]store.APIToken{}
	if len(keys) == 0 {
		return out, nil
	}
	docs, err := s.rdb.MGet(ctx, keys...).Result() // one slot
	if err != nil {
		return nil, s.fail(op, err)
	}
	for i, d := range docs {
		doc, ok := d.(string)
		if !ok {
			continue // a hint to a deleted token
		}
		var tok store.APIToken
		if err := json.Unmarshal([]byte(doc), &tok); err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		out[owners[i]] = append(out[owners[i]], tok)
	}
	return out, nil
}

// APITokensOf is APITokensOfMany of one account: its list, then its
// tokens.
func (s *Store) APITokensOf(ctx context.Context, accountID string) ([]store.APIToken, error) {
	all, err := s.APITokensOfMany(ctx, []string{accountID})
	return all[accountID], err
}

func (s *Store) DeleteAPIToken(ctx context.Context, tokenHash string) error {
	ak := s.k.accounts()
	old, err := s.rdb.GetDel(ctx, ak.apiToken(tokenHash)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return s.fail("delete API token", err)
	}
	var tok store.APIToken
	if json.Unmarshal([]byte(old), &tok) == nil && tok.AccountID != "" {
		if err := s.rdb.ZRem(ctx, ak.apiTokensOf(tok.AccountID), member(tok.CreatedAt, tokenHash)).Err(); err != nil {
			return s.fail("delete API token", err)
		}
	}
	return nil
}

// TouchAPIToken is a compare and set on the token's record, so a
// revocation between the read and the write stays a revocation.
func (s *Store) TouchAPIToken(ctx context.Context, tokenHash string, at time.Time) error {
	const op = "touch API token"
	k := s.k.accounts().apiToken(tokenHash)
	for range 10 {
		old, err := s.rdb.Get(ctx, k).Result()
		if err != nil {
			return s.wrapGet(op, err)
		}
		var tok store.APIToken
		if err := json.Unmarshal([]byte(old), &tok); err != nil {
			return fmt.Errorf("redis: %s: %w", op, err)
		}
		if !at.After(tok.LastUsedAt) {
			return nil
		}
		tok.LastUsedAt = at
		doc, err := json.Marshal(tok)
		if err != nil {
			return fmt.Errorf("redis: %s: %w", op, err)
		}
		n, err := s.run(ctx, luaStringSwap, []string{k}, old, doc).Int()
		switch {
		case err != nil:
			return s.fail(op, err)
		case n < 0:
			return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		case n == 1:
			return nil
		}
	}
	return nil // others touched it meanwhile, later than we would have
}

// The setup token is one key holding its hash: a new one replaces the
// last, it expires by itself, and taking it is a compare and delete, which
// only one caller can win.

func (s *Store) PutSetupToken(ctx context.Context, tokenHash string, expiresAt time.Time) error {
	if err := errors.Join(store.Need("setup token hash", tokenHash), store.NeedTime("setup token expiry", expiresAt)); err != nil {
		return fmt.Errorf("redis: put setup token: %w", err)
	}
	if err := s.rdb.Do(ctx, "set", s.k.accounts().setup(), tokenHash, "pxat", ms(expiresAt)).Err(); err != nil {
		return s.fail("put setup token", err)
	}
	return nil
}

func (s *Store) TakeSetupToken(ctx context.Context, tokenHash string) error {
	n, err := s.run(ctx, luaSetupTake, []string{s.k.accounts().setup()}, tokenHash).Int()
	if err != nil {
		return s.fail("take setup token", err)
	}
	if n == 0 {
		return fmt.Errorf("redis: take setup token: %w", store.ErrNotFound)
	}
	return nil
}
