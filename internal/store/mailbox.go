package store

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Delimiter separates levels of mailbox names ("Phòng/2026/Báo cáo").
const Delimiter = '/'

// Mailbox is a folder of one account, with the counters IMAP SELECT and STATUS report.
type Mailbox struct {
	ID            uint64
	AccountID     uint64
	Name          string // UTF-8, "/"-separated; "INBOX" is always spelled so
	UIDValidity   uint32
	UIDNext       uint32
	Messages      uint32
	Unseen        uint32
	Deleted       uint32 // messages flagged \Deleted
	Size          int64  // sum of message sizes
	HighestModSeq uint64
	// ExpungeLogFloor is the modseq above which the expunge log is complete (see Expunged, maxExpungeLog).
	ExpungeLogFloor uint64
	SpecialUse      string   // RFC 6154 attribute such as `\Sent`, or ""
	Subscribed      bool     // read from the account's subscription list, which outlives the mailbox (RFC 9051 6.3.9)
	NoSelect        bool     // a placeholder kept for its children after DELETE
	Keywords        []string // keywords ever used in this mailbox, for the FLAGS response
	// RecentUID: the messages up to this UID have been \Recent in some session already (RFC 3501 2.3.2); those
	// above it are recent for the next session that selects the mailbox read-write (ClaimRecent).
	RecentUID uint32

	expungeLogLen uint32 // entries in the expunge log
}

// NormalizeMailboxName spells INBOX (in any case, and as the first level) as "INBOX" and checks the name.
func NormalizeMailboxName(name string) (string, error) {
	if name == "" || len(name) > 1000 || !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	for _, part := range strings.Split(name, string(Delimiter)) {
		if part == "" {
			return "", fmt.Errorf("%w: %q has an empty level", ErrInvalidName, name)
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '*' || r == '%' {
			return "", fmt.Errorf("%w: %q contains %q", ErrInvalidName, name, r)
		}
	}
	first, rest, hasRest := strings.Cut(name, string(Delimiter))
	if strings.EqualFold(first, "INBOX") {
		if hasRest {
			return "INBOX" + string(Delimiter) + rest, nil
		}
		return "INBOX", nil
	}
	return name, nil
}

func mailboxKey(accountID uint64, name string) []byte {
	return append(u64key(accountID), name...)
}

// CreateMailbox creates a mailbox and any missing parents (RFC 3501 6.3.3), none of them subscribed: CREATE does
// not subscribe (RFC 9051 6.3.9 leaves the subscription list to the client). Only the default folders of a new
// account, and folders made for the user by handover or import, start subscribed.
func (s *Store) CreateMailbox(accountID uint64, name, specialUse string) (Mailbox, error) {
	name, err := NormalizeMailboxName(name)
	if err != nil {
		return Mailbox{}, err
	}
	if err := checkNewMailboxName(name); err != nil {
		return Mailbox{}, err
	}
	var out Mailbox
	err = s.update(func(tx *bolt.Tx, ch *changes) error {
		if _, err := getAccountByID(tx, accountID); err != nil {
			return err
		}
		parents := missingParents(tx, accountID, name)
		if err := s.createParents(tx, accountID, name, false); err != nil {
			return err
		}
		out, err = s.createMailboxTx(tx, accountID, name, specialUse, false)
		ch.addCreated(accountID, append(parents, name)...)
		return err
	})
	return out, err
}

// checkNewMailboxName refuses a name with "." or ".." as a level for a new mailbox: clients and exports take them
// for the current and parent folder ("a/../b"). Stored ones from before stay usable, so lookups do not check this.
func checkNewMailboxName(name string) error {
	for _, part := range strings.Split(name, string(Delimiter)) {
		if part == "." || part == ".." {
			return fmt.Errorf("%w: %q", ErrDotLevel, name)
		}
	}
	return nil
}

// createMailboxTx creates one mailbox, adding it to the account's subscriptions when subscribe is set. A \Noselect
// placeholder of that name becomes a mailbox again, its subscription unchanged.
func (s *Store) createMailboxTx(tx *bolt.Tx, accountID uint64, name, specialUse string, subscribe bool) (Mailbox, error) {
	if existing, err := getMailbox(tx, accountID, name); err == nil {
		if !existing.NoSelect {
			return Mailbox{}, fmt.Errorf("create mailbox %q: %w", name, ErrMailboxExists)
		}
		existing.NoSelect = false
		if specialUse != "" {
			existing.SpecialUse = specialUse
		}
		return existing, putMailbox(tx, existing)
	}
	id, err := tx.Bucket(bucketMboxIDs).NextSequence()
	if err != nil {
		return Mailbox{}, err
	}
	// HIGHESTMODSEQ starts at 1: RFC 7162 3.1.1 wants a positive value, and the first change then gets 2.
	m := Mailbox{ID: id, AccountID: accountID, Name: name, UIDValidity: s.nextUIDValidity(tx), UIDNext: 1,
		HighestModSeq: 1, SpecialUse: specialUse, Subscribed: subscribe}
	if err := putMailbox(tx, m); err != nil {
		return Mailbox{}, err
	}
	if subscribe {
		if err := tx.Bucket(bucketSubscriptions).Put(mailboxKey(accountID, name), nil); err != nil {
			return Mailbox{}, err
		}
	} else {
		m.Subscribed = tx.Bucket(bucketSubscriptions).Get(mailboxKey(accountID, name)) != nil
	}
	if _, err := tx.Bucket(bucketMessages).CreateBucket(u64key(id)); err != nil {
		return Mailbox{}, fmt.Errorf("create message bucket for %q: %w", name, err)
	}
	return m, nil
}

// nextUIDValidity returns a value larger than any handed out before, based on the clock so that a store rebuilt from
// scratch does not reuse values a client may have cached (RFC 3501 2.3.1.1).
func (s *Store) nextUIDValidity(tx *bolt.Tx) uint32 {
	meta := tx.Bucket(bucketMeta)
	var last uint32
	if v := meta.Get(keyLastUIDValidty); v != nil {
		d := decoder{b: v}
		last = uint32(d.uint())
	}
	next := uint32(s.now().Unix())
	if next <= last {
		next = last + 1
	}
	var e encoder
	e.uint(uint64(next))
	_ = meta.Put(keyLastUIDValidty, e.b) // a failure here fails the transaction's commit as well
	return next
}

// Mailbox returns the account's mailbox by name.
func (s *Store) Mailbox(accountID uint64, name string) (Mailbox, error) {
	name, err := NormalizeMailboxName(name)
	if err != nil {
		return Mailbox{}, err
	}
	var m Mailbox
	err = s.view(func(tx *bolt.Tx) error {
		m, err = getMailbox(tx, accountID, name)
		return err
	})
	return m, err
}

// MailboxByID returns a mailbox by id.
func (s *Store) MailboxByID(id uint64) (Mailbox, error) {
	var m Mailbox
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		m, err = getMailboxByID(tx, id)
		return err
	})
	return m, err
}

