package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// BenchmarkHeaderCopyBackfill times the copier giving every body of a store written before header copies its copy,
// with real fsync, as the background indexer does after such a store opens (without its yields to deliveries):
// 20,000 bodies of 20 KiB, reported per 100,000. The file is in the page cache, as it is just written.
func BenchmarkHeaderCopyBackfill(b *testing.B) {
	const bodies = 20_000
	s, err := Open(filepath.Join(b.TempDir(), "mail.db"), Options{NoIndexer: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.AddDomain("example.gov.vn"); err != nil {
		b.Fatal(err)
	}
	a, err := s.AddAccount(Account{Address: "user@example.gov.vn"})
	if err != nil {
		b.Fatal(err)
	}
	inbox, err := s.Mailbox(a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	padding := bytes.Repeat([]byte("Nội dung báo cáo tuần của phòng hành chính.\r\n"), 20<<10/48)
	meta := message.Parse(append(fmt.Appendf(nil, benchSubject, 0), padding...)).Meta()
	for start := 0; start < bodies; start += 500 {
		var batch []AppendMessage
		for n := start; n < start+500; n++ {
			body := append(fmt.Appendf(nil, benchSubject, n), padding...)
			batch = append(batch, AppendMessage{NewMessage: NewMessage{Body: body, Meta: meta}})
		}
		if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	batches := 0
	for b.Loop() {
		b.StopTimer()
		err := s.db.Update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketMeta).Delete(keyHeaderCopies); err != nil {
				return err
			}
			if err := tx.DeleteBucket(bucketHeaders); err != nil {
				return err
			}
			_, err := tx.CreateBucket(bucketHeaders)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if batches, err = s.CopyHeadersPending(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*100_000/bodies, "s/100k")
	b.ReportMetric(float64(batches), "batches")
}
