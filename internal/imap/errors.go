package imap

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/store"
)

// no builds a tagged NO with a response code (RFC 5530).
func no(code imap.ResponseCode, text string) *imap.Error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
}

var (
	errNoSuchMailbox   = no(imap.ResponseCodeNonExistent, "No such mailbox")
	errTryCreate       = no(imap.ResponseCodeTryCreate, "No such mailbox")
	errAlreadyExists   = no(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	errInvalidName     = no(imap.ResponseCodeCannot, "Invalid mailbox name")
	errDotLevel        = no(imap.ResponseCodeCannot, `Invalid mailbox name: a level may not be "." or ".."`)
	errProtected       = no(imap.ResponseCodeCannot, "This mailbox cannot be deleted or renamed")
	errHasChildren     = no(imap.ResponseCodeHasChildren, "Mailbox has children; delete them first")
	errOverQuota       = no(imap.ResponseCodeOverQuota, "Mailbox quota exceeded")
	errTooBig          = no(imap.ResponseCodeTooBig, "Message too large")
	errNotSelectable   = no(imap.ResponseCodeNonExistent, "Mailbox is a placeholder (\\Noselect)")
	errReadOnly        = no(imap.ResponseCodeCannot, "Mailbox is open read-only (EXAMINE)")
	errMailboxGone     = no(imap.ResponseCodeNonExistent, "The selected mailbox has been deleted")
	errAccountGone     = no(imap.ResponseCodeUnavailable, "Account is no longer available")
	errUnknownCTE      = no(imap.ResponseCodeUnknownCTE, "Unknown Content-Transfer-Encoding")
	errInternal        = no(imap.ResponseCodeServerBug, "Internal server error")
	errNotSelectedBug  = &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "No mailbox selected"}
	errUnsupportedUse  = no("USEATTR", "Unsupported special-use attribute")
	errTooManyUseAttrs = no("USEATTR", "Only one special-use attribute per mailbox")
	errMemoryBusy      = no(imap.ResponseCodeLimit, "The server is receiving too much mail at once; try again in a few minutes")
	errTooManySections = no(imap.ResponseCodeLimit, fmt.Sprintf("Too many body sections in one FETCH: ask for at most %d", maxFetchSections))
	errTooManyKeys     = no(imap.ResponseCodeLimit, fmt.Sprintf("Too many keys in one SEARCH: at most %d, of which %d message sets", maxSearchKeys, maxSearchSets))
	errTooManyAppended = no(imap.ResponseCodeLimit, fmt.Sprintf("Too many messages in one APPEND: send at most %d at a time", maxAppendMessages))
	errAppendTooLarge  = no(imap.ResponseCodeLimit, "The messages of one APPEND are limited together to the APPENDLIMIT; send them in several APPENDs")

	// The shared namespace (namespace.go).
	errNoPermission   = no(imap.ResponseCodeNoPerm, "You have read-only access to this shared mailbox")
	errNoCreateShared = no(imap.ResponseCodeNoPerm, "You have no write access to a shared mailbox by that name")
	errAccessRevoked  = no(imap.ResponseCodeNoPerm, "Your access to this shared mailbox has been withdrawn")
	errSharedLevel    = no(imap.ResponseCodeCannot, "This level of the shared namespace cannot be changed")
	errAcrossAccounts = no(imap.ResponseCodeCannot, "A mailbox cannot be renamed into another account; move its messages instead")

	// QUOTA and ACL (quota.go, acl.go): both are set by the administrator, not over IMAP.
	errNoSuchQuotaRoot = no(imap.ResponseCodeNonExistent, "No such quota root")
	errQuotaByAdmin    = no(imap.ResponseCodeNoPerm, "Quotas are set by the administrator (mailserver quota set ADDRESS SIZE)")
	errACLHidden       = no(imap.ResponseCodeNoPerm, "Only the administrator sees who has access to a shared mailbox (mailserver share list)")
	errACLByAdmin      = no(imap.ResponseCodeNoPerm, "Access rights are granted by the administrator (mailserver share grant SHARED ACCOUNT --rights read|write)")
)

// storeError turns a store error into what the client sees. Known outcomes keep a specific code; anything else is
// logged with the command and becomes a generic NO [SERVERBUG] so no internal text reaches the wire.
func (s *session) storeError(op string, err error) error {
	var imapErr *imap.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &imapErr):
		return err
	case errors.Is(err, store.ErrMailboxNotFound):
		return errNoSuchMailbox
	case errors.Is(err, store.ErrMailboxExists):
		return errAlreadyExists
	case errors.Is(err, store.ErrDotLevel):
		return errDotLevel
	case errors.Is(err, store.ErrInvalidName):
		return errInvalidName
	case errors.Is(err, store.ErrProtected):
		return errProtected
	case errors.Is(err, store.ErrHasChildren):
		return errHasChildren
	case errors.Is(err, store.ErrOverQuota):
		return errOverQuota
	case errors.Is(err, store.ErrTooLarge):
		return errTooBig
	case errors.Is(err, store.ErrAccountNotFound):
		return errAccountGone
	}
	return s.internalError(op, err)
}

// internalError logs err and returns the generic reply.
func (s *session) internalError(op string, err error) error {
	s.log.Error("imap command failed", "op", op, "err", err)
	return errInternal
}

// targetError is storeError for a destination mailbox (COPY, MOVE, APPEND): a missing one asks the client to
// CREATE it first (RFC 3501 6.3.11), except in a shared mailbox the session cannot see, where CREATE cannot work.
func (s *session) targetError(op string, err error) error {
	if errors.Is(err, store.ErrMailboxNotFound) && !errors.Is(err, errNotGranted) {
		return errTryCreate
	}
	return s.storeError(op, err)
}
