package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
)

// errWrongKey is serve's refusal to start with a key that cannot open the
// stored data.
var errWrongKey = errors.New("the secret key cannot open the data in this store")

// keySource names where serve took its key from, for the error that says
// how to put the right one in place.
func keySource(cfg config.Config) string {
	if cfg.SecretKey != "" {
		return "WAYMARK_SECRET_KEY"
	}
	return cfg.KeyFile()
}

// keyStore is what the key check reads and writes: the check value, and
// the links it tries to open when there is none yet.
type keyStore interface {
	store.KeyChecks
	ListLinks(ctx context.Context) ([]store.Link, error)
}

// checkKey makes sure box's key opens the store's data before anything is
// read or sent: a serve given the wrong key (after a `waymark rekey` whose
// new key was not put in place, or with a lost key file made anew) would
// otherwise run as if all were well and reach nobody. The first start
// writes the key check value; a store from before there was one is judged
// by its links, of which one must open under the key.
func checkKey(ctx context.Context, st keyStore, box *seal.Box, source string, generated bool) error {
	v, err := st.KeyCheck(ctx)
	switch {
	case err == nil:
		if box.VerifyKeyCheck(v) != nil {
			return wrongKey(source, generated)
		}
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read the key check value: %w", err)
	}
	opens, err := opensAnyLink(ctx, st, box)
	if err != nil {
		return err
	}
	if !opens {
		return wrongKey(source, generated)
	}
	return putKeyCheck(ctx, st, box)
}

// opensAnyLink reports whether box opens one of the stored links, or
// there are none.
func opensAnyLink(ctx context.Context, st keyStore, box *seal.Box) (bool, error) {
	links, err := st.ListLinks(ctx)
	if err != nil {
		return false, fmt.Errorf("check the key against the stored links: %w", err)
	}
	for _, l := range links {
		ch := string(l.Channel)
		if addr, err := box.Open(ch, l.Sealed); err == nil && box.Index(ch, addr) == l.Index {
			return true, nil
		}
	}
	return len(links) == 0, nil
}

func putKeyCheck(ctx context.Context, st store.KeyChecks, box *seal.Box) error {
	v, err := box.KeyCheck()
	if err != nil {
		return err
	}
	if err := st.PutKeyCheck(ctx, v); err != nil {
		return fmt.Errorf("write the key check value: %w", err)
	}
	return nil
}

func wrongKey(source string, generated bool) error {
	fix := "If you ran `waymark rekey`, start serve with the new key (in WAYMARK_SECRET_KEY, or in secret.key in the data directory when WAYMARK_SECRET_KEY is not set); " +
		"if rekey did not print \"done\", run it again with the same two keys first. Otherwise give serve the key this store was made with."
	if generated {
		fix = "No key was found, so a new one was just written to " + source + ": put the key this store was made with in its place (from your backup), or set WAYMARK_SECRET_KEY to it."
	}
	return fmt.Errorf("%w: the key from %s is not the one it was sealed with. %s", errWrongKey, source, fix)
}
