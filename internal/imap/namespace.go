package imap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/store"
)

// The shared namespace (RFC 2342): a shared mailbox (an Account with Shared set, such as a unit's clerk office)
// that the logged-in account holds a grant on appears as "Shared/<address>" for its INBOX and
// "Shared/<address>/<folder>" for its other folders. "Shared" itself is a \Noselect level. The names "Shared" and
// "Shared/…" always belong to this namespace: no personal mailbox can be created under them.
//
// Every command that takes a mailbox name goes through resolve, which reads the grants from the store each time,
// so a grant or revoke takes effect at the next command. A shared mailbox without a grant is treated exactly like
// a mailbox that does not exist, so its existence is not revealed.
const (
	sharedRoot   = "Shared"
	sharedPrefix = sharedRoot + string(store.Delimiter)
)

// fullRights are a session's rights on its own mailboxes.
const fullRights = store.RightRead | store.RightWrite

// errNotGranted is what resolve returns for a name in the shared namespace that names no shared mailbox the
// session may read: unknown address, no grant, or a send-only grant, all alike. It wraps ErrMailboxNotFound, so
// storeError answers it as NO [NONEXISTENT]; targetError does not turn it into TRYCREATE.
var errNotGranted = fmt.Errorf("no readable shared mailbox by that name: %w", store.ErrMailboxNotFound)

// Namespace implements imapserver.SessionNamespace (RFC 2342): the personal namespace and the shared one, both with
// the "/" delimiter. The shared namespace is advertised to everyone; its contents depend on the grants.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: store.Delimiter}},
		Shared:   []imap.NamespaceDescriptor{{Prefix: sharedPrefix, Delim: store.Delimiter}},
	}, nil
}

// mailboxRef is a client's mailbox name resolved: whose mailbox it is, the store's name for it and what the session
// may do with it.
type mailboxRef struct {
	owner  uint64       // the account that holds the mailbox
	shared string       // the shared mailbox's address; "" for the session's own mailboxes
	name   string       // the name in the owner's account; "" for a level of the shared namespace (level is set)
	rights store.Rights // fullRights for the session's own mailboxes
	// level marks a name of the shared namespace that is no mailbox: "Shared" itself, or "Shared/<address>/INBOX"
	// (the shared INBOX is "Shared/<address>"; its children, if any, list under that level).
	level bool
}

func (r mailboxRef) isShared() bool { return r.shared != "" }

func (r mailboxRef) canWrite() bool { return r.rights&store.RightWrite != 0 }

// clientName is the name the client sees for the owner's mailbox storeName.
func (r mailboxRef) clientName(storeName string) string {
	if !r.isShared() {
		return storeName
	}
	return sharedName(r.shared, storeName)
}

// sharedName maps a shared account's mailbox to the shared namespace: INBOX is the address's own level.
func sharedName(address, storeName string) string {
	if storeName == "INBOX" {
		return sharedPrefix + address
	}
	return sharedPrefix + address + string(store.Delimiter) + storeName
}

// auditTarget names the mailbox in audit records: "<shared address>/<folder>".
func (r mailboxRef) auditTarget(storeName string) string {
	return r.shared + string(store.Delimiter) + storeName
}

// inSharedNamespace reports whether a client's name belongs to the shared namespace.
func inSharedNamespace(name string) bool {
	return name == sharedRoot || strings.HasPrefix(name, sharedPrefix)
}

