package auth

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mustWait fails unless a login from ip for account would wait want, or, when want is beyond MaxWait, be told to
// come back after want.
func mustWait(t *testing.T, th *Throttle, ip, account string, want time.Duration) {
	t.Helper()
	got, err := th.Check(ip, account)
	var te *ThrottledError
	if errors.As(err, &te) && want > th.policy.MaxWait {
		got, err = te.RetryAfter, nil
	}
	if err != nil || got != want {
		t.Fatalf("Check(%q, %q) = %v, %v; want %v", ip, account, got, err, want)
	}
}

// mustRefuse fails unless a login from ip for account is refused with RetryAfter want.
func mustRefuse(t *testing.T, th *Throttle, ip, account string, want time.Duration) {
	t.Helper()
	_, err := th.Check(ip, account)
	var te *ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, ErrTooManyAttempts) || te.RetryAfter != want {
		t.Fatalf("Check(%q, %q) = %v; want a refusal for %v", ip, account, err, want)
	}
}

// lockoutAfter tells a lockout from a turn further away than MaxWait: a turn is at most MaxWait+MaxDelay away.
const lockoutAfter = time.Minute

// takeTurn begins an attempt as a patient client would: it comes back when told and waits its turn. A lockout is
// returned instead.
func takeTurn(t *testing.T, clock *fakeClock, th *Throttle, ip, account string) (*Attempt, *ThrottledError) {
	t.Helper()
	for range 3 {
		a, err := th.Begin(ip, account)
		var te *ThrottledError
		switch {
		case errors.As(err, &te) && te.RetryAfter > lockoutAfter:
			return nil, te
		case te != nil:
			clock.Advance(te.RetryAfter)
		case err != nil:
			t.Fatal(err)
		default:
			clock.Advance(a.Wait())
			return a, nil
		}
	}
	t.Fatalf("Begin(%q, %q): still refused after coming back as told", ip, account)
	return nil, nil
}

// guess makes one wrong guess as a patient client would, or returns the lockout that refused it.
func guess(t *testing.T, clock *fakeClock, th *Throttle, ip, account string) *ThrottledError {
	t.Helper()
	a, te := takeTurn(t, clock, th, ip, account)
	if te == nil {
		a.Failed()
	}
	return te
}

// guessUntilLocked guesses from ipOf(i) until the throttle locks the client out, and returns the lockout and
// how many guesses were checked; at most limit.
func guessUntilLocked(t *testing.T, clock *fakeClock, th *Throttle, ipOf func(int) string, account string,
	limit int) (*ThrottledError, int) {
	t.Helper()
	for i := range limit {
		if te := guess(t, clock, th, ipOf(i), account); te != nil {
			return te, i
		}
	}
	t.Fatalf("%s: not locked out after %d guesses", account, limit)
	return nil, 0
}

// spacedWaits are the waits of the attempts that DefaultPolicy lets through at once for one account: five
// free, then spaced by 1 s, 2 s and 4 s; the next would wait 15 s, more than MaxWait.
var spacedWaits = fmt.Sprint([]time.Duration{0, 0, 0, 0, 0, time.Second, 3 * time.Second, 7 * time.Second})

// beginAll begins up to n attempts at once, until one is refused, and returns those let through.
func beginAll(th *Throttle, ip, account string, n int) []*Attempt {
	var attempts []*Attempt
	for range n {
		a, err := th.Begin(ip, account)
		if err != nil {
			break
		}
		attempts = append(attempts, a)
	}
	return attempts
}

func waitsOf(attempts []*Attempt) string {
	var waits []time.Duration
	for _, a := range attempts {
		waits = append(waits, a.Wait())
	}
	return fmt.Sprint(waits)
}

func TestThrottleGrowingDelay(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range 4 {
		guess(t, clock, th, "192.0.2.1", "an@example.vn")
	}
	mustWait(t, th, "192.0.2.1", "an@example.vn", 0)
	guess(t, clock, th, "192.0.2.1", "an@example.vn")
	mustWait(t, th, "192.0.2.1", "an@example.vn", time.Second)
	mustWait(t, th, "198.51.100.7", "AN@Example.VN ", time.Second) // the account, from anywhere
	mustWait(t, th, "192.0.2.1", "binh@example.vn", 0)             // the IP alone has room
	clock.Advance(time.Second)
	mustWait(t, th, "192.0.2.1", "an@example.vn", 0)
	for _, want := range []time.Duration{2, 4, 8, 16, 30, 30} {
		guess(t, clock, th, "192.0.2.1", "an@example.vn")
		mustWait(t, th, "192.0.2.1", "an@example.vn", want*time.Second)
	}
}

