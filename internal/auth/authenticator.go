package auth

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"mailserver/internal/netaddr"
	"mailserver/internal/store"
)

// Login outcomes the protocol layers turn into their own replies.
var (
	ErrInvalidCredentials = errors.New("invalid user name or password")
	ErrAccountDisabled    = errors.New("account is disabled")
	// ErrBusy: every password check slot stayed taken for MaxVerifyWait (a storm of logins); nothing was checked.
	ErrBusy = errors.New("busy checking other logins, try again in a few seconds")
)

// MaxVerifyWait is the longest a login waits for a password check slot. With the throttle's MaxLoginWait before
// it, a login is answered well within go-imap's 30 s reply deadline for AUTHENTICATE, whatever the load.
const MaxVerifyWait = 10 * time.Second

// Authenticator checks a user name and password against the store, with throttling of failed attempts. It is the
// one login path shared by SMTP submission and IMAP.
type Authenticator struct {
	store    *store.Store  // immutable
	throttle *Throttle     // immutable
	verifies chan struct{} // bounds concurrent argon2id runs: each holds 64 MiB for ~50 ms
	// verifyWait bounds the wait for a verifies slot (MaxVerifyWait; tests shorten it). Immutable.
	verifyWait time.Duration

	dummyOnce sync.Once
	dummy     string // a hash verified for unknown users, so they take as long as known ones
}

// NewAuthenticator returns an authenticator over st.
func NewAuthenticator(st *store.Store, throttle *Throttle) *Authenticator {
	return &Authenticator{store: st, throttle: throttle, verifies: make(chan struct{}, 2*runtime.NumCPU()),
		verifyWait: MaxVerifyWait}
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
	if !a.takeVerifySlot() {
		attempt.Release()
		return store.Account{}, ErrBusy
	}
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

// takeVerifySlot waits for a password check slot, at most verifyWait.
func (a *Authenticator) takeVerifySlot() bool {
	select {
	case a.verifies <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(a.verifyWait)
	defer timer.Stop()
	select {
	case a.verifies <- struct{}{}:
		return true
	case <-timer.C:
		return false
	}
}

func (a *Authenticator) dummyHash() string {
	a.dummyOnce.Do(func() {
		a.dummy, _ = DefaultHasher().Hash(GeneratePassword())
	})
	return a.dummy
}

// maxLoggedName is the longest login name written to the logs whole: the longest address (RFC 5321 4.5.3.1.3).
const maxLoggedName = 254

// LogName is a login name as the logs show it: a client may send a name of any length, and a failed login is logged,
// so a longer one is cut (at a character boundary) and its length said.
func LogName(username string) string {
	if len(username) <= maxLoggedName {
		return username
	}
	cut := maxLoggedName
	for cut > 0 && !utf8.RuneStart(username[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", username[:cut], len(username))
}
