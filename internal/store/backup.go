package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

var keyLastBackup = []byte("last_backup")

// BackupInfo describes one snapshot of the store: its size in bytes and the messages its mailboxes hold.
type BackupInfo struct {
	Size     int64 `json:"size"`
	Messages int64 `json:"messages"`
}

// Snapshot is a consistent view of the whole store, held open by a read transaction until Close. Writers go on
// meanwhile (a read transaction does not block them), but bbolt cannot reuse the pages they free while it is open,
// so the file may grow during a long backup of a busy store.
type Snapshot struct {
	tx   *bolt.Tx
	info BackupInfo
}

// BeginBackup opens a snapshot of the store. The caller must Close it.
func (s *Store) BeginBackup() (*Snapshot, error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("backup: begin read transaction: %w", err)
	}
	n, err := countMessages(tx)
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &Snapshot{tx: tx, info: BackupInfo{Size: tx.Size(), Messages: n}}, nil
}

// Info is the snapshot's size and message count, known before it is written.
func (sn *Snapshot) Info() BackupInfo { return sn.info }

// WriteTo writes the snapshot as a complete store file of exactly Info().Size bytes.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	n, err := sn.tx.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("backup: write snapshot: %w", err)
	}
	return n, nil
}

// Close ends the snapshot's read transaction.
func (sn *Snapshot) Close() error { return sn.tx.Rollback() }

// Backup writes one consistent snapshot of the store to w while the store stays in use.
func (s *Store) Backup(w io.Writer) (BackupInfo, error) {
	sn, err := s.BeginBackup()
	if err != nil {
		return BackupInfo{}, err
	}
	defer sn.Close()
	_, err = sn.WriteTo(w)
	return sn.Info(), err
}

// countMessages sums the mailboxes' message counters.
func countMessages(tx *bolt.Tx) (int64, error) {
	var n int64
	err := tx.Bucket(bucketMailboxes).ForEach(func(k, v []byte) error {
		m, err := decodeMailbox(v)
		if err != nil {
			return fmt.Errorf("mailbox key %x: %w", k, err)
		}
		n += int64(m.Messages)
		return nil
	})
	return n, err
}

// VerifyBackup opens the store file at path read-only and runs Check on it: a backup is good only if it opens, is
// complete, has a schema this program reads, and holds the same invariants as the live store. It returns what the
// file holds. A damaged file is an error, never a crash: bbolt panics on some malformed pages, and reading a page
// past the end of a truncated file faults.
func VerifyBackup(path string) (info BackupInfo, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s is damaged: %v", path, v)
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, err
	}
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return BackupInfo{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	s := &Store{core: &core{db: db, now: time.Now}}
	err = s.view(func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return fmt.Errorf("truncated: %d bytes, the store inside says %d", fi.Size(), tx.Size())
		}
		if err := checkBuckets(tx); err != nil {
			return err
		}
		if err := checkSchema(tx); err != nil {
			return err
		}
		info.Size = tx.Size()
		info.Messages, err = countMessages(tx)
		return err
	})
	if err != nil {
		return BackupInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.Check(); err != nil {
		return BackupInfo{}, fmt.Errorf("%s fails the integrity check: %w", path, err)
	}
	return info, nil
}

// checkBuckets makes sure the file is a mail store at all: Check reads every bucket.
func checkBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil && !slices.ContainsFunc(laterBuckets, func(b []byte) bool { return bytes.Equal(b, name) }) {
			return fmt.Errorf("not a mail store: bucket %s missing", name)
		}
	}
	return nil
}

// checkSchema refuses a file written by a newer program, whose layout this one cannot read correctly.
func checkSchema(tx *bolt.Tx) error {
	v := tx.Bucket(bucketMeta).Get(keySchema)
	if v == nil {
		return errors.New("not a mail store: no schema version")
	}
	d := decoder{b: v}
	if version := int(d.uint()); version > SchemaVersion {
		return fmt.Errorf("store schema version %d is newer than this program's %d: upgrade mailserver", version, SchemaVersion)
	}
	return nil
}

// LastBackup is the note of the last successful backup, kept in the store for status output and metrics.
type LastBackup struct {
	Time     time.Time
	File     string // where it was written; "-" for standard output
	Size     int64
	Messages int64
}

// RecordBackup notes a successful backup.
func (s *Store) RecordBackup(b LastBackup) error {
	var e encoder
	e.b = append(e.b, 1)
	e.int(b.Time.UnixNano())
	e.string(b.File)
	e.int(b.Size)
	e.int(b.Messages)
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		return tx.Bucket(bucketMeta).Put(keyLastBackup, e.b)
	})
}

// LastBackupNote returns the last successful backup recorded; ok is false if none was.
func (s *Store) LastBackupNote() (b LastBackup, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyLastBackup)
		if v == nil {
			return nil
		}
		d := decoder{b: v}
		d.version("last backup", 1)
		b = LastBackup{Time: time.Unix(0, d.int()), File: d.string(), Size: d.int(), Messages: d.int()}
		ok = d.err == nil
		return d.err
	})
	return b, ok, err
}

// NewUIDValidities gives every mailbox a new UIDVALIDITY in one transaction, keeping UIDNEXT, and returns how many
// it changed. A store restored from a backup would hand out again the UIDs given after the backup was taken; with a
// new UIDVALIDITY, clients drop what they cached instead of mixing old and new messages (RFC 9051 2.3.1.1). Modseqs
// need nothing more: a client's cached HIGHESTMODSEQ belongs to the old UIDVALIDITY. The expunge logs are dropped.
func (s *Store) NewUIDValidities() (int, error) {
	var n int
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		boxes, err := allMailboxesTx(tx)
		if err != nil {
			return err
		}
		for _, m := range boxes {
			m.UIDValidity = s.nextUIDValidity(tx)
			if err := dropExpungeLog(tx, &m); err != nil { // it speaks of the old UIDVALIDITY's UIDs
				return fmt.Errorf("mailbox %q: %w", m.Name, err)
			}
			if err := putMailbox(tx, m); err != nil {
				return fmt.Errorf("mailbox %q: %w", m.Name, err)
			}
		}
		n = len(boxes)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("new UIDVALIDITY: %w", err)
	}
	return n, nil
}
