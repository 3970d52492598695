package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// entry is one message in one mailbox. It is small on purpose: flag updates rewrite the leaf it lives in.
type entry struct {
	flags    flagSet
	date     time.Time // INTERNALDATE
	bodySize int64
	modSeq   uint64
	body     BodyID
	trace    []byte // per-recipient header lines, prepended to the body on fetch
}

func (e *entry) size() int64 { return int64(len(e.trace)) + e.bodySize }

func encodeEntry(m *entry) []byte {
	var e encoder
	e.b = append(e.b, 1)
	e.uint(m.flags.bits)
	e.strings(m.flags.keywords)
	// Seconds and the zone offset: INTERNALDATE has second precision and a zone (RFC 3501 2.3.3), and UnixNano
	// would overflow for dates a client may APPEND (before 1678 or after 2262).
	_, offset := m.date.Zone()
	e.int(m.date.Unix())
	e.int(int64(offset))
	e.int(m.bodySize)
	e.uint(m.modSeq)
	e.b = append(e.b, m.body[:]...)
	e.bytes(m.trace)
	return e.b
}

func decodeEntry(v []byte) (*entry, error) {
	m := &entry{}
	if err := decodeEntryView(v, m); err != nil {
		return m, err
	}
	m.trace = append([]byte(nil), m.trace...)
	return m, nil
}

// decodeEntryView decodes into m without copying: m.trace points into v, which usually lives in a bbolt page.
func decodeEntryView(v []byte, m *entry) error {
	d := decoder{b: v}
	d.version("message", 1)
	m.flags = flagSet{bits: d.uint(), keywords: d.strings()}
	sec, offset := d.int(), d.int()
	m.date = time.Unix(sec, 0).In(zone(int(offset)))
	m.bodySize = d.int()
	m.modSeq = d.uint()
	if d.err == nil && len(d.b) >= len(m.body) {
		copy(m.body[:], d.b)
		d.b = d.b[len(m.body):]
	} else {
		d.fail()
	}
	m.trace = d.view()
	return d.err
}

func messagesBucket(tx *bolt.Tx, mailboxID uint64) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketMessages).Bucket(u64key(mailboxID))
	if b == nil {
		return nil, fmt.Errorf("mailbox #%d: %w", mailboxID, ErrMailboxNotFound)
	}
	return b, nil
}

func uidOf(k []byte) uint32 { return binary.BigEndian.Uint32(k) }

// addEntry stores m as the next UID of mb, updating mb's counters (the caller saves mb).
func addEntry(tx *bolt.Tx, mb *Mailbox, m *entry) (uint32, error) {
	b, err := messagesBucket(tx, mb.ID)
	if err != nil {
		return 0, err
	}
	uid := mb.UIDNext
	mb.UIDNext++
	mb.HighestModSeq++
	m.modSeq = mb.HighestModSeq
	mb.Messages++
	mb.Size += m.size()
	if !m.flags.seen() {
		mb.Unseen++
	}
	if m.flags.deleted() {
		mb.Deleted++
	}
	for _, k := range m.flags.keywords {
		mb.addKeyword(k)
	}
	b.FillPercent = 0.9 // UIDs only grow: pack leaves
	return uid, b.Put(u32key(uid), encodeEntry(m))
}

// removeEntry deletes a message from mb, releasing its body (the caller saves mb and the account).
func removeEntry(tx *bolt.Tx, b *bolt.Bucket, mb *Mailbox, a *Account, uid uint32, m *entry) error {
	if err := b.Delete(u32key(uid)); err != nil {
		return err
	}
	mb.Messages--
	mb.Size -= m.size()
	if !m.flags.seen() {
		mb.Unseen--
	}
	if m.flags.deleted() {
		mb.Deleted--
	}
	a.Used -= m.size()
	return releaseBody(tx, m.body)
}

// newKeywords returns m's keyword list if it is longer than before (a count taken before the change), else nil.
func (m *Mailbox) newKeywords(before int) []string {
	if len(m.Keywords) > before {
		return append([]string(nil), m.Keywords...)
	}
	return nil
}

func (m *Mailbox) addKeyword(k string) {
	fs := flagSet{keywords: m.Keywords}
	fs.addKeyword(k)
	m.Keywords = fs.keywords
}

// zone returns a fixed zone for an offset in seconds east of UTC; UTC for 0.
func zone(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", offset)
}
