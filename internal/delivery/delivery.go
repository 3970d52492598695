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
	"time"

	"mailserver/internal/metrics"
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
	PrepareWrite() *store.PreparedWrite
	ActiveScriptOf(accountID uint64) (store.ActiveScript, error)
}

// Deliverer resolves recipients and stores messages. It is safe for concurrent use; each Transaction belongs to one
// protocol session.
type Deliverer struct {
	store    backend          // immutable
	hostname string           // immutable: the "by" name of Received headers
	log      *slog.Logger     // immutable
	metrics  *metrics.Metrics // immutable; nil counts nothing
	now      func() time.Time // immutable
	sieve    *scriptCache     // set once by UseSieve before any delivery; nil: no filters run
}

// New returns a Deliverer storing into st. hostname names this server in Received headers; m counts the local
// copies stored (nil: nothing is counted).
func New(st *store.Store, hostname string, logger *slog.Logger, m *metrics.Metrics) *Deliverer {
	d := newDeliverer(st, hostname, logger)
	d.metrics = m
	return d
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
	// Logger is the log of the session the message arrives in (its connection ID), which the transaction's lines
	// join with the message ID; nil: the Deliverer's.
	Logger *slog.Logger
}

// IsLocalDomain reports whether mail for domain is delivered here.
func (d *Deliverer) IsLocalDomain(domain string) (bool, error) {
	return d.store.HasDomain(domain)
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
