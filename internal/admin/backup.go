package admin

import (
	"fmt"
	"time"

	"mailserver/internal/store"
)

// BackupNote is the record of a successful backup, kept in the store for status output and metrics.
type BackupNote struct {
	Time     time.Time `json:"time"`
	File     string    `json:"file"` // "-" for standard output
	Size     int64     `json:"size"`
	Messages int64     `json:"messages"`
}

// BeginBackup opens a consistent snapshot of the store; the caller writes it out and closes it.
func (s *Service) BeginBackup() (*store.Snapshot, error) { return s.st.BeginBackup() }

// RecordBackup notes a backup that was written and verified, with its audit record.
func (s *Service) RecordBackup(n BackupNote) error {
	detail := fmt.Sprintf("%d bytes, %d messages", n.Size, n.Messages)
	return s.audited("backup", n.File, detail).RecordBackup(store.LastBackup(n))
}

// LastBackup returns the last backup recorded, or nil if there was none.
func (s *Service) LastBackup() (*BackupNote, error) {
	b, ok, err := s.st.LastBackupNote()
	if err != nil || !ok {
		return nil, err
	}
	n := BackupNote(b)
	return &n, nil
}

// Restored gives every mailbox of a store just restored from the backup file from a new UIDVALIDITY, so that
// clients drop what they cached (RFC 9051 2.3.1.1), and records the restore in the audit trail. It returns the
// number of mailboxes changed.
func (s *Service) Restored(from string) (int, error) {
	return s.audited("restore", from, "every mailbox has a new UIDVALIDITY").NewUIDValidities()
}
