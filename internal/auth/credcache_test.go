package auth

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"mailserver/internal/store"
)

const (
	testAddress  = "an@example.gov.vn"
	testPassword = "Mật-khẩu-2026"
)

var testRemote = &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}

// countingKDF replaces an Authenticator's argon2id run to count the runs, and the most in progress at once.
type countingKDF struct {
	runs, inFlight, maxInFlight atomic.Int64
	hold                        func() // runs inside each check; may block
}

func (k *countingKDF) install(a *Authenticator) {
	a.kdf = func(encoded, password string) (bool, error) {
		k.runs.Add(1)
		now := k.inFlight.Add(1)
		defer k.inFlight.Add(-1)
		for prev := k.maxInFlight.Load(); now > prev && !k.maxInFlight.CompareAndSwap(prev, now); {
			prev = k.maxInFlight.Load()
		}
		if k.hold != nil {
			k.hold()
		}
		return Verify(encoded, password)
	}
}

// countedAuthenticator is an Authenticator over st whose throttle reads clock and whose argon2id runs are counted.
func countedAuthenticator(st *store.Store, clock *fakeClock) (*Authenticator, *Throttle, *countingKDF) {
	throttle := NewThrottle(clock.Now)
	a := NewAuthenticator(st, throttle)
	a.hasher = Hasher{Time: 1, MemoryKiB: 1024, Threads: 1} // as storeWithAn's hashes: no rehash
	k := &countingKDF{}
	k.install(a)
	return a, throttle, k
}

func login(a *Authenticator, username, password string) error {
	_, err := a.Authenticate(testRemote, username, password)
	return err
}

// A login with the password verified before skips argon2id, as long as the entry lives.
func TestCachedLoginSkipsKDF(t *testing.T) {
	clock := newFakeClock()
	a, _, kdf := countedAuthenticator(storeWithAn(t), clock)
	for i := range 3 {
		if err := login(a, "AN@example.gov.vn", testPassword); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if n := kdf.runs.Load(); n != 1 {
		t.Errorf("three logins with the same password ran argon2id %d times, want 1", n)
	}
	clock.Advance(CredentialCacheTTL - time.Second)
	if err := login(a, testAddress, testPassword); err != nil || kdf.runs.Load() != 1 {
		t.Errorf("login within the TTL: %v, %d runs, want a hit", err, kdf.runs.Load())
	}
	clock.Advance(time.Second)
	if err := login(a, testAddress, testPassword); err != nil || kdf.runs.Load() != 2 {
		t.Errorf("login once the TTL ran out: %v, %d runs, want argon2id again", err, kdf.runs.Load())
	}
	a.Forget("An@Example.gov.vn")
	if err := login(a, testAddress, testPassword); err != nil || kdf.runs.Load() != 3 {
		t.Errorf("login after Forget: %v, %d runs, want argon2id again", err, kdf.runs.Load())
	}
}

// A wrong password with a warm cache is checked by argon2id, refused, counted by the throttle, and never cached.
func TestWrongPasswordWithWarmCache(t *testing.T) {
	st := storeWithAn(t)
	clock := newFakeClock()
	p := DefaultPolicy()
	p.Account = Limits{Free: 0, BaseDelay: time.Hour, MaxDelay: time.Hour, Leak: 24 * time.Hour, LockAt: 100,
		LockFor: time.Hour}
	throttle := NewThrottleWithPolicy(clock.Now, p)
	a := NewAuthenticator(st, throttle)
	a.hasher = Hasher{Time: 1, MemoryKiB: 1024, Threads: 1}
	kdf := &countingKDF{}
	kdf.install(a)
	if err := login(a, testAddress, testPassword); err != nil {
		t.Fatal(err)
	}
	if err := login(a, testAddress, "Mật-khẩu-2025"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password with a warm cache: %v, want ErrInvalidCredentials", err)
	}
	if n := kdf.runs.Load(); n != 2 {
		t.Errorf("argon2id ran %d times, want 2: the wrong password checked", n)
	}
	if _, err := throttle.Check(testRemote.IP.String(), testAddress); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("after a wrong password the throttle says %v, want the next attempt an hour away", err)
	}
	clock.Advance(time.Hour)
	if err := login(a, testAddress, "Mật-khẩu-2025"); !errors.Is(err, ErrInvalidCredentials) || kdf.runs.Load() != 3 {
		t.Errorf("the same wrong password again: %v, %d runs; want refused by argon2id, not cached", err,
			kdf.runs.Load())
	}
}

