// Package vacation decides whether a message may get an automatic reply (RFC 3834, RFC 5230 sections 4.5-4.6) and
// composes that reply, in Vietnamese and English by default. It knows nothing of the store: the Sieve interpreter
// and delivery decide that a vacation action runs, the store remembers whom it answered (once per :days), and the
// caller signs and queues the reply with the null envelope sender.
package vacation

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/emersion/go-message/textproto"

	"mailserver/internal/address"
	"mailserver/internal/message"
)

// Header is the original message's header, as go-message reads it (ReadHeader).
type Header = textproto.Header

// ReadHeader reads the header block at the start of a raw message.
func ReadHeader(raw []byte) (Header, error) {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return Header{}, fmt.Errorf("vacation: read header: %w", err)
	}
	return h, nil
}

// systemSenders are local parts of senders that are programs, not people (RFC 3834 section 2; RFC 5230 section
// 4.6): a reply to them is at best noise and at worst a loop with another responder.
var systemSenders = map[string]bool{"mailer-daemon": true, "listserv": true, "majordomo": true}

var (
	systemPrefixes = []string{"owner-"}
	systemSuffixes = []string{"-request", "-bounces"}
)

// listFields mark mail from a mailing list (RFC 2369, RFC 2919), which an auto-responder must not answer.
var listFields = []string{"List-Id", "List-Unsubscribe", "List-Post"}

// recipientFields are where the recipient must be named for the message to be personal (RFC 5230 section 4.5).
var recipientFields = []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"}

// Eligible reports whether msg may get an automatic reply at all (RFC 3834 section 2, RFC 5230 sections 4.5-4.6),
// and why not: the null envelope sender; senders MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request, *-bounces
// (local part); Auto-Submitted other than "no"; Precedence bulk, list or junk; List-Id, List-Unsubscribe or
// List-Post present; the recipient not among To, Cc, Bcc, Resent-To, Resent-Cc, Resent-Bcc (its addresses: the
// account's own, its aliases, and the script's :addresses). A message the recipient sent itself gets none either.
// The reason is for logs, in English.
func Eligible(h Header, envelopeFrom string, recipientAddresses []string) (ok bool, reason string) {
	sender := strings.Trim(strings.TrimSpace(envelopeFrom), "<>")
	if sender == "" {
		return false, "null envelope sender"
	}
	if why := systemSender(sender); why != "" {
		return false, why
	}
	if v := h.Get("Auto-Submitted"); v != "" && autoSubmitted(v) != "no" {
		return false, "Auto-Submitted: " + autoSubmitted(v)
	}
	switch p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p {
	case "bulk", "list", "junk":
		return false, "Precedence: " + p
	}
	for _, f := range listFields {
		if h.Has(f) {
			return false, "mailing list (" + f + ")"
		}
	}
	mine := map[string]bool{}
	for _, a := range recipientAddresses {
		mine[address.Fold(a)] = true
	}
	if mine[address.Fold(sender)] {
		return false, "the sender is the recipient"
	}
	if !namesRecipient(h, mine) {
		return false, "the recipient is not in To, Cc, Bcc or their Resent- fields"
	}
	return true, ""
}

// systemSender says why sender is a program's address, or "" if it is not.
func systemSender(sender string) string {
	at := strings.LastIndexByte(sender, '@')
	if at < 0 {
		at = len(sender)
	}
	local := strings.ToLower(sender[:at])
	if systemSenders[local] {
		return "sender " + local
	}
	for _, p := range systemPrefixes {
		if strings.HasPrefix(local, p) {
			return "sender " + p + "*"
		}
	}
	for _, s := range systemSuffixes {
		if strings.HasSuffix(local, s) {
			return "sender *" + s
		}
	}
	return ""
}

// autoSubmitted is the keyword of an Auto-Submitted value, without parameters or comments (RFC 3834 section 5).
func autoSubmitted(v string) string {
	if i := strings.IndexAny(v, ";("); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// namesRecipient reports whether one of the recipient fields names one of mine (folded addresses). Fields are read
// leniently, as mail readers show them: one malformed address must not hide the others.
func namesRecipient(h Header, mine map[string]bool) bool {
	for _, f := range recipientFields {
		fields := h.FieldsByKey(f)
		for fields.Next() {
			for _, mb := range message.DisplayedAddresses(fields.Value()) {
				if mb.Address != "" && mine[address.Fold(mb.Address)] {
					return true
				}
			}
		}
	}
	return false
}
