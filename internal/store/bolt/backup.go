package bolt

import (
	"fmt"
	"io"

	bbolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole data file to w while the
// store stays in use: one read transaction sees the file as it was at one
// instant, and bbolt keeps the pages it reads from being reused until it
// ends. It returns the size first, through size, so that a reader at the
// other end of a pipe can tell a whole copy from a cut one.
func (s *Store) Backup(w io.Writer, size func(int64) error) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		if size != nil {
			if err := size(tx.Size()); err != nil {
				return err
			}
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("bolt: backup: %w", err)
	}
	return n, nil
}