// resolve maps a client's mailbox name to the mailbox it names. The one place that does so: SELECT, EXAMINE,
// STATUS, LIST, CREATE, DELETE, RENAME, SUBSCRIBE, APPEND and the COPY/MOVE destinations all call it. It does not
// check that the mailbox exists (CREATE needs a name that does not), only that the session may see it: a shared
// name without a readable grant is errNotGranted.
func (s *session) resolve(name string) (mailboxRef, error) {
	if !inSharedNamespace(name) {
		return mailboxRef{owner: s.accountID(), name: name, rights: fullRights}, nil
	}
	if name == sharedRoot {
		return mailboxRef{level: true}, nil
	}
	rest := name[len(sharedPrefix):]
	grants, err := s.srv.store.GrantsTo(s.accountID())
	if err != nil {
		return mailboxRef{}, err
	}
	for _, g := range grants {
		// Addresses are compared by the grant's own spelling rather than parsed out of the name: a local part
		// may contain "/", a folder name may contain "@".
		n := len(g.Shared)
		if len(rest) < n || !strings.EqualFold(rest[:n], g.Shared) || len(rest) > n && rest[n] != store.Delimiter {
			continue
		}
		rights := visibleRights(g.Rights)
		if rights == 0 {
			return mailboxRef{}, errNotGranted
		}
		owner, err := s.srv.store.Account(g.Shared)
		if errors.Is(err, store.ErrAccountNotFound) {
			return mailboxRef{}, errNotGranted // removed since the grant was read
		} else if err != nil {
			return mailboxRef{}, err
		}
		ref := mailboxRef{owner: owner.ID, shared: g.Shared, name: "INBOX", rights: rights}
		if len(rest) > n {
			if ref.name, err = store.NormalizeMailboxName(rest[n+1:]); err != nil {
				return mailboxRef{}, err
			}
			if ref.name == "INBOX" {
				ref.name, ref.level = "", true
			}
		}
		return ref, nil
	}
	return mailboxRef{}, errNotGranted
}

// visibleRights are the IMAP rights a grant gives: write implies read; a send-only grant gives none.
func visibleRights(r store.Rights) store.Rights {
	if r&store.RightWrite != 0 {
		return store.RightRead | store.RightWrite
	}
	return r & store.RightRead
}

// sharedRights are the session's current rights on the shared mailbox with the given address (0: none), for the
// check that a selected shared mailbox is still granted.
func (s *session) sharedRights(address string) (store.Rights, error) {
	grants, err := s.srv.store.GrantsTo(s.accountID())
	if err != nil {
		return 0, err
	}
	for _, g := range grants {
		if g.Shared == address {
			return visibleRights(g.Rights), nil
		}
	}
	return 0, nil
}

// lookup resolves name and reads the mailbox, which must exist; a level of the shared namespace is not selectable.
func (s *session) lookup(name string) (mailboxRef, store.Mailbox, error) {
	ref, err := s.resolve(name)
	if err != nil {
		return ref, store.Mailbox{}, err
	}
	if ref.level {
		return ref, store.Mailbox{}, errNotSelectable
	}
	mb, err := s.srv.store.Mailbox(ref.owner, ref.name)
	return ref, mb, err
}

// lookupTarget is lookup for a mailbox that the command will change (APPEND, COPY and MOVE destinations): without
// the write right the answer is NO [NOPERM] whether or not the folder exists, and only a missing folder the session
// could create earns TRYCREATE.
func (s *session) lookupTarget(op, name string) (mailboxRef, store.Mailbox, error) {
	ref, err := s.resolve(name)
	if err != nil {
		return ref, store.Mailbox{}, s.targetError(op, err)
	}
	if ref.level {
		return ref, store.Mailbox{}, errNotSelectable
	}
	if !ref.canWrite() {
		return ref, store.Mailbox{}, errNoPermission
	}
	mb, err := s.srv.store.Mailbox(ref.owner, ref.name)
	if err != nil {
		return ref, store.Mailbox{}, s.targetError(op, err)
	}
	return ref, mb, nil
}

// changeable resolves the name of a mailbox that CREATE, DELETE or RENAME changes: inside a shared mailbox that
// needs the write right, and a level of the shared namespace cannot be changed. missing is the answer when the
// session may not see the name at all: NONEXISTENT for DELETE and RENAME; for CREATE the same NOPERM as without
// the write right, so that an unknown and an ungranted address look alike.
func (s *session) changeable(name string, missing error) (mailboxRef, error) {
	ref, err := s.resolve(name)
	switch {
	case errors.Is(err, errNotGranted):
		return ref, missing
	case err != nil:
		return ref, err
	case ref.level:
		return ref, errSharedLevel
	case !ref.canWrite():
		return ref, errNoPermission
	}
	return ref, nil
}

// isSharedInbox: the root of a shared mailbox, which nothing may delete or rename (the store would rename an INBOX
// by moving its messages out, emptying the unit's inbox).
func (r mailboxRef) isSharedInbox() bool { return r.isShared() && r.name == "INBOX" }
