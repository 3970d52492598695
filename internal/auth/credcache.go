package auth

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

const (
	// CredentialCacheTTL is how long a verified password is remembered, as Dovecot's auth_cache_ttl (1 hour by
	// default): a client that logs in every few minutes pays for argon2id once an hour, and a password guessed
	// from a stolen hash elsewhere stays usable from the cache no longer than the hash itself would let it.
	CredentialCacheTTL = time.Hour
	// CredentialCacheSize bounds the cache: a province's 50,000 accounts, each remembered once (about 300 bytes
	// an entry, 15 MB in all). The least recently used entry makes room for a new one.
	CredentialCacheSize = 50_000
)

// credentialCache remembers the passwords verified recently, like Dovecot's auth cache, so that the logins a client
// repeats all day (IMAP connections reopened, every SMTP submission, each CardDAV request) skip argon2id.
//
// An entry never holds the password: it holds an HMAC-SHA256 of it under a key made at random when the process
// starts, so that the cache in a memory dump or a swap file is no dictionary-attackable list of hashes. It also
// holds the account's stored hash as it was when the password was checked, and only a login whose stored hash is
// still the same one hits: a password changed by `user passwd` anywhere, even by a CLI working on the store file
// while the server runs, makes the entry dead. So a stale entry is harmless, and Forget is only tidying up.
// A wrong password never matches an entry (its HMAC differs) and so is always verified by argon2id.
type credentialCache struct {
	key  [32]byte         // immutable: the HMAC key, random per process
	ttl  time.Duration    // immutable (tests shorten it)
	size int              // immutable (tests shrink it)
	now  func() time.Time // immutable

	mu      sync.Mutex
	entries map[string]*list.Element // by stored address, each holding a *cachedCredential
	recent  *list.List               // most recently used first
}

// cachedCredential is one verified login.
type cachedCredential struct {
	address string
	stored  string // the account's password hash that the password was verified against
	mac     [sha256.Size]byte
	expires time.Time
}

func newCredentialCache(now func() time.Time) *credentialCache {
	c := &credentialCache{ttl: CredentialCacheTTL, size: CredentialCacheSize, now: now,
		entries: make(map[string]*list.Element), recent: list.New()}
	rand.Read(c.key[:]) // never fails (crypto/rand, Go 1.24+)
	return c
}

// mac is the keyed hash of password as a login for address against the stored hash: binding all three, so that an
// entry cannot stand for another account or another stored hash even if the map were mixed up.
func (c *credentialCache) mac(address, stored, password string) [sha256.Size]byte {
	h := hmac.New(sha256.New, c.key[:])
	for _, part := range [][]byte{[]byte(address), []byte(stored), passwordBytes(password)} {
		h.Write(part)
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// verified reports whether password was verified for address against the stored hash within the TTL.
func (c *credentialCache) verified(address, stored, password string) bool {
	mac := c.mac(address, stored, password)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[address]
	if el == nil {
		return false
	}
	e := el.Value.(*cachedCredential)
	if !now.Before(e.expires) {
		c.removeLocked(el)
		return false
	}
	if e.stored != stored || !hmac.Equal(e.mac[:], mac[:]) {
		return false
	}
	c.recent.MoveToFront(el)
	return true
}

// remember records that password was verified for address against the stored hash.
func (c *credentialCache) remember(address, stored, password string) {
	e := &cachedCredential{address: address, stored: stored, mac: c.mac(address, stored, password),
		expires: c.now().Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[address]; el != nil {
		el.Value = e
		c.recent.MoveToFront(el)
		return
	}
	for c.recent.Len() >= c.size {
		c.removeLocked(c.recent.Back())
	}
	c.entries[address] = c.recent.PushFront(e)
}

// forget drops what is remembered for address.
func (c *credentialCache) forget(address string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[address]; el != nil {
		c.removeLocked(el)
	}
}

func (c *credentialCache) removeLocked(el *list.Element) {
	delete(c.entries, el.Value.(*cachedCredential).address)
	c.recent.Remove(el)
}

// len is the number of entries; for tests.
func (c *credentialCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recent.Len()
}
