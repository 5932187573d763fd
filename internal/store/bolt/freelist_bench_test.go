package bolt

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// BenchmarkCommitAfterPurge measures one small durable write in a file a
// purge has left with many free pages, as retention leaves one after a
// year, with the free-page list written at every commit (bbolt's default)
// and kept in memory only (fileOptions). It also reports how long opening
// that file takes, which with the list kept in memory walks the file.
//
//	go test -run '^$' -bench CommitAfterPurge -benchtime 300x ./internal/store/bolt/
func BenchmarkCommitAfterPurge(b *testing.B) {
	for _, c := range []struct {
		name string
		opts *bbolt.Options
	}{
		{"list-written", &bbolt.Options{Timeout: openTimeout}},
		{"list-in-memory", fileOptions},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "w.db")
			db, err := bbolt.Open(path, 0o600, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			value := make([]byte, 200) // about a check-in's or a message's record
			for chunk := range 10 {
				err := db.Update(func(tx *bbolt.Tx) error {
					bk, err := tx.CreateBucketIfNotExists([]byte("purged"))
					if err != nil {
						return err
					}
					for i := range 30_000 {
						if err := bk.Put(fmt.Appendf(nil, "%02d%07d", chunk, i), value); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("purged")) }); err != nil {
				b.Fatal(err)
			}
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			began := time.Now()
			if db, err = bbolt.Open(path, 0o600, c.opts); err != nil {
				b.Fatal(err)
			}
			opened := time.Since(began)
			defer db.Close()

			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				err := db.Update(func(tx *bbolt.Tx) error {
					bk, err := tx.CreateBucketIfNotExists([]byte("live"))
					if err != nil {
						return err
					}
					return bk.Put(fmt.Appendf(nil, "%09d", i), value)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(opened.Microseconds())/1000, "open_ms")
		})
	}
}
