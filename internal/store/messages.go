package store

import (
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Message is one stored message as FETCH and SEARCH see it.
type Message struct {
	UID          uint32
	Flags        []string
	InternalDate time.Time
	Size         int64 // RFC822.SIZE: len(Trace) + BodySize
	ModSeq       uint64
	Body         BodyID
	BodySize     int64
	Trace        []byte
	Meta         []byte // only with FetchOptions.Meta
	Text         []byte // only with FetchOptions.Text
	// HeaderStart and HeaderEnd are the byte range of the root header in the body, with FetchOptions.Header;
	// HasHeader is false when the parse result could not tell.
	HeaderStart, HeaderEnd int64
	HasHeader              bool
	// ShortHeader is the root header without its trace and signature fields (message.AppendShortHeader), with
	// FetchOptions.Header, when the store keeps a copy of it; nil otherwise (read the range from the body). It
	// points into the store's memory like Trace.
	ShortHeader []byte
}

// FetchOptions say which of the larger per-message data to load.
type FetchOptions struct {
	Meta   bool // the parse result (envelope, body structure)
	Text   bool // the folded search text
	Header bool // the range of the root header (Message.HeaderStart) and its short copy (Message.ShortHeader)
}

// Messages returns the messages with the given UIDs (ascending), skipping UIDs that no longer exist.
func (s *Store) Messages(mailboxID uint64, uids []uint32, opts FetchOptions) ([]Message, error) {
	out := make([]Message, 0, len(uids))
	_, err := s.ViewMessages(mailboxID, uids, opts, func(m *Message, _ *BodyView) (bool, error) {
		m.Trace = append([]byte(nil), m.Trace...)
		m.Meta = append([]byte(nil), m.Meta...)
		m.Text = append([]byte(nil), m.Text...)
		m.ShortHeader = append([]byte(nil), m.ShortHeader...)
		out = append(out, *m)
		return true, nil
	})
	return out, err
}

// ViewMessages calls fn for each of uids that exists, in order, inside one read transaction, with the message and
// a reader of its body that reads inside that transaction too. m is reused for the next message, and m.Trace,
// m.Meta, m.Text and m.ShortHeader, and the slices body hands out, point into the store's memory map: they are
// valid only until fn returns, and fn must not write to the network or wait on anything slow, since an open read
// transaction keeps freed pages from reuse. fn returns false to stop early; ViewMessages returns how many of uids
// it went through (all of them unless fn stopped).
func (s *Store) ViewMessages(mailboxID uint64, uids []uint32, opts FetchOptions,
	fn func(m *Message, body *BodyView) (more bool, err error)) (done int, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		b, err := messagesBucket(tx, mailboxID)
		if err != nil {
			return err
		}
		texts := storedTexts{b: tx.Bucket(bucketTexts), buf: newTextBuffer()}
		defer texts.buf.release()
		bodies, chunks := tx.Bucket(bucketBodies).Cursor(), tx.Bucket(bucketChunks).Cursor()
		var headers *bolt.Cursor
		if opts.Header {
			headers = tx.Bucket(bucketHeaders).Cursor()
		}
		var e entry
		var m Message // one for all: handed to fn by pointer, it would otherwise be allocated per message
		var body BodyView
		entries := entryCursor{c: b.Cursor()}
		for i, uid := range uids {
			done = i + 1
			v := entries.get(uid)
			if v == nil {
				continue
			}
			if err := decodeEntryView(v, &e); err != nil {
				return fmt.Errorf("mailbox #%d uid %d: %w", mailboxID, uid, err)
			}
			m = Message{UID: uid, Flags: e.flags.list(), InternalDate: e.date, Size: e.size(), ModSeq: e.modSeq,
				Body: e.body, BodySize: e.bodySize, Trace: e.trace}
			body = BodyView{bodies: bodies, chunks: chunks, id: e.body, size: e.bodySize, seq: e.place.seq}
			if err := viewBodyData(&m, &body, e.place, texts, headers, opts); err != nil {
				return fmt.Errorf("mailbox #%d uid %d: %w", mailboxID, uid, err)
			}
			more, err := fn(&m, &body)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
	return done, err
}

// viewBodyData fills in what opts asks of m's body. Where the entry records the body's place (version 2), only
// the parse result needs the body record, looked up by hash; an entry of version 1 needs it for everything.
func viewBodyData(m *Message, body *BodyView, place bodyPlace, texts storedTexts, headers *bolt.Cursor, opts FetchOptions) error {
	if opts.Meta || place.seq == 0 && (opts.Text || opts.Header) {
		rec, err := bodyRecordAt(seekGet(body.bodies, body.id[:]), body.id, opts.Meta || opts.Header)
		if err != nil {
			return err
		}
		if place.seq == 0 {
			place = refOf(body.id, rec).place
		}
		body.seq = rec.seq
		if opts.Meta {
			m.Meta = rec.meta
		}
	}
	if opts.Text {
		var err error
		if m.Text, err = texts.get(body.seq); err != nil {
			return err
		}
	}
	if opts.Header {
		m.HeaderStart, m.HeaderEnd, m.HasHeader = place.headerStart, place.headerEnd, place.header
		if place.header {
			m.ShortHeader = headerCopyAt(headers, body.seq)
		}
	}
	return nil
}

// entryCursor finds the entries of ascending UIDs with one cursor: the next UID asked for is usually the next one
// stored, found without a search from the root of the bucket.
type entryCursor struct {
	c       *bolt.Cursor
	k, v    []byte
	started bool
}

// get returns the entry of uid, nil if there is none; any order of UIDs works, ascending is fastest.
func (ec *entryCursor) get(uid uint32) []byte {
	if ec.started && ec.k != nil && uidOf(ec.k) < uid {
		if ec.k, ec.v = ec.c.Next(); ec.k != nil && uidOf(ec.k) == uid {
			return ec.v
		}
	}
	ec.k, ec.v = ec.c.Seek(u32key(uid))
	ec.started = true
	if ec.k != nil && uidOf(ec.k) == uid {
		return ec.v
	}
	return nil
}

// eachEntry calls fn for each of uids that exists in b, in the order given. fn may change b: the loop does
// point lookups, not a cursor.
func eachEntry(b *bolt.Bucket, uids []uint32, fn func(uid uint32, e *entry) error) error {
	for _, uid := range uids {
		v := b.Get(u32key(uid))
		if v == nil {
			continue
		}
		e, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("uid %d: %w", uid, err)
		}
		if err := fn(uid, e); err != nil {
			return err
		}
	}
	return nil
}

// UIDs returns every UID in the mailbox, ascending.
func (s *Store) UIDs(mailboxID uint64) ([]uint32, error) {
	var uids []uint32
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		uids, err = uidsTx(tx, mailboxID)
		return err
	})
	return uids, err
}

