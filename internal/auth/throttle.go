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
	// knownFor is how long a successful login makes its (account, client address) pair known: from there, the
	// account's own delays and lockout do not apply, only the address's.
	knownFor = 30 * 24 * time.Hour
)

// Throttle tracks failed logins per IP address (IPv6 per /64, which one
// host usually owns entirely) and per account. It is safe for concurrent
// use, and its memory is bounded.
//
// Use: Begin before verifying a password; if it returns an error, refuse
// without verifying; otherwise pause for the returned wait, verify, then call
// exactly one of Failed, Succeeded or Release. Begin counts the attempt as in
// progress, so that many verified at once cannot pass a lockout that each of
// them alone would have hit.
//
// An account's own delays and lockout protect it from guessing from many
// addresses, but an attacker could also use them to lock its owner out. So
// they do not apply from a client address where the account has logged in
// successfully within knownFor: there, only that address's limits do.
type Throttle struct {
	clock      func() time.Time // immutable
	maxEntries int              // immutable; tests lower it

	mu        sync.Mutex
	entries   map[string]*failures // "ip " + prefix or "acct " + account
	known     map[string]time.Time // account + " " + client prefix → known until
	lastPrune time.Time
}

type failures struct {
	lim         *limits // immutable
	count       float64 // drained as of last
	last        time.Time
	lockedUntil time.Time
	inProgress  int // attempts begun and not yet ended
}

// NewThrottle returns an empty Throttle reading the time from clock
// (time.Now in production, a fake in tests).
func NewThrottle(clock func() time.Time) *Throttle {
	return &Throttle{clock: clock, maxEntries: maxThrottleEntries, entries: make(map[string]*failures),
		known: make(map[string]time.Time)}
}

// Check returns how long the caller should pause before verifying a
// password from ip for account, or ErrTooManyAttempts with the time left
// on the lockout. Either argument may be empty when unknown.
func (t *Throttle) Check(ip, account string) (wait time.Duration, err error) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	return t.checkLocked(now, t.keysLocked(now, ip, account))
}

// Begin is Check, and on success counts the attempt as in progress until Failed, Succeeded or Release.
func (t *Throttle) Begin(ip, account string) (wait time.Duration, err error) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	ks := t.keysLocked(now, ip, account)
	if wait, err = t.checkLocked(now, ks); err != nil {
		return wait, err
	}
	for _, k := range ks {
		t.entryLocked(k).inProgress++
	}
	return wait, nil
}

func (t *Throttle) checkLocked(now time.Time, ks []throttleKey) (wait time.Duration, err error) {
	var lockWait time.Duration
	for _, k := range ks {
		f := t.entries[k.name]
		if f == nil {
			continue
		}
		if now.Before(f.lockedUntil) {
			lockWait = max(lockWait, f.lockedUntil.Sub(now))
		}
		if math.Ceil(f.drained(now))+float64(f.inProgress) >= float64(f.lim.LockAt) {
			lockWait = max(lockWait, f.lim.MaxDelay) // attempts in progress would reach the lockout
		}
		wait = max(wait, f.lim.delay(f.drained(now))-now.Sub(f.last))
	}
	if lockWait > 0 {
		return lockWait, ErrTooManyAttempts
	}
	return wait, nil
}

// Release ends an attempt begun with Begin that was neither a wrong password nor a login (a disabled account).
func (t *Throttle) Release(ip, account string) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.keysLocked(now, ip, account) {
		t.endLocked(k.name)
	}
}

// endLocked ends one attempt in progress on key, if there is one.
func (t *Throttle) endLocked(key string) {
	if f := t.entries[key]; f != nil && f.inProgress > 0 {
		f.inProgress--
	}
}

// entryLocked returns the entry of k, making it if needed.
func (t *Throttle) entryLocked(k throttleKey) *failures {
	f := t.entries[k.name]
	if f == nil {
		t.makeRoomLocked()
		f = &failures{lim: k.lim}
		t.entries[k.name] = f
	}
	return f
}

// Failed records a failed login, ending the attempt Begin counted.
func (t *Throttle) Failed(ip, account string) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	for _, k := range t.keysLocked(now, ip, account) {
		t.endLocked(k.name)
		f := t.entryLocked(k)
		f.count = f.drained(now) + 1
		f.last = now
		if math.Ceil(f.count) >= float64(f.lim.LockAt) {
			f.lockedUntil = now.Add(f.lim.LockFor)
		}
	}
}

// Succeeded forgets the account's failures and makes the pair of account
// and client address known. The IP address's failures stay: one good
// password must not reset a guessing run from the same address across
// other accounts.
func (t *Throttle) Succeeded(ip, account string) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys(ip, "") {
		t.endLocked(k.name)
	}
	for _, k := range keys("", account) {
		delete(t.entries, k.name)
	}
	if pair := knownKey(ip, account); pair != "" {
		if _, ok := t.known[pair]; !ok && len(t.known) >= t.maxEntries {
			for key := range t.known { // random eviction, as in makeRoomLocked
				delete(t.known, key)
				break
			}
		}
		t.known[pair] = now.Add(knownFor)
	}
}

// keysLocked is keys, without the account's when the account has logged in from ip before.
func (t *Throttle) keysLocked(now time.Time, ip, account string) []throttleKey {
	if pair := knownKey(ip, account); pair != "" && now.Before(t.known[pair]) {
		return keys(ip, "")
	}
	return keys(ip, account)
}

// knownKey names the pair of account and client address, or "" when either is unknown.
func knownKey(ip, account string) string {
	a := strings.ToLower(strings.TrimSpace(account))
	if ip == "" || a == "" {
		return ""
	}
	return a + " " + ipKey(ip)
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
		if !now.Before(f.lockedUntil) && f.drained(now) == 0 && f.inProgress == 0 {
			delete(t.entries, key)
		}
	}
	for pair, until := range t.known {
		if !now.Before(until) {
			delete(t.known, pair)
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
