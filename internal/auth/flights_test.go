package auth

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// parallelLogins logs in to an@ with password n times at once from remote, and returns each login's error.
func parallelLogins(a *Authenticator, remote net.Addr, n int, password string) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = a.Authenticate(remote, testAddress, password)
		})
	}
	wg.Wait()
	return errs
}

// A storm of logins to one account with its right password (a thousand phones, one shared account; mailbench
// logins) runs argon2id once: the logins that arrive while it runs wait for it and find the password in the cache,
// instead of counting as guesses in progress and being refused by the throttle.
func TestParallelRightPasswordsCheckedOnce(t *testing.T) {
	const logins = 100
	a, _, kdf := countedAuthenticator(storeWithAn(t), newFakeClock())
	kdf.hold = func() { time.Sleep(20 * time.Millisecond) } // long enough for the others to arrive meanwhile
	for i, err := range parallelLogins(a, testRemote, logins, testPassword) {
		if err != nil {
			t.Errorf("login %d: %v", i, err)
		}
	}
	if n := kdf.runs.Load(); n != 1 {
		t.Errorf("%d parallel logins with the right password ran argon2id %d times, want 1", logins, n)
	}
}

// Parallel wrong passwords at one account are spaced and refused exactly as before: waiting for the check in
// progress gives each no more than its turn, and a guess asks the cache only when it takes a turn.
func TestParallelWrongPasswordsThrottled(t *testing.T) {
	const guesses = 30
	st := storeWithAn(t)
	p := DefaultPolicy() // the account's limits a thousand times faster; the clock stands still
	p.Account.BaseDelay, p.Account.MaxDelay, p.MaxWait = time.Millisecond, 30*time.Millisecond, 10*time.Millisecond
	a := NewAuthenticator(st, NewThrottleWithPolicy(newFakeClock().Now, p))
	a.hasher = Hasher{Time: 1, MemoryKiB: 1024, Threads: 1}
	kdf := &countingKDF{}
	kdf.install(a)
	if err := login(a, testAddress, testPassword); err != nil { // the right password in the cache
		t.Fatal(err)
	}
	guesser := &net.TCPAddr{IP: net.ParseIP("203.0.113.9"), Port: 40000}
	var wrong, refused int
	for i, err := range parallelLogins(a, guesser, guesses, "Mật-khẩu-2025") {
		switch {
		case errors.Is(err, ErrInvalidCredentials):
			wrong++
		case errors.Is(err, ErrTooManyAttempts):
			refused++
		default:
			t.Errorf("guess %d: %v", i, err)
		}
	}
	// Five free, then spaced 1, 2 and 4 ms; the next would wait 15 ms, past MaxWait (as spacedWaits).
	const spaced = 8
	if wrong != spaced || refused != guesses-spaced || kdf.runs.Load() != 1+spaced {
		t.Errorf("%d parallel guesses: %d checked (%d argon2id runs), %d refused; want %d checked, the rest refused",
			guesses, wrong, kdf.runs.Load()-1, refused, spaced)
	}
}

// While the account is locked out, even its right password, cached, is refused unchecked from an address the
// owner has not logged in from: the cache answers nobody the throttle would not let try.
func TestCachedPasswordRefusedWhileLockedOut(t *testing.T) {
	clock := newFakeClock()
	a, throttle, _ := countedAuthenticator(storeWithAn(t), clock)
	if err := login(a, testAddress, testPassword); err != nil {
		t.Fatal(err)
	}
	guessUntilLocked(t, clock, throttle, func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }, testAddress, 40)
	elsewhere := &net.TCPAddr{IP: net.ParseIP("203.0.113.5"), Port: 40000}
	if _, err := a.Authenticate(elsewhere, testAddress, testPassword); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("the cached password while the account is locked: %v, want ErrTooManyAttempts", err)
	}
	if err := login(a, testAddress, testPassword); err != nil { // the owner where they logged in before
		t.Errorf("the owner from a known address: %v", err)
	}
}