// Parallel attempts are spaced exactly as attempts made one after another: each takes the next turn, counting
// those still in progress as failures, and one whose turn is more than MaxWait away is refused unchecked.
func TestThrottleParallelAttemptsSpaced(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	attempts := beginAll(th, "192.0.2.1", "an@example.vn", 30)
	if got := waitsOf(attempts); got != spacedWaits {
		t.Fatalf("30 parallel attempts let through with waits %v, want %v", got, spacedWaits)
	}
	mustRefuse(t, th, "192.0.2.1", "an@example.vn", 15*time.Second)
	mustRefuse(t, th, "198.51.100.7", "an@example.vn", 15*time.Second) // the account's turn, from anywhere
	for _, a := range attempts {
		a.Failed()
	}
	mustRefuse(t, th, "198.51.100.7", "an@example.vn", 15*time.Second) // failures keep the turns they took

	// A patient client trying one at a time gets the same turns.
	clock2 := newFakeClock()
	th2 := NewThrottle(clock2.Now)
	start := clock2.Now()
	var starts []time.Duration
	for range 8 {
		a, _ := takeTurn(t, clock2, th2, "192.0.2.1", "an@example.vn")
		starts = append(starts, clock2.Now().Sub(start))
		a.Failed()
	}
	if fmt.Sprint(starts) != spacedWaits {
		t.Errorf("one at a time, attempts started at %v, want %v", starts, spacedWaits)
	}
}

func TestThrottleLockout(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	te, n := guessUntilLocked(t, clock, th, func(i int) string { return fmt.Sprintf("192.0.2.%d", i) },
		"an@example.vn", 40)
	// Spaced guesses drain a little meanwhile: the lockout comes after about 20.
	if te.RetryAfter != 15*time.Minute || n < 20 || n > 23 {
		t.Fatalf("locked after %d guesses for %v; want about 20, for 15m", n, te.RetryAfter)
	}
	mustRefuse(t, th, "203.0.113.5", "an@example.vn", 15*time.Minute)
	clock.Advance(15 * time.Minute)
	mustWait(t, th, "203.0.113.5", "an@example.vn", 0)
}

func TestThrottleIPLockout(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	te, _ := guessUntilLocked(t, clock, th, func(int) string { return "2001:db8:1:2::1" }, "", 400)
	if te.RetryAfter != 15*time.Minute {
		t.Fatalf("address locked for %v, want 15m", te.RetryAfter)
	}
	// Another address in the same /64, and one given with a port.
	for _, ip := range []string{"2001:db8:1:2::99", "[2001:db8:1:2:ffff::1]:5050"} {
		mustRefuse(t, th, ip, "new@example.vn", 15*time.Minute)
	}
	mustWait(t, th, "2001:db8:1:3::1", "new@example.vn", 0)
}

// A phone retrying an old password every five minutes must not lock out
// the office sharing its address.
func TestThrottleSlowFailuresDrain(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range 500 {
		if te := guess(t, clock, th, "192.0.2.1", "an@example.vn"); te != nil {
			t.Fatalf("locked out: %v", te)
		}
		clock.Advance(5 * time.Minute)
	}
	mustWait(t, th, "192.0.2.1", "an@example.vn", 0)
}

func TestThrottleSucceeded(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range 10 {
		guess(t, clock, th, "192.0.2.1", "an@example.vn")
	}
	a, _ := takeTurn(t, clock, th, "192.0.2.1", "an@example.vn")
	a.Succeeded()
	mustWait(t, th, "", "an@example.vn", 0)
	mustWait(t, th, "192.0.2.1", "", 0) // the login gave its turn back
	// The IP's failures stay (nine left after the minute they took): after one more, the next attempt from it
	// waits, as from no fresh address.
	guess(t, clock, th, "192.0.2.1", "binh@example.vn")
	mustWait(t, th, "192.0.2.1", "", time.Second)
}