func uidsTx(tx *bolt.Tx, mailboxID uint64) ([]uint32, error) {
	b, err := messagesBucket(tx, mailboxID)
	if err != nil {
		return nil, err
	}
	uids := make([]uint32, 0, b.Stats().KeyN)
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		uids = append(uids, uidOf(k))
	}
	return uids, nil
}

// MailboxSnapshot is a mailbox as one read transaction saw it.
type MailboxSnapshot struct {
	Mailbox Mailbox
	UIDs    []uint32 // ascending; only when asked for
	// Commit is the last commit the snapshot holds: a Change with Commit <= it is already in the snapshot.
	Commit uint64
}

// MailboxSnapshot reads the mailbox, and its UIDs when withUIDs is set, in one read transaction: it never waits for
// a write, however large the mailbox. It returns once every change the snapshot holds has been announced to the
// subscribers (as every read does, see view), so that a subscriber registered before the call can follow the
// mailbox from the snapshot on, dropping the announced changes with Commit <= MailboxSnapshot.Commit and applying
// the later ones: it misses none and sees none twice.
func (s *Store) MailboxSnapshot(mailboxID uint64, withUIDs bool) (MailboxSnapshot, error) {
	var snap MailboxSnapshot
	err := s.view(func(tx *bolt.Tx) error {
		snap.Commit = uint64(tx.ID())
		var err error
		if snap.Mailbox, err = getMailboxByID(tx, mailboxID); err != nil || !withUIDs {
			return err
		}
		if hook := s.snapshotHook; hook != nil {
			hook()
		}
		snap.UIDs, err = uidsTx(tx, mailboxID)
		return err
	})
	if err != nil {
		return MailboxSnapshot{}, err
	}
	return snap, nil
}

