package auth

import (
	"errors"
	"fmt"
	"mailserver/internal/netaddr"
	"math"
	"strings"
	"sync"
	"time"
)

// ErrTooManyAttempts means the IP address or account is locked out for a
// while after too many failed logins. Refusals by a Throttle are
// *ThrottledError, which matches it with errors.Is.
var ErrTooManyAttempts = errors.New("too many failed login attempts, try again later")

// ThrottledError refuses a login without checking its password: the client
// address or the account is locked out, or its next turn is more than
// Policy.MaxWait away.
type ThrottledError struct {
	RetryAfter time.Duration // from now until an attempt would be checked
	Locked     bool          // the client address or the account is locked out, rather than its turn far away
}

func (e *ThrottledError) Error() string {
	return "too many failed login attempts, " + e.Advice()
}

func (e *ThrottledError) Unwrap() error { return ErrTooManyAttempts }

// Advice says in plain words when to try again: "try again in 28 seconds". Rounded up, so that a client that
// retries when told is let through.
func (e *ThrottledError) Advice() string {
	secs := int64(math.Ceil(e.RetryAfter.Seconds()))
	switch {
	case secs <= 1:
		return "try again in 1 second"
	case secs < 120:
		return fmt.Sprintf("try again in %d seconds", secs)
	default:
		return fmt.Sprintf("try again in %d minutes", (secs+59)/60)
	}
}

// RetryAdvice is the Advice of err's ThrottledError, or "try again later" for a bare ErrTooManyAttempts.
func RetryAdvice(err error) string {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.Advice()
	}
	return "try again later"
}

// Limits is the throttling policy for one kind of key. Failures are a
// leaky bucket: each one adds 1 and the count drains by 1 every Leak, so a
// phone retrying an old password every few minutes never builds up, while
// a guessing run does.
type Limits struct {
	Free int // failures that cost nothing
	// Concurrent logins in progress cost nothing either; more at once count as failures until they end, so that
	// parallel guesses are spaced like sequential ones.
	Concurrent int
	BaseDelay  time.Duration // spacing after Free failures, doubling with each more
	MaxDelay   time.Duration
	Leak       time.Duration // one failure is forgotten per Leak
	LockAt     int           // failures that lock the key out
	LockFor    time.Duration
}

// Policy is how a Throttle treats failed logins.
type Policy struct {
	// Account limits an account from addresses where its owner has not logged in within knownFor, and, each on
	// its own, every pair of the account and an address where the owner has.
	Account Limits
	// Address limits one client address (IPv6: one /64), whatever the accounts tried from it.
	Address Limits
	// MaxWait is the longest a login waits for its turn. One whose turn is further away is refused at once,
	// without checking the password, and told when to come back.
	MaxWait time.Duration
}

// MaxLoginWait is the default Policy.MaxWait. A login waits while the protocol library is in the middle of the
// command: go-imap's imapserver sets its 30 s reply write deadline before AUTHENTICATE runs the mechanism
// (respWriteTimeout, set by newResponseEncoder in handleAuthenticate), so a wait near 30 s ends in a TLS error
// instead of an answer; go-smtp renews its deadline before each reply, but clients give up on a command after
// one to five minutes. 10 s leaves the password check 20 s of IMAP's deadline.
const MaxLoginWait = 10 * time.Second

// DefaultPolicy is production's policy.
//
// A single account: five failures in a row start spacing its attempts by 1 s, 2 s, ... up to 30 s, and twenty
// lock it for 15 minutes. With one failure drained every 3 minutes, a patient guesser gets about 20 tries an hour
// per account. An IP address is often a whole office behind one NAT address, so it gets more room than one
// account: ten free failures, fifty logins at once (the whole office at eight in the morning), and a lockout only
// after a hundred.
func DefaultPolicy() Policy {
	return Policy{
		Account: Limits{Free: 5, BaseDelay: time.Second, MaxDelay: 30 * time.Second,
			Leak: 3 * time.Minute, LockAt: 20, LockFor: 15 * time.Minute},
		Address: Limits{Free: 10, Concurrent: 50, BaseDelay: time.Second, MaxDelay: 30 * time.Second,
			Leak: time.Minute, LockAt: 100, LockFor: 15 * time.Minute},
		MaxWait: MaxLoginWait,
	}
}

