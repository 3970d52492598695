package delivery

import (
	"errors"
	"fmt"

	"mailserver/internal/store"
)

// Sentinel errors, tested with errors.Is. The protocol layers turn them into replies (internal/smtp's toSMTPError);
// any other error from this package is an internal failure (the store, most likely) and must become a temporary one.
var (
	// ErrBadAddress: the address is not local@domain.
	ErrBadAddress = errors.New("invalid address")
	// ErrUnknownRecipient: the domain is local but no account, alias or group has the address (or an alias chain
	// ends nowhere, or in a loop).
	ErrUnknownRecipient = errors.New("no such recipient")
	// ErrMailboxDisabled: the account was disabled with RejectMail (staff who left): it refuses new mail.
	ErrMailboxDisabled = errors.New("mailbox disabled, not accepting mail")
	// ErrNoMembers: a group has nobody who can receive the message (no members, or every member's mailbox is
	// disabled). When members were skipped only because they are full, the error is ErrOverQuota instead.
	ErrNoMembers = errors.New("group has no members who can receive mail")
	// ErrPostingDenied: the group's posting policy does not let this sender write to it. AddRecipient returns one
	// of the three refinements below, which all match ErrPostingDenied too.
	ErrPostingDenied = errors.New("sender may not post to this group")
	// ErrPostOrganisation: policy organisation, and the sender is not logged in to this server.
	ErrPostOrganisation = fmt.Errorf("%w: organisation staff only", ErrPostingDenied)
	// ErrPostMembers: policy members, and neither the account nor any address it may send as is a member.
	ErrPostMembers = fmt.Errorf("%w: members only", ErrPostingDenied)
	// ErrPostSenders: policy senders, and the sender is not one of the group's listed senders.
	ErrPostSenders = fmt.Errorf("%w: listed senders only", ErrPostingDenied)
	// ErrNotLocal: the recipient's domain is not served here. AddRecipient returns the refinement below, which
	// matches ErrNotLocal too.
	ErrNotLocal = errors.New("recipient domain is not local")
	// ErrRelayDenied: a non-local recipient on an unauthenticated (MX) transaction; this server never relays.
	ErrRelayDenied = fmt.Errorf("%w: relay denied", ErrNotLocal)
	// ErrMailLoop: the message has passed through too many servers (Received headers): it is going round in circles.
	ErrMailLoop = errors.New("too many hops, mail loop suspected")
	// ErrOverQuota: the recipient's mailbox is full. It is the store's sentinel, so both layers' errors match.
	ErrOverQuota = store.ErrOverQuota
	// ErrSenderNotAllowed: the envelope sender (MAIL FROM) is not an address the authenticated account may use.
	ErrSenderNotAllowed = errors.New("sender address not owned by the authenticated account")
	// ErrSenderRevoked: the authenticated account was disabled or removed after the session logged in.
	ErrSenderRevoked = errors.New("sending account disabled or removed")
	// ErrFromNotAllowed: a From header address is missing or not one the authenticated account may use. The same
	// holds for Sender and the newest resent block's Resent-From and Resent-Sender; the error is a FieldError
	// naming the field.
	ErrFromNotAllowed = errors.New("from header address not owned by the authenticated account")
	// ErrDisplayNameSpoof: the display name of a From, Sender, Resent-From or Resent-Sender address of a
	// submission shows an e-mail address other than that address (message.AddressesShown), as a forger shows a
	// colleague's address; the error is a FieldError naming the field.
	ErrDisplayNameSpoof = errors.New("display name shows another e-mail address")
	// ErrRecipientGone: an accepted recipient's account was removed before the commit; nothing was stored, and a
	// retry will be refused for that recipient at RCPT time.
	ErrRecipientGone = errors.New("recipient removed during the transaction")
	// ErrNoRecipients: Commit without any accepted recipient.
	ErrNoRecipients = errors.New("no recipients")
	// ErrClosed: the transaction was already committed or aborted.
	ErrClosed = errors.New("transaction already finished")
)

// FieldError is the refusal of one header field of a submission: Field names it ("From", "Resent-Sender"), so that
// the reply can tell the user which one to correct; Err wraps the sentinel (ErrFromNotAllowed,
// ErrDisplayNameSpoof) with the details.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + " header: " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// fieldError returns a FieldError for field, its details formatted as fmt.Errorf does.
func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}