// RecentClaim is what a read-write SELECT claimed as recent: the UIDs above Above, up to UpTo.
type RecentClaim struct{ Above, UpTo uint32 }

// ClaimRecent raises the mailbox's RecentUID to its last UID, in a small write that compares and raises inside
// its transaction, and returns the UIDs it claimed: they are \Recent for the claiming session alone (RFC 3501
// 2.3.2: a message is recent in the first session to select the mailbox after it arrived, and in no later one).
// Two sessions claiming at once get disjoint ranges. A mailbox with nothing new is not written.
func (s *Store) ClaimRecent(mailboxID uint64) (RecentClaim, error) {
	var claim RecentClaim
	var fresh bool
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		claim, fresh, err = claimRecentTx(tx, mailboxID)
		return err
	})
	if err != nil || !fresh {
		return claim, err
	}
	err = s.update(func(tx *bolt.Tx, _ *changes) error {
		var err error
		if claim, fresh, err = claimRecentTx(tx, mailboxID); err != nil || !fresh {
			return err
		}
		mb, err := getMailboxByID(tx, mailboxID)
		if err != nil {
			return err
		}
		mb.RecentUID = claim.UpTo
		return putMailbox(tx, mb)
	})
	return claim, err
}

// claimRecentTx is what a claim made in tx would get, and whether that is anything.
func claimRecentTx(tx *bolt.Tx, mailboxID uint64) (claim RecentClaim, fresh bool, err error) {
	mb, err := getMailboxByID(tx, mailboxID)
	if err != nil {
		return RecentClaim{}, false, err
	}
	claim = RecentClaim{Above: mb.RecentUID, UpTo: max(mb.RecentUID, mb.UIDNext-1)}
	if mb.NoSelect {
		claim.UpTo = claim.Above
	}
	return claim, claim.UpTo > claim.Above, nil
}

// RaiseRecentUID records that the messages up to uid have been recent in some session: those that arrived while
// a session held the mailbox selected, which only that session saw as recent.
func (s *Store) RaiseRecentUID(mailboxID uint64, uid uint32) error {
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		mb, err := getMailboxByID(tx, mailboxID)
		if err != nil || uid <= mb.RecentUID {
			return err
		}
		mb.RecentUID = uid
		return putMailbox(tx, mb)
	})
}

