package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// A running `waymark serve` on the embedded store offers consistent copies
// of its data file on a Unix socket in the data directory. The directory
// is the service user's alone (0700), so the file system decides who may
// take a backup; nothing is exposed on the network. `waymark backup` uses
// the socket when serve runs, and opens the file itself when it does not.
const backupSocketName = "backup.sock"

// backupHeader starts every stream, with the size of the copy after it,
// so that the receiver can tell a whole copy from one cut short.
const backupHeader = "WAYMARK-BACKUP 1 "

// backupTimeout bounds one backup over the socket, so that a stalled
// reader cannot hold a read transaction, and shutdown, for ever.
const backupTimeout = 30 * time.Minute

type backupSource interface {
	Backup(w io.Writer, size func(int64) error) (int64, error)
}

// offerBackups serves backups of st on the data directory's socket until
// the returned function is called. A store that cannot be copied this way
// (Redis, which has its own AOF and snapshots) gets no socket.
func offerBackups(dataDir string, st store.Store, log *slog.Logger) (stop func()) {
	src, ok := st.(backupSource)
	if !ok {
		return func() {}
	}
	path := filepath.Join(dataDir, backupSocketName)
	_ = os.Remove(path) // left behind by a process that was killed
	l, err := net.Listen("unix", path)
	if err != nil {
		log.Warn("hot backups are not available; stop the service to copy the data file", "err", err)
		return func() {}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		log.Warn("backup socket permissions", "err", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return // closed
			}
			wg.Go(func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(backupTimeout))
				w := bufio.NewWriterSize(conn, 1<<16)
				n, err := src.Backup(w, func(size int64) error {
					_, err := fmt.Fprintf(w, "%s%d\n", backupHeader, size)
					return err
				})
				if err == nil {
					err = w.Flush()
				}
				if err != nil {
					log.Warn("backup over the socket failed", "err", err)
					return
				}
				log.Info("backup taken", "bytes", n)
			})
		}
	})
	return func() {
		l.Close() // also removes the socket file
		wg.Wait()
	}
}

// backup writes a consistent copy of the embedded store to --to, through
// the running server if there is one, and checks the copy before putting
// it in place.
func backup(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("backup", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	to := fl.String("to", "", "file to write the copy to (replaced only once the copy is whole)")
	dataDir := fl.String("data-dir", "", "embedded store directory (overrides WAYMARK_DATA_DIR)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *to == "" {
		fmt.Fprintln(env.stderr, "waymark backup: --to FILE is required")
		return 2
	}
	overrides := map[string]string{}
	if *dataDir != "" {
		overrides["WAYMARK_DATA_DIR"] = *dataDir
	}
	cfg, _, err := config.Load(env.getenv, env.environ, overrides)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark backup: configuration is not valid:\n%v\n", err)
		return 1
	}
	if cfg.RedisURL != "" {
		fmt.Fprintln(env.stderr, "waymark backup: the store is Redis; back up its append-only file and snapshots instead (docs/operations.md, Backups)")
		return 1
	}
	n, how, err := takeBackup(ctx, cfg.DataDir, *to)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.stdout, "backup of %s (%s): %d bytes to %s\n", filepath.Join(cfg.DataDir, "waymark.db"), how, n, *to)
	return 0
}

func takeBackup(ctx context.Context, dataDir, to string) (int64, string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".partial-")
	if err != nil {
		return 0, "", err
	}
	defer os.Remove(tmp.Name()) // gone after the rename anyway
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return 0, "", err
	}

	n, how, err := fromServer(ctx, dataDir, tmp)
	if errors.Is(err, errNoServer) {
		n, how, err = fromFile(dataDir, tmp)
	}
	if err != nil {
		return 0, "", err
	}
	if err := tmp.Sync(); err != nil {
		return 0, "", err
	}
	if err := tmp.Close(); err != nil {
		return 0, "", err
	}
	if err := checkCopy(tmp.Name()); err != nil {
		return 0, "", err
	}
	if err := os.Rename(tmp.Name(), to); err != nil {
		return 0, "", err
	}
	return n, how, nil
}

var errNoServer = errors.New("no running server")

// fromServer asks the running server for the copy.
func fromServer(ctx context.Context, dataDir string, w io.Writer) (int64, string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(dataDir, backupSocketName))
	if err != nil {
		return 0, "", errNoServer // no socket, or a stale one: nobody is serving
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(backupTimeout))
	r := bufio.NewReaderSize(conn, 1<<16)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, backupHeader) {
		return 0, "", fmt.Errorf("the running server did not start a backup (%v); see its log", err)
	}
	size, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, backupHeader)), 10, 64)
	if err != nil || size <= 0 {
		return 0, "", fmt.Errorf("the running server sent a bad backup header")
	}
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err != nil {
		return n, "", fmt.Errorf("receiving the copy: %w", err)
	}
	if n != size {
		return n, "", fmt.Errorf("the copy was cut short at %d of %d bytes; see the server's log", n, size)
	}
	return n, "from the running server", nil
}

// fromFile copies the data file when no server holds it.
func fromFile(dataDir string, w io.Writer) (int64, string, error) {
	path := filepath.Join(dataDir, "waymark.db")
	if _, err := os.Stat(path); err != nil {
		return 0, "", fmt.Errorf("no data file: %w", err)
	}
	st, err := bolt.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("%w (is waymark serve running with another data directory, or without its backup socket?)", err)
	}
	defer st.Close()
	n, err := st.Backup(w, nil)
	return n, "from the file, no server running", err
}

// checkCopy opens the copy read-only and checks every page, so that a
// backup that could not be restored is never put in place.
func checkCopy(path string) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("the copy is damaged: %w", errors.Join(errs...))
		}
		return nil
	})
}