// An attempt that was not a wrong password gives its spacing back; ending an attempt twice counts once.
func TestThrottleGiveBack(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for i := range 10 {
		guess(t, clock, th, "192.0.2.1", fmt.Sprintf("u%d@example.vn", i))
	}
	mustWait(t, th, "192.0.2.1", "", time.Second)
	for _, end := range []func(*Attempt){(*Attempt).Succeeded, (*Attempt).Release} {
		a, err := th.Begin("192.0.2.1", "an@example.vn")
		if err != nil || a.Wait() != time.Second {
			t.Fatalf("Begin = %v, %v; want a wait of 1s", a, err)
		}
		mustWait(t, th, "192.0.2.1", "", 3*time.Second) // 1 s, then the 2 s it owes if it fails
		end(a)
		end(a)
		mustWait(t, th, "192.0.2.1", "", time.Second)
	}
	a, _ := th.Begin("192.0.2.1", "binh@example.vn")
	a.Failed()
	a.Failed()
	if f := th.entries["ip 192.0.2.1/32"]; f.count != 11 || f.inProgress != 0 {
		t.Errorf("after Failed twice: %v failures, %d in progress; want 11, 0", f.count, f.inProgress)
	}
}

func TestThrottleMemoryBounded(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	th.maxEntries = 50
	for i := range 1000 {
		guess(t, clock, th, fmt.Sprintf("10.0.%d.%d", i/256, i%256), "")
	}
	if n := len(th.entries); n > 50 {
		t.Errorf("%d entries, want at most 50", n)
	}
	clock.Advance(time.Hour)
	mustWait(t, th, "10.0.0.1", "", 0)
	if n := len(th.entries); n != 0 {
		t.Errorf("%d entries after an idle hour, want 0", n)
	}
}