// Mailboxes lists the account's mailboxes in name order.
func (s *Store) Mailboxes(accountID uint64) ([]Mailbox, error) {
	var out []Mailbox
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = listMailboxesTx(tx, accountID)
		return err
	})
	return out, err
}

// DeleteMailbox deletes a mailbox and its messages. INBOX cannot be deleted. A mailbox with children keeps a
// \Noselect placeholder so the children stay reachable (RFC 3501 6.3.4).
func (s *Store) DeleteMailbox(accountID uint64, name string) error {
	name, err := NormalizeMailboxName(name)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return fmt.Errorf("delete INBOX: %w", ErrProtected)
	}
	return s.update(func(tx *bolt.Tx, ch *changes) error {
		m, err := getMailbox(tx, accountID, name)
		if err != nil {
			return err
		}
		a, err := getAccountByID(tx, accountID)
		if err != nil {
			return err
		}
		children, err := hasChildren(tx, accountID, name)
		if err != nil {
			return err
		}
		if !children {
			return deleteMailboxTx(tx, ch, &a, m)
		}
		if m.NoSelect {
			return fmt.Errorf("delete %q: %w", name, ErrHasChildren)
		}
		if err := emptyMailboxTx(tx, ch, &a, &m); err != nil {
			return err
		}
		m.NoSelect = true
		if err := putMailbox(tx, m); err != nil {
			return err
		}
		return putAccount(tx, a)
	})
}

