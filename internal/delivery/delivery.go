// Package delivery is the two-phase seam between the protocol servers and the store, after maddy's
// module.Delivery: a protocol session begins a Transaction with the envelope, adds recipients one by one (each
// resolved at once, so SMTP can refuse it at RCPT time), then either commits the message body or aborts. Nothing
// lasting happens before Commit, and Commit is one store transaction: every local copy is stored, or none is.
//
// Recipient resolution has one step, Deliverer.resolve, where aliases and groups will slot in; today an address
// resolves to the account that has it.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// backend is the part of *store.Store that delivery uses; tests substitute fakes that fail on demand.
type backend interface {
	HasDomain(name string) (bool, error)
	Account(address string) (store.Account, error)
	Deliver(msg store.NewMessage, copies []store.Copy) ([]store.Placed, error)
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
	TLS           bool     // the connection is encrypted
	Submission    bool     // a message submission (RFC 6409): the From header must belong to Authenticated
	Size          int64    // the size the client declared (MAIL FROM SIZE=), 0 if none; used for quota at RCPT
}

// IsLocalDomain reports whether mail for domain is delivered here.
func (d *Deliverer) IsLocalDomain(domain string) (bool, error) {
	return d.store.HasDomain(normalizeDomain(domain))
}

// SenderAllowed reports whether account may use address as its envelope sender or From address. Today that is its
// own address only; aliases, groups it may send as and shared mailboxes it serves come later.
func (d *Deliverer) SenderAllowed(account store.Account, address string) bool {
	return auth.AddressOwned(address, d.sendableAddresses(account.Address))
}

// CheckSender confirms that the account a submission session logged in as still exists and is not disabled:
// sessions outlive the login, and an account revoked meanwhile must not go on sending. ErrSenderRevoked otherwise.
func (d *Deliverer) CheckSender(account store.Account) error {
	current, err := d.store.Account(account.Address)
	if errors.Is(err, store.ErrAccountNotFound) || err == nil && (current.Disabled || current.ID != account.ID) {
		return fmt.Errorf("%s: %w", account.Address, ErrSenderRevoked)
	}
	return err
}

// sendableAddresses lists the addresses the account with the given address may send as.
func (d *Deliverer) sendableAddresses(account string) []string {
	if account == "" {
		return nil
	}
	return []string{account}
}

// resolve returns the accounts that receive mail sent to the local address addr (already normalised). Today that is
// the account with that address; aliases and groups (expanded, deduplicated, loop-safe, posting policy checked)
// will slot in here.
func (d *Deliverer) resolve(_ context.Context, addr string) ([]store.Account, error) {
	a, err := d.store.Account(addr)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%s: %w", addr, ErrUnknownRecipient)
		}
		return nil, fmt.Errorf("look up %s: %w", addr, err)
	}
	return []store.Account{a}, nil
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
