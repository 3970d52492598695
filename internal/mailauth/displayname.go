package mailauth

import (
	"fmt"
	"strings"

	"mailserver/internal/message"
)

// displayNameSpoof is a display name showing an address of a domain served here over a mailbox elsewhere.
type displayNameSpoof struct {
	field   string // From or Sender
	shown   string // the address the name shows
	mailbox string // the mailbox's own address
}

// maxShownDomains bounds the domains of one message whose service here is looked up for the display-name rule.
const maxShownDomains = 20

// findDisplayNameSpoof looks for the forgery of a message from outside that shows readers one of our addresses as
// its sender's name: a From or Sender mailbox outside the domains served here (local) whose display name shows
// an address of one of them, or of a subdomain of one (message.DisplayedAddresses reads the names as readers do).
// A mailbox in a domain served here is DMARC's business: that domain's mail is submitted here, never received.
// A message naming more than maxShownDomains domains counts as a forgery, rather than have the one that matters
// hide behind the others.
func findDisplayNameSpoof(msg []byte, local func(string) bool) (displayNameSpoof, bool) {
	domains := domainLookup{local: local, served: map[string]bool{}}
	for _, field := range []string{"From", "Sender"} {
		for _, value := range message.FieldValues(msg, field) {
			for _, m := range message.DisplayedAddresses(value) {
				if len(m.Shown) == 0 {
					continue
				}
				tooMany := displayNameSpoof{field, fmt.Sprintf("addresses of more than %d domains", maxShownDomains), m.Address}
				served, ok := domains.serves(m.Address)
				if !ok {
					return tooMany, true
				}
				if served {
					continue
				}
				for _, shown := range m.Shown {
					served, ok := domains.serves(shown)
					if !ok {
						return tooMany, true
					}
					if served {
						return displayNameSpoof{field, shown, m.Address}, true
					}
				}
			}
		}
	}
	return displayNameSpoof{}, false
}

// domainLookup asks local about the domains of addresses, each domain once and at most maxShownDomains of them.
type domainLookup struct {
	local  func(string) bool
	served map[string]bool // by normalised domain
}

// serves reports whether the domain of address is served here or is a subdomain of one that is (servedHere); ok
// is false once the lookups are used up. Anything that is not a domain name is served elsewhere.
func (l *domainLookup) serves(address string) (served, ok bool) {
	domain, valid := normalizeDomain(asSeen(address[strings.LastIndexByte(address, '@')+1:]))
	if !valid || l.local == nil {
		return false, true
	}
	if served, known := l.served[domain]; known {
		return served, true
	}
	if len(l.served) >= maxShownDomains {
		return false, false
	}
	_, served = servedHere(domain, l.local)
	l.served[domain] = served
	return served, true
}

// warning is the header field that tells the recipient, stored with every copy.
func (s displayNameSpoof) warning() string {
	return "X-Display-Name-Warning: the " + s.field + " display name shows " + printable(s.shown) +
		", an address served here,\r\n\tbut the message comes from " + printable(s.mailbox) + ", outside\r\n"
}

// reason is the reply that refuses the message, or the log line that files it into Junk.
func (s displayNameSpoof) reason(action Action) string {
	text := fmt.Sprintf("the %s display name shows %s, an address served here, but the message comes from %s",
		s.field, printable(s.shown), printable(s.mailbox))
	if action == Reject {
		return "message rejected: " + text
	}
	return text
}

// printable is s for a header field or a reply: printable ASCII only, anything else a "?", and no longer than an
// address can be.
func printable(s string) string {
	if s == "" {
		return "(none)"
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f {
			return '?'
		}
		return r
	}, s[:min(len(s), 254)])
}
