package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"mailserver/internal/netaddr"
	"mailserver/internal/store"

	"golang.org/x/sync/semaphore"
)

// Login outcomes the protocol layers turn into their own replies.
var (
	ErrInvalidCredentials = errors.New("invalid user name or password")
	ErrAccountDisabled    = errors.New("account is disabled")
	// ErrBusy: the memory for password checks stayed taken for MaxVerifyWait (a storm of logins); nothing was
	// checked. A temporary failure, never a wrong password.
	ErrBusy = errors.New("busy checking other logins, try again in a few seconds")
)

// MaxVerifyWait is the longest a login waits for room to check its password. With the throttle's MaxLoginWait
// before it, a login is answered well within go-imap's 30 s reply deadline for AUTHENTICATE, whatever the load.
const MaxVerifyWait = 10 * time.Second

// VerifyMemoryBudget bounds the memory of the password checks running at once: argon2id allocates its memory
// parameter on every check, so a storm of logins would otherwise hold m times the number of logins in flight (500
// parallel logins at 64 MiB took 600 MB). Each check takes its hash's m from the budget and waits while the rest is
// taken: three checks at DefaultHasher's 19 MiB at once, one at a time for a hash of the former 64 MiB parameters
// until its login rehashes it. Three is enough to keep two cores busy; more at once would only lengthen each.
const VerifyMemoryBudget = 64 << 10 // KiB

// Authenticator checks a user name and password against the store, with throttling of failed attempts. It is the
// one login path shared by SMTP submission, IMAP and CardDAV.
type Authenticator struct {
	store    *store.Store        // immutable
	throttle *Throttle           // immutable
	hasher   Hasher              // immutable: stored hashes with other parameters are rehashed with these on login
	memory   *semaphore.Weighted // KiB of VerifyMemoryBudget taken by password checks in progress
	budget   int64               // immutable: the memory's size in KiB
	// verifyWait bounds the wait for memory (MaxVerifyWait; tests shorten it). Immutable.
	verifyWait time.Duration
	cache      *credentialCache
	// kdf checks a password against a stored hash: Verify, counted by tests. Immutable.
	kdf func(encoded, password string) (bool, error)

	flights *checkFlights // the logins being checked now, by account, for the logins that arrive meanwhile to wait for

	dummyOnce sync.Once
	dummy     string // a hash verified for unknown users, so they take as long as known ones
}

// NewAuthenticator returns an authenticator over st.
func NewAuthenticator(st *store.Store, throttle *Throttle) *Authenticator {
	return &Authenticator{store: st, throttle: throttle, hasher: DefaultHasher(),
		memory: semaphore.NewWeighted(VerifyMemoryBudget), budget: VerifyMemoryBudget, verifyWait: MaxVerifyWait,
		cache: newCredentialCache(throttle.clock), kdf: Verify, flights: newCheckFlights()}
}

// Authenticate returns the account for username (a full address) if password is right and the account may log in.
//
// A login to an account whose password is being checked by another login waits for that check first (at most
// verifyWait, holding no memory and no throttle turn), so that a storm of logins with the same password runs
// argon2id once and the rest find the password in the cache, instead of all counting as possible guesses in
// progress and being refused by the throttle.
func (a *Authenticator) Authenticate(remote net.Addr, username, password string) (store.Account, error) {
	address := loginKey(username)
	started := time.Now()
	if land, led := a.flights.join(address, a.verifyWait); led {
		defer land()
	}
	memoryWait := a.verifyWait - time.Since(started) // one bound for all waiting on other logins' checks
	acct, lookupErr := a.store.Account(address)
	if lookupErr == nil && acct.Shared {
		// Nobody logs in as a shared mailbox (it has no password): treat it like an unknown user.
		lookupErr = fmt.Errorf("login %s: shared mailbox: %w", address, store.ErrAccountNotFound)
	}
	attempt, err := a.throttle.BeginUnlessProven(netaddr.Host(remote), address, func() bool {
		// Only for an account that may log in, so that the throttle records no login a disabled one cannot make.
		return lookupErr == nil && !acct.Disabled && a.cache.verified(address, acct.PasswordHash, password)
	})
	switch {
	case err != nil:
		return store.Account{}, err
	case attempt == nil:
		return a.upgradeHash(acct, password), nil
	}
	return a.check(attempt, address, acct, lookupErr, password, memoryWait)
}

