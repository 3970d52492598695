package auth

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"mailserver/internal/netaddr"
	"mailserver/internal/store"
)

// Login outcomes the protocol layers turn into their own replies.
var (
	ErrInvalidCredentials = errors.New("invalid user name or password")
	ErrAccountDisabled    = errors.New("account is disabled")
)

// Authenticator checks a user name and password against the store, with throttling of failed attempts. It is the
// one login path shared by SMTP submission and IMAP.
type Authenticator struct {
	store    *store.Store  // immutable
	throttle *Throttle     // immutable
	verifies chan struct{} // bounds concurrent argon2id runs: each holds 64 MiB for ~50 ms

	dummyOnce sync.Once
	dummy     string // a hash verified for unknown users, so they take as long as known ones
}

// NewAuthenticator returns an authenticator over st.
func NewAuthenticator(st *store.Store, throttle *Throttle) *Authenticator {
	return &Authenticator{store: st, throttle: throttle, verifies: make(chan struct{}, 2*runtime.NumCPU())}
}

// Authenticate returns the account for username (a full address) if password is right and the account may log in.
func (a *Authenticator) Authenticate(remote net.Addr, username, password string) (store.Account, error) {
	ip := netaddr.Host(remote)
	address := loginKey(username)
	attempt, err := a.throttle.Begin(ip, address)
	if err != nil {
		return store.Account{}, err
	}
	time.Sleep(attempt.Wait()) // at most Policy.MaxWait, well within the protocols' deadlines
	acct, lookupErr := a.store.Account(address)
	encoded := acct.PasswordHash
	if lookupErr == nil && acct.Shared {
		// Nobody logs in as a shared mailbox (it has no password): treat it like an unknown user.
		lookupErr = fmt.Errorf("login %s: shared mailbox: %w", address, store.ErrAccountNotFound)
	}
	if lookupErr != nil {
		if !errors.Is(lookupErr, store.ErrAccountNotFound) {
			attempt.Release()
			return store.Account{}, fmt.Errorf("login %s: %w", address, lookupErr)
		}
		encoded = a.dummyHash()
	}
	a.verifies <- struct{}{}
	ok, err := Verify(encoded, password)
	<-a.verifies
	if err != nil && lookupErr == nil {
		attempt.Release()
		return store.Account{}, fmt.Errorf("login %s: %w", address, err)
	}
	if !ok || lookupErr != nil {
		attempt.Failed()
		return store.Account{}, ErrInvalidCredentials
	}
	if acct.Disabled {
		attempt.Release()
		return store.Account{}, ErrAccountDisabled
	}
	attempt.Succeeded()
	return acct, nil
}

func (a *Authenticator) dummyHash() string {
	a.dummyOnce.Do(func() {
		a.dummy, _ = DefaultHasher().Hash(GeneratePassword())
	})
	return a.dummy
}
