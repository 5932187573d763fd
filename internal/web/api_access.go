package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/store"
)

// Access through the API: administrators list, disable, enable and
// delete accounts and revoke any token; a caseworker lists and revokes
// their own tokens. Tokens are made on the Accounts page (tokenCreate)
// or on the command line, where the token is shown once to whoever made
// it; never through the API, so that a leaked token cannot mint others.

type apiAccountView struct {
	ID                     string     `json:"id"`
	Username               string     `json:"username"`
	Role                   store.Role `json:"role"`
	ChildProtectionTrained bool       `json:"child_protection_trained"`
	Disabled               bool       `json:"disabled"`
	CreatedAt              time.Time  `json:"created_at"`
	PasswordChangedAt      time.Time  `json:"password_changed_at"`
}

type apiTokenView struct {
	ID         string     `json:"id"`
	AccountID  string     `json:"account_id"`
	Username   string     `json:"username"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`   // null: never
	LastUsedAt *time.Time `json:"last_used_at"` // null: never used
	Expired    bool       `json:"expired"`
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) apiAccounts(c echo.Context) error {
	if !canSeeAll(apiAccount(c)) {
		return apiFail(http.StatusForbidden, codeForbidden, "accounts are for administrators")
	}
	limit, cursor, err := pageParams(c)
	if err != nil {
		return err
	}
	// Accounts are few (a programme's staff): read whole, paged here.
	accts, err := s.deps.Store.ListAccounts(c.Request().Context())
	if err != nil {
		return err
	}
	accts, next := pageByKey(accts, func(a store.Account) string { return a.Username }, cursor, limit)
	out := make([]apiAccountView, 0, len(accts))
	for _, a := range accts {
		out = append(out, apiAccountView{ID: a.ID, Username: a.Username, Role: a.Role, ChildProtectionTrained: a.ChildProtectionTrained,
			Disabled: a.Disabled, CreatedAt: a.CreatedAt, PasswordChangedAt: a.PasswordChangedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"accounts": out, "next_cursor": nextCursor(next)})
}

// apiAccountAccess is POST /accounts/:id/disable, POST /accounts/:id/enable
// and DELETE /accounts/:id.
func (s *Server) apiAccountAccess(verb string) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		me := apiAccount(c)
		if !canSeeAll(me) {
			return apiFail(http.StatusForbidden, codeForbidden, "accounts are for administrators")
		}
		if c.Request().Method == http.MethodPost {
			var req struct{}
			if err := decodeOptional(c, &req); err != nil {
				return err
			}
		}
		id := c.Param("id")
		if _, err := s.deps.Store.GetAccount(ctx, id); errors.Is(err, store.ErrNotFound) {
			return apiFail(http.StatusNotFound, codeNotFound, "no such account")
		} else if err != nil {
			return err
		}
		var err error
		switch verb {
		case "delete":
			err = s.deps.Auth.DeleteAccount(ctx, me.ID, id)
		default:
			_, err = s.deps.Auth.SetDisabled(ctx, me.ID, id, verb == "disable")
		}
		if errors.Is(err, auth.ErrLastAdmin) {
			return apiFail(http.StatusConflict, codeConflict, "Waymark needs at least one active administrator")
		}
		if err != nil {
			return err
		}
		if verb == "delete" {
			return c.NoContent(http.StatusNoContent)
		}
		a, err := s.deps.Store.GetAccount(ctx, id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, apiAccountView{ID: a.ID, Username: a.Username, Role: a.Role, ChildProtectionTrained: a.ChildProtectionTrained,
			Disabled: a.Disabled, CreatedAt: a.CreatedAt, PasswordChangedAt: a.PasswordChangedAt})
	}
}

func (s *Server) apiTokens(c echo.Context) error {
	me := apiAccount(c)
	scope := me.ID
	if canSeeAll(me) {
		scope = ""
	}
	limit, cursor, err := pageParams(c)
	if err != nil {
		return err
	}
	if _, _, err := store.ParseTimeCursor(cursor); cursor != "" && err != nil {
		return errBadCursor
	}
	toks, err := s.deps.Auth.ListTokens(c.Request().Context(), scope)
	if err != nil {
		return err
	}
	key := func(t auth.TokenInfo) string { return store.TimeCursor(t.CreatedAt, t.ID) }
	slices.SortFunc(toks, func(a, b auth.TokenInfo) int { return strings.Compare(key(a), key(b)) })
	toks, next := pageByKey(toks, key, cursor, limit)
	now := s.now()
	out := make([]apiTokenView, 0, len(toks))
	for _, t := range toks {
		out = append(out, apiTokenView{ID: t.ID, AccountID: t.AccountID, Username: t.Username, CreatedAt: t.CreatedAt,
			ExpiresAt: timeOrNull(t.ExpiresAt), LastUsedAt: timeOrNull(t.LastUsedAt), Expired: t.Expired(now)})
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": out, "next_cursor": nextCursor(next)})
}

func (s *Server) apiRevokeToken(c echo.Context) error {
	me := apiAccount(c)
	scope := me.ID
	if canSeeAll(me) {
		scope = ""
	}
	err := s.deps.Auth.RevokeToken(c.Request().Context(), me.ID, scope, c.Param("tid"))
	if errors.Is(err, auth.ErrNoSuchToken) {
		return apiFail(http.StatusNotFound, codeNotFound, "no such token")
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
