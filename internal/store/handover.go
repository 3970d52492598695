package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// HandoverFolder is the top folder under which a successor receives a predecessor's mail.
const HandoverFolder = "Bàn giao"

// HandoverResult tells what a handover copied.
type HandoverResult struct {
	Folder    string // the successor's folder holding the copy, e.g. "Bàn giao/an@vinhyen.gov.vn"
	Mailboxes int
	Messages  int
	Bytes     int64
}

// Handover gives the successor (to) a copy of every folder of the predecessor (from), as a folder tree under
// "Bàn giao/<from address>/…", in one transaction. Bodies are shared, not duplicated, so the copy costs no extra
// space beyond the entries, though it counts against the successor's usage. The predecessor is left as it is (the
// administrator disables or removes it afterwards).
func (s *Store) Handover(from, to string) (HandoverResult, error) {
	from, to = addressKey(from), addressKey(to)
	var res HandoverResult
	err := s.update(func(tx *bolt.Tx, ch *changes) error {
		res = HandoverResult{Folder: HandoverFolder + string(Delimiter) + from}
		old, err := getAccount(tx, from)
		if err != nil {
			return err
		}
		heir, err := getAccount(tx, to)
		if err != nil {
			return err
		}
		if old.ID == heir.ID {
			return fmt.Errorf("handover %s: the successor must be another account", from)
		}
		if _, err := getMailbox(tx, heir.ID, res.Folder); err == nil {
			return fmt.Errorf("handover %s to %s: %q: %w (an earlier handover)", from, to, res.Folder, ErrMailboxExists)
		}
		boxes, err := listMailboxesTx(tx, old.ID)
		if err != nil {
			return err
		}
		for _, src := range boxes {
			if err := s.handoverMailbox(tx, ch, src, &heir, &res); err != nil {
				return fmt.Errorf("handover %s/%s: %w", from, src.Name, err)
			}
		}
		return putAccount(tx, heir)
	})
	return res, err
}

// handoverMailbox copies one mailbox of the predecessor into the successor's handover tree.
func (s *Store) handoverMailbox(tx *bolt.Tx, ch *changes, src Mailbox, heir *Account, res *HandoverResult) error {
	name := res.Folder + string(Delimiter) + src.Name
	if err := s.createParents(tx, heir.ID, name, true); err != nil {
		return err
	}
	dst, err := s.createMailboxTx(tx, heir.ID, name, "", true)
	if err != nil {
		return err
	}
	res.Mailboxes++
	if src.NoSelect {
		dst.NoSelect = true
		return putMailbox(tx, dst)
	}
	sb, err := messagesBucket(tx, src.ID)
	if err != nil {
		return err
	}
	uids, err := uidsTx(tx, src.ID)
	if err != nil {
		return err
	}
	var added []uint32
	err = eachEntry(sb, uids, func(_ uint32, e *entry) error {
		uid, err := addCopy(tx, &dst, e)
		if err != nil {
			return err
		}
		heir.Used += e.size()
		res.Messages++
		res.Bytes += e.size()
		added = append(added, uid)
		return nil
	})
	if err != nil {
		return err
	}
	if len(added) > 0 {
		ch.add(Change{MailboxID: dst.ID, Appended: added})
	}
	return putMailbox(tx, dst)
}
