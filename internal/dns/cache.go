package dns

import (
	"context"
	"net"
	"sync"
	"time"
)

// Cache remembers answers of another Resolver for a while: inbound checks ask the same SPF, DKIM and DMARC names
// for every message from a domain, and the outbound queue the same MX names for every message to one. Go's
// resolver keeps no cache, so without one a busy server sends every message's lookups to the network, and a
// resolver that drops a query under load stalls a message for its whole retry timeout.
//
// Answers and "does not exist" are kept for as long as the next resolver says (System: the records' TTLs), or,
// from a resolver that reports no TTLs (net.Resolver), for one fixed lifetime; failures are not kept, so the next
// message asks again. Concurrent lookups of the same name share one query.
type Cache struct {
	next timedResolver
	max  int
	now  func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
}

type cacheKey struct{ kind, name string }

type cacheEntry struct {
	ready   chan struct{} // closed once the lookup finished
	ttl     time.Duration // how long the answer holds, from the next resolver
	expires time.Time     // set with the answer
	txt     []string
	mx      []*net.MX
	ips     []net.IPAddr
	names   []string
	err     error
}

// Default cache settings.
const (
	DefaultCacheTTL     = 5 * time.Minute
	DefaultCacheEntries = 10000
)

// NewCache caches next's answers, at most maxEntries of them (DefaultCacheEntries if 0); when full, expired entries
// go first, then all of them. Each answer is kept for as long as next says, when it is a *System; from other
// resolvers, which report no TTLs, for ttl (DefaultCacheTTL if 0).
func NewCache(next Resolver, ttl time.Duration, maxEntries int) *Cache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	timed, ok := next.(timedResolver)
	if !ok {
		timed = fixedTTL{next, ttl}
	}
	return &Cache{next: timed, max: maxEntries, now: time.Now, entries: map[cacheKey]*cacheEntry{}}
}

// timedResolver is a Resolver's lookups, each with how long its answer holds.
type timedResolver interface {
	lookupTXT(ctx context.Context, name string) ([]string, time.Duration, error)
	lookupMX(ctx context.Context, name string) ([]*net.MX, time.Duration, error)
	lookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, time.Duration, error)
	lookupAddr(ctx context.Context, addr string) ([]string, time.Duration, error)
}

// fixedTTL gives every answer of a Resolver that reports no TTLs the same lifetime.
type fixedTTL struct {
	r   Resolver
	ttl time.Duration
}

func (f fixedTTL) lookupTXT(ctx context.Context, name string) ([]string, time.Duration, error) {
	txt, err := f.r.LookupTXT(ctx, name)
	return txt, f.ttl, err
}

func (f fixedTTL) lookupMX(ctx context.Context, name string) ([]*net.MX, time.Duration, error) {
	mx, err := f.r.LookupMX(ctx, name)
	return mx, f.ttl, err
}

func (f fixedTTL) lookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, time.Duration, error) {
	addrs, err := f.r.LookupIPAddr(ctx, host)
	return addrs, f.ttl, err
}

func (f fixedTTL) lookupAddr(ctx context.Context, addr string) ([]string, time.Duration, error) {
	names, err := f.r.LookupAddr(ctx, addr)
	return names, f.ttl, err
}

// LookupTXT implements Resolver.
func (c *Cache) LookupTXT(ctx context.Context, name string) ([]string, error) {
	e, err := c.lookup(ctx, cacheKey{"TXT", name}, func(ctx context.Context, e *cacheEntry) {
		e.txt, e.ttl, e.err = c.next.lookupTXT(ctx, name)
	})
	if err != nil {
		return nil, err
	}
	return e.txt, e.err
}

// LookupMX implements Resolver.
func (c *Cache) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	e, err := c.lookup(ctx, cacheKey{"MX", name}, func(ctx context.Context, e *cacheEntry) {
		e.mx, e.ttl, e.err = c.next.lookupMX(ctx, name)
	})
	if err != nil {
		return nil, err
	}
	// Callers may reorder the records (equal preferences are shuffled): give each its own slice.
	out := make([]*net.MX, len(e.mx))
	for i, mx := range e.mx {
		cp := *mx
		out[i] = &cp
	}
	return out, e.err
}

// LookupIPAddr implements Resolver.
func (c *Cache) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	e, err := c.lookup(ctx, cacheKey{"IP", host}, func(ctx context.Context, e *cacheEntry) {
		e.ips, e.ttl, e.err = c.next.lookupIPAddr(ctx, host)
	})
	if err != nil {
		return nil, err
	}
	return append([]net.IPAddr(nil), e.ips...), e.err
}

// LookupAddr implements Resolver.
func (c *Cache) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	e, err := c.lookup(ctx, cacheKey{"PTR", addr}, func(ctx context.Context, e *cacheEntry) {
		e.names, e.ttl, e.err = c.next.lookupAddr(ctx, addr)
	})
	if err != nil {
		return nil, err
	}
	return append([]string(nil), e.names...), e.err
}

// lookup returns the entry for key, asking the next resolver through fill when there is no live one. The error is
// ctx's, when it ends before the answer comes; the lookup's own outcome is in the entry.
func (c *Cache) lookup(ctx context.Context, key cacheKey, fill func(context.Context, *cacheEntry)) (*cacheEntry, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	if ok {
		select {
		case <-e.ready:
			if c.now().Before(e.expires) {
				c.mu.Unlock()
				return e, nil
			}
			ok = false // expired: ask again
		default:
			// in flight: wait for it below
		}
	}
	if !ok {
		c.evict()
		e = &cacheEntry{ready: make(chan struct{})}
		c.entries[key] = e
		c.mu.Unlock()
		// The query runs detached from this caller's ctx (bounded by the next resolver's own timeouts), so
		// that one impatient caller does not fail the others waiting for the same answer.
		go func() {
			fill(context.WithoutCancel(ctx), e)
			c.mu.Lock()
			e.expires = c.now().Add(e.ttl)
			if e.err != nil && !IsNotFound(e.err) && c.entries[key] == e {
				delete(c.entries, key) // a failure is not an answer: the next caller asks again
			}
			c.mu.Unlock()
			close(e.ready)
		}()
	} else {
		c.mu.Unlock()
	}
	select {
	case <-e.ready:
		return e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// evict makes room for one entry; c.mu is held.
func (c *Cache) evict() {
	if len(c.entries) < c.max {
		return
	}
	now := c.now()
	for k, e := range c.entries {
		select {
		case <-e.ready:
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		default:
		}
	}
	if len(c.entries) >= c.max {
		clear(c.entries) // a burst of distinct names: start afresh rather than scan on every miss
	}
}
