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
// Answers and "does not exist" are kept for the cache's lifetime (net.Resolver does not report TTLs, so one fixed
// lifetime stands in for them); failures are not kept, so the next message asks again. Concurrent lookups of the
// same name share one query.
type Cache struct {
	next Resolver
	ttl  time.Duration
	max  int
	now  func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
}

type cacheKey struct{ kind, name string }

type cacheEntry struct {
	ready   chan struct{} // closed once the lookup finished
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

// NewCache caches next's answers for ttl (DefaultCacheTTL if 0), at most maxEntries of them (DefaultCacheEntries
// if 0); when full, expired entries go first, then all of them.
func NewCache(next Resolver, ttl time.Duration, maxEntries int) *Cache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	return &Cache{next: next, ttl: ttl, max: maxEntries, now: time.Now, entries: map[cacheKey]*cacheEntry{}}
}

// LookupTXT implements Resolver.
func (c *Cache) LookupTXT(ctx context.Context, name string) ([]string, error) {
	e, err := c.lookup(ctx, cacheKey{"TXT", name}, func(ctx context.Context, e *cacheEntry) {
		e.txt, e.err = c.next.LookupTXT(ctx, name)
	})
	if err != nil {
		return nil, err
	}
	return e.txt, e.err
}

// LookupMX implements Resolver.
func (c *Cache) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	e, err := c.lookup(ctx, cacheKey{"MX", name}, func(ctx context.Context, e *cacheEntry) {
		e.mx, e.err = c.next.LookupMX(ctx, name)
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
		e.ips, e.err = c.next.LookupIPAddr(ctx, host)
	})
	if err != nil {
		return nil, err
	}
	return append([]net.IPAddr(nil), e.ips...), e.err
}

// LookupAddr implements Resolver.
func (c *Cache) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	e, err := c.lookup(ctx, cacheKey{"PTR", addr}, func(ctx context.Context, e *cacheEntry) {
		e.names, e.err = c.next.LookupAddr(ctx, addr)
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
			e.expires = c.now().Add(c.ttl)
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
