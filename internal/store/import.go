package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Import batches are bounded so that one transaction holds a bounded amount of memory and a crash loses at most
// one uncommitted batch: the importer sends at most this many messages or bytes at once.
const (
	ImportBatchMessages = 500
	ImportBatchBytes    = 32 << 20
)

// ImportMessage is one message brought in from a mailbox file, with what its source said about it.
type ImportMessage struct {
	Folder  string // the account's folder, '/'-separated; created with its parents when missing
	Message NewMessage
	Flags   []string
	// Key names the message for a re-run of the same import (see ImportBatch); empty: never taken as a duplicate.
	Key []byte
	// From names the message on a source server (ImportOptions.Source); nil for a file. Its copy here is
	// remembered, so that later changes of its flags there can be brought over (SyncSourceFlags).
	From *SourceRef
}

// ImportOutcome says what became of one imported message.
type ImportOutcome uint8

const (
	Imported  ImportOutcome = iota
	Duplicate               // a message with the same key is already in the folder
	Failed                  // not stored; Reason says why
)

// ImportOptions tune ImportBatch.
type ImportOptions struct {
	// EnforceQuota refuses the messages that would take the account over its quota.
	EnforceQuota bool
	// Source names where the messages come from ("imap://login@host:port"), and Marks say how far each of its
	// folders has been read once this batch is stored.
	Source string
	Marks  []SourceMark
	// Folders are created when missing even though no message goes into them (an empty folder of the source).
	Folders []string
}

// ImportResult is the outcome of one message of a batch, in the batch's order.
type ImportResult struct {
	Outcome ImportOutcome
	Reason  string // for Failed
}

