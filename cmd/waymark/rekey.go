package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// Key rotation: waymark rekey re-seals every stored address under a new
// WAYMARK_SECRET_KEY and recomputes its blind index.

const rekeyUsage = `Usage:
  waymark rekey [--old-key-file FILE] [--new-key-file FILE]

Re-seals every stored phone number and chat ID under a new key and
recomputes its blind index. The old key comes from WAYMARK_OLD_SECRET_KEY
or --old-key-file; the new one from WAYMARK_SECRET_KEY or --new-key-file
(waymark keygen prints one).

Stop every waymark serve first: a running one would still use the old key.
If rekey is interrupted, run it again with the same keys: it skips what is
done and finishes the rest. Nothing is lost at any point. When it is done
it records the new key's check value, and serve refuses to start with any
other key. Then start serve with the new key, and destroy every copy of
the old one.
`

// oldKeyEnv holds the key being retired. It is read by rekey alone, so
// serve warns about it as unknown: a reminder to remove it afterwards.
const oldKeyEnv = "WAYMARK_OLD_SECRET_KEY"

func rekeyCmd(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("rekey", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	fl.Usage = func() { fmt.Fprint(env.stderr, rekeyUsage) }
	oldFile := fl.String("old-key-file", "", "file holding the old key, instead of "+oldKeyEnv)
	newFile := fl.String("new-key-file", "", "file holding the new key, instead of WAYMARK_SECRET_KEY")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.stderr, "waymark rekey: "+format+"\n", a...)
		return 1
	}
	oldKey, err := readKey(env.getenv(oldKeyEnv), *oldFile, oldKeyEnv, "--old-key-file")
	if err != nil {
		return fail("old key: %v", err)
	}
	newKey, err := readKey(env.getenv("WAYMARK_SECRET_KEY"), *newFile, "WAYMARK_SECRET_KEY", "--new-key-file")
	if err != nil {
		return fail("new key: %v", err)
	}
	if string(oldKey) == string(newKey) {
		return fail("the old and the new key are the same: make a new one with waymark keygen")
	}
	oldBox, err := seal.New(oldKey)
	if err != nil {
		return fail("%v", err)
	}
	newBox, err := seal.New(newKey)
	if err != nil {
		return fail("%v", err)
	}
	// The store is found as serve finds it. The key given to config is
	// the new one, so a key file in the data directory is never read or
	// made here.
	overrides := map[string]string{"WAYMARK_SECRET_KEY": base64Key(newKey)}
	cfg, _, err := config.Load(env.getenv, env.environ, overrides)
	if err != nil {
		return fail("configuration is not valid:\n%v", err)
	}
	st, err := openStore(ctx, cfg)
	if errors.Is(err, bolt.ErrInUse) {
		return fail("the data file in %s is in use by a running waymark serve: stop it first", cfg.DataDir)
	}
	if err != nil {
		return fail("cannot open the store: %v", err)
	}
	defer st.Close()

	if v, err := st.KeyCheck(ctx); err == nil && oldBox.VerifyKeyCheck(v) != nil && newBox.VerifyKeyCheck(v) != nil {
		return fail("neither key is the one this store is sealed with: give the key serve last ran with as the old key")
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fail("cannot read the key check value: %v", err)
	}
	r, err := rekey(ctx, st, oldBox, newBox)
	fmt.Fprintf(env.stdout, "links: %d re-sealed, %d already under the new key, %d could not be opened; messages re-pointed: %d\n",
		r.Resealed, r.Skipped, len(r.Unopened), r.Messages)
	for _, pid := range r.Unopened {
		fmt.Fprintf(env.stderr, "waymark rekey: a link of participant %s opens with neither key; it was left as it is\n", pid)
	}
	if err != nil {
		return fail("%v (run rekey again with the same keys to finish)", err)
	}
	if len(r.Unopened) > 0 {
		return 1
	}
	// Only now that every link is under the new key: until then serve
	// still starts with the old one, and refuses the new.
	if err := putKeyCheck(ctx, st, newBox); err != nil {
		return fail("%v (run rekey again with the same keys to finish)", err)
	}
	fmt.Fprintln(env.stdout, "done: start waymark serve with the new WAYMARK_SECRET_KEY, and destroy the old key")
	return 0
}

