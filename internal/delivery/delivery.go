// Package delivery is the two-phase seam between the protocol servers and the store, after maddy's
// module.Delivery: a protocol session begins a Transaction with the envelope, adds recipients one by one (each
// resolved at once, so SMTP can refuse it at RCPT time), then either commits the message body or aborts. Nothing
// lasting happens before Commit, and Commit is one store transaction: every local copy is stored, or none is.
//
// Recipient resolution (resolve.go) turns the address of a RCPT into the accounts that get a copy: an account is
// itself, an alias is what its target resolves to, and a group is its members, expanded through nested groups,
// aliases and unit:PATH members, each person once, loops included, after the group's posting policy has been
// checked. Sender authorisation (sendas.go) lists the addresses an authenticated account may send as: its own,
// its aliases, the groups that list it as a sender and the shared mailboxes it may send as.
package delivery

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"mailserver/internal/store"
)

// backend is the part of *store.Store that delivery uses; tests substitute fakes that fail on demand.
type backend interface {
	HasDomain(name string) (bool, error)
	Account(address string) (store.Account, error)
	Lookup(address string) (store.Entry, error)
	UnitAccounts(path string, recursive bool) ([]store.Account, error)
	AliasesOf(target string) ([]string, error)
	GroupsSentBy(addresses []string) ([]string, error)
	GrantsTo(accountID uint64) ([]store.Grant, error)
	DeliverMessage(d store.Delivery) ([]store.Placed, error)
}

// Deliverer resolves recipients and stores messages. It is safe for concurrent use; each Transaction belongs to one
// protocol session.
type Deliverer struct {
	store    backend          // immutable
	hostname string           // immutable: the "by" name of Received headers
	log      *slog.Logger     // immutable
	now      func() time.Time // immutable
}

// New returns a Deliverer storing into st. hostname names this server in Received headers.
func New(st *store.Store, hostname string, logger *slog.Logger) *Deliverer {
	return newDeliverer(st, hostname, logger)
}

func newDeliverer(st backend, hostname string, logger *slog.Logger) *Deliverer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{store: st, hostname: hostname, log: logger, now: time.Now}
}

// Envelope is what a protocol session knows about a message before its body arrives.
type Envelope struct {
	From          string   // envelope sender (MAIL FROM), "" for the null sender
	RemoteAddr    net.Addr // the client
	HeloName      string   // what the client called itself in EHLO/HELO
	Authenticated string   // the authenticated account's address, or ""
	// SendAs lists the addresses the Authenticated account may send as (AuthorizeSender's result), looked up once
	// at MAIL and reused by the posting policies at RCPT and the From check at DATA. nil with Authenticated set:
	// the transaction looks them up itself when it first needs them.
	SendAs     []string
	TLS        bool // the connection is encrypted
	Submission bool // a message submission (RFC 6409): the From header must belong to Authenticated
	// Internal marks a message this server writes itself (a delivery report): no client, recipients in other
	// domains are queued.
	Internal bool
	Size     int64 // the size the client declared (MAIL FROM SIZE=), 0 if none; used for quota at RCPT
}

// IsLocalDomain reports whether mail for domain is delivered here.
func (d *Deliverer) IsLocalDomain(domain string) (bool, error) {
	return d.store.HasDomain(normalizeDomain(domain))
}

// currentSender returns the account a submission session logged in as, as it is now, or ErrSenderRevoked if it
// was removed or disabled since: sessions outlive the login, and a revoked account must not go on sending.
func (d *Deliverer) currentSender(account store.Account) (store.Account, error) {
	current, err := d.store.Account(account.Address)
	if errors.Is(err, store.ErrAccountNotFound) || err == nil && (current.Disabled || current.ID != account.ID) {
		return store.Account{}, fmt.Errorf("%s: %w", account.Address, ErrSenderRevoked)
	}
	return current, err
}

// splitAddress splits local@domain at the last @. RFC 5321 section 4.5.3.1.3 bounds a path to 256 octets with its
// angle brackets.
func splitAddress(addr string) (local, domain string, err error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || len(addr) > 254 {
		return "", "", fmt.Errorf("%q: %w", addr, ErrBadAddress)
	}
	return addr[:at], normalizeDomain(addr[at+1:]), nil
}

func normalizeDomain(d string) string { return strings.ToLower(strings.TrimSpace(d)) }

// validDomain accepts a host name (letters, digits, hyphens and dots; UTF-8 letters for internationalised names)
// or an address literal in brackets, as a remote recipient's domain.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	if strings.HasPrefix(d, "[") {
		return strings.HasSuffix(d, "]") && len(d) > 2
	}
	labels := strings.Split(d, ".")
	// No top-level domain is all digits (RFC 1123 2.1): "127.0.0.1" is an IP address posing as a host name.
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if r < 0x80 && !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
				return false
			}
		}
	}
	return true
}
