package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// ACL (RFC 4314) is read-only here: it shows what the share rights (namespace.go) let a user do, so that clients
// grey out what is refused; rights are granted with `mailserver share grant`, not with SETACL. The owner of a
// mailbox has every right; a grantee has the rights its grant gives (aclRights). The obsolete "c" and "d" are
// listed with the rights that replaced them (RFC 4314 section 2.1.1), as Dovecot does, for RFC 2086 clients.
var (
	// ownerACL: everything, administration ("a") included, which lets the owner read the ACL.
	ownerACL = imap.RightSet("lrswipkxtecda")
	// writeACL: a write grant: read, keep \Seen, change flags, add messages, create, delete and rename folders,
	// delete and expunge messages (STORE, EXPUNGE, APPEND, COPY/MOVE in and out, CREATE/DELETE/RENAME inside).
	writeACL = imap.RightSet("lrswipkxtecd")
	// readACL: a read grant: see and read, nothing else; not even \Seen is kept (the mailbox opens read-only).
	readACL = imap.RightSet("lr")
)

// MyRights implements imapserver.SessionACL.
func (s *session) MyRights(mailbox string) (imap.RightSet, error) {
	ref, _, err := s.lookup(mailbox)
	if err != nil {
		return nil, s.storeError("myrights", err)
	}
	return aclRights(ref), nil
}

// GetACL implements imapserver.SessionACL. It needs the "a" right, which only the owner has: a grantee may not
// see who else has access to a shared mailbox (RFC 4314 section 3.3).
func (s *session) GetACL(mailbox string) ([]imap.ACLEntry, error) {
	ref, err := s.administered("getacl", mailbox)
	if err != nil {
		return nil, err
	}
	return []imap.ACLEntry{{Identifier: s.identifier(), Rights: aclRights(ref)}}, nil
}

// ListRights implements imapserver.SessionACL (RFC 4314 section 3.4): the owner always has every right, and
// nothing can be granted over IMAP.
func (s *session) ListRights(mailbox string, identifier imap.RightsIdentifier) (*imap.ListRightsData, error) {
	ref, err := s.administered("listrights", mailbox)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(string(identifier), string(s.identifier())) {
		return &imap.ListRightsData{Required: aclRights(ref)}, nil
	}
	return &imap.ListRightsData{}, nil
}

// SetACL implements imapserver.SessionACL: refused, grants are the administrator's.
func (s *session) SetACL(string, imap.RightsIdentifier, imap.RightModification, imap.RightSet) error {
	return errACLByAdmin
}

// DeleteACL implements imapserver.SessionACL: refused, grants are the administrator's.
func (s *session) DeleteACL(string, imap.RightsIdentifier) error {
	return errACLByAdmin
}

// identifier is the session's RFC 4314 identifier: its address.
func (s *session) identifier() imap.RightsIdentifier { return imap.RightsIdentifier(s.account.Address) }

// administered resolves a mailbox whose ACL the session asks about: it must exist and be the session's own.
func (s *session) administered(op, mailbox string) (mailboxRef, error) {
	ref, _, err := s.lookup(mailbox)
	if err != nil {
		return ref, s.storeError(op, err)
	}
	if ref.isShared() {
		return ref, errACLHidden
	}
	return ref, nil
}

// aclRights are the session's rights on a mailbox: the owner's on its own, else what the grant allows. The root
// of a shared mailbox cannot be deleted or renamed (namespace.go), so a grantee lacks "x" there.
func aclRights(ref mailboxRef) imap.RightSet {
	switch {
	case !ref.isShared():
		return ownerACL
	case !ref.canWrite():
		return readACL
	case ref.isSharedInbox():
		return writeACL.Remove(imap.RightSet("x"))
	}
	return writeACL
}