// After a password change the old password is refused even though it is cached, and the new one accepted.
func TestCachedPasswordChanged(t *testing.T) {
	st := storeWithAn(t)
	a, _, kdf := countedAuthenticator(st, newFakeClock())
	if err := login(a, testAddress, testPassword); err != nil {
		t.Fatal(err)
	}
	setPassword(t, st, a.hasher, "Mật-khẩu-mới-2027")
	if err := login(a, testAddress, testPassword); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("old password after the change: %v, want ErrInvalidCredentials", err)
	}
	for range 2 {
		if err := login(a, testAddress, "Mật-khẩu-mới-2027"); err != nil {
			t.Errorf("new password: %v", err)
		}
	}
	if n := kdf.runs.Load(); n != 3 {
		t.Errorf("argon2id ran %d times, want 3: first login, old password, new password once", n)
	}
	// Changed back to the first password (with a new salt, as `user passwd` does): the old entry is no use either.
	setPassword(t, st, a.hasher, testPassword)
	if err := login(a, testAddress, testPassword); err != nil || kdf.runs.Load() != 4 {
		t.Errorf("password set back: %v, %d runs; want checked by argon2id against the new hash", err, kdf.runs.Load())
	}
}

func setPassword(t *testing.T, st *store.Store, h Hasher, password string) {
	t.Helper()
	hash, err := h.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	updateAn(t, st, func(acct *store.Account) { acct.PasswordHash = hash })
}

// updateAn changes the stored account an@example.gov.vn as an administrator would.
func updateAn(t *testing.T, st *store.Store, change func(*store.Account)) {
	t.Helper()
	if _, err := st.UpdateAccount(testAddress, func(acct *store.Account) error {
		change(acct)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A disabled or removed account is refused whatever the cache holds.
func TestCachedAccountDisabledOrRemoved(t *testing.T) {
	st := storeWithAn(t)
	a, _, _ := countedAuthenticator(st, newFakeClock())
	if err := login(a, testAddress, testPassword); err != nil {
		t.Fatal(err)
	}
	updateAn(t, st, func(acct *store.Account) { acct.Disabled = true })
	if err := login(a, testAddress, testPassword); !errors.Is(err, ErrAccountDisabled) {
		t.Errorf("disabled account with a warm cache: %v, want ErrAccountDisabled", err)
	}
	if err := st.RemoveAccount(testAddress); err != nil {
		t.Fatal(err)
	}
	if err := login(a, testAddress, testPassword); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("removed account with a warm cache: %v, want ErrInvalidCredentials", err)
	}
}

// The cache holds at most its size, dropping the least recently used entry.
func TestCredentialCacheBounded(t *testing.T) {
	c := newCredentialCache(time.Now)
	c.size = 2
	c.remember("a@x.vn", "hash-a", "pw")
	c.remember("b@x.vn", "hash-b", "pw")
	if !c.verified("a@x.vn", "hash-a", "pw") { // a used: b is now the least recent
		t.Fatal("a not remembered")
	}
	c.remember("c@x.vn", "hash-c", "pw")
	if n := c.len(); n != 2 {
		t.Errorf("cache of size 2 holds %d entries", n)
	}
	for addr, want := range map[string]bool{"a@x.vn": true, "b@x.vn": false, "c@x.vn": true} {
		if got := c.verified(addr, "hash-"+addr[:1], "pw"); got != want {
			t.Errorf("%s remembered = %v, want %v", addr, got, want)
		}
	}
	if c.verified("a@x.vn", "hash-b", "pw") || c.verified("c@x.vn", "hash-c", "PW") {
		t.Error("an entry matched another stored hash or another password")
	}
}

// storeWithAccounts is storeWithAn with n more accounts u0@ … u(n-1)@example.gov.vn, each with testPassword.
func storeWithAccounts(t *testing.T, n int) *store.Store {
	t.Helper()
	st := storeWithAn(t)
	acct, err := st.Account(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := st.AddAccount(store.Account{Address: fmt.Sprintf("u%d@example.gov.vn", i),
			PasswordHash: acct.PasswordHash}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// stormPolicy lets any number of parallel logins through the throttle at once, so that only the memory bounds them.
func stormPolicy() Policy {
	free := Limits{Free: 1000, Concurrent: 1000, BaseDelay: time.Second, MaxDelay: time.Second, Leak: time.Minute,
		LockAt: 10000, LockFor: time.Minute}
	return Policy{Account: free, Address: free, MaxWait: time.Second}
}

// stormAuthenticator is an Authenticator whose memory budget fits k checks of storeWithAn's hashes (1 MiB each).
func stormAuthenticator(st *store.Store, k int) (*Authenticator, *countingKDF) {
	a := NewAuthenticator(st, NewThrottleWithPolicy(time.Now, stormPolicy()))
	a.hasher = Hasher{Time: 1, MemoryKiB: 1024, Threads: 1}
	a.budget = int64(k) * 1024
	a.memory = semaphore.NewWeighted(a.budget)
	kdf := &countingKDF{}
	kdf.install(a)
	return a, kdf
}

// A storm of parallel logins never runs more argon2id checks at once than the memory budget holds.
func TestLoginStormBoundsChecksInFlight(t *testing.T) {
	const logins, k = 24, 3
	a, kdf := stormAuthenticator(storeWithAccounts(t, logins), k)
	kdf.hold = func() { time.Sleep(5 * time.Millisecond) } // long enough for the others to pile up
	errs := stormLogins(a, logins)
	for i, err := range errs {
		if err != nil {
			t.Errorf("login %d: %v", i, err)
		}
	}
	if n := kdf.maxInFlight.Load(); n > k {
		t.Errorf("%d argon2id checks ran at once, want at most %d", n, k)
	}
	if n := kdf.runs.Load(); n != logins {
		t.Errorf("%d checks for %d logins", n, logins)
	}
}

// In a storm, a login that finds no memory free within verifyWait gets ErrBusy, the temporary failure, never a
// wrong password; those that got memory succeed.
func TestLoginStormWaitBounded(t *testing.T) {
	const logins, k = 12, 3
	a, kdf := stormAuthenticator(storeWithAccounts(t, logins), k)
	a.verifyWait = 20 * time.Millisecond
	release := make(chan struct{})
	kdf.hold = func() { <-release } // the first k checks hold the memory until every other login has been answered
	var busy atomic.Int64
	done := make(chan []error)
	go func() { done <- stormLogins(a, logins, &busy) }()
	deadline := time.Now().Add(10 * time.Second)
	for (kdf.inFlight.Load() < k || busy.Load() < logins-k) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	var ok, refused int
	for i, err := range <-done {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrBusy):
			refused++
		default:
			t.Errorf("login %d: %v, want success or ErrBusy", i, err)
		}
	}
	if ok != k || refused != logins-k {
		t.Errorf("%d logins succeeded and %d were told to retry, want %d and %d", ok, refused, k, logins-k)
	}
}

// stormLogins logs in u0@ … u(n-1)@example.gov.vn all at once and returns each login's error; busy, if given,
// counts the ErrBusy answers as they come.
func stormLogins(a *Authenticator, n int, busy ...*atomic.Int64) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = login(a, fmt.Sprintf("u%d@example.gov.vn", i), testPassword)
			if errors.Is(errs[i], ErrBusy) && len(busy) > 0 {
				busy[0].Add(1)
			}
		})
	}
	wg.Wait()
	return errs
}

