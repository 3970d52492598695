package store

import (
	"bytes"
	"encoding/binary"
	"errors"
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

// deleteSourceMarks forgets a removed account's import marks and copy records.
func deleteSourceMarks(tx *bolt.Tx, accountID uint64) error {
	prefix := u64key(accountID)
	for _, name := range [][]byte{bucketImportSources, bucketImportCopies} {
		c := tx.Bucket(name).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}

// SourceRef names one message on a source server: its folder there, the folder's UIDVALIDITY and its UID.
type SourceRef struct {
	Folder      string   `json:"folder"`
	UIDValidity uint32   `json:"uidvalidity"`
	UID         uint32   `json:"uid"`
	Flags       []string `json:"flags,omitempty"` // its flags there when it was copied
}

// SourceFlags are the flags a source server shows for one of its messages now.
type SourceFlags struct {
	UID   uint32   `json:"uid"`
	Flags []string `json:"flags"`
}

// copyKey is the key of a copied message's record: account id, source, NUL, source folder, NUL, source UID. A
// folder name holds no NUL (RFC 9051 5.1).
func copyKey(accountID uint64, source, folder string, uid uint32) []byte {
	k := append(sourceKey(accountID, source, folder), 0)
	return binary.BigEndian.AppendUint32(k, uid)
}

// copyRecord is where a source's message was copied, and its flags there as last seen.
type copyRecord struct {
	uidValidity uint32
	mailboxID   uint64
	uid         uint32
	flags       []string
}

func encodeCopy(r copyRecord) []byte {
	var e encoder
	e.uint(uint64(r.uidValidity))
	e.uint(r.mailboxID)
	e.uint(uint64(r.uid))
	e.strings(r.flags)
	return e.b
}

func decodeCopy(v []byte) (copyRecord, error) {
	d := decoder{b: v}
	r := copyRecord{uidValidity: uint32(d.uint()), mailboxID: d.uint(), uid: uint32(d.uint()), flags: d.strings()}
	return r, d.err
}

// remember records where a message from a source server was stored (or found already stored).
func (t *importTx) remember(m *ImportMessage, mailboxID uint64, uid uint32) error {
	if m.From == nil || t.source == "" {
		return nil
	}
	rec := copyRecord{uidValidity: m.From.UIDValidity, mailboxID: mailboxID, uid: uid, flags: m.From.Flags}
	return t.tx.Bucket(bucketImportCopies).Put(copyKey(t.account.ID, t.source, m.From.Folder, m.From.UID), encodeCopy(rec))
}

// SyncSourceFlags brings the flag changes made on a source server since its messages were copied over to the
// copies here: a flag set there since is set here and one cleared there since is cleared here, so that what the
// user changed on this side in the meantime stays as it is. Messages copied under another UIDVALIDITY, not copied
// at all, or expunged here since are left alone. It returns how many copies changed.
func (s *Store) SyncSourceFlags(accountID uint64, source, folder string, uidValidity uint32, msgs []SourceFlags) (int, error) {
	var changed int
	err := s.update(func(tx *bolt.Tx, ch *changes) error {
		changed = 0
		copies := tx.Bucket(bucketImportCopies)
		boxes := map[uint64]*flagSync{}
		for _, m := range msgs {
			key := copyKey(accountID, source, folder, m.UID)
			v := copies.Get(key)
			if v == nil {
				continue
			}
			rec, err := decodeCopy(v)
			if err != nil {
				return fmt.Errorf("copy record of %s UID %d: %w", folder, m.UID, err)
			}
			if rec.uidValidity != uidValidity {
				continue
			}
			before, now := parseFlags(rec.flags), parseFlags(m.Flags)
			if before.equal(now) {
				continue
			}
			box, err := openFlagSync(tx, boxes, rec.mailboxID)
			if errors.Is(err, ErrMailboxNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			done, err := box.apply(rec.uid, now.apply(FlagsRemove, before), before.apply(FlagsRemove, now))
			if err != nil {
				return err
			}
			if done {
				changed++
			}
			rec.flags = now.list()
			if err := copies.Put(key, encodeCopy(rec)); err != nil {
				return err
			}
		}
		for _, box := range boxes {
			if err := box.finish(tx, ch); err != nil {
				return err
			}
		}
		return nil
	})
	return changed, err
}

// flagSync is one mailbox whose messages' flags a sync changes.
type flagSync struct {
	mb       Mailbox
	b        *bolt.Bucket
	keywords int
	changed  []FlagChange
}

func openFlagSync(tx *bolt.Tx, boxes map[uint64]*flagSync, mailboxID uint64) (*flagSync, error) {
	if box, ok := boxes[mailboxID]; ok {
		return box, nil
	}
	mb, err := getMailboxByID(tx, mailboxID)
	if err != nil {
		return nil, err
	}
	b, err := messagesBucket(tx, mailboxID)
	if err != nil {
		return nil, err
	}
	box := &flagSync{mb: mb, b: b, keywords: len(mb.Keywords)}
	boxes[mailboxID] = box
	return box, nil
}

// apply adds and removes flags of one message, and tells whether they changed (false too when it is gone).
func (f *flagSync) apply(uid uint32, add, remove flagSet) (bool, error) {
	var done bool
	err := eachEntry(f.b, []uint32{uid}, func(uid uint32, e *entry) error {
		next := e.flags.apply(FlagsAdd, add).apply(FlagsRemove, remove)
		if next.equal(e.flags) {
			return nil
		}
		modSeq := f.mb.flagsChanged(e.flags, next)
		e.flags, e.modSeq = next, modSeq
		f.changed = append(f.changed, FlagChange{UID: uid, Flags: next.list(), ModSeq: e.modSeq})
		done = true
		return f.b.Put(u32key(uid), encodeEntry(e))
	})
	return done, err
}

func (f *flagSync) finish(tx *bolt.Tx, ch *changes) error {
	if len(f.changed) == 0 {
		return nil
	}
	ch.add(Change{MailboxID: f.mb.ID, Flags: f.changed, Keywords: f.mb.newKeywords(f.keywords)})
	return putMailbox(tx, f.mb)
}
