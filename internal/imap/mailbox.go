package imap

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/store"
)

// creatableUses are the special-use attributes CREATE accepts (RFC 6154 5.2). \All and \Flagged describe virtual
// mailboxes this server does not have.
var creatableUses = map[imap.MailboxAttr]bool{
	imap.MailboxAttrArchive: true, imap.MailboxAttrDrafts: true, imap.MailboxAttrJunk: true,
	imap.MailboxAttrSent: true, imap.MailboxAttrTrash: true,
}

// Create implements imapserver.Session (RFC 3501 6.3.3, CREATE-SPECIAL-USE RFC 6154). Missing parents are created
// too; a trailing delimiter only announces that children will follow.
func (s *session) Create(name string, options *imap.CreateOptions) error {
	name = strings.TrimSuffix(name, string(store.Delimiter))
	var use string
	if options != nil && len(options.SpecialUse) > 0 {
		if len(options.SpecialUse) > 1 {
			return errTooManyUseAttrs
		}
		attr := canonicalUse(options.SpecialUse[0])
		if !creatableUses[attr] {
			return errUnsupportedUse
		}
		use = string(attr)
	}
	ref, err := s.changeable(name, errNoCreateShared)
	if err != nil {
		return s.storeError("create", err)
	}
	_, err = s.srv.store.CreateMailbox(ref.owner, ref.name, use)
	return s.storeError("create", err)
}

// canonicalUse spells a special-use attribute as RFC 6154 does, whatever the client's case.
func canonicalUse(attr imap.MailboxAttr) imap.MailboxAttr {
	for known := range creatableUses {
		if strings.EqualFold(string(known), string(attr)) {
			return known
		}
	}
	return attr
}

// Delete implements imapserver.Session (RFC 3501 6.3.4). INBOX cannot be deleted; a mailbox with children becomes a
// \Noselect placeholder. Sessions that have it selected see its messages expunged, then get NO for later commands.
// Deleting a folder of a shared mailbox needs the write right and is audited.
func (s *session) Delete(name string) error {
	ref, err := s.changeable(name, errNoSuchMailbox)
	if err != nil {
		return s.storeError("delete", err)
	}
	if ref.isSharedInbox() {
		return errProtected
	}
	var before store.Mailbox
	if ref.isShared() {
		if before, err = s.srv.store.Mailbox(ref.owner, ref.name); err != nil {
			return s.storeError("delete", err)
		}
	}
	st := s.auditedStore(ref, func([]store.Change) *store.AuditRecord {
		r := s.record(auditDelete, ref.auditTarget(before.Name), fmt.Sprintf("mailbox deleted with %s", countMessages(before.Messages)))
		return &r
	})
	if err := st.DeleteMailbox(ref.owner, ref.name); err != nil {
		return s.storeError("delete", err)
	}
	return nil
}

// Rename implements imapserver.Session (RFC 3501 6.3.5); the store moves children along and handles INBOX. Both
// names must be in the same account; in a shared mailbox that needs the write right, and its INBOX stays put.
func (s *session) Rename(name, newName string, _ *imap.RenameOptions) error {
	newName = strings.TrimSuffix(newName, string(store.Delimiter))
	from, err := s.changeable(name, errNoSuchMailbox)
	if err != nil {
		return s.storeError("rename", err)
	}
	to, err := s.changeable(newName, errNoCreateShared)
	if err != nil {
		return s.storeError("rename", err)
	}
	if from.isSharedInbox() {
		return errProtected
	}
	if from.owner != to.owner {
		return errAcrossAccounts
	}
	st := s.auditedStore(from, func([]store.Change) *store.AuditRecord {
		r := s.record(auditRename, from.auditTarget(from.name), "renamed to "+to.name)
		return &r
	})
	if err := st.RenameMailbox(from.owner, from.name, to.name); err != nil {
		return s.storeError("rename", err)
	}
	return nil
}

// Subscribe implements imapserver.Session. Only existing mailboxes can be subscribed (RFC 3501 6.3.6 lets the
// server check), which catches typos; a subscription then outlives its mailbox. Subscriptions are the session's
// own, also for shared mailboxes, kept under the shared namespace's name.
func (s *session) Subscribe(name string) error {
	ref, mb, err := s.lookup(name)
	if err != nil {
		return s.storeError("subscribe", err)
	}
	return s.storeError("subscribe", s.srv.store.SetSubscribed(s.accountID(), ref.clientName(mb.Name), true))
}

// Unsubscribe implements imapserver.Session. A name that no longer resolves (a revoked grant) can still be
// unsubscribed as it was written.
func (s *session) Unsubscribe(name string) error {
	if ref, err := s.resolve(name); err == nil && ref.isShared() && !ref.level {
		name = ref.clientName(ref.name)
	}
	return s.storeError("unsubscribe", s.srv.store.SetSubscribed(s.accountID(), name, false))
}

// Status implements imapserver.Session (RFC 3501 6.3.10, STATUS=SIZE RFC 8438, APPENDLIMIT RFC 7889).
func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	ref, mb, err := s.lookup(name)
	if err != nil {
		return nil, s.storeError("status", err)
	}
	if mb.NoSelect {
		return nil, errNotSelectable
	}
	mb.Name = ref.clientName(mb.Name)
	return s.statusData(mb, options)
}

// statusData fills every item the client asked for: the library dereferences each requested field, so a missing
// one would panic the connection. mb.Name is the client's name for the mailbox.
func (s *session) statusData(mb store.Mailbox, o *imap.StatusOptions) (*imap.StatusData, error) {
	d := &imap.StatusData{Mailbox: mb.Name, UIDNext: imap.UID(mb.UIDNext), UIDValidity: mb.UIDValidity,
		HighestModSeq: mb.HighestModSeq}
	if o.NumMessages {
		d.NumMessages = ptr(mb.Messages)
	}
	if o.NumUnseen {
		d.NumUnseen = ptr(mb.Unseen)
	}
	if o.NumDeleted {
		d.NumDeleted = ptr(mb.Deleted)
	}
	if o.Size {
		d.Size = ptr(mb.Size)
	}
	if o.AppendLimit {
		d.AppendLimit = ptr(s.srv.appendLimit)
	}
	if o.NumRecent {
		n, err := s.statusRecent(mb)
		if err != nil {
			return nil, err
		}
		d.NumRecent = ptr(n)
	}
	if o.DeletedStorage {
		size, err := s.deletedStorage(mb)
		if err != nil {
			return nil, err
		}
		d.DeletedStorage = ptr(size)
	}
	return d, nil
}

// deletedStorage is the size of the messages flagged \Deleted (RFC 9208 DELETED-STORAGE), which the library parses
// even though QUOTA is not advertised.
func (s *session) deletedStorage(mb store.Mailbox) (int64, error) {
	if mb.Deleted == 0 {
		return 0, nil
	}
	uids, err := s.srv.store.UIDs(mb.ID)
	if err != nil {
		return 0, s.storeError("status", err)
	}
	msgs, err := s.srv.store.Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil {
		return 0, s.storeError("status", err)
	}
	var size int64
	for _, m := range msgs {
		if hasFlag(m.Flags, imap.FlagDeleted) {
			size += m.Size
		}
	}
	return size, nil
}

func ptr[T any](v T) *T { return &v }
