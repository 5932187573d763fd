package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

func newBox(t *testing.T, encoded string) *seal.Box {
	t.Helper()
	k, err := seal.ParseKey(encoded)
	if err != nil {
		t.Fatal(err)
	}
	b, err := seal.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// After a rekey, serve refuses the old key and says how to put the new one
// in place; before it, the reverse. A store from before the key check is
// judged by its links the first time.
func TestServeRefusesAKeyThatOpensNothing(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		keyA, keyB := seal.NewKey(), seal.NewKey()
		boxA, boxB := newBox(t, keyA), newBox(t, keyB)

		st := b.open(t)
		seedLinks(t, st, boxA)
		if err := checkKey(ctx, st, boxB, "WAYMARK_SECRET_KEY", false); !errors.Is(err, errWrongKey) {
			t.Fatalf("a key that opens none of the links: %v, want errWrongKey", err)
		}
		if _, err := st.KeyCheck(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a refused key left a key check value (%v)", err)
		}
		if err := checkKey(ctx, st, boxA, "WAYMARK_SECRET_KEY", false); err != nil {
			t.Fatalf("the key the links are sealed with: %v", err)
		}
		v, err := st.KeyCheck(ctx)
		if err != nil || boxA.VerifyKeyCheck(v) != nil {
			t.Fatalf("first start wrote no key check value for its key (%v)", err)
		}
		st.Close()

		code, out, errs := b.cli(t, map[string]string{"WAYMARK_SECRET_KEY": keyB, "WAYMARK_ADDR": "127.0.0.1:0"}, "serve")
		if code != 1 || !strings.Contains(errs, "cannot open the data in this store") ||
			!strings.Contains(errs, "the key from WAYMARK_SECRET_KEY") || !strings.Contains(errs, "waymark rekey") {
			t.Fatalf("serve with another key: exit %d\n%s%s", code, out, errs)
		}
		if strings.Contains(out+errs, keyA) || strings.Contains(out+errs, keyB) {
			t.Fatal("serve printed a key")
		}

		code, out, errs = b.cli(t, map[string]string{"WAYMARK_OLD_SECRET_KEY": keyA, "WAYMARK_SECRET_KEY": keyB}, "rekey")
		if code != 0 {
			t.Fatalf("rekey: exit %d\n%s%s", code, out, errs)
		}
		st = b.open(t)
		defer st.Close()
		v, err = st.KeyCheck(ctx)
		if err != nil || boxB.VerifyKeyCheck(v) != nil {
			t.Fatalf("rekey did not record the new key's check value (%v)", err)
		}
		if err := checkKey(ctx, st, boxB, "WAYMARK_SECRET_KEY", false); err != nil {
			t.Fatalf("the new key after rekey: %v", err)
		}
		if err := checkKey(ctx, st, boxA, "WAYMARK_SECRET_KEY", false); !errors.Is(err, errWrongKey) {
			t.Fatalf("the old key after rekey: %v, want errWrongKey", err)
		}
		// A rekey from a key that is not the store's changes nothing.
		keyC := seal.NewKey()
		st.Close()
		code, _, errs = b.cli(t, map[string]string{"WAYMARK_OLD_SECRET_KEY": keyA, "WAYMARK_SECRET_KEY": keyC}, "rekey")
		if code != 1 || !strings.Contains(errs, "neither key is the one this store is sealed with") {
			t.Fatalf("rekey from a stale key: exit %d %q", code, errs)
		}
		st = b.open(t)
		if v, _ := st.KeyCheck(ctx); boxB.VerifyKeyCheck(v) != nil {
			t.Fatal("a refused rekey changed the key check value")
		}
	})
}

// In embedded mode with the key file lost, serve makes a new key; it must
// then say that this key is new and which file to restore.
func TestServeRefusesANewKeyForOldData(t *testing.T) {
	dir := t.TempDir()
	b := backend{env: map[string]string{"WAYMARK_DATA_DIR": dir, "WAYMARK_ADDR": "127.0.0.1:0"}}
	st, err := bolt.Open(filepath.Join(dir, "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkKey(t.Context(), st, newBox(t, seal.NewKey()), "WAYMARK_SECRET_KEY", false); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errs := b.cli(t, nil, "serve")
	if code != 1 || !strings.Contains(errs, "a new one was just written to ") || !strings.Contains(errs, "secret.key: put the key this store was made with in its place") {
		t.Fatalf("serve with a new key for old data: exit %d\n%s%s", code, out, errs)
	}
}
