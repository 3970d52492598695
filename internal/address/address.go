package address

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits of RFC 5321 section 4.5.3.1, in octets; see the package documentation.
const (
	MaxLocal   = 64
	MaxDomain  = 253
	MaxAddress = 254
)

// Address is a mail address that passed the rules of this package. The zero Address is the null reverse-path <>.
type Address struct {
	Local  string // the local part without its quotes, in NFC, in the case it was written
	Domain string // lower-case A-labels, or an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]
}

// Error says what is wrong with an address or a domain, in words an administrator can act on.
type Error struct {
	Input  string // as given
	Reason string
	domain bool // Input is a domain alone
}

func (e *Error) Error() string {
	if e.domain {
		return fmt.Sprintf("invalid domain name %q: %s", e.Input, e.Reason)
	}
	return fmt.Sprintf("invalid address %q: %s", e.Input, e.Reason)
}

// Parse reads an address as people and String write it: local@domain with a dot-atom or quoted local part. Space
// around it is ignored.
func Parse(s string) (Address, error) { return parse(s, readWrittenLocal) }

// ParseUnquoted reads an address whose local part was already taken out of its quotes, as go-smtp gives MAIL FROM
// and RCPT TO arguments and net/mail gives header addresses: everything before the last '@' is the local part.
func ParseUnquoted(s string) (Address, error) { return parse(s, readUnquotedLocal) }

// ParseNew reads an address for a new account, shared mailbox, alias or group of this server: Parse, then the
// stricter rule for addresses created here (see the package documentation).
func ParseNew(s string) (Address, error) {
	trimmed := strings.TrimSpace(s)
	if at := strings.LastIndexByte(trimmed, '@'); at > 0 {
		if reason := newLocalProblem(trimmed[:at]); reason != "" {
			return Address{}, &Error{Input: s, Reason: reason} // the more useful advice, even if Parse fails too
		}
	}
	a, err := Parse(s)
	if err == nil && isLiteral(a.Domain) {
		err = &Error{Input: s, Reason: "the part after '@' must be a domain name, not an address literal"}
	}
	return a, err
}

// Fold is the comparison form of s: its Key when it parses, otherwise s trimmed and lower-cased, the rule keys were
// made by before this package, so that an old key the current rules refuse is still found.
func Fold(s string) string {
	if a, err := Parse(s); err == nil {
		return a.Key()
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// FoldDomain is Fold for a domain alone: ParseDomain's result when s parses, otherwise s trimmed and lower-cased.
func FoldDomain(s string) string {
	if d, err := ParseDomain(s); err == nil {
		return d
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// parse splits s at its last '@' and checks both parts; readLocal takes the local part out of its written form.
func parse(s string, readLocal func(string) (string, string)) (Address, error) {
	fail := func(reason string) (Address, error) { return Address{}, &Error{Input: s, Reason: reason} }
	t := strings.TrimSpace(s)
	if !utf8.ValidString(t) {
		return fail("it is not valid UTF-8")
	}
	at := strings.LastIndexByte(t, '@')
	if at < 0 {
		return fail("it must look like an.nv@vinhyen.gov.vn")
	}
	local, reason := readLocal(t[:at])
	if reason != "" {
		return fail(reason)
	}
	domain, reason := addressDomain(t[at+1:])
	if reason != "" {
		return fail(reason)
	}
	a := Address{Local: local, Domain: domain}
	if reason := a.lengthProblem(); reason != "" {
		return fail(reason)
	}
	return a, nil
}

// lengthProblem checks the limits on both the written and the compared form, so that a Key always parses again.
func (a Address) lengthProblem() string {
	written, folded := quoteLocal(a.Local), quoteLocal(foldLocal(a.Local))
	switch {
	case max(len(written), len(folded)) > MaxLocal:
		return fmt.Sprintf("the part before '@' is longer than %d bytes", MaxLocal)
	case max(len(written), len(folded))+1+len(a.Domain) > MaxAddress:
		return fmt.Sprintf("it is longer than %d bytes", MaxAddress)
	}
	return ""
}

// String writes a as MAIL FROM, RCPT TO and header fields want it: the local part quoted where it is not a
// dot-atom, the domain in A-labels. The null reverse-path is "".
func (a Address) String() string {
	if a == (Address{}) {
		return ""
	}
	return quoteLocal(a.Local) + "@" + a.Domain
}

// Key is the form addresses are stored and compared in: String with the local part lower-cased and in NFC.
func (a Address) Key() string {
	if a == (Address{}) {
		return ""
	}
	return quoteLocal(foldLocal(a.Local)) + "@" + a.Domain
}

// Equal reports whether a and b name the same mailbox.
func (a Address) Equal(b Address) bool { return a.Key() == b.Key() }

// NeedsSMTPUTF8 reports whether a can only travel to a server that offers SMTPUTF8: its local part is not ASCII
// (the domain always has its ASCII form).
func (a Address) NeedsSMTPUTF8() bool { return !isASCII(a.Local) }

// foldLocal is the compared form of a local part: NFC, lower case, NFC again (lower-casing may leave a sequence
// that composes).
func foldLocal(local string) string { return norm.NFC.String(strings.ToLower(norm.NFC.String(local))) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
