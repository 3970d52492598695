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
	// place is where the body is stored, so that a read finds its chunks without looking the body record up by
	// its hash (a descent to a random leaf per message); zero in an entry of version 1, written before schema 4.
	place bodyPlace
}

// bodyPlace is what an entry records of its body besides the hash: its sequence number and the range of its root
// header (from the parse result), the two things a FETCH of headers or whole messages needs of the body record.
type bodyPlace struct {
	seq         uint64 // 0: not recorded
	header      bool   // headerStart and headerEnd are known
	headerStart int64
	headerEnd   int64
}

func (e *entry) size() int64 { return int64(len(e.trace)) + e.bodySize }

// newEntry is the entry of a new message in some mailbox, pointing at the stored body ref.
func newEntry(ref bodyRef, flags flagSet, date time.Time, trace []byte) *entry {
	return &entry{flags: flags, date: date, bodySize: ref.size, body: ref.id, trace: trace, place: ref.place}
}

// encodeEntry writes version 2, which adds the body's place after the fields of version 1, or version 1 for an
// entry read from version 1 (a flag change then leaves an old entry as it was).
func encodeEntry(m *entry) []byte {
	var e encoder
	version := byte(2)
	if m.place.seq == 0 {
		version = 1
	}
	e.b = append(e.b, version)
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
	if version == 2 {
		e.uint(m.place.seq)
		e.bool(m.place.header)
		e.int(m.place.headerStart)
		e.int(m.place.headerEnd)
	}
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
	version := byte(1)
	if len(v) > 0 && v[0] == 2 {
		version = 2
	}
	d.version("message", version)
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
	m.place = bodyPlace{}
	if version == 2 {
		m.place.seq = d.uint()
		m.place.header = d.bool()
		m.place.headerStart, m.place.headerEnd = d.int(), d.int()
	}
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

// addCopy stores a copy of e as the next UID of mb, sharing its body (COPY, MOVE, a handover). The copy records
// where the body is even if e, an entry of version 1, does not.
func addCopy(tx *bolt.Tx, mb *Mailbox, e *entry) (uint32, error) {
	ref, err := incBodyRef(tx, e.body)
	if err != nil {
		return 0, err
	}
	return addEntry(tx, mb, newEntry(ref, e.flags, e.date, e.trace))
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

// zone returns a fixed zone for an offset in seconds east of UTC; UTC for 0. The zones of whole quarter hours
// within a day of UTC, which real dates have, are made once: a FETCH over a mailbox decodes an entry per message,
// and time.FixedZone makes a new zone each time for an offset that is not a whole hour (India's +0530).
func zone(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	if offset%quarterHour == 0 && offset > -24*3600 && offset < 24*3600 {
		return quarterHourZones[offset/quarterHour+len(quarterHourZones)/2]
	}
	return time.FixedZone("", offset)
}

const quarterHour = 15 * 60

// quarterHourZones are the zones of offsets -23:45 to +23:45, one per quarter hour.
var quarterHourZones = func() (zones [2*24*4 - 1]*time.Location) {
	for i := range zones {
		zones[i] = time.FixedZone("", (i-len(zones)/2)*quarterHour)
	}
	return zones
}()
