package imap

import (
	"fmt"

	"mailserver/internal/netaddr"
	"mailserver/internal/store"
)

// Audit actions for changes to shared mailboxes (the audit trail of issue 3, point 5). Each is written in the
// store transaction of the change it records.
const (
	auditMove    = "shared.move"    // messages moved out of a shared folder
	auditExpunge = "shared.expunge" // messages expunged from a shared folder (EXPUNGE, UID EXPUNGE, CLOSE)
	auditDelete  = "shared.delete"  // a shared folder deleted
	auditRename  = "shared.rename"  // a shared folder renamed
)

// maxAuditUIDs bounds the UID list in an audit record's detail; the count is always exact.
const maxAuditUIDs = 500

// record is an audit record of an action of the logged-in account.
func (s *session) record(action, target, detail string) store.AuditRecord {
	return store.AuditRecord{Actor: s.account.Address, Action: action, Target: target, Detail: detail,
		From: netaddr.Host(s.remote)}
}

// auditedStore is the store that writes, in the transaction of the change made through it, the record of that
// change when ref is a shared mailbox; describe builds it from what the change did (nil: nothing to record).
func (s *session) auditedStore(ref mailboxRef, describe func([]store.Change) *store.AuditRecord) *store.Store {
	if !ref.isShared() {
		return s.srv.store
	}
	return s.srv.store.WithAuditOf(func(chs []store.Change) []store.AuditRecord {
		if r := describe(chs); r != nil {
			return []store.AuditRecord{*r}
		}
		return nil
	})
}

// expungedFrom lists the UIDs a change removed from a mailbox.
func expungedFrom(chs []store.Change, mailboxID uint64) []uint32 {
	var uids []uint32
	for _, c := range chs {
		if c.MailboxID == mailboxID {
			uids = append(uids, c.Expunged...)
		}
	}
	return uids
}

// auditMessages describes the messages acted on: "3 messages (UIDs 4:5,9)", the UIDs in IMAP set syntax.
func auditMessages(uids []uint32) string {
	set := uidSet(uids[:min(len(uids), maxAuditUIDs)]).String()
	if len(uids) > maxAuditUIDs {
		set += ",…"
	}
	return fmt.Sprintf("%s (UIDs %s)", countMessages(uint32(len(uids))), set)
}

func countMessages(n uint32) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}