// RenameMailbox renames a mailbox and its children. Renaming INBOX moves its messages to the new mailbox and leaves
// an empty INBOX behind (RFC 3501 6.3.5); INBOX's children stay where they are.
func (s *Store) RenameMailbox(accountID uint64, oldName, newName string) error {
	oldName, err := NormalizeMailboxName(oldName)
	if err != nil {
		return err
	}
	newName, err = NormalizeMailboxName(newName)
	if err != nil {
		return err
	}
	if newName == "INBOX" {
		return fmt.Errorf("rename to INBOX: %w", ErrMailboxExists)
	}
	if err := checkNewMailboxName(newName); err != nil {
		return err
	}
	if strings.HasPrefix(newName, oldName+string(Delimiter)) {
		return fmt.Errorf("rename %q into itself: %w", oldName, ErrInvalidName)
	}
	return s.update(func(tx *bolt.Tx, ch *changes) error {
		m, err := getMailbox(tx, accountID, oldName)
		if err != nil {
			return err
		}
		if _, err := getMailbox(tx, accountID, newName); err == nil {
			return fmt.Errorf("rename to %q: %w", newName, ErrMailboxExists)
		}
		moves := []Mailbox{m}
		if oldName != "INBOX" {
			all, err := listMailboxesTx(tx, accountID)
			if err != nil {
				return err
			}
			for _, c := range all {
				if strings.HasPrefix(c.Name, oldName+string(Delimiter)) {
					moves = append(moves, c)
				}
			}
		}
		boxes := tx.Bucket(bucketMailboxes)
		for _, c := range moves {
			if err := boxes.Delete(mailboxKey(accountID, c.Name)); err != nil {
				return err
			}
		}
		for _, c := range moves {
			from := c.Name
			c.Name = newName + strings.TrimPrefix(c.Name, oldName)
			if _, err := getMailbox(tx, accountID, c.Name); err == nil {
				return fmt.Errorf("rename to %q: %w", c.Name, ErrMailboxExists)
			}
			if err := putMailbox(tx, c); err != nil {
				return err
			}
			if err := moveSubscription(tx, accountID, from, c.Name); err != nil {
				return err
			}
			ch.addListChange(accountID, ListChange{Kind: ListRenamed, Name: c.Name, OldName: from})
		}
		parents := missingParents(tx, accountID, newName)
		if err := s.createParents(tx, accountID, newName, false); err != nil {
			return err
		}
		ch.addCreated(accountID, parents...)
		if oldName == "INBOX" {
			_, err := s.createMailboxTx(tx, accountID, "INBOX", "", true)
			ch.addCreated(accountID, "INBOX")
			return err
		}
		return nil
	})
}

// moveSubscription carries a renamed mailbox's subscription to its new name.
func moveSubscription(tx *bolt.Tx, accountID uint64, from, to string) error {
	subs := tx.Bucket(bucketSubscriptions)
	if subs.Get(mailboxKey(accountID, from)) == nil {
		return nil
	}
	if err := subs.Delete(mailboxKey(accountID, from)); err != nil {
		return err
	}
	return subs.Put(mailboxKey(accountID, to), nil)
}

// createParents creates the missing superiors of name ("a" and "a/b" for "a/b/c"), subscribed if subscribe is set.
func (s *Store) createParents(tx *bolt.Tx, accountID uint64, name string, subscribe bool) error {
	for _, parent := range missingParents(tx, accountID, name) {
		if _, err := s.createMailboxTx(tx, accountID, parent, "", subscribe); err != nil {
			return err
		}
	}
	return nil
}

// missingParents lists the superiors of name that do not exist yet, outermost first.
func missingParents(tx *bolt.Tx, accountID uint64, name string) []string {
	var missing []string
	parts := strings.Split(name, string(Delimiter))
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], string(Delimiter))
		if _, err := getMailbox(tx, accountID, parent); err != nil {
			missing = append(missing, parent)
		}
	}
	return missing
}

// SetSubscribed adds a name to the account's subscription list or removes it. The list is kept apart from the
// mailboxes: a name may be subscribed before its mailbox exists and stays subscribed after it is deleted
// (RFC 9051 6.3.9); renaming a mailbox moves its subscription along.
func (s *Store) SetSubscribed(accountID uint64, name string, subscribed bool) error {
	name, err := NormalizeMailboxName(name)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx, ch *changes) error {
		if _, err := getAccountByID(tx, accountID); err != nil {
			return err
		}
		subs := tx.Bucket(bucketSubscriptions)
		if subscribed {
			ch.addListChange(accountID, ListChange{Kind: ListSubscribed, Name: name})
			return subs.Put(mailboxKey(accountID, name), nil)
		}
		ch.addListChange(accountID, ListChange{Kind: ListUnsubscribed, Name: name})
		return subs.Delete(mailboxKey(accountID, name))
	})
}

// Subscriptions lists the account's subscribed names in order, existing mailboxes or not.
func (s *Store) Subscriptions(accountID uint64) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		prefix := u64key(accountID)
		c := tx.Bucket(bucketSubscriptions).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out = append(out, string(k[len(prefix):]))
		}
		return nil
	})
	return out, err
}

func hasChildren(tx *bolt.Tx, accountID uint64, name string) (bool, error) {
	prefix := mailboxKey(accountID, name+string(Delimiter))
	k, _ := tx.Bucket(bucketMailboxes).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix), nil
}