const (
	maxThrottleEntries = 100_000 // ~17 MB at most (measured: 167 bytes an entry)
	pruneEvery         = time.Minute
	// knownFor is how long a successful login makes its (account, client address) pair known: from there, the
	// account's own lockout does not apply, only the pair's and the address's.
	knownFor = 30 * 24 * time.Hour
)

// Throttle tracks failed logins per IP address (IPv6 per /64, which one
// host usually owns entirely) and per account. It is safe for concurrent
// use, and its memory is bounded.
//
// Use: Begin before verifying a password; if it returns an error, refuse
// without verifying; otherwise wait for the attempt's Wait, verify, then call
// exactly one of its Failed, Succeeded or Release.
//
// Each key has a turn: the time before which no attempt on it starts. Begin
// gives an attempt the current turn and moves the turn on by the spacing
// that the key's failures owe, counting the attempts still in progress as
// failures. So parallel attempts are spaced one after another exactly as
// attempts made one at a time would be, and attempts in progress count
// toward the lockout too. An attempt that turns out not to be a wrong
// password gives its spacing back.
//
// An account's own limits protect it from guessing from many addresses,
// but an attacker could also use its lockout to keep its owner out. So they
// do not apply from a client address where the account has logged in
// successfully within knownFor; there, the pair of account and address has
// the account's limits of its own (with the address's), so the known address
// gets no more guesses than any other, and nobody elsewhere can lock it.
type Throttle struct {
	clock      func() time.Time // immutable
	policy     Policy           // immutable
	maxEntries int              // immutable; tests lower it

	mu      sync.Mutex
	entries map[string]*failures // "ip " + prefix, "acct " + account, or "pair " + account + " " + prefix
	known   map[string]time.Time // account + " " + client prefix → known until
	// lastPrune is when pruneLocked last scanned.
	lastPrune time.Time
}

type failures struct {
	lim         *Limits // immutable
	count       float64 // drained as of last
	last        time.Time
	lockedUntil time.Time
	inProgress  int       // attempts begun and not yet ended
	turn        time.Time // no attempt on this key starts before
}

// NewThrottle returns an empty Throttle with DefaultPolicy, reading the time
// from clock (time.Now in production, a fake in tests).
func NewThrottle(clock func() time.Time) *Throttle {
	return NewThrottleWithPolicy(clock, DefaultPolicy())
}

// NewThrottleWithPolicy returns an empty Throttle with policy p (tests shorten its delays).
func NewThrottleWithPolicy(clock func() time.Time, p Policy) *Throttle {
	return &Throttle{clock: clock, policy: p, maxEntries: maxThrottleEntries, entries: make(map[string]*failures),
		known: make(map[string]time.Time)}
}

// Attempt is one login that Begin let through.
type Attempt struct {
	t    *Throttle
	keys []throttleKey // the keys it was counted on, ended on the same ones even if the pair becomes known meanwhile
	// spacing is how far Begin moved each key's turn on, given back if the password was not wrong.
	spacing []time.Duration
	wait    time.Duration
	pair    string // knownKey of the account and address
	ended   bool   // guarded by t.mu
}

// Wait is how long to wait before verifying the password: at most Policy.MaxWait. The caller waits holding no
// lock, so that the connection stays usable.
func (a *Attempt) Wait() time.Duration { return a.wait }

// Check returns how long a login from ip for account would wait if it began now, or the *ThrottledError that
// would refuse it. Either argument may be empty when unknown.
func (t *Throttle) Check(ip, account string) (wait time.Duration, err error) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	turns, err := t.turnsLocked(now, t.keysLocked(now, ip, account))
	if err != nil {
		return 0, err
	}
	return startOf(now, turns).Sub(now), nil
}

// Begin takes the next turn for a login from ip for account and counts it as in progress, or refuses it with a
// *ThrottledError. Either argument may be empty when unknown.
func (t *Throttle) Begin(ip, account string) (*Attempt, error) {
	return t.BeginUnlessProven(ip, account, func() bool { return false })
}