// ImportBatch stores msgs in the account's folders in one transaction. A message that cannot be stored (a folder
// name that is not valid, the quota when enforceQuota is set) is Failed with its reason and the others are stored;
// an error fails the whole batch, of which nothing is stored.
//
// Duplicates: a message whose Key an earlier import already stored in the same folder, where it still is, is
// skipped, and so is a second message with the same Key in the same batch. The keys are kept in an index per
// folder, written by imports only: mail delivered or appended otherwise is not matched.
//
// The source's marks are saved in the same transaction (see SourceMark): an import that resumes after a crash or
// a stop reads them back and starts after the last batch that committed.
func (s *Store) ImportBatch(accountID uint64, msgs []ImportMessage, opts ImportOptions) ([]ImportResult, error) {
	var results []ImportResult
	msgs = slices.Clone(msgs)
	for i := range msgs {
		msgs[i].Message = msgs[i].Message.prepared()
	}
	err := s.update(func(tx *bolt.Tx, ch *changes) error {
		a, err := getAccountByID(tx, accountID)
		if err != nil {
			return err
		}
		imp := importTx{s: s, tx: tx, account: &a, enforceQuota: opts.EnforceQuota, source: opts.Source,
			boxes: map[string]*importBox{}}
		results = make([]ImportResult, len(msgs))
		for i := range msgs {
			if results[i], err = imp.add(&msgs[i]); err != nil {
				return err
			}
		}
		for _, name := range opts.Folders {
			if _, err := imp.box(name); err != nil && !errors.Is(err, ErrInvalidName) && !errors.Is(err, ErrMailboxExists) {
				return err
			}
		}
		if err := putSourceMarks(tx, accountID, opts.Source, opts.Marks); err != nil {
			return err
		}
		return imp.finish(ch)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// importTx is one batch being stored.
type importTx struct {
	s            *Store
	tx           *bolt.Tx
	account      *Account
	enforceQuota bool
	source       string
	boxes        map[string]*importBox // by normalized name
	order        []*importBox
}

type importBox struct {
	mb       Mailbox
	keywords int // len(mb.Keywords) before the batch
	appended []uint32
}

// add stores one message, or says why it was not.
func (t *importTx) add(m *ImportMessage) (ImportResult, error) {
	box, err := t.box(m.Folder)
	if errors.Is(err, ErrInvalidName) || errors.Is(err, ErrMailboxExists) {
		return ImportResult{Outcome: Failed, Reason: err.Error()}, nil
	}
	if err != nil {
		return ImportResult{}, err
	}
	keys := t.tx.Bucket(bucketImportKeys)
	var key []byte
	if len(m.Key) > 0 {
		key = importKey(box.mb.ID, m.Message.InternalDate, m.Key)
		if uid := keys.Get(key); uid != nil && t.stillThere(box.mb.ID, uid) {
			return ImportResult{Outcome: Duplicate}, t.remember(m, box.mb.ID, binary.BigEndian.Uint32(uid))
		}
	}
	msg := m.Message
	if msg.InternalDate.IsZero() {
		msg.InternalDate = t.s.now()
	}
	size := int64(len(msg.Body))
	if t.enforceQuota && t.account.Quota > 0 && t.account.Used+size > t.account.Quota {
		return ImportResult{Outcome: Failed, Reason: fmt.Sprintf("%s is over its quota", t.account.Address)}, nil
	}
	body, err := addBodyRef(t.tx, &msg)
	if err != nil {
		return ImportResult{}, fmt.Errorf("store body: %w", err)
	}
	uid, err := addEntry(t.tx, &box.mb, newEntry(body, parseFlags(m.Flags), msg.InternalDate, nil))
	if err != nil {
		return ImportResult{}, err
	}
	t.account.Used += size
	box.appended = append(box.appended, uid)
	if key != nil {
		if err := keys.Put(key, u32key(uid)); err != nil {
			return ImportResult{}, err
		}
	}
	return ImportResult{Outcome: Imported}, t.remember(m, box.mb.ID, uid)
}

// box finds or creates the folder named name (and its parents) for this batch.
func (t *importTx) box(name string) (*importBox, error) {
	name, err := NormalizeMailboxName(name)
	if err != nil {
		return nil, err
	}
	if b, ok := t.boxes[name]; ok {
		return b, nil
	}
	mb, err := getMailbox(t.tx, t.account.ID, name)
	if errors.Is(err, ErrMailboxNotFound) || err == nil && mb.NoSelect {
		if err = t.s.createParents(t.tx, t.account.ID, name, true); err == nil {
			mb, err = t.s.createMailboxTx(t.tx, t.account.ID, name, "", true)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", name, err)
	}
	b := &importBox{mb: mb, keywords: len(mb.Keywords)}
	t.boxes[name] = b
	t.order = append(t.order, b)
	return b, nil
}

// stillThere tells whether the message an index entry points to has not been expunged since.
func (t *importTx) stillThere(mailboxID uint64, uid []byte) bool {
	b, err := messagesBucket(t.tx, mailboxID)
	return err == nil && b.Get(uid) != nil
}

// finish saves the folders and the account and announces the new messages.
func (t *importTx) finish(ch *changes) error {
	for _, b := range t.order {
		if err := putMailbox(t.tx, b.mb); err != nil {
			return err
		}
		if len(b.appended) > 0 {
			ch.add(Change{MailboxID: b.mb.ID, Appended: b.appended, Keywords: b.mb.newKeywords(b.keywords)})
		}
	}
	return putAccount(t.tx, *t.account)
}

// importKey is the index key of an import key in a folder: the folder's id, the message's date and a hash of the
// key. The date puts the keys of a mailbox file, an old server's folder or a Maildir, which come roughly in date
// order, next to each other in the index, so that a large import appends to it instead of rewriting a page of it
// for every message (without it, the last tenth of a 200,000-message import into one folder ran 14-35% slower
// than the first). The date is the one the source gave (zero when it gave none), the same at every re-run.
func importKey(mailboxID uint64, date time.Time, key []byte) []byte {
	sum := sha256.Sum256(key)
	var seconds uint64
	if !date.IsZero() {
		seconds = uint64(date.Unix()) // dates before 1970 wrap around and sort last: any order will do for them
	}
	return append(binary.BigEndian.AppendUint64(u64key(mailboxID), seconds), sum[:16]...)
}

// importKeyLen is the length of an importKey; schema 1's keys had no date and are 8 bytes shorter.
const importKeyLen = 8 + 8 + 16

// deleteImportKeys removes a deleted folder's import index.
func deleteImportKeys(tx *bolt.Tx, mailboxID uint64) error {
	prefix := u64key(mailboxID)
	c := tx.Bucket(bucketImportKeys).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