func base64Key(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// readKey takes a key from an environment value or a file, not both.
func readKey(envValue, file, envName, flagName string) ([]byte, error) {
	switch {
	case envValue != "" && file != "":
		return nil, fmt.Errorf("give %s or %s, not both", envName, flagName)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		envValue = string(b)
	case envValue == "":
		return nil, fmt.Errorf("set %s or give %s", envName, flagName)
	}
	k, err := seal.ParseKey(strings.TrimSpace(envValue))
	if err != nil {
		return nil, fmt.Errorf("%v (waymark keygen prints a valid key)", err)
	}
	return k, nil
}

// rekeyReport counts what a run did. Unopened lists the participants of
// links that open with neither key.
type rekeyReport struct {
	Resealed, Skipped, Messages int
	Unopened                    []string
}

// rekeyStore is what a key rotation rewrites: the links, and the
// participant records and messages that name a link by its blind index.
type rekeyStore interface {
	store.Links
	GetParticipant(ctx context.Context, id string) (store.Participant, error)
	UpdateParticipant(ctx context.Context, p store.Participant) error
	OutboundOf(ctx context.Context, participantID string) ([]store.OutboundMessage, error)
	UpdateOutbound(ctx context.Context, m store.OutboundMessage) error
}

// rekey moves every link from oldBox to newBox. For each link still under
// the old key it writes the new link first, then points the participant's
// reply link and their messages at it, and only then deletes the old one:
// at every moment the address is held under one key or the other, so an
// interruption loses nothing, and running again finishes the job (a link
// that opens under the new key is recognised and skipped).
func rekey(ctx context.Context, st rekeyStore, oldBox, newBox *seal.Box) (rekeyReport, error) {
	var r rekeyReport
	links, err := st.ListLinks(ctx)
	if err != nil {
		return r, fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		ch := string(l.Channel)
		if addr, err := newBox.Open(ch, l.Sealed); err == nil && newBox.Index(ch, addr) == l.Index {
			r.Skipped++
			continue
		}
		addr, err := oldBox.Open(ch, l.Sealed)
		if err != nil {
			r.Unopened = append(r.Unopened, l.ParticipantID)
			continue
		}
		n, err := moveLink(ctx, st, newBox, l, addr)
		r.Messages += n
		if err != nil {
			return r, fmt.Errorf("link of participant %s: %w", l.ParticipantID, err)
		}
		r.Resealed++
	}
	return r, nil
}

// moveLink re-seals one link under newBox and re-points what names it.
func moveLink(ctx context.Context, st rekeyStore, newBox *seal.Box, old store.Link, addr string) (int, error) {
	ch := string(old.Channel)
	index := newBox.Index(ch, addr)
	// A run cut short may have written the new link already; keep it as
	// it is rather than seal the address a second time.
	if got, err := st.GetLink(ctx, index); err != nil || got.ParticipantID != old.ParticipantID {
		sealed, err := newBox.Seal(ch, addr)
		if err != nil {
			return 0, err
		}
		nl := old
		nl.Index, nl.Sealed = index, sealed
		if err := st.PutLink(ctx, nl); err != nil {
			return 0, fmt.Errorf("write the new link: %w", err)
		}
	}
	if err := moveLastLink(ctx, st, old.ParticipantID, old.Index, index); err != nil {
		return 0, err
	}
	// Every message, sent ones too: an old blind index left anywhere would
	// still tie the record to the number for whoever holds the old key.
	msgs, err := st.OutboundOf(ctx, old.ParticipantID)
	if err != nil {
		return 0, fmt.Errorf("messages: %w", err)
	}
	n := 0
	for _, m := range msgs {
		if m.LinkIndex != old.Index {
			continue
		}
		m.LinkIndex = index
		if err := st.UpdateOutbound(ctx, m); err != nil {
			return n, fmt.Errorf("message %s: %w", m.ID, err)
		}
		n++
	}
	if err := st.DeleteLink(ctx, old.Index); err != nil {
		return n, fmt.Errorf("delete the old link: %w", err)
	}
	return n, nil
}

// moveLastLink points a participant's replies at the new index if they
// went to the old one. A message from the person may change the record at
// the same moment; the store then refuses the save and it is read again.
func moveLastLink(ctx context.Context, st rekeyStore, pid, from, to string) error {
	for try := 1; ; try++ {
		p, err := st.GetParticipant(ctx, pid)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("participant: %w", err)
		case p.LastLink != from:
			return nil
		}
		p.LastLink = to
		err = st.UpdateParticipant(ctx, p)
		if errors.Is(err, store.ErrStale) && try < 5 {
			continue
		}
		if err != nil {
			return fmt.Errorf("participant's reply link: %w", err)
		}
		return nil
	}
}
