package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SourceMark says how far an import has read one folder of a source that numbers its messages, an IMAP server:
// every message up to LastUID of the folder as it was under UIDValidity is stored (or reported failed). A re-run
// asks only for the messages after it; when the source's UIDVALIDITY has changed, its UIDs mean other messages
// and the folder is read again from the start (the import keys then keep the copies from doubling).
type SourceMark struct {
	Folder      string // the source's own name of the folder
	UIDValidity uint32
	LastUID     uint32
}

// sourceKey is the key of a folder's mark: account id, source, NUL, folder. A source name holds no NUL.
func sourceKey(accountID uint64, source, folder string) []byte {
	k := append(u64key(accountID), source...)
	k = append(k, 0)
	return append(k, folder...)
}

func putSourceMarks(tx *bolt.Tx, accountID uint64, source string, marks []SourceMark) error {
	if len(marks) == 0 {
		return nil
	}
	if source == "" || bytes.IndexByte([]byte(source), 0) >= 0 {
		return fmt.Errorf("import source %q: %w", source, ErrInvalidName)
	}
	b := tx.Bucket(bucketImportSources)
	for _, m := range marks {
		var e encoder
		e.uint(uint64(m.UIDValidity))
		e.uint(uint64(m.LastUID))
		if err := b.Put(sourceKey(accountID, source, m.Folder), e.b); err != nil {
			return fmt.Errorf("save the import mark of %q: %w", m.Folder, err)
		}
	}
	return nil
}

// SourceMarks returns the marks saved for the account's imports from source, one per folder read so far.
func (s *Store) SourceMarks(accountID uint64, source string) ([]SourceMark, error) {
	var marks []SourceMark
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := sourceKey(accountID, source, "")
		c := tx.Bucket(bucketImportSources).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			d := decoder{b: v}
			m := SourceMark{Folder: string(k[len(prefix):]), UIDValidity: uint32(d.uint()), LastUID: uint32(d.uint())}
			if d.err != nil {
				return fmt.Errorf("import mark of %q: %w", m.Folder, d.err)
			}
			marks = append(marks, m)
		}
		return nil
	})
	return marks, err
}

// deleteSourceMarks forgets a removed account's import marks.
func deleteSourceMarks(tx *bolt.Tx, accountID uint64) error {
	prefix := u64key(accountID)
	c := tx.Bucket(bucketImportSources).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
