package netlimit

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

const (
	maxStrikeEntries = 100_000 // about 10 MB at most
	strikePruneEvery = time.Minute
)

// Strikes counts what client addresses did wrong (IPv6: per /64, see netaddr.Client), across connections, so that
// reconnecting does not clear the record. Each address has a leaky bucket: a strike adds 1 and the count drains by
// 1 every leak, so an occasional mistake never builds up while a run of them does. An address can also be locked for
// a while. Memory is bounded: drained, unlocked entries are pruned, and a full table evicts a random entry. Safe for
// concurrent use; no method blocks for longer than a map update (or, once a minute, a prune).
type Strikes struct {
	leak       time.Duration    // immutable
	clock      func() time.Time // immutable
	maxEntries int              // immutable; tests lower it

	mu        sync.Mutex
	entries   map[netip.Prefix]*strikeEntry
	lastPrune time.Time
}

type strikeEntry struct {
	count       float64 // drained as of last
	last        time.Time
	lockedUntil time.Time
}

// NewStrikes returns an empty table that forgets one strike per leak, reading the time from clock (time.Now, or a
// fake in tests).
func NewStrikes(leak time.Duration, clock func() time.Time) *Strikes {
	return &Strikes{leak: leak, clock: clock, maxEntries: maxStrikeEntries, entries: map[netip.Prefix]*strikeEntry{}}
}

// Add records one strike against client and returns its count after it, a partly drained strike counting as one.
func (s *Strikes) Add(client netip.Prefix) int {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	e := s.entryLocked(client)
	e.count = e.drained(now, s.leak) + 1
	e.last = now
	return roundUp(e.count)
}

// State returns client's count and how much longer it stays locked (0: not locked).
func (s *Strikes) State(client netip.Prefix) (count int, locked time.Duration) {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[client]
	if e == nil {
		return 0, 0
	}
	return roundUp(e.drained(now, s.leak)), max(0, e.lockedUntil.Sub(now))
}

// Lock locks client for d from now (or longer, if it already is).
func (s *Strikes) Lock(client netip.Prefix, d time.Duration) {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entryLocked(client)
	if until := now.Add(d); until.After(e.lockedUntil) {
		e.lockedUntil = until
	}
}

// entryLocked returns client's entry, making room for it if needed.
func (s *Strikes) entryLocked(client netip.Prefix) *strikeEntry {
	e := s.entries[client]
	if e == nil {
		if len(s.entries) >= s.maxEntries {
			for k := range s.entries { // map iteration starts at random: a flood of fresh addresses cannot choose
				delete(s.entries, k)
				break
			}
		}
		e = &strikeEntry{}
		s.entries[client] = e
	}
	return e
}

// pruneLocked drops drained, unlocked entries, at most once per strikePruneEvery.
func (s *Strikes) pruneLocked(now time.Time) {
	if now.Sub(s.lastPrune) < strikePruneEvery {
		return
	}
	s.lastPrune = now
	for k, e := range s.entries {
		if e.drained(now, s.leak) == 0 && !now.Before(e.lockedUntil) {
			delete(s.entries, k)
		}
	}
}

func (e *strikeEntry) drained(now time.Time, leak time.Duration) float64 {
	return max(0, e.count-float64(now.Sub(e.last))/float64(leak))
}

func roundUp(f float64) int { return int(math.Ceil(f)) }