// BeginUnlessProven is Begin for a login whose password may be proven right without checking it: when the login
// could start at once (no lockout, no turn to wait for), it asks proven, and if proven says yes it records a
// successful login that takes no turn and returns a nil Attempt. Otherwise it takes the turn, as Begin does, in the
// same critical section.
//
// This gives a guesser nothing. proven is asked only when the throttle would let a check start at once, and a no
// takes the turn before the lock is let go, so each password asked about costs a turn just as one checked by
// argon2id does: a burst of parallel guesses gets the same few immediate answers and the same spacing as before,
// and a locked-out account answers nothing. A yes is a login with the right password, which Succeeded would
// record anyway.
func (t *Throttle) BeginUnlessProven(ip, account string, proven func() bool) (*Attempt, error) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	ks := t.keysLocked(now, ip, account)
	turns, err := t.turnsLocked(now, ks)
	if err != nil {
		return nil, err
	}
	if !startOf(now, turns).After(now) && proven() {
		t.succeededLocked(now, ks, nil, knownKey(ip, account))
		return nil, nil
	}
	return t.takeTurnLocked(now, ip, account, ks, turns), nil
}

// takeTurnLocked begins an attempt on keys ks at their turns, counting it as in progress.
func (t *Throttle) takeTurnLocked(now time.Time, ip, account string, ks []throttleKey, turns []time.Time) *Attempt {
	start := startOf(now, turns)
	a := &Attempt{t: t, keys: ks, spacing: make([]time.Duration, len(ks)), wait: start.Sub(now),
		pair: knownKey(ip, account)}
	for i, k := range ks {
		f := t.entryLocked(k)
		// The spacing owed if this attempt fails too: the next one waits that long after this one's turn.
		a.spacing[i] = f.lim.delay(f.pending(now) + 1)
		f.turn = turns[i].Add(a.spacing[i])
		f.inProgress++
	}
	return a
}