// A hash made with other parameters than the current ones is rehashed with them at the next successful login; the
// password keeps working, and a wrong password rehashes nothing.
func TestLoginRehashesOldParameters(t *testing.T) {
	st := storeWithAn(t) // hashed with m=1024,t=1,p=1
	a := NewAuthenticator(st, NewThrottle(time.Now))
	old := accountHash(t, st)
	if !a.hasher.NeedsRehash(old) {
		t.Fatal("test hash already has the current parameters")
	}
	if err := login(a, testAddress, "sai mật khẩu"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if accountHash(t, st) != old {
		t.Error("a wrong password rehashed the stored hash")
	}
	acct, err := a.Authenticate(testRemote, testAddress, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	stored := accountHash(t, st)
	if stored == old || a.hasher.NeedsRehash(stored) || acct.PasswordHash != stored {
		t.Errorf("after a login the stored hash is %q (returned %q), want one with DefaultHasher's parameters",
			stored, acct.PasswordHash)
	}
	if ok, err := Verify(stored, testPassword); !ok || err != nil {
		t.Errorf("the rehashed password does not verify: %v, %v", ok, err)
	}
	fresh := NewAuthenticator(st, NewThrottle(time.Now)) // another process: nothing cached
	if err := login(fresh, testAddress, testPassword); err != nil || accountHash(t, st) != stored {
		t.Errorf("login against the new hash: %v; stored hash changed again: %v", err, accountHash(t, st) != stored)
	}
}

func accountHash(t *testing.T, st *store.Store) string {
	t.Helper()
	acct, err := st.Account(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	return acct.PasswordHash
}

// BenchmarkAuthenticate is a login with a DefaultHasher hash: argon2id every time ("uncached", the first login of
// a user), or remembered from the one before ("cached").
func BenchmarkAuthenticate(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hash, err := DefaultHasher().Hash(testPassword)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.AddDomain("example.gov.vn"); err != nil {
		b.Fatal(err)
	}
	if _, err := st.AddAccount(store.Account{Address: testAddress, PasswordHash: hash}); err != nil {
		b.Fatal(err)
	}
	a := NewAuthenticator(st, NewThrottle(time.Now))
	for _, cached := range []bool{false, true} {
		b.Run(map[bool]string{false: "uncached", true: "cached"}[cached], func(b *testing.B) {
			for b.Loop() {
				if !cached {
					a.Forget(testAddress)
				}
				if err := login(a, testAddress, testPassword); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
