package store

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditRecord is one entry of the audit trail: who did what, to what, when, from where.
type AuditRecord struct {
	Time   time.Time
	Actor  string // the account that acted, or "admin" (with the OS user) for the CLI
	Action string // e.g. "user.add", "share.grant", "shared.expunge", "send-as"
	Target string // the address, unit or mailbox acted on
	Detail string // what changed, in words
	From   string // the client's address, or "cli"
}

// AuditFilter narrows AuditLog; zero fields match everything.
type AuditFilter struct {
	Account string    // Actor or Target equal to this address
	Mailbox string    // Target equal to this mailbox address, or one of its folders (address/folder)
	Since   time.Time // at or after
	Limit   int       // the newest Limit records; 0: all
}

// AddAudit appends a record to the audit trail on its own, for events that change nothing else in the store.
// A record of a change goes with the change: WithAudit.
func (s *Store) AddAudit(r AuditRecord) error {
	return s.WithAudit(r).update(func(*bolt.Tx, *changes) error { return nil })
}

func putAudit(tx *bolt.Tx, r AuditRecord) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	key := binary.BigEndian.AppendUint64(u64key(uint64(r.Time.UnixNano())), seq)
	var e encoder
	e.b = append(e.b, 1)
	e.string(r.Actor)
	e.string(r.Action)
	e.string(r.Target)
	e.string(r.Detail)
	e.string(r.From)
	b.FillPercent = 1.0 // keys only grow
	return b.Put(key, e.b)
}

// AuditLog returns the matching records, oldest first.
func (s *Store) AuditLog(f AuditFilter) ([]AuditRecord, error) {
	var out []AuditRecord
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		start := u64key(0)
		if !f.Since.IsZero() && f.Since.UnixNano() > 0 {
			start = u64key(uint64(f.Since.UnixNano()))
		}
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			r, err := decodeAudit(k, v)
			if err != nil {
				return err
			}
			if f.matches(r) {
				out = append(out, r)
			}
		}
		return nil
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, err
}

func (f AuditFilter) matches(r AuditRecord) bool {
	if a := strings.ToLower(f.Account); a != "" && r.Actor != a && r.Target != a {
		return false
	}
	if m := strings.ToLower(f.Mailbox); m != "" && r.Target != m && !strings.HasPrefix(r.Target, m+"/") {
		return false // "an@x" matches an@x and an@x/INBOX, not tran@x
	}
	return true
}

func decodeAudit(k, v []byte) (AuditRecord, error) {
	if len(k) != 16 {
		return AuditRecord{}, fmt.Errorf("audit key %x: malformed", k)
	}
	d := decoder{b: v}
	d.version("audit", 1)
	r := AuditRecord{Time: time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))), Actor: d.string(), Action: d.string(),
		Target: d.string(), Detail: d.string(), From: d.string()}
	return r, d.err
}