// No update is lost under concurrency: with the clock standing still nothing drains, so every address ends with
// exactly the failures recorded from it, and no attempt is left in progress.
func TestThrottleConcurrent(t *testing.T) {
	p := DefaultPolicy()
	p.MaxWait = time.Hour // lockouts, not turns, end the run
	th := NewThrottleWithPolicy(newFakeClock().Now, p)
	var failed [5]atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				ip := fmt.Sprintf("192.0.2.%d", i%5)
				a, err := th.Begin(ip, fmt.Sprintf("u%d@example.vn", g))
				switch {
				case err != nil:
				case i%50 == 0:
					a.Succeeded()
				default:
					a.Failed()
					failed[i%5].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range failed {
		f := th.entries[fmt.Sprintf("ip 192.0.2.%d/32", i)]
		if f == nil || f.count != float64(failed[i].Load()) {
			t.Errorf("192.0.2.%d: %+v, want %d failures", i, f, failed[i].Load())
		}
	}
	for key, f := range th.entries {
		if f.inProgress != 0 {
			t.Errorf("%s: %d attempts left in progress", key, f.inProgress)
		}
	}
}

func TestIPKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":              "192.0.2.1/32",
		"192.0.2.1:25":           "192.0.2.1/32",
		"::ffff:192.0.2.1":       "192.0.2.1/32",
		"2001:db8::1":            "2001:db8::/64",
		"[2001:db8::1%eth0]:993": "2001:db8::/64",
		"pipe":                   "pipe",
	} {
		if got := ipKey(in); got != want {
			t.Errorf("ipKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// Attempts being verified count toward the lockout: however long the throttle let them wait, a burst of
// parallel guesses cannot all be verified before the first failure is recorded.
func TestThrottleAttemptsInProgressCount(t *testing.T) {
	p := DefaultPolicy()
	p.MaxWait = time.Hour
	th := NewThrottleWithPolicy(newFakeClock().Now, p)
	var attempts []*Attempt
	for i := range 20 {
		a, err := th.Begin(fmt.Sprintf("192.0.2.%d", i), "an@example.vn")
		if err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		attempts = append(attempts, a)
	}
	mustRefuse(t, th, "198.51.100.1", "an@example.vn", 30*time.Second)
	for _, a := range attempts {
		a.Release()
	}
	mustWait(t, th, "198.51.100.1", "an@example.vn", 0)
	// The same holds for one address trying many accounts, past the logins an office makes at once.
	for i := range p.Address.LockAt + p.Address.Concurrent {
		if _, err := th.Begin("203.0.113.9", fmt.Sprintf("u%d@example.vn", i)); err != nil {
			t.Fatalf("attempt %d from one address refused: %v", i+1, err)
		}
	}
	mustRefuse(t, th, "203.0.113.9", "more@example.vn", 30*time.Second)
}

// Guesses against an account from elsewhere do not lock its owner out where they have logged in before; a new
// address is held to the account's limits.
func TestThrottleKnownAddressNotLockedOut(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	a, _ := takeTurn(t, clock, th, "192.0.2.10", "an@example.vn")
	a.Succeeded() // the owner, at the office
	guessUntilLocked(t, clock, th, func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }, "an@example.vn", 40)
	if _, err := th.Check("203.0.113.5", "an@example.vn"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("the account from a new address: %v, want ErrTooManyAttempts", err)
	}
	mustWait(t, th, "192.0.2.10", "AN@example.vn", 0)
	mustWait(t, th, "192.0.2.10:4321", "an@example.vn", 0) // the same address, given with a port
	clock.Advance(knownFor)
	if n := len(th.known); n != 1 {
		t.Errorf("%d known pairs, want 1 until pruned", n)
	}
	clock.Advance(pruneEvery)
	th.Check("192.0.2.10", "an@example.vn")
	if n := len(th.known); n != 0 {
		t.Errorf("%d known pairs after they expired, want 0", n)
	}
}

// A known address gets the account's limits on the pair: its guesses are spaced and locked like anyone's, but
// only there, and the owner's logins there do not forgive guesses from elsewhere.
func TestThrottleKnownAddressLimited(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	const office, home = "192.0.2.10", "192.0.2.20"
	for _, ip := range []string{office, home} {
		a, _ := takeTurn(t, clock, th, ip, "an@example.vn")
		a.Succeeded()
	}
	attempts := beginAll(th, office, "an@example.vn", 30)
	if got := waitsOf(attempts); got != spacedWaits {
		t.Fatalf("30 parallel attempts from a known address let through with waits %v, want %v", got, spacedWaits)
	}
	for _, a := range attempts {
		a.Failed()
	}
	mustWait(t, th, "203.0.113.5", "an@example.vn", 0) // the account elsewhere is untouched
	mustWait(t, th, home, "an@example.vn", 0)

	clock.Advance(time.Hour)
	te, _ := guessUntilLocked(t, clock, th, func(int) string { return office }, "an@example.vn", 40)
	if te.RetryAfter != 15*time.Minute {
		t.Fatalf("pair locked for %v, want 15m", te.RetryAfter)
	}
	mustWait(t, th, home, "an@example.vn", 0)
	mustWait(t, th, "203.0.113.5", "an@example.vn", 0)

	// Five guesses from elsewhere; a login at home does not forgive them.
	for i := range 5 {
		guess(t, clock, th, fmt.Sprintf("198.51.100.%d", i), "an@example.vn")
	}
	a, _ := takeTurn(t, clock, th, home, "an@example.vn")
	a.Succeeded()
	mustWait(t, th, "203.0.113.5", "an@example.vn", time.Second)
}

func TestThrottledErrorAdvice(t *testing.T) {
	for d, want := range map[time.Duration]string{
		300 * time.Millisecond: "try again in 1 second",
		28*time.Second + 100:   "try again in 29 seconds",
		15 * time.Minute:       "try again in 15 minutes",
		150 * time.Second:      "try again in 3 minutes",
	} {
		err := error(&ThrottledError{RetryAfter: d})
		if got := RetryAdvice(err); got != want || !errors.Is(err, ErrTooManyAttempts) {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	if got := RetryAdvice(ErrTooManyAttempts); got != "try again later" {
		t.Errorf("bare ErrTooManyAttempts: %q", got)
	}
}

// An office behind one address logs in all at once in the morning: that many correct logins in progress are not
// taken for guesses, so none of them waits or is refused.
func TestThrottleOfficeLoginsAtOnce(t *testing.T) {
	p := DefaultPolicy()
	th := NewThrottleWithPolicy(newFakeClock().Now, p)
	var attempts []*Attempt
	for i := range p.Address.Concurrent {
		a, err := th.Begin("203.0.113.9", fmt.Sprintf("u%d@example.vn", i))
		if err != nil || a.Wait() != 0 {
			t.Fatalf("login %d of the office: wait %v, %v", i+1, a.Wait(), err)
		}
		attempts = append(attempts, a)
	}
	for _, a := range attempts {
		a.Succeeded()
	}
	mustWait(t, th, "203.0.113.9", "late@example.vn", 0)
}