// turnsLocked returns when each key lets an attempt start, or the refusal when a key is locked out or the
// attempt would wait longer than MaxWait.
func (t *Throttle) turnsLocked(now time.Time, ks []throttleKey) ([]time.Time, error) {
	turns := make([]time.Time, len(ks))
	var locked time.Duration
	for i, k := range ks {
		turns[i] = now
		if f := t.entries[k.name]; f != nil {
			locked = max(locked, f.lockLeft(now))
			if f.turn.After(now) {
				turns[i] = f.turn
			}
		}
	}
	if locked > 0 {
		return nil, &ThrottledError{RetryAfter: locked, Locked: true}
	}
	if wait := startOf(now, turns).Sub(now); wait > t.policy.MaxWait {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	return turns, nil
}

// startOf is when an attempt with these turns starts: when the last of them comes.
func startOf(now time.Time, turns []time.Time) time.Time {
	start := now
	for _, turn := range turns {
		if turn.After(start) {
			start = turn
		}
	}
	return start
}

// pending counts the failures not yet drained (a partly drained one still counts, so that waiting a second does
// not shorten the next delay) and the attempts in progress, each taken for a failure until it ends.
func (f *failures) pending(now time.Time) int {
	return int(math.Ceil(f.drained(now))) + max(0, f.inProgress-f.lim.Concurrent)
}

// lockLeft is how long the key stays locked out: the rest of its lockout, or MaxDelay when the attempts in
// progress would reach the lockout if they all failed.
func (f *failures) lockLeft(now time.Time) time.Duration {
	left := f.lockedUntil.Sub(now)
	if f.pending(now) >= f.lim.LockAt {
		left = max(left, f.lim.MaxDelay)
	}
	return max(left, 0)
}

// Failed records a wrong password.
func (a *Attempt) Failed() {
	t := a.t
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !a.endLocked() {
		return
	}
	for _, k := range a.keys {
		f := t.entryLocked(k)
		f.count = f.drained(now) + 1
		f.last = now
		if math.Ceil(f.count) >= float64(f.lim.LockAt) {
			f.lockedUntil = now.Add(f.lim.LockFor)
		}
	}
}

// Succeeded records a login: the account's failures on the key that applied are forgotten (its own from a new
// address, the pair's from a known one, so that the owner's logins at the office do not reset a guessing run
// from elsewhere), and the pair of account and address is known from now on. The IP address's failures stay:
// one good password must not reset a guessing run from the same address across other accounts.
func (a *Attempt) Succeeded() {
	t := a.t
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !a.endLocked() {
		return
	}
	t.succeededLocked(now, a.keys, a.spacing, a.pair)
}

// succeededLocked records a login on keys ks that took spacing on each (nil: no turn taken).
func (t *Throttle) succeededLocked(now time.Time, ks []throttleKey, spacing []time.Duration, pair string) {
	for i, k := range ks {
		switch {
		case k.account:
			delete(t.entries, k.name)
		case spacing != nil:
			t.giveBackLocked(k, spacing[i])
		}
	}
	t.rememberLocked(now, pair)
}

// Release ends an attempt that was neither a wrong password nor a login (a disabled account, a store failure).
func (a *Attempt) Release() {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if !a.endLocked() {
		return
	}
	for i, k := range a.keys {
		t.giveBackLocked(k, a.spacing[i])
	}
}

// endLocked ends the attempt on its keys, and reports false if it had already ended.
func (a *Attempt) endLocked() bool {
	if a.ended {
		return false
	}
	a.ended = true
	for _, k := range a.keys {
		if f := a.t.entries[k.name]; f != nil && f.inProgress > 0 {
			f.inProgress--
		}
	}
	return true
}

// giveBackLocked moves the key's turn back by the spacing an attempt that was not a wrong password took.
func (t *Throttle) giveBackLocked(k throttleKey, spacing time.Duration) {
	if f := t.entries[k.name]; f != nil {
		f.turn = f.turn.Add(-spacing)
	}
}

// rememberLocked makes a pair of account and address known for knownFor.
func (t *Throttle) rememberLocked(now time.Time, pair string) {
	if pair == "" {
		return
	}
	if _, ok := t.known[pair]; !ok && len(t.known) >= t.maxEntries {
		for key := range t.known { // random eviction, as in makeRoomLocked
			delete(t.known, key)
			break
		}
	}
	t.known[pair] = now.Add(knownFor)
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

type throttleKey struct {
	name    string
	lim     *Limits
	account bool // an account's key, or a pair's: a login forgets its failures
}

// keysLocked returns the throttle keys for ip and account with their limits: the address's, and the account's
// own or, where the account has logged in from ip within knownFor, the pair's.
func (t *Throttle) keysLocked(now time.Time, ip, account string) []throttleKey {
	var ks []throttleKey
	if ip != "" {
		ks = append(ks, throttleKey{name: "ip " + ipKey(ip), lim: &t.policy.Address})
	}
	a := strings.ToLower(strings.TrimSpace(account))
	switch pair := knownKey(ip, account); {
	case pair != "" && now.Before(t.known[pair]):
		ks = append(ks, throttleKey{name: "pair " + pair, lim: &t.policy.Account, account: true})
	case a != "":
		ks = append(ks, throttleKey{name: "acct " + a, lim: &t.policy.Account, account: true})
	}
	return ks
}

// knownKey names the pair of account and client address, or "" when either is unknown.
func knownKey(ip, account string) string {
	a := strings.ToLower(strings.TrimSpace(account))
	if ip == "" || a == "" {
		return ""
	}
	return a + " " + ipKey(ip)
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

// delay is the spacing owed after n failures.
func (lim Limits) delay(n int) time.Duration {
	n -= lim.Free
	if n < 0 {
		return 0
	}
	if n > 30 { // avoid overflowing the shift; MaxDelay caps it anyway
		return lim.MaxDelay
	}
	return min(lim.BaseDelay<<n, lim.MaxDelay)
}

// pruneLocked drops fully drained, unlocked, idle entries, at most once per
// pruneEvery so that a busy server does not scan the map on every login.
func (t *Throttle) pruneLocked(now time.Time) {
	if now.Sub(t.lastPrune) < pruneEvery {
		return
	}
	t.lastPrune = now
	for key, f := range t.entries {
		if !now.Before(f.lockedUntil) && f.drained(now) == 0 && f.inProgress == 0 && !now.Before(f.turn) {
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
