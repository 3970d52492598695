package auth

import (
	"errors"
	"mailserver/internal/netaddr"
	"math"
	"strings"
	"sync"
	"time"
)

// ErrTooManyAttempts means the IP address or account is locked out for a
// while after too many failed logins.
var ErrTooManyAttempts = errors.New("too many failed login attempts, try again later")

// limits is the throttling policy for one kind of key. Failures are a
// leaky bucket: each one adds 1 and the count drains by 1 every Leak, so a
// phone retrying an old password every few minutes never builds up, while
// a guessing run does.
type limits struct {
	Free      int           // failures that cost nothing
	BaseDelay time.Duration // delay after Free failures, doubling with each more
	MaxDelay  time.Duration
	Leak      time.Duration // one failure is forgotten per Leak
	LockAt    int           // failures that lock the key out
	LockFor   time.Duration
}

var (
	// A single account: five failures in a row start delays of 1 s, 2 s,
	// ... up to 30 s, and twenty lock it for 15 minutes. With one failure
	// drained every 3 minutes, a patient guesser gets about 20 tries an
	// hour per account.
	accountLimits = limits{Free: 5, BaseDelay: time.Second, MaxDelay: 30 * time.Second,
		Leak: 3 * time.Minute, LockAt: 20, LockFor: 15 * time.Minute}
	// An IP address is often a whole office behind one NAT address, so it
	// gets more room than one account: ten free failures, and a lockout
	// only after a hundred.
	ipLimits = limits{Free: 10, BaseDelay: time.Second, MaxDelay: 30 * time.Second,
		Leak: time.Minute, LockAt: 100, LockFor: 15 * time.Minute}
)

const (
	maxThrottleEntries = 100_000 // ~15 MB at most
	pruneEvery         = time.Minute
)

// Throttle tracks failed logins per IP address (IPv6 per /64, which one
// host usually owns entirely) and per account. It is safe for concurrent
// use, and its memory is bounded.
//
// Use: Check before verifying a password; if it returns an error, refuse
// without verifying (and without calling Failed); otherwise pause for the
// returned wait, verify, then call Failed or Succeeded.
type Throttle struct {
	clock      func() time.Time // immutable
	maxEntries int              // immutable; tests lower it

	mu        sync.Mutex
	entries   map[string]*failures // "ip " + prefix or "acct " + account
	lastPrune time.Time
}

type failures struct {
	lim         *limits // immutable
	count       float64 // drained as of last
	last        time.Time
	lockedUntil time.Time
}

// NewThrottle returns an empty Throttle reading the time from clock
// (time.Now in production, a fake in tests).
func NewThrottle(clock func() time.Time) *Throttle {
	return &Throttle{clock: clock, maxEntries: maxThrottleEntries, entries: make(map[string]*failures)}
}

// Check returns how long the caller should pause before verifying a
// password from ip for account, or ErrTooManyAttempts with the time left
// on the lockout. Either argument may be empty when unknown.
func (t *Throttle) Check(ip, account string) (wait time.Duration, err error) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	var lockWait time.Duration
	for _, k := range keys(ip, account) {
		f := t.entries[k.name]
		if f == nil {
			continue
		}
		if now.Before(f.lockedUntil) {
			lockWait = max(lockWait, f.lockedUntil.Sub(now))
		}
		wait = max(wait, f.lim.delay(f.drained(now))-now.Sub(f.last))
	}
	if lockWait > 0 {
		return lockWait, ErrTooManyAttempts
	}
	return wait, nil
}

// Failed records a failed login.
func (t *Throttle) Failed(ip, account string) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	for _, k := range keys(ip, account) {
		f := t.entries[k.name]
		if f == nil {
			t.makeRoomLocked()
			f = &failures{lim: k.lim}
			t.entries[k.name] = f
		}
		f.count = f.drained(now) + 1
		f.last = now
		if math.Ceil(f.count) >= float64(f.lim.LockAt) {
			f.lockedUntil = now.Add(f.lim.LockFor)
		}
	}
}

// Succeeded forgets the account's failures. The IP address's stay: one
// good password must not reset a guessing run from the same address
// across other accounts.
func (t *Throttle) Succeeded(ip, account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys("", account) {
		delete(t.entries, k.name)
	}
}

type throttleKey struct {
	name string
	lim  *limits
}

// keys returns the throttle keys for ip and account with their limits.
func keys(ip, account string) []throttleKey {
	var ks []throttleKey
	if ip != "" {
		ks = append(ks, throttleKey{"ip " + ipKey(ip), &ipLimits})
	}
	if a := strings.ToLower(strings.TrimSpace(account)); a != "" {
		ks = append(ks, throttleKey{"acct " + a, &accountLimits})
	}
	return ks
}

// ipKey accepts "1.2.3.4", "[::1]:25" or anything else (used verbatim).
func ipKey(s string) string {
	if p, ok := netaddr.ParseClient(s); ok {
		return p.String()
	}
	return s
}

// drained returns the failure count after leaking since the last failure.
func (f *failures) drained(now time.Time) float64 {
	return max(0, f.count-float64(now.Sub(f.last))/float64(f.lim.Leak))
}

// delay is the pause owed after count failures. A partly drained failure
// still counts, so that waiting a second does not shorten the next delay.
func (lim limits) delay(count float64) time.Duration {
	n := int(math.Ceil(count)) - lim.Free
	if n < 0 {
		return 0
	}
	if n > 30 { // avoid overflowing the shift; MaxDelay caps it anyway
		return lim.MaxDelay
	}
	return min(lim.BaseDelay<<n, lim.MaxDelay)
}

// pruneLocked drops fully drained, unlocked entries, at most once per
// pruneEvery so that a busy server does not scan the map on every login.
func (t *Throttle) pruneLocked(now time.Time) {
	if now.Sub(t.lastPrune) < pruneEvery {
		return
	}
	t.lastPrune = now
	for key, f := range t.entries {
		if !now.Before(f.lockedUntil) && f.drained(now) == 0 {
			delete(t.entries, key)
		}
	}
}

// makeRoomLocked evicts one entry when the map is full. Go's map iteration
// starts at a random place, so this is a random eviction: an attacker
// flooding the map with fresh keys cannot pick whom to evict.
func (t *Throttle) makeRoomLocked() {
	if len(t.entries) < t.maxEntries {
		return
	}
	for key := range t.entries {
		delete(t.entries, key)
		return
	}
}
