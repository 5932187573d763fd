package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/waymark-atd/waymark/internal/seal"
)

// Key returns the secret key that seals addresses. In embedded mode with no
// WAYMARK_SECRET_KEY, a key is generated once into the data directory and
// reused after; generated reports that this happened, so the caller can warn
// that losing the file means losing every stored address.
func (c Config) Key() (key []byte, generated bool, err error) {
	if c.SecretKey != "" {
		k, err := seal.ParseKey(c.SecretKey)
		return k, false, err
	}
	path := c.KeyFile()
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := seal.ParseKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, false, fmt.Errorf("config: key file %s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("config: read key file: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("config: create data dir: %w", err)
	}
	encoded := seal.NewKey()
	// O_EXCL: two processes starting at once must not write different keys.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return c.Key()
	}
	if err != nil {
		return nil, false, fmt.Errorf("config: create key file: %w", err)
	}
	if _, err := f.WriteString(encoded + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("config: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("config: write key file: %w", err)
	}
	k, err := seal.ParseKey(encoded)
	return k, true, err
}