func listMailboxesTx(tx *bolt.Tx, accountID uint64) ([]Mailbox, error) {
	var out []Mailbox
	prefix := u64key(accountID)
	c := tx.Bucket(bucketMailboxes).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		m, err := decodeMailbox(v)
		if err != nil {
			return nil, fmt.Errorf("mailbox %q: %w", k[8:], err)
		}
		m.Subscribed = tx.Bucket(bucketSubscriptions).Get(k) != nil
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// allMailboxesTx reads every mailbox of every account, so that the caller can rewrite them after the scan (no key
// may change while a cursor walks the bucket).
func allMailboxesTx(tx *bolt.Tx) ([]Mailbox, error) {
	var boxes []Mailbox
	err := eachMailboxTx(tx, func(m Mailbox) error {
		boxes = append(boxes, m)
		return nil
	})
	return boxes, err
}

// eachMailboxTx calls fn with every mailbox of every account, one at a time: a province has hundreds of thousands,
// which a reader that only looks at each need not hold at once.
func eachMailboxTx(tx *bolt.Tx, fn func(Mailbox) error) error {
	return tx.Bucket(bucketMailboxes).ForEach(func(k, v []byte) error {
		m, err := decodeMailbox(v)
		if err != nil {
			return fmt.Errorf("mailbox key %x: %w", k, err)
		}
		return fn(m)
	})
}

func getMailbox(tx *bolt.Tx, accountID uint64, name string) (Mailbox, error) {
	v := tx.Bucket(bucketMailboxes).Get(mailboxKey(accountID, name))
	if v == nil {
		return Mailbox{}, fmt.Errorf("mailbox %q: %w", name, ErrMailboxNotFound)
	}
	m, err := decodeMailbox(v)
	if err != nil {
		return Mailbox{}, fmt.Errorf("mailbox %q: %w", name, err)
	}
	m.Subscribed = tx.Bucket(bucketSubscriptions).Get(mailboxKey(accountID, name)) != nil
	return m, nil
}

func getMailboxByID(tx *bolt.Tx, id uint64) (Mailbox, error) {
	key := tx.Bucket(bucketMboxIDs).Get(u64key(id))
	if key == nil {
		return Mailbox{}, fmt.Errorf("mailbox #%d: %w", id, ErrMailboxNotFound)
	}
	v := tx.Bucket(bucketMailboxes).Get(key)
	if v == nil {
		return Mailbox{}, fmt.Errorf("mailbox #%d: %w", id, ErrMailboxNotFound)
	}
	return decodeMailbox(v)
}

func putMailbox(tx *bolt.Tx, m Mailbox) error {
	var e encoder
	e.b = append(e.b, 2)
	e.uint(m.ID)
	e.uint(m.AccountID)
	e.string(m.Name)
	e.uint(uint64(m.UIDValidity))
	e.uint(uint64(m.UIDNext))
	e.uint(uint64(m.Messages))
	e.uint(uint64(m.Unseen))
	e.uint(uint64(m.Deleted))
	e.int(m.Size)
	e.uint(m.HighestModSeq)
	e.string(m.SpecialUse)
	e.bool(m.NoSelect)
	e.strings(m.Keywords)
	e.uint(m.ExpungeLogFloor)
	e.uint(uint64(m.expungeLogLen))
	e.uint(uint64(m.RecentUID))
	key := mailboxKey(m.AccountID, m.Name)
	if err := tx.Bucket(bucketMailboxes).Put(key, e.b); err != nil {
		return err
	}
	return tx.Bucket(bucketMboxIDs).Put(u64key(m.ID), key)
}

// decodeMailbox reads a mailbox record: version 2 (schema 3) adds the expunge log's floor and length to version 1,
// which only the schema 3 migration still reads (startExpungeLogs).
func decodeMailbox(v []byte) (Mailbox, error) {
	version := byte(0)
	if len(v) > 0 {
		version = v[0]
	}
	d := decoder{b: v}
	d.version("mailbox", max(1, min(version, 2)))
	m := Mailbox{ID: d.uint(), AccountID: d.uint(), Name: d.string(), UIDValidity: uint32(d.uint()),
		UIDNext: uint32(d.uint()), Messages: uint32(d.uint()), Unseen: uint32(d.uint()), Deleted: uint32(d.uint()),
		Size: d.int(), HighestModSeq: d.uint(), SpecialUse: d.string(), NoSelect: d.bool(),
		Keywords: d.strings()}
	if version >= 2 {
		m.ExpungeLogFloor, m.expungeLogLen = d.uint(), uint32(d.uint())
		m.RecentUID = uint32(d.uint())
	}
	return m, d.err
}
