package outbox_test

import (
	"path/filepath"
	"testing"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// openStore opens the embedded store at path; it is closed when the test
// ends (closing twice does nothing).
func openStore(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestStore(t testing.TB) store.Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "waymark.db"))
}
