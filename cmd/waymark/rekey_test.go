package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// backend is a store the CLI can open from env, and the test too. Bolt
// serves one process at a time, so each side opens it only while it works.
type backend struct {
	name string
	env  map[string]string // WAYMARK_* naming the store, without the key
	open func(t *testing.T) store.Store
}

func backends(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("bolt", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, backend{name: "bolt", env: map[string]string{"WAYMARK_DATA_DIR": dir}, open: func(t *testing.T) store.Store {
			st, err := bolt.Open(filepath.Join(dir, "waymark.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}})
	})
	t.Run("redis", func(t *testing.T) {
		url, prefix := testkit.RedisPrefix(t)
		fn(t, backend{name: "redis", env: map[string]string{"WAYMARK_REDIS_URL": url, "WAYMARK_REDIS_PREFIX": prefix},
			open: func(t *testing.T) store.Store {
				st, err := redisstore.Open(t.Context(), redisstore.Options{URL: url, Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}})
	})
}

// cli runs waymark with the backend's environment plus extra.
func (b backend) cli(t *testing.T, extra map[string]string, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{}
	maps.Copy(env, b.env)
	maps.Copy(env, extra)
	var out, errb bytes.Buffer
	code := run(t.Context(), append([]string{"waymark"}, args...), func(k string) string { return env[k] }, nil, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// address is one person's channel address in the rekey fixtures.
type address struct {
	pid     string
	channel store.Channel
	addr    string
}

var rekeyAddresses = []address{
	{"p_one", store.SMS, "+447700900001"},
	{"p_one", store.Telegram, "700000001"},
	{"p_two", store.WhatsApp, "+447700900002"},
	{"p_three", store.SMS, "+15005550003"},
	{"p_four", store.Telegram, "700000004"},
}

// seedLinks stores every fixture address sealed under box, each person's
// last link as their reply link, and a pending and a delivered message to
// each link.
func seedLinks(t *testing.T, st store.Store, box *seal.Box) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Round(time.Second)
	for i, a := range rekeyAddresses {
		if _, err := st.GetParticipant(ctx, a.pid); errors.Is(err, store.ErrNotFound) {
			if err := st.CreateParticipant(ctx, store.Participant{ID: a.pid, Label: "R", Language: "en", TimeZone: "UTC", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		sealed, err := box.Seal(string(a.channel), a.addr)
		if err != nil {
			t.Fatal(err)
		}
		ix := box.Index(string(a.channel), a.addr)
		l := store.Link{Index: ix, Channel: a.channel, ParticipantID: a.pid, Sealed: sealed, Masked: seal.Mask(a.addr), LinkedAt: now, LastSeenAt: now}
		if err := st.PutLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		p, _ := st.GetParticipant(ctx, a.pid)
		p.LastLink = ix
		if err := st.UpdateParticipant(ctx, p); err != nil {
			t.Fatal(err)
		}
		for j, status := range []store.MessageStatus{store.Pending, store.Delivered} {
			m := store.OutboundMessage{ID: store.NewID("m_"), ParticipantID: a.pid, LinkIndex: ix, Channel: a.channel, Kind: "menu.ask",
				Text: "How can we help?", Status: store.Pending, NotBefore: now.Add(time.Duration(i*2+j) * time.Second), CreatedAt: now, UpdatedAt: now}
			if err := st.EnqueueOutbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			if status != store.Pending {
				m.Status = status
				if err := st.UpdateOutbound(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// failingDeletes is a store whose DeleteLink fails from the nth call on:
// a process killed between writing a new link and deleting the old.
type failingDeletes struct {
	store.Store
	n, calls int
}

var errKilled = errors.New("killed")

func (f *failingDeletes) DeleteLink(ctx context.Context, index string) error {
	if f.calls++; f.calls >= f.n {
		return errKilled
	}
	return f.Store.DeleteLink(ctx, index)
}

// findable reports whether every fixture address can be found and opened
// under one key or the other.
func findable(t *testing.T, st store.Store, boxes ...*seal.Box) {
	t.Helper()
	for _, a := range rekeyAddresses {
		found := false
		for _, box := range boxes {
			l, err := st.GetLink(t.Context(), box.Index(string(a.channel), a.addr))
			if err != nil {
				continue
			}
			if got, err := box.Open(string(a.channel), l.Sealed); err == nil && got == a.addr && l.ParticipantID == a.pid {
				found = true
			}
		}
		if !found {
			t.Errorf("the %s address of %s is lost", a.channel, a.pid)
		}
	}
}

// TestRekeyResumesAfterAnInterruption seals addresses under one key, runs
// a rekey that dies half way, checks nothing is lost, finishes with the
// CLI, and checks that everything now lives under the new key alone and a
// conversation under the new key finds every person.
func TestRekeyResumesAfterAnInterruption(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		oldKey, newKey := seal.NewKey(), seal.NewKey()
		ok, _ := seal.ParseKey(oldKey)
		nk, _ := seal.ParseKey(newKey)
		oldBox, _ := seal.New(ok)
		newBox, _ := seal.New(nk)

		st := b.open(t)
		seedLinks(t, st, oldBox)
		r, err := rekey(t.Context(), &failingDeletes{Store: st, n: 3}, oldBox, newBox)
		if !errors.Is(err, errKilled) || r.Resealed != 2 {
			t.Fatalf("interrupted run: %+v, %v; want 2 done and then killed", r, err)
		}
		findable(t, st, oldBox, newBox)
		st.Close()

		keys := map[string]string{"WAYMARK_OLD_SECRET_KEY": oldKey, "WAYMARK_SECRET_KEY": newKey}
		code, out, errs := b.cli(t, keys, "rekey")
		if code != 0 {
			t.Fatalf("rekey: exit %d\n%s%s", code, out, errs)
		}
		if !strings.Contains(out, "3 re-sealed, 3 already under the new key, 0 could not be opened") {
			t.Errorf("rekey said %q", out)
		}
		if strings.Contains(out+errs, oldKey) || strings.Contains(out+errs, newKey) || strings.Contains(out+errs, "7700900") {
			t.Errorf("rekey printed a key or an address:\n%s%s", out, errs)
		}

		st = b.open(t)
		defer st.Close()
		ctx := t.Context()
		findable(t, st, newBox)
		links, err := st.ListLinks(ctx)
		if err != nil || len(links) != len(rekeyAddresses) {
			t.Fatalf("%d links after rekey (%v), want %d", len(links), err, len(rekeyAddresses))
		}
		newIndexes := map[string]bool{}
		for _, l := range links {
			if _, err := oldBox.Open(string(l.Channel), l.Sealed); err == nil {
				t.Errorf("a link of %s still opens with the old key", l.ParticipantID)
			}
			newIndexes[l.Index] = true
		}
		for _, pid := range []string{"p_one", "p_two", "p_three", "p_four"} {
			p, err := st.GetParticipant(ctx, pid)
			if err != nil || !newIndexes[p.LastLink] {
				t.Errorf("%s replies to %q (%v), not a re-sealed link", pid, p.LastLink, err)
			}
			msgs, _ := st.OutboundOf(ctx, pid)
			for _, m := range msgs {
				if !newIndexes[m.LinkIndex] {
					t.Errorf("message %s (%s) still names an old link", m.ID, m.Status)
				}
			}
		}

		// Serve with the new key finds every person by their address.
		content, problems := loadContent(contentFS("", ""))
		if content == nil {
			t.Fatal(problems)
		}
		conv := conversation.New(st, newBox, conversation.NewLive(content), clock.System{}, discardLog(), nil)
		for _, a := range rekeyAddresses {
			out, err := conv.Handle(ctx, conversation.Inbound{Channel: a.channel, Address: a.addr, Text: "MENU"})
			if err != nil || out.ParticipantID != a.pid {
				t.Errorf("after rekey, %s of %s is found as %q (%v)", a.channel, a.pid, out.ParticipantID, err)
			}
		}
		st.Close()

		// Once more changes nothing. (Above, the link whose old copy the
		// interrupted run had not deleted counted as already done; its old
		// copy was then re-sealed onto it.)
		code, out, _ = b.cli(t, keys, "rekey")
		if code != 0 || !strings.Contains(out, "0 re-sealed, 5 already under the new key") {
			t.Errorf("third run: exit %d %q", code, out)
		}
	})
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Bad keys are refused before anything is touched, and a wrong old key
// changes nothing.
func TestRekeyRefusesBadKeys(t *testing.T) {
	dir := t.TempDir()
	b := backend{env: map[string]string{"WAYMARK_DATA_DIR": dir}}
	k1, k2, k3 := seal.NewKey(), seal.NewKey(), seal.NewKey()
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no old key":   {map[string]string{"WAYMARK_SECRET_KEY": k1}, "set WAYMARK_OLD_SECRET_KEY"},
		"no new key":   {map[string]string{"WAYMARK_OLD_SECRET_KEY": k1}, "set WAYMARK_SECRET_KEY"},
		"same key":     {map[string]string{"WAYMARK_OLD_SECRET_KEY": k1, "WAYMARK_SECRET_KEY": k1}, "are the same"},
		"bad old key":  {map[string]string{"WAYMARK_OLD_SECRET_KEY": "c2hvcnQ=", "WAYMARK_SECRET_KEY": k1}, "old key: decodes to 5 bytes"},
		"not base64":   {map[string]string{"WAYMARK_OLD_SECRET_KEY": k1, "WAYMARK_SECRET_KEY": "???"}, "new key: not valid base64"},
		"key and file": {map[string]string{"WAYMARK_OLD_SECRET_KEY": k1, "WAYMARK_SECRET_KEY": k2}, "not both"},
	} {
		args := []string{"rekey"}
		if name == "key and file" {
			args = append(args, "--old-key-file", filepath.Join(dir, "x"))
		}
		code, _, errs := b.cli(t, tc.env, args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, %q; want an error saying %q", name, code, errs, tc.want)
		}
		if strings.Contains(errs, k1) || strings.Contains(errs, k2) {
			t.Errorf("%s: the error shows a key", name)
		}
	}

	// The wrong old key: nothing opens, nothing changes, exit 1.
	st, err := bolt.Open(filepath.Join(dir, "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	right, _ := seal.ParseKey(k1)
	box, _ := seal.New(right)
	seedLinks(t, st, box)
	before, _ := st.ListLinks(t.Context())
	st.Close()
	code, out, errs := b.cli(t, map[string]string{"WAYMARK_OLD_SECRET_KEY": k3, "WAYMARK_SECRET_KEY": k2}, "rekey")
	if code != 1 || !strings.Contains(out, "5 could not be opened") || !strings.Contains(errs, "opens with neither key") {
		t.Errorf("wrong old key: exit %d %q %q", code, out, errs)
	}
	st, _ = bolt.Open(filepath.Join(dir, "waymark.db"))
	defer st.Close()
	after, _ := st.ListLinks(t.Context())
	if len(after) != len(before) {
		t.Fatalf("links %d -> %d", len(before), len(after))
	}
	for i := range after {
		if after[i].Index != before[i].Index || !bytes.Equal(after[i].Sealed, before[i].Sealed) {
			t.Errorf("link %d changed under a wrong old key", i)
		}
	}
}