// check verifies the password of a login that the throttle let through as attempt, once its turn comes, and ends
// the attempt with the outcome.
func (a *Authenticator) check(attempt *Attempt, address string, acct store.Account, lookupErr error,
	password string, memoryWait time.Duration) (store.Account, error) {
	time.Sleep(attempt.Wait()) // at most Policy.MaxWait, well within the protocols' deadlines
	encoded := acct.PasswordHash
	if lookupErr != nil {
		if !errors.Is(lookupErr, store.ErrAccountNotFound) {
			attempt.Release()
			return store.Account{}, fmt.Errorf("login %s: %w", address, lookupErr)
		}
		encoded = a.dummyHash()
	}
	ok, err := a.checkPassword(lookupErr == nil, address, encoded, password, memoryWait)
	switch {
	case errors.Is(err, ErrBusy):
		attempt.Release()
		return store.Account{}, ErrBusy
	case err != nil && lookupErr == nil:
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
	return a.upgradeHash(acct, password), nil
}

// checkPassword reports whether password matches the stored hash encoded, from the cache of verified passwords
// when it holds this one for address and this very hash, and otherwise with argon2id, remembering a match. known
// is false for the dummy hash of an unknown user, which is never remembered. ErrBusy means nothing was checked.
func (a *Authenticator) checkPassword(known bool, address, encoded, password string, memoryWait time.Duration) (bool, error) {
	if known && a.cache.verified(address, encoded, password) {
		return true, nil
	}
	ok, err := a.verify(encoded, password, memoryWait)
	if ok && err == nil && known {
		a.cache.remember(address, encoded, password)
	}
	return ok, err
}

// verify runs argon2id for password against encoded once the hash's memory fits in the budget, waiting at most
// wait for it (ErrBusy). The KDF's memory is garbage as soon as it returns: nothing here keeps it.
func (a *Authenticator) verify(encoded, password string, wait time.Duration) (bool, error) {
	params, _, _, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	release, err := a.takeMemory(params.MemoryKiB, wait)
	if err != nil {
		return false, err
	}
	defer release()
	return a.kdf(encoded, password)
}

// takeMemory waits, at most wait, until kib of the budget is free (ErrBusy), takes it and returns its release. A
// hash that needs more than the whole budget (old or odd parameters, bounded by maxMemoryKiB) takes all of it: it
// runs alone.
func (a *Authenticator) takeMemory(kib uint32, wait time.Duration) (release func(), err error) {
	n := min(int64(kib), a.budget)
	if !a.memory.TryAcquire(n) {
		if wait <= 0 {
			return nil, ErrBusy
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := a.memory.Acquire(ctx, n); err != nil {
			return nil, ErrBusy
		}
	}
	return func() { a.memory.Release(n) }, nil
}

// upgradeHash rehashes the password of an account that just logged in when its stored hash has parameters other
// than the current ones (hashes made before they were chosen), so that every account moves to them as its owner
// logs in; it returns the account as stored afterwards. The login stands whatever happens, and does not wait for
// memory: an upgrade that cannot be made now (the budget taken by a storm of logins, a store error) is tried again
// at the next login, whether argon2id checks it or the cache answers.
func (a *Authenticator) upgradeHash(acct store.Account, password string) store.Account {
	if !a.hasher.NeedsRehash(acct.PasswordHash) {
		return acct
	}
	release, err := a.takeMemory(a.hasher.MemoryKiB, 0)
	if err != nil {
		return acct
	}
	fresh, err := a.hasher.Hash(password)
	release()
	if err != nil {
		slog.Warn("password rehash failed", "account", acct.Address, "err", err)
		return acct
	}
	old := acct.PasswordHash
	updated, err := a.store.UpdateAccount(acct.Address, func(stored *store.Account) error {
		if stored.PasswordHash != old {
			return errPasswordChanged // changed by an administrator meanwhile: theirs stands
		}
		stored.PasswordHash = fresh
		return nil
	})
	if err != nil {
		if !errors.Is(err, errPasswordChanged) {
			slog.Warn("password rehash not stored", "account", acct.Address, "err", err)
		}
		return acct
	}
	a.cache.remember(loginKey(updated.Address), updated.PasswordHash, password)
	return updated
}

// errPasswordChanged abandons a rehash whose account's password changed since the login read it.
var errPasswordChanged = errors.New("password changed meanwhile")

// Forget drops what the authenticator remembers of address's verified password: `user passwd`, `user disable`
// and `user remove` call it in the running server. Not needed for safety (a cached password is used only while
// the account's stored hash is the one it was checked against, and disabled or removed accounts are refused
// before the cache is asked) but it frees the entry at once.
func (a *Authenticator) Forget(address string) { a.cache.forget(loginKey(address)) }

func (a *Authenticator) dummyHash() string {
	a.dummyOnce.Do(func() {
		a.dummy, _ = a.hasher.Hash(GeneratePassword())
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