// CountUIDsAbove counts the mailbox's messages with a UID above uid (STATUS RECENT).
func (s *Store) CountUIDsAbove(mailboxID uint64, uid uint32) (uint32, error) {
	var n uint32
	if uid == math.MaxUint32 {
		return 0, nil
	}
	err := s.view(func(tx *bolt.Tx) error {
		b, err := messagesBucket(tx, mailboxID)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, _ := c.Seek(u32key(uid + 1)); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// SetFlags changes the flags of the given messages and returns their resulting flags (changed or not), in
// ascending UID order, skipping UIDs that no longer exist. Each changed message gets a new modseq.
func (s *Store) SetFlags(mailboxID uint64, uids []uint32, op FlagOp, flags []string, origin any) ([]FlagChange, error) {
	out, _, err := s.SetFlagsUnchangedSince(mailboxID, uids, op, flags, NoModSeqCondition, origin)
	return out, err
}

// NoModSeqCondition is the unchangedSince that lets SetFlagsUnchangedSince change every message.
const NoModSeqCondition = ^uint64(0)

// SetFlagsUnchangedSince is SetFlags for messages whose modseq is at most unchangedSince; it leaves the others
// alone and returns their UIDs as modified, all in one transaction (STORE UNCHANGEDSINCE, RFC 7162 3.1.3).
func (s *Store) SetFlagsUnchangedSince(mailboxID uint64, uids []uint32, op FlagOp, flags []string, unchangedSince uint64,
	origin any) (out []FlagChange, modified []uint32, err error) {
	req := parseFlags(flags)
	err = s.update(func(tx *bolt.Tx, ch *changes) error {
		out, modified = nil, nil
		mb, err := getMailboxByID(tx, mailboxID)
		if err != nil {
			return err
		}
		b, err := messagesBucket(tx, mailboxID)
		if err != nil {
			return err
		}
		keywords, highest := len(mb.Keywords), mb.HighestModSeq
		w := flagWriter{b: b, mb: &mb, op: op, req: req, unchangedSince: unchangedSince}
		if err := w.plan(uids); err != nil {
			return err
		}
		if err := w.write(); err != nil {
			return err
		}
		out, modified = w.out, w.modified
		changed := w.changed(highest)
		if len(changed) == 0 {
			return nil
		}
		ch.add(Change{MailboxID: mailboxID, Origin: origin, Flags: changed, Keywords: mb.newKeywords(keywords)})
		return putMailbox(tx, mb)
	})
	return out, modified, err
}

// countFlags adds (sign +1) or removes (-1) a message's contribution to the unseen and deleted counters.
func (m *Mailbox) countFlags(fs flagSet, sign int) {
	if !fs.seen() {
		m.Unseen = uint32(int(m.Unseen) + sign)
	}
	if fs.deleted() {
		m.Deleted = uint32(int(m.Deleted) + sign)
	}
}

// Expunge removes the messages flagged \Deleted, limited to uids when uids is not nil, and returns the removed UIDs.
func (s *Store) Expunge(mailboxID uint64, uids []uint32, origin any) ([]uint32, error) {
	var removed []uint32
	err := s.update(func(tx *bolt.Tx, ch *changes) error {
		removed = nil
		mb, err := getMailboxByID(tx, mailboxID)
		if err != nil {
			return err
		}
		a, err := getAccountByID(tx, mb.AccountID)
		if err != nil {
			return err
		}
		b, err := messagesBucket(tx, mailboxID)
		if err != nil {
			return err
		}
		candidates := uids // not uids itself: the function may run again, and must then read the mailbox again
		if candidates == nil {
			if candidates, err = uidsTx(tx, mailboxID); err != nil {
				return err
			}
		}
		err = eachEntry(b, candidates, func(uid uint32, e *entry) error {
			if !e.flags.deleted() {
				return nil
			}
			removed = append(removed, uid)
			if err := logExpunge(tx, &mb, uid); err != nil {
				return err
			}
			return removeEntry(tx, b, &mb, &a, uid, e)
		})
		if err != nil || len(removed) == 0 {
			return err
		}
		ch.add(Change{MailboxID: mailboxID, Origin: origin, Expunged: removed})
		if err := putMailbox(tx, mb); err != nil {
			return err
		}
		return putAccount(tx, a)
	})
	return removed, err
}

// CopyResult maps source UIDs to the UIDs of the copies (RFC 4315 COPYUID).
type CopyResult struct {
	UIDValidity uint32
	Source      []uint32
	Dest        []uint32
}

// Copy copies messages into another mailbox, which may belong to another account. The body is shared, not copied.
func (s *Store) Copy(srcID uint64, uids []uint32, dstID uint64, origin any) (CopyResult, error) {
	return s.copyOrMove(srcID, uids, dstID, origin, false)
}

// Move moves messages into another mailbox in one transaction (RFC 6851).
func (s *Store) Move(srcID uint64, uids []uint32, dstID uint64, origin any) (CopyResult, error) {
	return s.copyOrMove(srcID, uids, dstID, origin, true)
}

func (s *Store) copyOrMove(srcID uint64, uids []uint32, dstID uint64, origin any, move bool) (CopyResult, error) {
	var res CopyResult
	err := s.update(func(tx *bolt.Tx, ch *changes) error {
		res = CopyResult{}
		src, err := getMailboxByID(tx, srcID)
		if err != nil {
			return err
		}
		dst, err := getMailboxByID(tx, dstID)
		if err != nil {
			return err
		}
		if dst.NoSelect {
			return fmt.Errorf("copy to %q: %w", dst.Name, ErrMailboxNotFound)
		}
		// Into the mailbox itself (COPY or MOVE into the selected mailbox), both sides are one record: the copies get
		// new UIDs, and a MOVE then expunges the originals (RFC 6851 3.3 allows this).
		to := &dst
		if srcID == dstID {
			to = &src
		}
		srcAcct, err := getAccountByID(tx, src.AccountID)
		if err != nil {
			return err
		}
		dstAcct := &srcAcct
		if dst.AccountID != src.AccountID {
			other, err := getAccountByID(tx, dst.AccountID)
			if err != nil {
				return err
			}
			dstAcct = &other
		}
		sb, err := messagesBucket(tx, srcID)
		if err != nil {
			return err
		}
		res.UIDValidity = to.UIDValidity
		keywords := len(to.Keywords)
		err = eachEntry(sb, uids, func(uid uint32, e *entry) error {
			dstUID, err := addCopy(tx, to, e)
			if err != nil {
				return err
			}
			dstAcct.Used += e.size()
			if move {
				if err := logExpunge(tx, &src, uid); err != nil {
					return err
				}
				if err := removeEntry(tx, sb, &src, &srcAcct, uid, e); err != nil {
					return err
				}
			}
			res.Source = append(res.Source, uid)
			res.Dest = append(res.Dest, dstUID)
			return nil
		})
		if err != nil || len(res.Source) == 0 {
			return err
		}
		if dstAcct.Quota > 0 && dstAcct.Used > dstAcct.Quota && (!move || dstAcct != &srcAcct) {
			return fmt.Errorf("copy to %q: %w", dst.Name, ErrOverQuota)
		}
		// The originals go first: a MOVE into the mailbox itself then reads as EXPUNGE, EXISTS, as Dovecot sends it,
		// and the message count never exceeds what the mailbox holds.
		if move {
			ch.add(Change{MailboxID: srcID, Origin: origin, Expunged: res.Source})
		}
		ch.add(Change{MailboxID: dstID, Appended: res.Dest, Keywords: to.newKeywords(keywords)})
		if err := putMailbox(tx, src); err != nil {
			return err
		}
		if to != &src {
			if err := putMailbox(tx, dst); err != nil {
				return err
			}
		}
		if dstAcct != &srcAcct {
			if err := putAccount(tx, *dstAcct); err != nil {
				return err
			}
		}
		return putAccount(tx, srcAcct)
	})
	return res, err
}

// emptyMailboxTx removes every message of m (the caller saves m and a).
func emptyMailboxTx(tx *bolt.Tx, ch *changes, a *Account, m *Mailbox) error {
	b, err := messagesBucket(tx, m.ID)
	if err != nil {
		return err
	}
	uids, err := uidsTx(tx, m.ID)
	if err != nil {
		return err
	}
	for _, uid := range uids {
		e, err := decodeEntry(b.Get(u32key(uid)))
		if err != nil {
			return fmt.Errorf("uid %d: %w", uid, err)
		}
		if err := logExpunge(tx, m, uid); err != nil {
			return err
		}
		if err := removeEntry(tx, b, m, a, uid, e); err != nil {
			return err
		}
	}
	if len(uids) > 0 {
		ch.add(Change{MailboxID: m.ID, Expunged: uids})
	}
	return nil
}

// deleteMailboxTx removes m with its messages and its message bucket (the caller saves a).
func deleteMailboxTx(tx *bolt.Tx, ch *changes, a *Account, m Mailbox) error {
	if err := emptyMailboxTx(tx, ch, a, &m); err != nil {
		return err
	}
	if err := dropExpungeLog(tx, &m); err != nil {
		return err
	}
	if err := tx.Bucket(bucketMessages).DeleteBucket(u64key(m.ID)); err != nil {
		return fmt.Errorf("delete message bucket of %q: %w", m.Name, err)
	}
	if err := tx.Bucket(bucketMboxIDs).Delete(u64key(m.ID)); err != nil {
		return err
	}
	if err := deleteImportKeys(tx, m.ID); err != nil {
		return err
	}
	if err := markIndexDropping(tx, m.ID); err != nil {
		return err
	}
	if err := tx.Bucket(bucketMailboxes).Delete(mailboxKey(m.AccountID, m.Name)); err != nil {
		return err
	}
	ch.add(Change{MailboxID: m.ID, Deleted: true})
	ch.addListChange(m.AccountID, ListChange{Kind: ListDeleted, Name: m.Name})
	return putAccount(tx, *a)
}
