package netlimit

import (
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a time source that tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func TestStrikesDrainAndLock(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	s := NewStrikes(time.Minute, clock.Now)
	a, b := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8:1:2::/64")
	for i := 1; i <= 3; i++ {
		if got := s.Add(a); got != i {
			t.Fatalf("strike %d counted as %d", i, got)
		}
	}
	if n, _ := s.State(b); n != 0 {
		t.Errorf("another address has %d strikes", n)
	}
	clock.Advance(90 * time.Second) // 1.5 strikes drained: 1.5 left, which counts as 2
	if n, locked := s.State(a); n != 2 || locked != 0 {
		t.Errorf("after 90 s: %d strikes, locked %v; want 2, not locked", n, locked)
	}
	s.Lock(a, 10*time.Minute)
	clock.Advance(4 * time.Minute)
	if n, locked := s.State(a); n != 0 || locked != 6*time.Minute {
		t.Errorf("after the drain: %d strikes, locked %v; want 0, locked 6m", n, locked)
	}
	s.Lock(a, time.Minute) // a shorter lock does not shorten the one in force
	if _, locked := s.State(a); locked != 6*time.Minute {
		t.Errorf("locked %v after a shorter Lock, want 6m", locked)
	}
	clock.Advance(6 * time.Minute)
	if n, locked := s.State(a); n != 0 || locked != 0 {
		t.Errorf("after the lock: %d strikes, locked %v", n, locked)
	}
}

func TestStrikesMemoryIsBounded(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	s := NewStrikes(time.Minute, clock.Now)
	s.maxEntries = 100
	for i := range 1000 {
		s.Add(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32))
	}
	if len(s.entries) > 100 {
		t.Errorf("%d entries, want at most 100", len(s.entries))
	}
	// Drained entries go at the next prune; a locked one stays until its lock ends.
	locked := netip.MustParsePrefix("192.0.2.9/32")
	s.Lock(locked, time.Hour)
	clock.Advance(10 * time.Minute)
	s.Add(netip.MustParsePrefix("192.0.2.10/32"))
	if len(s.entries) != 2 {
		t.Errorf("%d entries after the prune, want the locked one and the new one", len(s.entries))
	}
}
