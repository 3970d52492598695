package auth

import (
	"errors"
	"fmt"
	"sync"
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

func mustWait(t *testing.T, th *Throttle, ip, account string, want time.Duration) {
	t.Helper()
	got, err := th.Check(ip, account)
	if err != nil || got != want {
		t.Fatalf("Check(%q, %q) = %v, %v; want %v, nil", ip, account, got, err, want)
	}
}

func TestThrottleGrowingDelay(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range 4 {
		th.Failed("192.0.2.1", "an@example.vn")
	}
	mustWait(t, th, "192.0.2.1", "an@example.vn", 0)
	th.Failed("192.0.2.1", "an@example.vn")
	mustWait(t, th, "192.0.2.1", "an@example.vn", time.Second)
	mustWait(t, th, "198.51.100.7", "AN@Example.VN ", time.Second) // the account, from anywhere
	mustWait(t, th, "192.0.2.1", "binh@example.vn", 0)             // the IP alone has room
	clock.Advance(time.Second)
	mustWait(t, th, "192.0.2.1", "an@example.vn", 0)
	for _, want := range []time.Duration{2, 4, 8, 16, 30, 30} {
		th.Failed("192.0.2.1", "an@example.vn")
		mustWait(t, th, "192.0.2.1", "an@example.vn", want*time.Second)
	}
}

func TestThrottleLockout(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for i := range 20 {
		th.Failed(fmt.Sprintf("192.0.2.%d", i), "an@example.vn")
	}
	wait, err := th.Check("203.0.113.5", "an@example.vn")
	if !errors.Is(err, ErrTooManyAttempts) || wait != 15*time.Minute {
		t.Fatalf("Check = %v, %v; want 15m, ErrTooManyAttempts", wait, err)
	}
	clock.Advance(15 * time.Minute)
	if _, err := th.Check("203.0.113.5", "an@example.vn"); err != nil {
		t.Errorf("Check after the lockout = %v", err)
	}
}

func TestThrottleIPLockout(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for i := range 100 {
		th.Failed("2001:db8:1:2::1", fmt.Sprintf("user%d@example.vn", i))
	}
	// Another address in the same /64, and one given with a port.
	for _, ip := range []string{"2001:db8:1:2::99", "[2001:db8:1:2:ffff::1]:5050"} {
		if _, err := th.Check(ip, "new@example.vn"); !errors.Is(err, ErrTooManyAttempts) {
			t.Errorf("Check(%q) = %v, want ErrTooManyAttempts", ip, err)
		}
	}
	mustWait(t, th, "2001:db8:1:3::1", "new@example.vn", 0)
}

// A phone retrying an old password every five minutes must not lock out
// the office sharing its address.
func TestThrottleSlowFailuresDrain(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range 500 {
		th.Failed("192.0.2.1", "an@example.vn")
		clock.Advance(5 * time.Minute)
	}
	mustWait(t, th, "192.0.2.1", "an@example.vn", 0)
}

func TestThrottleSucceeded(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range 10 {
		th.Failed("192.0.2.1", "an@example.vn")
	}
	th.Succeeded("192.0.2.1", "an@example.vn")
	mustWait(t, th, "", "an@example.vn", 0)
	mustWait(t, th, "192.0.2.1", "", time.Second) // the IP's record stays
}

func TestThrottleMemoryBounded(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	th.maxEntries = 50
	for i := range 1000 {
		th.Failed(fmt.Sprintf("10.0.%d.%d", i/256, i%256), "")
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

func TestThrottleConcurrent(t *testing.T) {
	th := NewThrottle(time.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				ip := fmt.Sprintf("192.0.2.%d", i%5)
				acct := fmt.Sprintf("u%d@example.vn", g)
				th.Check(ip, acct)
				th.Failed(ip, acct)
				if i%50 == 0 && i < 150 {
					th.Succeeded(ip, acct)
				}
			}
		})
	}
	wg.Wait()
	// Every account ended with 99 failures in a row and every address took 320: all are locked out, which only
	// holds if no concurrent update was lost.
	for g := range 8 {
		if _, err := th.Check("198.51.100.1", fmt.Sprintf("u%d@example.vn", g)); !errors.Is(err, ErrTooManyAttempts) {
			t.Errorf("account u%d after 99 failures: %v", g, err)
		}
	}
	if _, err := th.Check("192.0.2.1", "fresh@example.vn"); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("address after 320 failures: %v", err)
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

// Attempts being verified count toward the lockout: a burst of parallel guesses cannot all be verified before
// the first failure is recorded.
func TestThrottleAttemptsInProgressCount(t *testing.T) {
	th := NewThrottle(newFakeClock().Now)
	for i := range 20 {
		if _, err := th.Begin(fmt.Sprintf("192.0.2.%d", i), "an@example.vn"); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
	}
	if _, err := th.Begin("198.51.100.1", "an@example.vn"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("21st attempt in progress: %v, want ErrTooManyAttempts", err)
	}
	for i := range 20 {
		th.Release(fmt.Sprintf("192.0.2.%d", i), "an@example.vn")
	}
	mustWait(t, th, "198.51.100.1", "an@example.vn", 0)
	// The same holds for one address trying many accounts.
	for i := range 100 {
		if _, err := th.Begin("203.0.113.9", fmt.Sprintf("u%d@example.vn", i)); err != nil {
			t.Fatalf("attempt %d from one address refused: %v", i+1, err)
		}
	}
	if _, err := th.Begin("203.0.113.9", "more@example.vn"); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("101st attempt in progress from one address: %v, want ErrTooManyAttempts", err)
	}
}

// Guesses against an account from elsewhere do not lock its owner out where they have logged in before; a new
// address is held to the account's limits.
func TestThrottleKnownAddressNotLockedOut(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	if _, err := th.Begin("192.0.2.10", "an@example.vn"); err != nil {
		t.Fatal(err)
	}
	th.Succeeded("192.0.2.10", "an@example.vn") // the owner, at the office
	for i := range 30 {
		ip := fmt.Sprintf("198.51.100.%d", i)
		if _, err := th.Begin(ip, "an@example.vn"); err != nil {
			break
		}
		th.Failed(ip, "an@example.vn")
	}
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
